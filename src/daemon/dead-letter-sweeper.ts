/**
 * Bounds the dead letters of Gordon/Goophry types by age: Gordon kept nothing but its failed
 * lists (which expire after `failed_tasks_ttl`), so the daemon deletes its dead letters once
 * they are older than that, through the ordinary dead-letter API (no broker support needed).
 * Dead letters are listed newest first, so the sweep reads pages from the oldest end and stops
 * at the first page that holds nothing expired.
 */
import { sleep } from '../core/clock.ts';
import type { Errand } from '../core/errand.ts';

const PAGE = 500;
/** Sweeps run at least this often (more often for short TTLs), and at most every second. */
const MAX_EVERY_MS = 60_000;

/** Deletes the dead letters of `queue` that failed before `cutoff`; returns how many. */
export async function purgeOlderThan(errand: Errand, queue: string, cutoff: number): Promise<number> {
  const dead = errand.deadLetters(queue);
  let purged = 0;
  let end = await dead.count();
  while (end > 0) {
    const offset = Math.max(0, end - PAGE);
    const page = await dead.list({ offset, limit: end - offset });
    const old = page.filter((d) => d.failedAt.getTime() < cutoff).map((d) => d.key);
    if (old.length > 0) purged += await dead.purge(old);
    // The newest entry of this page is still young: everything before it is younger.
    if (old.length < page.length || page.length === 0) break;
    end = offset;
  }
  return purged;
}

/** Runs until `signal` aborts: every queue's dead letters older than its TTL are deleted. */
export async function runDeadLetterSweeper(
  errand: Errand,
  ttlByQueue: ReadonlyMap<string, number>,
  onPurged: (queue: string, count: number) => void,
  onError: (err: Error) => void,
  signal: AbortSignal,
): Promise<void> {
  if (ttlByQueue.size === 0) return;
  const every = Math.max(1000, Math.min(MAX_EVERY_MS, ...[...ttlByQueue.values()].map((t) => t / 2)));
  while (!signal.aborted) {
    for (const [queue, ttlMs] of ttlByQueue) {
      if (signal.aborted) break;
      try {
        const n = await purgeOlderThan(errand, queue, Date.now() - ttlMs);
        if (n > 0) onPurged(queue, n);
      } catch (err) {
        onError(err as Error);
      }
    }
    await sleep(every, signal);
  }
}
