/**
 * Lease grace after a silence (issue 9, item 9). When the broker hangs (Redis stopped, a disk
 * stall) for longer than the heartbeats can cover, every lease expires during the hang, and the
 * first reserve after it would recover them all before any holder could renew: every long task
 * would run twice. So each broker remembers when a reserve or extend last reached a queue,
 * measured on the broker's own clock (Redis `TIME`; the process clock for memory and SQLite).
 * A call that finds the queue silent for longer than SILENCE_FRACTION of its lease first gives
 * each lease that expired during the silence one more lease length, so its holder renews it
 * (if alive) before anyone recovers it. A lease that had expired before the silence began gets
 * no grace: a live fleet's polls are much shorter than the threshold, so no lease is delayed
 * more than once per real silence, and a dead worker's task is delayed by one lease at most.
 */

/**
 * Heartbeats renew every third of the lease, so a lease can expire only in a silence longer
 * than two thirds of it; idle workers poll at least every half lease, so live fleets stay below.
 */
export const SILENCE_FRACTION = 2 / 3;

/** When a reserve or extend last reached a queue: broker clock, and the caller's `now`. */
export interface LastSeen {
  readonly at: number;
  readonly now: number;
}

/**
 * The clock after a call at broker time `at` with the caller's `now`, and, after a silence, the
 * grace to grant: every lease whose deadline is in (since, until] moves to `deadline`.
 * Calls queued during a hang arrive with a `now` from before it, so the caller time is estimated
 * as the later of `now` and the last caller time plus the silence; and no extend ever shortens a
 * lease (a late heartbeat must not undo the grace).
 */
export function observe(
  last: LastSeen | undefined,
  at: number,
  now: number,
  leaseMs: number,
): { readonly seen: LastSeen; readonly grace?: { since: number; until: number; deadline: number } } {
  if (last === undefined) return { seen: { at, now } };
  const gap = at - last.at;
  const current = Math.max(now, last.now + Math.max(0, gap));
  const seen = { at: Math.max(at, last.at), now: Math.max(now, last.now) };
  if (gap <= leaseMs * SILENCE_FRACTION) return { seen };
  return {
    seen: { ...seen, now: current },
    grace: { since: last.now, until: current, deadline: current + leaseMs },
  };
}
