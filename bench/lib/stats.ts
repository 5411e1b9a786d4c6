/** Small numeric helpers and Redis INFO parsing for the benchmark. */
import type { createClient } from '@redis/client';

export type RedisClient = ReturnType<typeof createClient>;

/** The value at quantile q (0..1) of an ascending-sorted array (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx]!;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Round to a few significant digits so JSON lines stay readable. */
export function round(n: number, digits = 4): number {
  if (!Number.isFinite(n) || n === 0) return n;
  return Number(n.toPrecision(digits));
}

/** `key:value` lines of an INFO section as a map. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** Calls per command name from `INFO commandstats` (subcommands keep their `a|b` name). */
export async function commandCalls(client: RedisClient): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const [key, value] of parseInfo(await client.info('commandstats'))) {
    const m = /calls=(\d+)/.exec(value);
    if (key.startsWith('cmdstat_') && m) calls.set(key.slice('cmdstat_'.length), Number(m[1]));
  }
  return calls;
}

/** Calls and microseconds per command name from `INFO commandstats`. */
export async function commandTimes(
  client: RedisClient,
): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const [key, value] of parseInfo(await client.info('commandstats'))) {
    const m = /calls=(\d+),usec=(\d+)/.exec(value);
    if (key.startsWith('cmdstat_') && m)
      out.set(key.slice('cmdstat_'.length), { calls: Number(m[1]), usec: Number(m[2]) });
  }
  return out;
}

/** Redis server CPU seconds (user + sys, main thread and children) from `INFO cpu`. */
export async function redisCpuSeconds(client: RedisClient): Promise<number> {
  const info = parseInfo(await client.info('cpu'));
  return Number(info.get('used_cpu_user') ?? 0) + Number(info.get('used_cpu_sys') ?? 0);
}

/** Commands the benchmark's own measuring connection sends; never charged to a system. */
const MEASURING = new Set(['info', 'config|resetstat', 'flushall', 'memory|usage', 'dbsize', 'client|list']);

/** Per-command call deltas between two `commandCalls` snapshots, without the measuring commands. */
export function callDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of after) {
    if (MEASURING.has(name)) continue;
    const d = n - (before.get(name) ?? 0);
    if (d > 0) out[name] = d;
  }
  return out;
}

export interface NetCounters {
  readonly inputBytes: number;
  readonly outputBytes: number;
}

export async function netCounters(client: RedisClient): Promise<NetCounters> {
  const info = parseInfo(await client.info('stats'));
  return {
    inputBytes: Number(info.get('total_net_input_bytes') ?? 0),
    outputBytes: Number(info.get('total_net_output_bytes') ?? 0),
  };
}

export async function usedMemory(client: RedisClient): Promise<number> {
  return Number(parseInfo(await client.info('memory')).get('used_memory') ?? 0);
}
