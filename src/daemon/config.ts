/**
 * Loads the daemon's config: TOML, YAML or JSON by file extension; Errand's own format,
 * a Gordon 1.6 config or a Goophry config, told apart by their keys. Environment variables
 * `ERRAND_BROKER` then `REDIS_URL` override the broker URL, and `ERRAND_BACKEND` the result
 * backend URL.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, extname, join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import {
  isKnownBackendUrl,
  isKnownBrokerUrl,
  knownBackendSchemes,
  knownBrokerSchemes,
} from '../core/registry.ts';
import { readErrandConfig } from './config-errand.ts';
import { readGoophryConfig, readGordonConfig } from './config-gordon.ts';
import { ConfigError, isPlainObject, type Plain, Reader } from './config-reader.ts';
import type { DaemonConfig, Flavour } from './config-types.ts';

export { ConfigError } from './config-reader.ts';
export type { CommandTaskConfig, DaemonConfig, Flavour } from './config-types.ts';

function parseFile(file: string, text: string): unknown {
  const ext = extname(file).toLowerCase();
  try {
    if (ext === '.json') return JSON.parse(text);
    if (ext === '.yaml' || ext === '.yml') return parseYaml(text);
    return parseToml(text);
  } catch (err) {
    const kind = ext === '.json' ? 'JSON' : ext === '.yaml' || ext === '.yml' ? 'YAML' : 'TOML';
    const { line, column } = err as { line?: number; column?: number };
    const where = typeof line === 'number' ? ` at line ${line}, column ${column ?? 1}` : '';
    throw new ConfigError(file, [`invalid ${kind}${where}: ${(err as Error).message.split('\n')[0]}`]);
  }
}

const hasKey = (obj: Plain, key: string): boolean => Object.keys(obj).some((k) => k.toLowerCase() === key);

/** Goophry: capitalised JSON keys; Gordon: `[tasks.<type>]` tables or `redis_address`; otherwise Errand's format. */
export function detectFlavour(raw: Plain): Flavour {
  if (hasKey(raw, 'redisaddress') || hasKey(raw, 'redisqueuekey') || hasKey(raw, 'statsinterface'))
    return 'goophry';
  const tasks = raw.tasks ?? raw.Tasks;
  if (
    Array.isArray(tasks) &&
    tasks.some((t) => isPlainObject(t) && hasKey(t, 'type') && hasKey(t, 'script'))
  ) {
    return 'goophry';
  }
  if (isPlainObject(tasks) || hasKey(raw, 'redis_address') || hasKey(raw, 'queue_key')) return 'gordon';
  return 'errand';
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  const abs = resolve(file);
  const raw = parseFile(abs, text);
  if (!isPlainObject(raw)) throw new ConfigError(abs, ['the file must hold a table/object of settings']);
  const flavour = detectFlavour(raw);
  const reader = new Reader(flavour !== 'errand');
  const read =
    flavour === 'gordon' ? readGordonConfig : flavour === 'goophry' ? readGoophryConfig : readErrandConfig;
  const config = read(raw, abs, dirname(abs), reader);
  const override = env.ERRAND_BROKER || env.REDIS_URL;
  const broker = override || config.broker;
  if (!broker && flavour !== 'errand') {
    reader.problem(
      flavour === 'gordon' ? 'redis_address' : 'RedisAddress',
      'is required (host:port of Redis), or set ERRAND_BROKER / REDIS_URL',
    );
  }
  if (broker && !isKnownBrokerUrl(broker)) {
    reader.problem(
      override ? (env.ERRAND_BROKER ? 'ERRAND_BROKER' : 'REDIS_URL') : 'broker',
      `must be a URL with a known scheme (${knownBrokerSchemes()
        .map((s) => `${s}:`)
        .join(', ')})`,
      broker,
    );
  }
  // Resque's keys live in Redis: the section runs on the broker's.
  if (config.resque && !/^rediss?:\/\//.test(broker))
    reader.problem(
      'resque',
      'needs a redis:// or rediss:// broker (Resque keeps its queues in Redis)',
      broker,
    );
  const backendOverride = env.ERRAND_BACKEND;
  const backend = backendOverride || config.backend;
  if (backend && !isKnownBackendUrl(backend)) {
    reader.problem(
      backendOverride ? 'ERRAND_BACKEND' : 'backend',
      `must be a URL with a known scheme (${knownBackendSchemes()
        .map((s) => `${s}:`)
        .join(', ')})`,
      backend,
    );
  }
  if (reader.problems.length > 0) throw new ConfigError(abs, reader.problems);
  return { ...config, broker, ...(backend ? { backend } : {}) };
}

/** Why `program` cannot be run, or undefined: it must exist and be executable, or be found in PATH. */
export function programProblem(program: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (program.includes('/')) {
    if (!existsSync(program)) return `${program} does not exist`;
    if (!statSync(program).isFile()) return `${program} is not a file`;
    try {
      accessSync(program, constants.X_OK);
    } catch {
      return `${program} is not executable (chmod +x ${program})`;
    }
    return undefined;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir || '.', program);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return undefined;
      }
    } catch {
      // Not here, or not executable.
    }
  }
  return `"${program}" is not found in PATH (or is not executable there)`;
}

/**
 * The config's programs that cannot be run now. `-t` reports them as problems; at start they
 * are only noted (a program may be deployed after the config, and each run reports it anyway).
 */
export function programProblems(config: DaemonConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  for (const t of [...config.tasks, ...(config.resque?.jobs ?? [])]) {
    const problem = programProblem(t.program, env);
    if (problem) problems.push(`${t.programKey ?? `task "${t.name}"`}: ${problem}`);
  }
  if (config.errorScript) {
    const key = config.flavour === 'goophry' ? 'ErrorScript' : 'error_script';
    const problem = programProblem(config.errorScript.program, env);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  return problems;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError(resolve(file), [`cannot read config file ${file}: ${why}`]);
  }
  return parseConfig(text, file, env);
}
