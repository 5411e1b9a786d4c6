/** `errand failed list|retry|purge TASK`: the failed tasks (dead letters) of a task type. */
import type { DeadLetterView } from '../core/dead-letters.ts';
import { isRedisUrl } from '../daemon/daemon.ts';
import { SideRedis } from '../daemon/side-redis.ts';
import { type Io, type Options, parse, str, UsageError } from './args.ts';
import { CommandFailed, clientErrand, confHelp, confOption, openConfig, queueOfTask } from './context.ts';

export const failedOptions: Options = {
  ...confOption,
  queue: { type: 'string', short: 'q' },
  limit: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const failedHelp = `Usage: errand failed list|retry|purge TASK [KEY...] [options]

  list TASK            show TASK's failed tasks, newest first: key, time, reason, message
  retry TASK [KEY...]  send them (or only the given keys) back to the queue, attempts reset
  purge TASK [KEY...]  delete them (or only the given keys); for a Gordon/Goophry config a
                       purge of all also deletes the list <queue_key>:<type>:failed

Entries whose message cannot be read (malformed) belong to the queue and are listed with it.

Options:
${confHelp}  -q, --queue NAME     the queue to look in (default: TASK's configured queue)
  -n, --limit N        list at most N entries (default 100)
      --json           print JSON lines
  -h, --help           show this help
`;

const PAGE = 500;

export async function failedCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, failedOptions, true);
  if (values.help) {
    io.out(failedHelp);
    return 0;
  }
  const [action, task, ...keys] = positionals;
  if (action !== 'list' && action !== 'retry' && action !== 'purge') {
    throw new UsageError(
      `failed needs an action: list, retry or purge (got ${JSON.stringify(action ?? '')})`,
    );
  }
  if (!task) throw new UsageError(`failed ${action} needs a TASK name`);
  const limitText = str(values.limit);
  const limit = limitText === undefined ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit <= 0)
    throw new UsageError(`--limit must be a positive whole number (got ${limitText})`);
  const config = openConfig(values, io);
  const errand = clientErrand(config);
  try {
    const queue = queueOfTask(errand, task, str(values.queue));
    const capabilities = await errand.brokerCapabilities();
    const noBrowsing = capabilities.absent?.deadLetterBrowsing;
    if (noBrowsing !== undefined && (action !== 'purge' || keys.length > 0)) {
      throw new CommandFailed(
        `failed ${action}: this broker cannot browse its dead letters (${noBrowsing}); only "failed purge ${task}" of all of them works here`,
      );
    }
    const dead = errand.deadLetters(queue);
    if (noBrowsing !== undefined) {
      // Without browsing, dead letters cannot be told apart by task: purge means the whole queue's.
      const purged = await dead.purge();
      io.out(
        `${purged} failed task(s) purged: every dead letter of queue ${queue} (this broker cannot select ${task}'s)\n`,
      );
      return 0;
    }
    // A queue may hold several task types: keep this type's entries and the unreadable ones.
    const mine = (e: DeadLetterView): boolean => !e.message || e.message.task === task;
    const all: DeadLetterView[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await dead.list({ offset, limit: PAGE });
      all.push(...page.filter(mine));
      if (page.length < PAGE || (action === 'list' && all.length >= limit)) break;
    }
    if (action === 'list') {
      for (const e of all.slice(0, limit)) {
        if (values.json) {
          io.out(
            `${JSON.stringify({ key: e.key, failedAt: e.failedAt.toISOString(), reason: e.reason, body: e.body })}\n`,
          );
        } else {
          io.out(`${e.key}  ${e.failedAt.toISOString()}  ${e.reason}\n    ${e.body}\n`);
        }
      }
      if (!values.json)
        io.out(`${Math.min(all.length, limit)} failed task(s) of ${task} shown (queue ${queue})\n`);
      return 0;
    }
    const chosen = keys.length > 0 ? keys : all.map((e) => e.key);
    const unknown = keys.filter((k) => !all.some((e) => e.key === k));
    // Not a usage error: the command line is right, the keys are not (or no longer) there.
    if (unknown.length > 0) {
      throw new CommandFailed(
        `no failed task of ${task} in queue ${queue} with key ${unknown.join(', ')} (see: errand failed list ${task})`,
      );
    }
    if (action === 'retry') {
      const moved = chosen.length > 0 ? await dead.retry(chosen) : 0;
      io.out(`${moved} failed task(s) of ${task} sent back to queue ${queue}\n`);
      return 0;
    }
    const purged = chosen.length > 0 ? await dead.purge(chosen) : 0;
    let listNote = '';
    const type = config.tasks.find((t) => t.name === task);
    if (keys.length === 0 && type && config.flavour !== 'errand' && isRedisUrl(config.broker)) {
      const side = new SideRedis(config.broker, () => undefined);
      try {
        const key = `${config.queueKey ?? ''}:${type.name}:failed`;
        const n = await side.run('purge', (c) => c.del(key), { deadlineMs: 5000 });
        listNote = n > 0 ? ` and list ${key} deleted` : '';
      } finally {
        await side.close();
      }
    }
    io.out(`${purged} failed task(s) of ${task} purged${listNote}\n`);
    return 0;
  } finally {
    await errand.close();
  }
}
