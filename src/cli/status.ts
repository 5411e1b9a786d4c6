/** `errand status`: each queue's depths, running and failed counts, and the live daemons. */
import type { QueueStats } from '../core/port.ts';
import { isRedisUrl } from '../daemon/daemon.ts';
import { type DaemonPresence, listPresence } from '../daemon/presence.ts';
import { SideRedis } from '../daemon/side-redis.ts';
import { type Io, type Options, parse, str, strs } from './args.ts';
import { clientErrand, confOption, openConfig } from './context.ts';

export const statusOptions: Options = {
  ...confOption,
  queue: { type: 'string', short: 'q', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const statusHelp = `Usage: errand status [options]

Shows every queue of the config (and any --queue): tasks waiting, delayed, running, failed
(dead letters; for Gordon/Goophry configs also the length of <queue_key>:<type>:failed),
and the daemons alive now (Redis brokers only).

Options:
  -c, --conf PATH     config file (default ./errand.toml)
  -q, --queue NAME    also show this queue (repeatable)
      --json          print JSON
  -h, --help          show this help
`;

interface QueueRow extends QueueStats {
  readonly queue: string;
  readonly failedList?: number;
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
  const config = openConfig(str(values.conf), io);
  const errand = clientErrand(config);
  const side = isRedisUrl(config.broker) ? new SideRedis(config.broker, () => undefined) : undefined;
  try {
    const queues = [
      ...new Set([
        ...config.tasks.map((t) => t.queue),
        ...(config.modules.length > 0 ? config.moduleQueues : []),
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
      rows.push({ queue, ...stats, ...(failedList !== undefined ? { failedList } : {}) });
    }
    const daemons: DaemonPresence[] | undefined = side ? await listPresence(side, config.prefix) : undefined;
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
        String(r.leased),
        String(r.dead),
        ...(r.failedList !== undefined ? [String(r.failedList)] : []),
      ]);
    }
    io.out(`broker: ${redact(config.broker)}\n\n${pad(table)}\n\n`);
    if (!daemons) io.out('live daemons: not tracked for this broker (Redis only)\n');
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
