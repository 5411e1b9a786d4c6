/** `errand dashboard --listen 127.0.0.1:8080`: the web dashboard for the config's (or the given) queues. */
import { startDashboard } from '../ops/dashboard/server.ts';
import { type Io, type Options, parse, str, strs } from './args.ts';
import { clientErrand, confHelp, confOption, openConfig } from './context.ts';

export const dashboardOptions: Options = {
  ...confOption,
  listen: { type: 'string', short: 'l' },
  token: { type: 'string' },
  queue: { type: 'string', short: 'q', multiple: true },
  help: { type: 'boolean', short: 'h' },
};

export const dashboardHelp = `Usage: errand dashboard [options]

Serves a web page: every queue with live counts and a throughput chart, a queue's tasks by
state, a task by id; retry/purge dead tasks, delete waiting ones, cancel running ones,
pause/resume queues. Runs until SIGINT/SIGTERM. See docs/operations.md.

Options:
${confHelp}  -l, --listen ADDR    host:port (default 127.0.0.1:8080)
      --token TOKEN    required off loopback (also $ERRAND_DASHBOARD_TOKEN); open /login?token=TOKEN
  -q, --queue NAME     a queue to show (repeatable; default: the config's queues, and "default")
  -h, --help           show this help
`;

export async function dashboardCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parse(argv, dashboardOptions, false);
  if (values.help) {
    io.out(dashboardHelp);
    return 0;
  }
  const config = openConfig(values, io);
  const errand = clientErrand(config);
  const queues = strs(values.queue);
  const fromConfig = [...new Set(['default', ...config.moduleQueues, ...config.tasks.map((t) => t.queue)])];
  const token = str(values.token) ?? (io.env.ERRAND_DASHBOARD_TOKEN || undefined);
  try {
    const dashboard = await startDashboard(errand, {
      listen: str(values.listen) ?? config.dashboard?.listen ?? '127.0.0.1:8080',
      token: token ?? config.dashboard?.token,
      queues: () => (queues.length > 0 ? queues : fromConfig),
    });
    io.out(`errand dashboard: ${dashboard.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await dashboard.close();
    return 0;
  } finally {
    await errand.close();
  }
}
