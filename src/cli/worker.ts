/** `errand worker`: run the daemon from a config file (Gordon's and Goophry's flags accepted). */
import { ConfigError, loadConfig } from '../daemon/config.ts';
import { Daemon } from '../daemon/daemon.ts';
import { type LogFormat, Logger } from '../daemon/logger.ts';
import { ERRAND_VERSION } from '../daemon/version.ts';
import { type Io, type Options, parse, str, UsageError } from './args.ts';

export const workerOptions: Options = {
  conf: { type: 'string', short: 'c' },
  logfile: { type: 'string', short: 'l' },
  test: { type: 'boolean', short: 't' },
  verbose: { type: 'boolean', short: 'v' },
  version: { type: 'boolean', short: 'V' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export const workerHelp = `Usage: errand worker [options]

Runs the daemon: the task types of the config file (commands, and handlers from modules).
Reads Errand's errand.toml (or .yaml/.json), a Gordon 1.6 TOML config or a Goophry JSON config.

Options (Go's single-dash spellings such as -conf, -logfile, -test, -verbose, -version also work):
  -c, --conf PATH        config file (default ./errand.toml)
  -l, --logfile PATH     log to this file instead of the config's logfile ("" = stdout)
  -t, --test             check the config, print "Configuration is valid" or the problems; exit 0 or 1
  -v, --verbose          add debug lines to the log
      --log-format FMT   "text" (default) or "json": one line per event
  -V, --version          print the version and exit
  -h, --help             show this help

Environment: ERRAND_BROKER, then REDIS_URL, override the broker URL of the config.
Signals: SIGTERM/SIGINT drain running tasks up to the config's shutdown_timeout; a second
signal stops at once, killing the commands' process groups and handing their tasks back.
`;

/** Runs until a signal stops the daemon; resolves with the exit status. */
export async function workerCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parse(argv, workerOptions, false);
  if (values.help) {
    io.out(workerHelp);
    return 0;
  }
  if (values.version) {
    io.out(`errand version ${ERRAND_VERSION}\n`);
    return 0;
  }
  const format = str(values['log-format']) ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`--log-format must be "text" or "json" (got ${JSON.stringify(format)})`);
  }
  const file = str(values.conf) ?? './errand.toml';
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(file, io.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = err.problems.map((p) => `  ${p}`).join('\n');
    if (values.test) io.out(`Configuration is invalid (${err.file}):\n${lines}\n`);
    else io.err(`errand: configuration is invalid (${err.file}):\n${lines}\n`);
    return 1;
  }
  if (values.test) {
    io.out('Configuration is valid\n');
    for (const w of config.warnings) io.out(`  note: ${w}\n`);
    return 0;
  }
  const logfile = str(values.logfile) ?? config.logfile;
  let log: Logger;
  try {
    log = new Logger({ format: format as LogFormat, verbose: values.verbose === true, file: logfile });
  } catch (err) {
    io.err(`errand: cannot open logfile ${logfile}: ${(err as Error).message}\n`);
    return 1;
  }
  const daemon = new Daemon(config, log);
  let signals = 0;
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    log.info('Received signal', { signal: sig });
    if (signals === 1) requestStop();
    else daemon.hurry();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The workers' sockets may be idle while Redis is down: keep the process alive until told to stop.
  const keepAlive = setInterval(() => undefined, 3_600_000);
  try {
    await daemon.start();
    await stopRequested;
    await daemon.stop();
    return 0;
  } catch (err) {
    log.error('daemon failed', { error: (err as Error).message });
    await daemon.stop().catch(() => undefined);
    return 1;
  } finally {
    clearInterval(keepAlive);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    log.close();
  }
}
