/**
 * Input checks shared by every broker, run before anything is written: a call either applies
 * entirely or is refused with an error naming the field. A settle never fails for one bad
 * outcome: a retry that cannot be scheduled is dead-lettered with the reason instead, so the
 * rest of its batch still applies and the message leaves a trace.
 */
import type { EnqueueEntry, ReserveRequest, SettleBatch } from '../core/port.ts';

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** Longest wait one timer can do (Node fires longer timeouts at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws when an entry has no string body or a due time that is not a finite number. */
export function checkEntries(entries: readonly EnqueueEntry[]): void {
  entries.forEach((entry, i) => {
    if (typeof entry?.body !== 'string') {
      throw new TypeError(`enqueue: entries[${i}].body must be a string, got ${typeof entry?.body}`);
    }
    if (entry.dueAt !== undefined && !isTime(entry.dueAt)) {
      throw new RangeError(
        `enqueue: entries[${i}].dueAt must be a finite epoch ms, got ${show(entry.dueAt)}`,
      );
    }
    if (entry.dedupeKey !== undefined && (typeof entry.dedupeKey !== 'string' || entry.dedupeKey === '')) {
      throw new TypeError(`enqueue: entries[${i}].dedupeKey must be a non-empty string`);
    }
  });
}

export function checkDedupeTtl(ttlMs: number): void {
  if (!(Number.isSafeInteger(ttlMs) && ttlMs > 0)) {
    throw new RangeError(`enqueue: dedupeTtlMs must be a positive integer, got ${show(ttlMs)}`);
  }
}

/**
 * Throws unless `max` ≥ 1 and `maxDeliveries` ≥ 1 are integers and `leaseMs`, `now` finite. A
 * reserve of nothing has no use, and a negative count would rewind a broker's token counter.
 */
export function checkReserve(request: ReserveRequest): void {
  const { max, leaseMs, maxDeliveries, now } = request;
  if (!(Number.isSafeInteger(max) && max >= 1)) {
    throw new RangeError(`reserve: max must be a positive integer, got ${show(max)}`);
  }
  checkLease('reserve', leaseMs, now);
  if (!(Number.isSafeInteger(maxDeliveries) && maxDeliveries >= 1)) {
    throw new RangeError(`reserve: maxDeliveries must be an integer >= 1, got ${show(maxDeliveries)}`);
  }
}

export function checkLease(where: string, leaseMs: number, now: number): void {
  if (!(isTime(leaseMs) && leaseMs > 0)) {
    throw new RangeError(`${where}: leaseMs must be a finite number > 0, got ${show(leaseMs)}`);
  }
  if (!isTime(now)) throw new RangeError(`${where}: now must be a finite epoch ms, got ${show(now)}`);
}

/**
 * The batch with every retry that cannot be scheduled (due time not a finite number, body not a
 * string) turned into a dead letter that says why. Throws only when `now` is not finite.
 */
export function checkedBatch(batch: SettleBatch, now: number): SettleBatch {
  if (!isTime(now)) throw new RangeError(`settle: now must be a finite epoch ms, got ${show(now)}`);
  const retries = batch.retries ?? [];
  const bad = retries.filter((r) => !isTime(r.dueAt) || typeof r.body !== 'string');
  if (bad.length === 0) return batch;
  const buried = bad.map((r) => ({
    token: r.token,
    reason:
      typeof r.body !== 'string'
        ? `retry could not be scheduled: its body is not a string (${typeof r.body})`
        : `retry could not be scheduled: its due time ${show(r.dueAt)} is not a finite number`,
  }));
  return {
    ...batch,
    retries: retries.filter((r) => !bad.includes(r)),
    deadLetters: [...(batch.deadLetters ?? []), ...buried],
  };
}

/** How long a wait for work may last from `now`: in [0, cap], and `cap` when `until` is not a number. */
export function waitMs(until: number, now: number, cap = MAX_TIMER_MS): number {
  if (Number.isNaN(until)) return cap;
  return Math.max(0, Math.min(cap, until - now));
}
