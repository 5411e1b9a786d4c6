/**
 * The fetch loop of one queue: while slots are free, lease as many messages as there are free
 * slots (one broker call for the batch) and hand them to the executor; when the queue is empty,
 * block in the broker until work arrives or the next delayed message is due.
 */
import { reconnectDelay, sleep } from '../clock.ts';
import type { Broker, LeasedMessage } from '../port.ts';
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
      slots.take(max);
      let taken = 0;
      let nextDueAt: number | undefined;
      try {
        const reserved = await broker.reserve(queue, {
          max,
          leaseMs: options.leaseMs,
          maxDeliveries: options.maxDeliveries,
          now: Date.now(),
        });
        nextDueAt = reserved.nextDueAt;
        taken = reserved.messages.length;
        for (const leased of reserved.messages) options.dispatch(queue, leased);
      } finally {
        // Slots not filled by a message are given back.
        for (let i = taken; i < max; i++) slots.give();
      }
      failures = 0;
      if (taken < max && !signal.aborted) {
        const until = Math.min(nextDueAt ?? Number.POSITIVE_INFINITY, Date.now() + options.idleMs);
        await broker.waitForWork(queue, until, signal);
      }
    } catch (err) {
      options.onError(err instanceof Error ? err : new Error(String(err)));
      await sleep(reconnectDelay(failures++), signal);
    }
  }
}
