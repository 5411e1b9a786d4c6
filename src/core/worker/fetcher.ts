/**
 * The fetch loop of one queue: while slots are free, lease as many messages as there are free
 * slots (one broker call for the batch) and hand them to the executor; when the queue is empty,
 * block in the broker until work arrives or the next delayed message is due.
 */
import { reconnectDelay, sleep } from '../clock.ts';
import type { Broker, DeadLetter, LeasedMessage } from '../port.ts';
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
  /** Messages the broker dead-lettered during the reserve (leases expired too often). */
  readonly reportDead: (queue: string, entries: readonly DeadLetter[]) => void;
  /** Told whether the queue looked empty at the last reserve (so settles do not refill it). */
  readonly onEmpty: (queue: string, empty: boolean) => void;
  readonly onError: (err: Error) => void;
}

export async function runFetchLoop(options: FetchLoopOptions, signal: AbortSignal): Promise<void> {
  const { queue, broker, slots } = options;
  let failures = 0;
  while (!signal.aborted) {
    if (slots.free === 0) {
      await slots.whenFree(signal);
      // Let the other executions finishing in this turn free their slots too: one bigger batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      continue;
    }
    const max = Math.min(slots.free, options.batchSize);
    try {
      // Hold the slots while the call runs, so no other loop (or settle refill) counts them free.
      slots.take(max);
      let reserved: Awaited<ReturnType<Broker['reserve']>>;
      try {
        reserved = await broker.reserve(queue, {
          max,
          leaseMs: options.leaseMs,
          maxDeliveries: options.maxDeliveries,
          now: Date.now(),
        });
      } finally {
        for (let i = 0; i < max; i++) slots.give();
      }
      if (reserved.deadLettered?.length) options.reportDead(queue, reserved.deadLettered);
      for (const leased of reserved.messages) options.dispatch(queue, leased);
      failures = 0;
      if (reserved.messages.length < max && !signal.aborted) {
        options.onEmpty(queue, true);
        const until = Math.min(reserved.nextDueAt ?? Number.POSITIVE_INFINITY, Date.now() + options.idleMs);
        await broker.waitForWork(queue, until, signal);
      }
      options.onEmpty(queue, false);
    } catch (err) {
      options.onError(err instanceof Error ? err : new Error(String(err)));
      await sleep(reconnectDelay(failures++), signal);
    }
  }
}
