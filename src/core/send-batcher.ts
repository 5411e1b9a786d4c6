/**
 * Coalesces the sends of one moment: every send() made before the current burst of callbacks
 * ends (the same tick, and the promise continuations it runs) goes to the broker as one
 * enqueue call per queue. There is no time window: the batch goes out on process.nextTick,
 * after the callbacks that are already running, so no send waits for a later event.
 */
import type { EnqueueEntry, EnqueueOutcome } from './port.ts';

interface Part {
  readonly start: number;
  readonly count: number;
  readonly resolve: (outcomes: EnqueueOutcome[]) => void;
  readonly reject: (err: unknown) => void;
}

interface Batch {
  readonly entries: EnqueueEntry[];
  readonly parts: Part[];
}

export class SendBatcher {
  private pending = new Map<string, Batch>();

  constructor(
    private readonly enqueue: (queue: string, entries: readonly EnqueueEntry[]) => Promise<EnqueueOutcome[]>,
  ) {}

  /** Resolves with the outcome of each of `entries`, in order. */
  add(queue: string, entries: readonly EnqueueEntry[]): Promise<EnqueueOutcome[]> {
    return new Promise<EnqueueOutcome[]>((resolve, reject) => {
      if (this.pending.size === 0) process.nextTick(() => this.flush());
      let batch = this.pending.get(queue);
      if (!batch) {
        batch = { entries: [], parts: [] };
        this.pending.set(queue, batch);
      }
      batch.parts.push({ start: batch.entries.length, count: entries.length, resolve, reject });
      for (const entry of entries) batch.entries.push(entry);
    });
  }

  private flush(): void {
    const batches = this.pending;
    this.pending = new Map();
    for (const [queue, { entries, parts }] of batches) {
      let sending: Promise<EnqueueOutcome[]>;
      try {
        sending = this.enqueue(queue, entries);
      } catch (err) {
        sending = Promise.reject(err);
      }
      sending.then(
        (outcomes) => {
          if (outcomes.length !== entries.length) {
            const err = new Error(
              `enqueue on ${queue} answered ${outcomes.length} outcomes for ${entries.length} messages`,
            );
            for (const part of parts) part.reject(err);
            return;
          }
          for (const part of parts) part.resolve(outcomes.slice(part.start, part.start + part.count));
        },
        (err: unknown) => {
          for (const part of parts) part.reject(err);
        },
      );
    }
  }
}
