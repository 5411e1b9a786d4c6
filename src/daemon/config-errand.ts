/** Errand's own config format (errand.toml / .yaml / .json). Unknown keys are errors here. */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { BackoffSpec } from '../core/backoff.ts';
import { isLoopback, parseAddress } from '../ops/http.ts';
import { parseQueues } from '../resque/queues.ts';
import { isPlainObject, type Plain, type Reader } from './config-reader.ts';
import {
  type CommandTaskConfig,
  type DaemonConfig,
  DEFAULTS,
  type ResqueSectionConfig,
  type StatsConfig,
} from './config-types.ts';
import { isTypeScript, typeScriptProblem } from './modules.ts';
import { resolveFrom } from './paths.ts';

const TOP_KEYS = [
  'broker',
  'backend',
  'prefix',
  'modules',
  'queues',
  'concurrency',
  'lease',
  'shutdown_timeout',
  'logfile',
  'error_script',
  'error_script_mode',
  'temp_dir',
  'stats',
  'metrics',
  'dashboard',
  'tasks',
  'resque',
] as const;

const TASK_KEYS = [
  'name',
  'command',
  'program',
  'args',
  'queue',
  'cwd',
  'env',
  'timeout',
  'kill_grace',
  'concurrency',
  'retries',
  'backoff',
  'max_output',
  'failure',
] as const;

/** A `[[resque.jobs]]` entry is a command task named by its class; the Resque worker sets queues and concurrency. */
const RESQUE_JOB_KEYS = [
  'class',
  ...TASK_KEYS.filter((k) => k !== 'name' && k !== 'queue' && k !== 'concurrency'),
];

export function readErrandConfig(raw: Plain, file: string, dir: string, r: Reader): DaemonConfig {
  r.unknownKeys(raw, '', TOP_KEYS, false);
  const tasks: CommandTaskConfig[] = [];
  const rawTasks = raw.tasks;
  if (rawTasks !== undefined && !Array.isArray(rawTasks)) {
    r.problem('tasks', 'must be an array of tables ([[tasks]] in TOML)', rawTasks);
  } else if (rawTasks) {
    const seen = new Set<string>();
    for (const [i, t] of (rawTasks as unknown[]).entries()) {
      const task = readTask(t, `tasks[${i}]`, dir, r);
      if (!task) continue;
      if (seen.has(task.name)) r.problem(`tasks[${i}].name`, `duplicate task name "${task.name}"`);
      seen.add(task.name);
      tasks.push(task);
    }
  }
  const errorProgram = r.string(raw, '', 'error_script');
  const modules = (r.stringArray(raw, '', 'modules') ?? []).map((m) => resolveFrom(dir, m));
  for (const [i, m] of modules.entries()) {
    if (!existsSync(m)) r.problem(`modules[${i}]`, `file not found: ${m}`);
    else if (isTypeScript(m)) {
      const problem = typeScriptProblem(dir);
      if (problem) r.problem(`modules[${i}]`, `${m} ${problem}`);
    }
  }
  return {
    flavour: 'errand',
    file,
    broker: brokerRelativeTo(dir, r.string(raw, '', 'broker') ?? ''),
    ...optionalBackend(dir, r.string(raw, '', 'backend')),
    prefix: r.string(raw, '', 'prefix') ?? 'errand',
    queueKey: undefined,
    modules,
    moduleQueues: r.stringArray(raw, '', 'queues') ?? ['default'],
    moduleConcurrency: r.number(raw, '', 'concurrency', { int: true, min: 1 }) ?? DEFAULTS.moduleConcurrency,
    tasks,
    errorScript: errorProgram
      ? {
          program: resolveProgram(dir, errorProgram),
          mode: r.oneOf(raw, '', 'error_script_mode', ['file', 'argv'] as const) ?? 'file',
        }
      : undefined,
    tempDir: resolveFrom(dir, r.string(raw, '', 'temp_dir') || tmpdir()),
    logfile: resolveFrom(dir, r.string(raw, '', 'logfile') ?? ''),
    stats: readStats(raw, dir, r),
    metrics: readListen(raw, 'metrics', [], r),
    dashboard: readDashboard(raw, r),
    leaseMs: r.duration(raw, '', 'lease', true) ?? DEFAULTS.leaseMs,
    shutdownMs: r.duration(raw, '', 'shutdown_timeout', false) ?? DEFAULTS.shutdownMs,
    storeResults: true,
    resque: readResque(raw, dir, tasks, r),
    warnings: r.warnings,
  };
}

function readStats(raw: Plain, dir: string, r: Reader): StatsConfig | undefined {
  const s = r.table(raw, '', 'stats');
  if (!s) return undefined;
  r.unknownKeys(s, 'stats', ['listen', 'path', 'tls_cert_file', 'tls_key_file'], false);
  const listen = r.string(s, 'stats', 'listen');
  if (!listen) return undefined;
  const cert = r.string(s, 'stats', 'tls_cert_file');
  const key = r.string(s, 'stats', 'tls_key_file');
  if (Boolean(cert) !== Boolean(key))
    r.problem('stats', 'tls_cert_file and tls_key_file must be set together');
  return {
    listen,
    path: r.string(s, 'stats', 'path') || undefined,
    tls: cert && key ? { certFile: resolveFrom(dir, cert), keyFile: resolveFrom(dir, key) } : undefined,
  };
}

function readListen(raw: Plain, table: string, more: readonly string[], r: Reader) {
  const t = r.table(raw, '', table);
  if (!t) return undefined;
  r.unknownKeys(t, table, ['listen', ...more], false);
  const listen = r.string(t, table, 'listen');
  if (!listen) return undefined;
  try {
    parseAddress(`${table}.listen`, listen);
  } catch (err) {
    r.problem(`${table}.listen`, (err as Error).message.replace(/^\S+ /, ''), listen);
  }
  return { listen };
}

function readDashboard(raw: Plain, r: Reader) {
  const listen = readListen(raw, 'dashboard', ['token'], r);
  if (!listen) return undefined;
  const token = r.string(r.table(raw, '', 'dashboard') ?? {}, 'dashboard', 'token') || undefined;
  if (!token && !isLoopback(parseAddressOrUndefined(listen.listen)))
    r.problem(
      'dashboard.token',
      'is required when dashboard.listen is not a loopback address (127.0.0.1, ::1)',
    );
  return { listen: listen.listen, token };
}

const parseAddressOrUndefined = (address: string): string | undefined => {
  try {
    return parseAddress('listen', address).host;
  } catch {
    return undefined;
  }
};

/** `sqlite:relative/path` is relative to the config file, like every other path in it. */
const brokerRelativeTo = (dir: string, url: string): string =>
  url.startsWith('sqlite:') && url.length > 'sqlite:'.length
    ? `sqlite:${resolveFrom(dir, url.slice(7))}`
    : url;

/** A program with a slash is a path (relative to the config file); a bare name is looked up in PATH. */
export const resolveProgram = (dir: string, program: string): string =>
  program.includes('/') ? resolveFrom(dir, program) : program;

/** `[[tasks]]` entries are named by `name`; `[[resque.jobs]]` entries by the Resque `class` they serve. */
type TaskKind = 'task' | 'resque-job';

function readTask(
  t: unknown,
  base: string,
  dir: string,
  r: Reader,
  kind: TaskKind = 'task',
): CommandTaskConfig | undefined {
  if (!isPlainObject(t)) return r.problem(base, 'must be a table', t);
  r.unknownKeys(t, base, kind === 'task' ? TASK_KEYS : RESQUE_JOB_KEYS, false);
  const nameKey = kind === 'task' ? 'name' : 'class';
  const name = r.string(t, base, nameKey);
  if (!name)
    r.problem(
      `${base}.${nameKey}`,
      kind === 'task'
        ? 'is required (the task type messages carry)'
        : 'is required (the Resque class it serves)',
    );
  const command = r.stringArray(t, base, 'command');
  let program = r.string(t, base, 'program');
  let args = r.stringArray(t, base, 'args') ?? [];
  if (command) {
    if (program !== undefined)
      r.problem(`${base}.program`, 'cannot be combined with command (use one of them)');
    if (command.length === 0) r.problem(`${base}.command`, 'must name a program (got an empty array)');
    program = command[0];
    args = [...command.slice(1), ...args];
  }
  if (!program && !command) r.problem(base, 'needs command = ["program", "arg", ...] or program = "..."');
  const cwd = r.string(t, base, 'cwd');
  const backoff = readBackoff(t, base, r);
  const failure = r.oneOf(t, base, 'failure', ['exit-code', 'gordon'] as const) ?? 'exit-code';
  // Every key is checked before giving up on the task, so one run reports every problem.
  const queue = kind === 'task' ? r.string(t, base, 'queue') : undefined;
  const env = r.stringMap(t, base, 'env') ?? {};
  const timeoutMs = r.duration(t, base, 'timeout', true);
  const killGraceMs = r.duration(t, base, 'kill_grace', false) ?? DEFAULTS.killGraceMs;
  const concurrency =
    (kind === 'task' ? r.number(t, base, 'concurrency', { int: true, min: 1 }) : undefined) ??
    DEFAULTS.concurrency;
  const retries = r.number(t, base, 'retries', { int: true, min: 0 }) ?? 0;
  const maxOutputBytes = r.number(t, base, 'max_output', { int: true, min: 0 }) ?? DEFAULTS.maxOutputBytes;
  if (!name || !program) return undefined;
  return {
    name,
    queue: queue || name,
    program: resolveProgram(dir, program),
    programKey: `${base}.${command ? 'command' : 'program'}`,
    args,
    cwd: cwd ? resolveFrom(dir, cwd) : undefined,
    env,
    timeoutMs,
    killGraceMs,
    concurrency,
    retries,
    backoff,
    maxOutputBytes,
    failure,
    failedTtlSec: 0,
  };
}

/** `[resque]`: a Resque worker on the broker's Redis; `[[resque.jobs]]` serve classes with commands. */
function readResque(
  raw: Plain,
  dir: string,
  tasks: readonly CommandTaskConfig[],
  r: Reader,
): ResqueSectionConfig | undefined {
  const s = r.table(raw, '', 'resque');
  if (!s) return undefined;
  r.unknownKeys(s, 'resque', ['namespace', 'queues', 'concurrency', 'interval', 'jobs'], false);
  const namespace = r.string(s, 'resque', 'namespace') ?? 'resque:';
  const queues = r.string(s, 'resque', 'queues');
  if (queues === undefined) r.problem('resque.queues', 'is required ("q1,q2", or weighted "high=2,low=1")');
  else {
    try {
      if (parseQueues('resque.queues', queues).names.length === 0)
        r.problem('resque.queues', 'names no queue', queues);
    } catch (err) {
      r.problems.push((err as Error).message);
    }
  }
  const concurrency = r.number(s, 'resque', 'concurrency', { int: true, min: 1 }) ?? 25;
  const intervalMs = r.duration(s, 'resque', 'interval', false) ?? 5000;
  const jobs: CommandTaskConfig[] = [];
  const rawJobs = s.jobs;
  if (rawJobs !== undefined && !Array.isArray(rawJobs)) {
    r.problem('resque.jobs', 'must be an array of tables ([[resque.jobs]] in TOML)', rawJobs);
  } else if (rawJobs) {
    const taskNames = new Set(tasks.map((t) => t.name));
    const seen = new Set<string>();
    for (const [i, j] of (rawJobs as unknown[]).entries()) {
      const job = readTask(j, `resque.jobs[${i}]`, dir, r, 'resque-job');
      if (!job) continue;
      if (seen.has(job.name)) r.problem(`resque.jobs[${i}].class`, `duplicate class "${job.name}"`);
      // One task name, one handler: a [[tasks]] type of this name already serves the class.
      if (taskNames.has(job.name))
        r.problem(
          `resque.jobs[${i}].class`,
          `"${job.name}" is also a [[tasks]] name; that task already serves Resque jobs of this class (remove one of them)`,
        );
      seen.add(job.name);
      jobs.push(job);
    }
  }
  return { namespace, queues: queues ?? '', concurrency, intervalMs, jobs };
}

function readBackoff(t: Plain, base: string, r: Reader): BackoffSpec | undefined {
  const b = r.table(t, base, 'backoff');
  if (!b) return undefined;
  const path = `${base}.backoff`;
  r.unknownKeys(b, path, ['type', 'delay', 'max_delay', 'jitter'], false);
  const type = r.oneOf(b, path, 'type', ['fixed', 'exponential', 'fibonacci'] as const) ?? 'exponential';
  const delayMs = r.duration(b, path, 'delay', false) ?? 1000;
  const maxDelayMs = r.duration(b, path, 'max_delay', false);
  const jitter = r.number(b, path, 'jitter', { min: 0 });
  if (jitter !== undefined && jitter > 1) r.problem(`${path}.jitter`, 'must be between 0 and 1', jitter);
  return {
    type,
    delayMs,
    ...(maxDelayMs === undefined ? {} : { maxDelayMs }),
    ...(jitter === undefined ? {} : { jitter }),
  };
}

/** The result backend URL (`backend = "redis://…"`), a relative `sqlite:` path resolved like the broker's. */
const optionalBackend = (dir: string, url: string | undefined): { backend?: string } =>
  url ? { backend: brokerRelativeTo(dir, url) } : {};
