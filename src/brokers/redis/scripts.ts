/** Lua scripts by name: loaded once, run with EVALSHA, and re-sent with EVAL on NOSCRIPT (after a restart or failover). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client } from './connection.ts';

export type ScriptName =
  | 'enqueue'
  | 'reserve'
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
}

const cache = new Map<ScriptName, Script>();

function load(name: ScriptName): Script {
  let script = cache.get(name);
  if (!script) {
    const source = withIncludes(readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8'));
    script = { source, sha: createHash('sha1').update(source).digest('hex') };
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
  const tail = [String(keys.length), ...keys, ...args.map(String)];
  try {
    return (await client.sendCommand(['EVALSHA', script.sha, ...tail])) as T;
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return (await client.sendCommand(['EVAL', script.source, ...tail])) as T;
  }
}
