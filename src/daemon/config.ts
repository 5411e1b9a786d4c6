/**
 * Loads the daemon's config: TOML, YAML or JSON by file extension; Errand's own format,
 * a Gordon 1.6 config or a Goophry config, told apart by their keys. Environment variables
 * `ERRAND_BROKER` then `REDIS_URL` override the broker URL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
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
  if (broker && !/^(redis|rediss|memory|sqlite):/.test(broker)) {
    reader.problem(
      override ? (env.ERRAND_BROKER ? 'ERRAND_BROKER' : 'REDIS_URL') : 'broker',
      'must be a URL starting with redis://, rediss://, memory: or sqlite:',
      broker,
    );
  }
  if (reader.problems.length > 0) throw new ConfigError(abs, reader.problems);
  // A missing program is only noted: it may be deployed after the config, and a run reports it anyway.
  const notes = config.tasks
    .filter((t) => t.program.includes('/') && !existsSync(t.program))
    .map((t) => `task "${t.name}": program ${t.program} does not exist`);
  return { ...config, broker, warnings: [...config.warnings, ...notes] };
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
