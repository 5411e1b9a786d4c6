/** Lua scripts by name: loaded once, run with EVALSHA, and re-sent with EVAL on NOSCRIPT (after a restart or failover). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client } from './connection.ts';

export type ScriptName =
  | 'enqueue'
  | 'reserve'
  | 'claim'
  | 'recover'
  | 'settle'
  | 'extend'
  | 'retry-dead'
  | 'purge-dead'
  | 'write-results'
  | 'group-report'
  | 'remove-waiting';

interface Script {
  readonly source: string;
  readonly sha: string;
  /** The source without comments or blank lines, for EVAL (sent whole on every call). */
  readonly compact: string;
}

const cache = new Map<ScriptName, Script>();

function load(name: ScriptName): Script {
  let script = cache.get(name);
  if (!script) {
    const source = withIncludes(readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8'));
    const compact = source
      .replace(/^--\[\[[\s\S]*?\]\]\n/m, '')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.trim().startsWith('--'))
      .join('\n');
    script = { source, sha: createHash('sha1').update(source).digest('hex'), compact };
    cache.set(name, script);
  }
  return script;
}

/** Replaces `--@include lib/x.lua` lines with that file (shared Lua, as BullMQ does). */
function withIncludes(source: string): string {
  return source.replace(/^--@include (\S+)$/gm, (_, path: string) =>
    readFileSync(new URL(`./scripts/${path}`, import.meta.url), 'utf8'),
  );
}

export async function runScript<T>(
  client: Client,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<T> {
  const script = load(name);
  // One array, filled in place: this runs several times per task.
  const command = scriptCommand('EVALSHA', script.sha, keys, args);
  try {
    return (await client.sendCommand(command)) as T;
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    command[0] = 'EVAL';
    command[1] = script.source;
    return (await client.sendCommand(command)) as T;
  }
}

function scriptCommand(
  verb: string,
  script: string,
  keys: readonly string[],
  args: readonly (string | number)[],
): string[] {
  const command = [verb, script, String(keys.length)];
  for (const key of keys) command.push(key);
  for (const arg of args) command.push(typeof arg === 'string' ? arg : String(arg));
  return command;
}

/**
 * Runs a script with EVAL (its source each time, which Redis caches by hash), never EVALSHA: for
 * calls whose place in the connection's order matters. EVALSHA answered NOSCRIPT (a restarted or
 * flushed Redis) would re-send the script behind commands sent meanwhile.
 */
export function evalScript<T>(
  client: Client,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<T> {
  return client.sendCommand(scriptCommand('EVAL', load(name).compact, keys, args)) as Promise<T>;
}
