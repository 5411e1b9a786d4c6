/** `errand resque`: run Resque jobs with this Errand's handlers, with goworker's flags and spellings. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Errand } from '../core/errand.ts';
import { ErrandConfigError } from '../core/errors.ts';
import { loadModules } from '../daemon/modules.ts';
import { resque } from '../resque/index.ts';
import { type Io, type Options, parse, str, strs, UsageError } from './args.ts';
import { resqueHelp } from './resque-help.ts';

export const resqueOptions: Options = {
  queues: { type: 'string' },
  concurrency: { type: 'string' },
  uri: { type: 'string' },
  namespace: { type: 'string' },
  interval: { type: 'string' },
  'exit-on-complete': { type: 'boolean' },
  modules: { type: 'string', multiple: true },
  connections: { type: 'string' },
  'use-number': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** goworker's URI rule: $REDIS_PROVIDER names the variable to read, else $REDIS_URL, else localhost. */
export function redisUriFrom(env: NodeJS.ProcessEnv): string {
  const provider = env.REDIS_PROVIDER;
  const fromProvider = provider ? env[provider] : undefined;
  return fromProvider || env.REDIS_URL || 'redis://localhost:6379/';
}

export async function resqueCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, resqueOptions, false);
  if (values.help) {
    io.out(resqueHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const queues = str(values.queues);
  if (!queues)
    throw new UsageError('you must specify at least one queue (-queues=q1,q2 or -queues=high=2,low=1)');
  const concurrency = wholeNumber('-concurrency', str(values.concurrency), 25);
  const interval = seconds('-interval', str(values.interval), 5);
  const modules = strs(values.modules).map((m) => resolve(m));
  if (modules.length === 0)
    throw new UsageError('--modules FILE is needed: it defines the tasks (one per class)');
  for (const m of modules) if (!existsSync(m)) throw new UsageError(`--modules: file not found: ${m}`);
  const uri = str(values.uri) ?? redisUriFrom(io.env);
  if (!/^rediss?:\/\//.test(uri))
    throw new UsageError(`-uri must be a redis:// or rediss:// URL (got ${JSON.stringify(uri)})`);

  const errand = new Errand({ broker: uri });
  await loadModules(errand, modules, process.cwd());
  const r = resque(errand, { namespace: str(values.namespace) ?? 'resque:' });
  let worker: ReturnType<typeof r.worker>;
  try {
    worker = r.worker({
      queues,
      concurrency,
      intervalMs: interval * 1000,
      exitOnComplete: values['exit-on-complete'] === true,
      // The command handles signals itself, to exit 0 after a drain (goworker does).
      handleSignals: false,
    });
  } catch (err) {
    await r.close();
    if (err instanceof ErrandConfigError) throw new UsageError(err.message);
    throw err;
  }
  worker.on('error', (err) => io.err(`errand resque: ${err.message}\n`));
  let signals = 0;
  const onSignal = (): void => {
    // First signal: drain (running jobs finish, up to 10 s); second: hand them back at once.
    worker
      .stop(++signals > 1 ? { timeoutMs: 0 } : {})
      .catch((err: unknown) => io.err(`errand resque: stopping: ${String(err)}\n`));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await worker.start();
  } catch (err) {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await r.close();
    throw err;
  }
  io.err(
    `errand resque: ${concurrency} workers on ${worker.queues.names.join(', ')} (namespace "${r.namespace}", tasks: ${errand.runtime.taskNames().join(', ') || 'none'})\n`,
  );
  await worker.done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  await r.close();
  return 0;
}

function wholeNumber(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a whole number >= 1 (got ${JSON.stringify(v)})`);
  return n;
}

function seconds(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`${flag} must be a number of seconds >= 0, such as 5.0 (got ${JSON.stringify(v)})`);
  return n;
}
