/**
 * The fetch loop of one queue: while slots are free, lease as many messages as there are free
 * slots (one broker call for the batch) and hand them to the executor; when the queue is empty,
 * block in the broker until work arrives or the next delayed message is due. A broker that can
 * (waitAndLease) hands the first message to arrive over already leased (with those sent with
 * it): they start at once.
 */
import { reconnectDelay, sleep } from '../clock.ts';
import type { Broker, ClaimedLeases, DeadLetter, LeasedMessage } from '../port.ts';
import { PAUSE_CHECK_MS } from './pause-watch.ts';
import type { Slots } from './slots.ts';

export interface FetchLoopOptions {
  readonly queue: string;
  readonly broker: Broker;
  readonly slots: Slots;
  readonly leaseMs: number;
  readonly maxDeliveries: number;
  /** Most messages leased in one call. */
  readonly batchSize: number;
  /** How long an idle wait lasts before re-checking (delayed messages, expired leases). */
  readonly idleMs: number;
  readonly dispatch: (queue: string, leased: LeasedMessage) => void;
  /** Gives a leased message that will not start here back to the queue. */
  readonly handBack: (queue: string, leased: LeasedMessage) => void;
  /** A message started before its lease was confirmed has no lease after all: stop its run. */
  readonly leaseLost: (queue: string, token: string) => void;
  /** Messages the broker dead-lettered during the reserve (leases expired too often). */
  readonly reportDead: (queue: string, entries: readonly DeadLetter[]) => void;
  /** Told whether the queue looked empty at the last reserve (so settles do not refill it). */
  readonly onEmpty: (queue: string, empty: boolean) => void;
  readonly onError: (err: Error) => void;
  /** Paused by an operator (errand.pause): take nothing, look again after a while. */
  readonly isPaused?: (queue: string) => boolean;
}

export async function runFetchLoop(options: FetchLoopOptions, signal: AbortSignal): Promise<void> {
  const { queue, broker, slots } = options;
  let failures = 0;
  while (!signal.aborted) {
    // Slots are taken before the call, so no other loop (or settle refill) counts them free;
    // each leased message keeps its slot (dispatch), the rest are given back.
    if (options.isPaused?.(queue)) {
      await sleep(PAUSE_CHECK_MS, signal);
      continue;
    }
    const max = slots.takeUpTo(options.batchSize);
    if (max === 0) {
      await slots.whenFree(signal);
      // Let the other executions finishing in this turn free their slots too: one bigger batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      continue;
    }
    let handedOver = 0;
    try {
      const reserved = await broker.reserve(queue, {
        max,
        leaseMs: options.leaseMs,
        maxDeliveries: options.maxDeliveries,
        now: Date.now(),
      });
      if (reserved.deadLettered?.length) options.reportDead(queue, reserved.deadLettered);
      for (const leased of reserved.messages.slice(0, max)) {
        handedOver++;
        options.dispatch(queue, leased);
      }
      if (reserved.messages.length > max) {
        options.onError(
          new Error(
            `broker ${broker.name} leased ${reserved.messages.length} messages of ${queue} for ${max} slots; the extra leases expire and are delivered again`,
          ),
        );
      }
      slots.give(max - handedOver);
      handedOver = max;
      failures = 0;
      if (reserved.messages.length < max && !signal.aborted) {
        options.onEmpty(queue, true);
        // The next reserve is due by `until` (delayed messages, expired leases) or when work comes.
        const until = Math.min(reserved.nextDueAt ?? Number.POSITIVE_INFINITY, Date.now() + options.idleMs);
        for (;;) {
          const taken = await waitForWork(options, until, signal);
          if (!taken || !startClaimed(options, taken, signal)) break;
          // Messages taken from a queue that held nothing more: no reserve to make, wait again.
          if (taken.more !== false || Date.now() >= until || !slots.canTake() || signal.aborted) break;
        }
      }
      options.onEmpty(queue, false);
    } catch (err) {
      slots.give(max - handedOver);
      options.onError(err instanceof Error ? err : new Error(String(err)));
      await sleep(reconnectDelay(failures++), signal);
    }
  }
}

/**
 * Waits until the queue may have work; with a broker that can, the first message comes leased,
 * with those already waiting behind it, as many as there are slots free (a batch at most).
 */
async function waitForWork(
  options: FetchLoopOptions,
  until: number,
  signal: AbortSignal,
): Promise<ClaimedLeases | undefined> {
  const { broker, queue, slots } = options;
  if (!broker.waitAndLease) {
    await broker.waitForWork(queue, until, signal);
    return undefined;
  }
  const max = Math.max(1, Math.min(options.batchSize, slots.takeable()));
  return broker.waitAndLease(queue, until, { leaseMs: options.leaseMs, max }, signal);
}

/**
 * Starts the messages the wait leased (their leases are confirmed meanwhile); hands back those
 * that cannot start here. False if any went back.
 */
function startClaimed(options: FetchLoopOptions, taken: ClaimedLeases, signal: AbortSignal): boolean {
  const { queue, slots } = options;
  let allStarted = true;
  for (const { message, leased } of taken.claimed) {
    // Never rejects (the port's promise); a lease that never came stops the run like a lost one.
    void leased.then((held) => {
      if (!held) options.leaseLost(queue, message.token);
    });
    if (signal.aborted || options.isPaused?.(queue) || slots.takeUpTo(1) === 0) {
      options.handBack(queue, message);
      allStarted = false;
    } else options.dispatch(queue, message);
  }
  return allStarted;
}
