/**
 * Live daemons, for `errand status`: each daemon on Redis keeps a key
 * `<prefix>:daemon:<host>:<pid>` holding what it runs, refreshed every 10 s with a 30 s TTL,
 * and deleted when it stops. A daemon killed with SIGKILL disappears when its key expires.
 */
import { hostname } from 'node:os';
import { sleep } from '../core/clock.ts';
import type { SideRedis } from './side-redis.ts';

export interface DaemonPresence {
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly version: string;
  readonly queues: readonly string[];
  readonly running: number;
}

const REFRESH_MS = 10_000;
const TTL_S = 30;

export const presenceKey = (prefix: string, host: string, pid: number): string =>
  `${prefix}:daemon:${host}:${pid}`;

export async function runPresence(
  redis: SideRedis,
  prefix: string,
  describe: () => Omit<DaemonPresence, 'host' | 'pid'>,
  onError: (err: Error) => void,
  signal: AbortSignal,
): Promise<void> {
  const key = presenceKey(prefix, hostname(), process.pid);
  while (!signal.aborted) {
    const value = JSON.stringify({ host: hostname(), pid: process.pid, ...describe() });
    await redis
      .run('presence', (c) => c.set(key, value, { EX: TTL_S }), { deadlineMs: REFRESH_MS, signal })
      .catch(onError);
    await sleep(REFRESH_MS, signal);
  }
  // With Redis out of reach, do not hold up the stop: the key expires by itself.
  if (redis.ready) await redis.run('presence', (c) => c.del(key), { deadlineMs: 2000 }).catch(onError);
}

export async function listPresence(redis: SideRedis, prefix: string): Promise<DaemonPresence[]> {
  const keys: string[] = [];
  await redis.run('status', async (c) => {
    for await (const batch of c.scanIterator({ MATCH: `${prefix}:daemon:*`, COUNT: 500 }))
      keys.push(...batch);
  });
  if (keys.length === 0) return [];
  const values = await redis.run('status', (c) => c.mGet(keys), { deadlineMs: 5000 });
  return values.filter((v): v is string => typeof v === 'string').map((v) => JSON.parse(v) as DaemonPresence);
}
