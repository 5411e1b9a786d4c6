/**
 * Gordon 1.6 (TOML) and Goophry 1.1 (JSON) configs, read as those daemons read them:
 * keys match case-insensitively and unknown keys are ignored (reported as warnings).
 * Gordon's polling and error back-off keys are accepted and reported as superseded.
 * A few Errand keys may be added (Gordon ignores them): `broker`, `prefix`, `lease`,
 * `shutdown_timeout`, and per task `retries`, `timeout`, `kill_grace`, `max_output`, `cwd`.
 */
import { tmpdir } from 'node:os';
import { isPlainObject, join, type Plain, type Reader } from './config-reader.ts';
import { type CommandTaskConfig, type DaemonConfig, DEFAULTS, type StatsConfig } from './config-types.ts';
import { resolveFrom } from './paths.ts';

const EXTENSION_KEYS = ['broker', 'prefix', 'lease', 'shutdown_timeout', 'results'] as const;
const TASK_EXTENSION_KEYS = ['retries', 'timeout', 'kill_grace', 'max_output', 'cwd'] as const;
const INTERVAL_KEYS = ['interval_min', 'interval_max', 'interval_factor'] as const;
const BACKOFF_KEYS = ['backoff_enabled', 'backoff_min', 'backoff_max', 'backoff_factor'] as const;

const SUPERSEDED_INTERVAL = 'accepted but superseded: Errand wakes when a task arrives instead of polling';
const SUPERSEDED_BACKOFF =
  'accepted but superseded: use the task keys "retries" (and Errand\'s backoff) instead';

/** Gordon and Goophry lists live at `<queue_key>:<type>`; Errand's own keys go under their own prefix. */
const defaultPrefix = (queueKey: string): string =>
  queueKey ? `errand:${queueKey.replace(/[^\w.:-]/g, '_')}` : 'errand';

const brokerFromAddress = (address: string | undefined): string => (address ? `redis://${address}` : '');

function commonTaskFields(t: Plain, base: string, dir: string, r: Reader) {
  const cwd = r.string(t, base, 'cwd');
  return {
    args: [],
    cwd: cwd ? resolveFrom(dir, cwd) : undefined,
    env: {},
    timeoutMs: r.duration(t, base, 'timeout', true),
    killGraceMs: r.duration(t, base, 'kill_grace', false) ?? DEFAULTS.killGraceMs,
    // Gordon never re-runs a failed task; keep that unless the config asks for retries.
    retries: r.number(t, base, 'retries', { int: true, min: 0 }) ?? 0,
    backoff: undefined,
    maxOutputBytes: r.number(t, base, 'max_output', { int: true, min: 0 }) ?? DEFAULTS.gordonMaxOutputBytes,
    failure: 'gordon' as const,
  };
}

function workers(t: Plain, base: string, key: string, r: Reader): number {
  const n = r.number(t, base, key, { int: true });
  if (n !== undefined && n < 1)
    r.warnings.push(`${join(base, key)}: ${n} is below 1, using 1 (as Gordon does)`);
  return Math.max(1, n ?? 1);
}

/** A failed-list TTL as written: undefined when unset, negative = no failed list. */
function ttl(t: Plain, base: string, key: string, r: Reader): number | undefined {
  const n = r.number(t, base, key, { int: true });
  if (n !== undefined && n < 0)
    r.warnings.push(`${join(base, key)}: negative TTL ${n} disables the failed list`);
  return n;
}

/**
 * Gordon: a type's own TTL when it is not 0 (negative: no failed list), else the global one.
 * Returns seconds, 0 = no failed list.
 */
function effectiveTtl(own: number | undefined, global: number | undefined): number {
  const n = own !== undefined && own !== 0 ? own : (global ?? 0);
  return Math.max(0, n);
}

/** Dead letters live as long as the failed list would, so the daemon keeps no more than Gordon did. */
const deadLetterTtlMs = (failedTtlSec: number): number =>
  failedTtlSec > 0 ? failedTtlSec * 1000 : DEFAULTS.gordonDeadLetterTtlMs;

export function readGordonConfig(raw: Plain, file: string, dir: string, r: Reader): DaemonConfig {
  const known = [
    'redis_network',
    'redis_address',
    'queue_key',
    'error_script',
    'failed_tasks_ttl',
    'temp_dir',
    'logfile',
    'stats',
    'tasks',
    ...INTERVAL_KEYS,
    ...BACKOFF_KEYS,
    ...EXTENSION_KEYS,
  ];
  r.unknownKeys(raw, '', known, true);
  for (const k of INTERVAL_KEYS) r.number(raw, '', k);
  for (const k of [...INTERVAL_KEYS, ...BACKOFF_KEYS]) {
    if (r.has(raw, k))
      r.warnings.push(`${k}: ${k.startsWith('interval') ? SUPERSEDED_INTERVAL : SUPERSEDED_BACKOFF}`);
  }
  r.bool(raw, '', 'backoff_enabled');
  for (const k of ['backoff_min', 'backoff_max', 'backoff_factor']) r.number(raw, '', k);
  const network = r.string(raw, '', 'redis_network');
  if (network && network !== 'tcp')
    r.warnings.push(`redis_network: "${network}" is treated as "tcp" (as Gordon does)`);
  const address = r.string(raw, '', 'redis_address');
  const queueKey = r.string(raw, '', 'queue_key') ?? '';
  const globalTtl = ttl(raw, '', 'failed_tasks_ttl', r);

  const tasks: CommandTaskConfig[] = [];
  const rawTasks = r.table(raw, '', 'tasks');
  for (const [type, t] of Object.entries(rawTasks ?? {})) {
    const base = join('tasks', type);
    if (!isPlainObject(t)) {
      r.problem(base, 'must be a table ([tasks.<type>] with script = "...")', t);
      continue;
    }
    r.unknownKeys(
      t,
      base,
      ['type', 'script', 'workers', 'failed_tasks_ttl', ...BACKOFF_KEYS, ...TASK_EXTENSION_KEYS],
      true,
    );
    r.bool(t, base, 'backoff_enabled');
    for (const k of ['backoff_min', 'backoff_max', 'backoff_factor']) r.number(t, base, k);
    const script = r.string(t, base, 'script');
    if (!script) r.problem(join(base, 'script'), 'is required (the program to run for this task type)');
    const failedTtlSec = effectiveTtl(ttl(t, base, 'failed_tasks_ttl', r), globalTtl);
    const task: CommandTaskConfig = {
      ...commonTaskFields(t, base, dir, r),
      name: type,
      queue: type,
      program: resolveFrom(dir, script ?? ''),
      programKey: join(base, 'script'),
      concurrency: workers(t, base, 'workers', r),
      failedTtlSec,
      deadLetterTtlMs: deadLetterTtlMs(failedTtlSec),
    };
    if (script) tasks.push(task);
  }
  if (rawTasks && Object.keys(rawTasks).length === 0) r.warnings.push('tasks: no task types configured');

  const stats = r.table(raw, '', 'stats');
  if (stats) {
    r.unknownKeys(stats, 'stats', ['interface', 'newrelic'], true);
    if (r.has(stats, 'newrelic')) r.warnings.push('stats.newrelic: accepted but not supported (ignored)');
  }
  const statsInterface = stats ? r.string(stats, 'stats', 'interface') : undefined;
  return finish(raw, r, {
    flavour: 'gordon',
    file,
    broker: r.string(raw, '', 'broker') || brokerFromAddress(address),
    queueKey,
    tasks,
    errorProgram: r.string(raw, '', 'error_script'),
    errorMode: 'file',
    tempDir: resolveFrom(dir, r.string(raw, '', 'temp_dir') || tmpdir()),
    logfile: resolveFrom(dir, r.string(raw, '', 'logfile') ?? ''),
    stats: statsInterface ? { listen: statsInterface, path: undefined, tls: undefined } : undefined,
  });
}

export function readGoophryConfig(raw: Plain, file: string, dir: string, r: Reader): DaemonConfig {
  const known = [
    'RedisNetwork',
    'RedisAddress',
    'RedisQueueKey',
    'Tasks',
    'ErrorScript',
    'FailedTasksTTL',
    'Logfile',
    'StatsInterface',
    'StatsPattern',
    'StatsTLSCertFile',
    'StatsTLSKeyFile',
    'TempDir',
    ...EXTENSION_KEYS,
  ];
  r.unknownKeys(raw, '', known, true);
  const network = r.string(raw, '', 'RedisNetwork');
  if (network && network !== 'tcp') r.warnings.push(`RedisNetwork: "${network}" is treated as "tcp"`);
  const address = r.string(raw, '', 'RedisAddress');
  const queueKey = r.string(raw, '', 'RedisQueueKey') ?? '';
  const globalTtl = ttl(raw, '', 'FailedTasksTTL', r);
  const tasks: CommandTaskConfig[] = [];
  const rawTasks = (raw.Tasks ?? raw.tasks) as unknown;
  if (rawTasks !== undefined && !Array.isArray(rawTasks)) r.problem('Tasks', 'must be an array', rawTasks);
  const seen = new Set<string>();
  for (const [i, t] of (Array.isArray(rawTasks) ? (rawTasks as unknown[]) : []).entries()) {
    const base = `Tasks[${i}]`;
    if (!isPlainObject(t)) {
      r.problem(base, 'must be an object', t);
      continue;
    }
    r.unknownKeys(t, base, ['Type', 'Script', 'Workers', ...TASK_EXTENSION_KEYS], true);
    const type = r.string(t, base, 'Type');
    const script = r.string(t, base, 'Script');
    if (!type) r.problem(`${base}.Type`, 'is required (the task type)');
    else if (seen.has(type)) r.problem(`${base}.Type`, `duplicate task type "${type}"`);
    if (!script) r.problem(`${base}.Script`, 'is required (the program to run for this task type)');
    const common = commonTaskFields(t, base, dir, r);
    const concurrency = workers(t, base, 'Workers', r);
    if (!type || !script || seen.has(type)) continue;
    seen.add(type);
    tasks.push({
      ...common,
      name: type,
      queue: type,
      program: resolveFrom(dir, script),
      programKey: `${base}.Script`,
      concurrency,
      failedTtlSec: effectiveTtl(undefined, globalTtl),
      deadLetterTtlMs: deadLetterTtlMs(effectiveTtl(undefined, globalTtl)),
    });
  }
  const cert = r.string(raw, '', 'StatsTLSCertFile');
  const key = r.string(raw, '', 'StatsTLSKeyFile');
  if (Boolean(cert) !== Boolean(key))
    r.problem('StatsTLSCertFile', 'StatsTLSCertFile and StatsTLSKeyFile must be set together');
  const listen = r.string(raw, '', 'StatsInterface');
  return finish(raw, r, {
    flavour: 'goophry',
    file,
    broker: r.string(raw, '', 'broker') || brokerFromAddress(address),
    queueKey,
    tasks,
    errorProgram: r.string(raw, '', 'ErrorScript'),
    errorMode: 'argv',
    tempDir: resolveFrom(dir, r.string(raw, '', 'TempDir') || tmpdir()),
    logfile: resolveFrom(dir, r.string(raw, '', 'Logfile') ?? ''),
    stats: listen
      ? {
          listen,
          path: r.string(raw, '', 'StatsPattern') || '/',
          tls: cert && key ? { certFile: resolveFrom(dir, cert), keyFile: resolveFrom(dir, key) } : undefined,
        }
      : undefined,
  });
}

interface Parts {
  flavour: 'gordon' | 'goophry';
  file: string;
  broker: string;
  queueKey: string;
  tasks: CommandTaskConfig[];
  errorProgram: string | undefined;
  errorMode: 'file' | 'argv';
  tempDir: string;
  logfile: string;
  stats: StatsConfig | undefined;
}

function finish(raw: Plain, r: Reader, p: Parts): DaemonConfig {
  return {
    flavour: p.flavour,
    file: p.file,
    broker: p.broker,
    prefix: r.string(raw, '', 'prefix') || defaultPrefix(p.queueKey),
    queueKey: p.queueKey,
    modules: [],
    moduleQueues: [],
    moduleConcurrency: DEFAULTS.moduleConcurrency,
    tasks: p.tasks,
    // Gordon runs error_script as given: a bare name is looked up in PATH, a relative path is from the CWD.
    errorScript: p.errorProgram ? { program: p.errorProgram, mode: p.errorMode } : undefined,
    tempDir: p.tempDir,
    logfile: p.logfile,
    stats: p.stats,
    leaseMs: r.duration(raw, '', 'lease', true) ?? DEFAULTS.leaseMs,
    shutdownMs: r.duration(raw, '', 'shutdown_timeout', false) ?? DEFAULTS.shutdownMs,
    // Gordon kept no results; a result key per task would only grow Redis.
    storeResults: r.bool(raw, '', 'results') ?? false,
    warnings: r.warnings,
  };
}
