/** `errand worker`: run the daemon from a config file (Gordon's and Goophry's flags accepted). */
import { existsSync } from 'node:fs';
import { ConfigError, type DaemonConfig, loadConfig, programProblems } from '../daemon/config.ts';
import { Daemon } from '../daemon/daemon.ts';
import { LOG_FORMATS, type LogFormat, Logger } from '../daemon/logger.ts';
import { watchParent } from '../daemon/parent.ts';
import { DEFAULT_CONFIGS, findDefaultConfig } from '../daemon/paths.ts';
import { ERRAND_VERSION } from '../daemon/version.ts';
import { type Io, type Options, parse, str, UsageError } from './args.ts';

export const workerOptions: Options = {
  conf: { type: 'string', short: 'c' },
  logfile: { type: 'string', short: 'l' },
  test: { type: 'boolean', short: 't' },
  verbose: { type: 'boolean', short: 'v' },
  version: { type: 'boolean', short: 'V' },
  'log-format': { type: 'string' },
  'metrics-listen': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** Looked for in the working directory, in this order, when no -c is given. */
export const workerHelp = `Usage: errand worker [options]

Runs the daemon: the task types of the config file (commands, and handlers from modules).
Reads Errand's errand.toml (or .yaml/.json), a Gordon 1.6 TOML config or a Goophry JSON config.

Options (Go's single-dash spellings such as -conf, -logfile, -test, -verbose, -version also work):
  -c, --conf PATH        config file; without it the first of ${DEFAULT_CONFIGS.join(', ')}
                         found in the working directory
  -l, --logfile PATH     log to this file instead of the config's logfile ("" = stdout)
  -t, --test             check the config (and that its programs can run), print
                         "Configuration is valid" or every problem; exit 0 or 1
  -v, --verbose          add debug lines to the log
      --log-format FMT   "text", "json", "gordon" or "goophry"; default "gordon" for a Gordon
                         config, "goophry" for a Goophry config (as those daemons log), else "text"
      --metrics-listen ADDR  serve Prometheus metrics at http://ADDR/metrics (overrides [metrics] listen)
  -V, --version          print the version and exit
  -h, --help             show this help

Environment: ERRAND_BROKER, then REDIS_URL, override the broker URL of the config;
ERRAND_BACKEND overrides its result backend URL (backend).
Signals: SIGTERM/SIGINT drain running tasks up to the config's shutdown_timeout; a second
signal stops at once, killing the commands' process groups and handing their tasks back.
SIGHUP reloads an Errand-format config (task types added or removed, concurrency changed; an
invalid config is refused with the reasons and the running one kept); for a Gordon or Goophry
config SIGHUP stops gracefully, like SIGTERM.
Started by npm (npx errand worker), the daemon also stops when npm exits. Under a supervisor,
run it directly: exec node_modules/.bin/errand worker ...
`;

/** The config file to read: -c, else the first default name present (else errand.toml, reported as missing). */
function configFile(flag: string | undefined): string {
  if (flag !== undefined) return flag;
  return findDefaultConfig() ?? 'errand.toml';
}

const defaultFormat = (config: DaemonConfig): LogFormat =>
  config.flavour === 'errand' ? 'text' : config.flavour;

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
  const formatFlag = str(values['log-format']);
  if (formatFlag !== undefined && !(LOG_FORMATS as readonly string[]).includes(formatFlag)) {
    throw new UsageError(
      `--log-format must be one of ${LOG_FORMATS.map((f) => `"${f}"`).join(', ')} (got ${JSON.stringify(formatFlag)})`,
    );
  }
  const file = configFile(str(values.conf));
  const invalid = (where: string, problems: readonly string[]): number => {
    const lines = problems.map((p) => `  ${p}`).join('\n');
    if (values.test) io.out(`Configuration is invalid (${where}):\n${lines}\n`);
    else io.err(`errand: configuration is invalid (${where}):\n${lines}\n`);
    return 1;
  };
  let config: DaemonConfig;
  try {
    config = loadConfig(file, io.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (str(values.conf) === undefined && !existsSync(file)) {
      return invalid(err.file, [
        `no config file: none of ${DEFAULT_CONFIGS.join(', ')} is here; use -c PATH`,
      ]);
    }
    return invalid(err.file, err.problems);
  }
  const metricsListen = str(values['metrics-listen']);
  // Flags override the file, at start and on every reload.
  const withFlags = (c: DaemonConfig): DaemonConfig =>
    metricsListen === undefined ? c : { ...c, metrics: { listen: metricsListen } };
  config = withFlags(config);
  const unrunnable = programProblems(config, io.env);
  if (values.test) {
    if (unrunnable.length > 0) return invalid(config.file, unrunnable);
    io.out('Configuration is valid\n');
    for (const w of config.warnings) io.out(`  note: ${w}\n`);
    return 0;
  }
  const logfile = str(values.logfile) ?? config.logfile;
  let log: Logger;
  try {
    log = new Logger({
      format: (formatFlag as LogFormat | undefined) ?? defaultFormat(config),
      verbose: values.verbose === true,
      file: logfile,
    });
  } catch (err) {
    io.err(`errand: cannot open logfile ${logfile}: ${(err as Error).message}\n`);
    return 1;
  }
  // A missing program is only noted at start: it may be deployed later, and each run reports it.
  for (const p of unrunnable) log.warn(`config: ${p}`);
  const daemon = new Daemon(config, log);
  let signals = 0;
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<'stop'>((resolve) => {
    requestStop = () => resolve('stop');
  });
  const onSignal = (sig: NodeJS.Signals | 'parent exited'): void => {
    signals++;
    log.info('Received signal', { signal: sig });
    if (signals === 1) requestStop();
    else daemon.hurry();
  };
  // Errand's own format reloads on SIGHUP; Gordon/Goophry configs keep SIGHUP as a graceful stop.
  const reloads = config.flavour === 'errand';
  let reloading: Promise<void> = Promise.resolve();
  const onHangup = (): void => {
    if (!reloads) {
      onSignal('SIGHUP');
      return;
    }
    log.info('Received signal', { signal: 'SIGHUP', action: 'reload' });
    reloading = reloading.then(() => reloadConfig(daemon, io.env, log, withFlags));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHangup);
  // npm (npx errand worker) exits on SIGTERM without waiting for us: stop with it, not as an orphan.
  const unwatch = io.env.npm_command ? watchParent(() => onSignal('parent exited')) : () => undefined;
  // The workers' sockets may be idle while Redis is down: keep the process alive until told to stop.
  const keepAlive = setInterval(() => undefined, 3_600_000);
  const starting = daemon.start();
  try {
    // A signal while the broker is still out of reach stops the start-up wait too.
    await Promise.race([starting, stopRequested]);
    await stopRequested;
    await daemon.stop();
    await starting;
    return 0;
  } catch (err) {
    log.error('daemon failed', { error: (err as Error).message });
    await daemon.stop().catch(() => undefined);
    return 1;
  } finally {
    starting.catch(() => undefined);
    unwatch();
    clearInterval(keepAlive);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHangup);
    await reloading;
    log.close();
  }
}

/** Reads the config file again and applies it; a config that fails is logged with its reasons and not applied. */
async function reloadConfig(
  daemon: Daemon,
  env: NodeJS.ProcessEnv,
  log: Logger,
  withFlags: (c: DaemonConfig) => DaemonConfig,
): Promise<void> {
  let problems: readonly string[];
  try {
    const next = withFlags(loadConfig(daemon.config.file, env));
    problems = await daemon.reload(next);
    if (problems.length === 0) {
      // As at start: a missing program is noted, not refused (it may be deployed later).
      for (const p of programProblems(next, env)) log.warn(`config: ${p}`);
      return;
    }
  } catch (err) {
    problems = err instanceof ConfigError ? err.problems : [String(err)];
  }
  log.error('Config reload refused; the running config stays', {
    file: daemon.config.file,
    problems: problems.join('; '),
  });
}
