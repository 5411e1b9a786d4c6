/**
 * Why `errand send --wait` has no result yet: the task's state, its queue's depth, and whether a
 * live daemon consumes that queue (from the presence keys daemons keep on Redis).
 */
import type { Errand } from '../core/errand.ts';
import type { DaemonConfig } from '../daemon/config.ts';
import { isRedisUrl } from '../daemon/daemon.ts';
import { type DaemonPresence, listPresence } from '../daemon/presence.ts';
import { SideRedis } from '../daemon/side-redis.ts';

/** Rejects after `ms` unless `work` settles first; the timer is ours and always cleared. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The live daemons on the config's Redis, or undefined where they are not tracked (SQLite,
 * memory) or cannot be read within `deadlineMs`.
 */
export async function liveDaemons(
  config: DaemonConfig,
  deadlineMs: number,
): Promise<DaemonPresence[] | undefined> {
  if (!isRedisUrl(config.broker)) return undefined;
  const side = new SideRedis(config.broker, () => undefined);
  try {
    return await within(listPresence(side, config.prefix), deadlineMs, 'live daemons');
  } catch {
    return undefined;
  } finally {
    await side.close();
  }
}

/** Which live daemons consume `queue`, in words. */
export function consumersText(queue: string, daemons: readonly DaemonPresence[] | undefined): string {
  if (!daemons)
    return `whether a worker consumes queue "${queue}" is unknown (live daemons are tracked on Redis only)`;
  const consumers = daemons.filter((d) => d.queues.includes(queue));
  if (consumers.length === 0) {
    const others = [...new Set(daemons.flatMap((d) => d.queues))].sort();
    return (
      `no live errand daemon consumes queue "${queue}"` +
      (others.length > 0
        ? ` (live daemons consume: ${others.join(', ')})`
        : ' (no errand daemon is running)') +
      '; workers started by your own code are not tracked'
    );
  }
  return `consumed by ${consumers.length} live daemon(s): ${consumers.map((d) => `${d.host}:${d.pid}`).join(', ')}`;
}

/**
 * One line on a task without a result: where it is, and who could run it. Undefined when the task
 * is running (nothing to explain). Bounded by `deadlineMs` for each look-up.
 */
export async function waitingHint(
  errand: Errand,
  config: DaemonConfig,
  id: string,
  queue: string,
  deadlineMs = 3000,
): Promise<string | undefined> {
  const record = await within(errand.status(id), deadlineMs, 'task state').catch(() => undefined);
  if (record?.state === 'STARTED') return undefined;
  const stats = await within(errand.stats(queue), deadlineMs, 'queue depth').catch(() => undefined);
  const where =
    record?.state === 'RETRY'
      ? `task ${id} is waiting to be retried in queue "${queue}" (attempt ${record.attempt} failed)`
      : `task ${id} is still waiting in queue "${queue}"`;
  const depth = stats ? ` (${stats.waiting} waiting, ${stats.delayed} delayed there)` : '';
  return `${where}${depth}; ${consumersText(queue, await liveDaemons(config, deadlineMs))}`;
}
