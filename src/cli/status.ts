/** `errand status`: each queue's depths, running and failed counts, and the live daemons. */
import { dirname } from 'node:path';
import type { Errand } from '../core/errand.ts';
import type { DaemonConfig } from '../daemon/config.ts';
import { isRedisUrl } from '../daemon/daemon.ts';
import { loadModules } from '../daemon/modules.ts';
import type { DaemonPresence } from '../daemon/presence.ts';
import { SideRedis } from '../daemon/side-redis.ts';
import { type Io, type Options, parse, strs } from './args.ts';
import { clientErrand, confHelp, confOption, openConfig } from './context.ts';
import { liveDaemons } from './waiting.ts';

export const statusOptions: Options = {
  ...confOption,
  queue: { type: 'string', short: 'q', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const statusHelp = `Usage: errand status [options]

Shows every queue of the config: those of its command tasks, its module handlers (the modules
are loaded to learn them) and its "queues", every queue a live daemon consumes, and any
--queue. For each: tasks waiting, delayed, running (leased by a worker), failed (dead letters;
for Gordon/Goophry configs also failedList, the length of <queue_key>:<type>:failed). Then the
daemons alive now (Redis brokers only). The table and --json use the same words.

Options:
${confHelp}  -q, --queue NAME     also show this queue (repeatable)
      --json           print JSON
  -h, --help           show this help
`;

/** One queue, in the words of the table: RUNNING is leased, FAILED is dead-lettered. */
interface QueueRow {
  readonly queue: string;
  readonly waiting: number;
  readonly delayed: number;
  readonly running: number;
  readonly failed: number;
  readonly failedList?: number;
}

/** The queues the config's module handlers are sent to; a module that does not load is reported, not fatal. */
async function moduleQueues(errand: Errand, config: DaemonConfig, io: Io): Promise<string[]> {
  if (config.modules.length === 0) return [];
  const commandNames = new Set(config.tasks.map((t) => t.name));
  try {
    await loadModules(errand, config.modules, dirname(config.file));
  } catch (err) {
    io.err(`errand status: the queues of module handlers are not shown: ${(err as Error).message}\n`);
  }
  const queues = new Set(config.moduleQueues);
  for (const name of errand.runtime.taskNames()) {
    const def = errand.runtime.definition(name);
    if (def && !commandNames.has(name)) queues.add(errand.runtime.queueOf(def));
  }
  return [...queues];
}

const pad = (rows: string[][]): string => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};

export async function statusCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parse(argv, statusOptions, false);
  if (values.help) {
    io.out(statusHelp);
    return 0;
  }
  const config = openConfig(values, io);
  const errand = clientErrand(config);
  const side = isRedisUrl(config.broker) ? new SideRedis(config.broker, () => undefined) : undefined;
  try {
    const daemons: DaemonPresence[] | undefined = side ? await liveDaemons(config, 10_000) : undefined;
    const queues = [
      ...new Set([
        ...config.tasks.map((t) => t.queue),
        ...(await moduleQueues(errand, config, io)),
        ...(daemons ?? []).flatMap((d) => d.queues),
        ...strs(values.queue),
      ]),
    ];
    const rows: QueueRow[] = [];
    for (const queue of queues) {
      const stats = await errand.stats(queue);
      const task = config.tasks.find((t) => t.queue === queue);
      let failedList: number | undefined;
      if (side && task && config.flavour !== 'errand') {
        failedList = await side.run('status', (c) => c.lLen(`${config.queueKey ?? ''}:${task.name}:failed`), {
          deadlineMs: 5000,
        });
      }
      rows.push({
        queue,
        waiting: stats.waiting,
        delayed: stats.delayed,
        running: stats.leased,
        failed: stats.dead,
        ...(failedList !== undefined ? { failedList } : {}),
      });
    }
    if (values.json) {
      io.out(
        `${JSON.stringify({ broker: redact(config.broker), queues: rows, daemons: daemons ?? null }, null, 2)}\n`,
      );
      return 0;
    }
    const table = [
      [
        'QUEUE',
        'WAITING',
        'DELAYED',
        'RUNNING',
        'FAILED',
        ...(side && config.flavour !== 'errand' ? ['FAILED_LIST'] : []),
      ],
    ];
    for (const r of rows) {
      table.push([
        r.queue,
        String(r.waiting),
        String(r.delayed),
        String(r.running),
        String(r.failed),
        ...(r.failedList !== undefined ? [String(r.failedList)] : []),
      ]);
    }
    io.out(`broker: ${redact(config.broker)}\n\n${pad(table)}\n\n`);
    const { absent } = await errand.brokerCapabilities();
    if (absent?.exactStats !== undefined) io.out(`counts are approximate: ${absent.exactStats}\n`);
    if (absent?.delayedCounts !== undefined)
      io.out(`DELAYED and RUNNING are not counted (shown as 0): ${absent.delayedCounts}\n`);
    if (!side) io.out('live daemons: not tracked for this broker (Redis only)\n');
    else if (!daemons) io.out('live daemons: unknown (could not read them from Redis)\n');
    else if (daemons.length === 0) io.out('live daemons: none\n');
    else {
      const now = Date.now();
      const list = [['HOST', 'PID', 'UP', 'RUNNING', 'QUEUES']];
      for (const d of daemons) {
        list.push([
          d.host,
          String(d.pid),
          `${Math.round((now - d.startedAt) / 1000)}s`,
          String(d.running),
          d.queues.join(','),
        ]);
      }
      io.out(`live daemons: ${daemons.length}\n${pad(list)}\n`);
    }
    return 0;
  } finally {
    await side?.close();
    await errand.close();
  }
}

/** Hides a password in a broker URL. */
export const redact = (url: string): string => url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
