/** Inspect, retry and purge a queue's dead letters (failed tasks and messages that could not run). */

import { CapabilityUnsupportedError } from './errors.ts';
import type { TaskMessage } from './message.ts';
import { type Broker, capabilityAbsence } from './port.ts';
import type { Runtime } from './runtime.ts';

export interface DeadLetterView {
  /** Identifies the entry for retry() and purge(). */
  readonly key: string;
  readonly reason: string;
  readonly failedAt: Date;
  /** The stored message, byte for byte. */
  readonly body: string;
  /** The decoded message, when the body is a valid one. */
  readonly message?: TaskMessage;
}

const PAGE = 500;

/** Listing, retrying by key and purging by key need a broker that can browse its dead letters. */
function requireBrowsing(broker: Broker): void {
  const absent = capabilityAbsence(broker, 'deadLetterBrowsing');
  if (absent !== undefined) throw new CapabilityUnsupportedError(broker.name, 'dead-letter browsing', absent);
}

export class DeadLetters {
  constructor(
    private readonly runtime: Runtime,
    readonly queue: string,
  ) {}

  async list(options: { offset?: number; limit?: number } = {}): Promise<DeadLetterView[]> {
    const { broker } = await this.runtime.stores();
    requireBrowsing(broker);
    const entries = await broker.listDead(this.queue, options.offset ?? 0, options.limit ?? 100);
    const codec = this.runtime.codec(this.queue);
    return entries.map((entry) => {
      const decoded = codec.decode(entry.body, () => '');
      return {
        key: entry.key,
        reason: entry.reason,
        failedAt: new Date(entry.failedAt),
        body: entry.body,
        ...(decoded.ok && { message: decoded.message }),
      };
    });
  }

  async count(): Promise<number> {
    const { broker } = await this.runtime.stores();
    return (await broker.stats(this.queue)).dead;
  }

  /** Send dead letters back to the queue with their attempts reset; all of them when `keys` is omitted. */
  async retry(keys?: readonly string[]): Promise<number> {
    const wanted = keys === undefined ? undefined : new Set(keys);
    let moved = 0;
    let offset = 0;
    for (;;) {
      const page = await this.list({ offset, limit: PAGE });
      const chosen = wanted === undefined ? page : page.filter((entry) => wanted.has(entry.key));
      if (chosen.length > 0) moved += await this.requeue(chosen);
      for (const entry of chosen) wanted?.delete(entry.key);
      // Moved entries leave the list; when retrying all, the next page starts at 0 again.
      offset = wanted === undefined ? 0 : offset + page.length - chosen.length;
      if (page.length < PAGE || (chosen.length === 0 && wanted === undefined) || wanted?.size === 0)
        return moved;
    }
  }

  private async requeue(entries: readonly DeadLetterView[]): Promise<number> {
    const { broker, backend } = await this.runtime.stores();
    const codec = this.runtime.codec(this.queue);
    const now = Date.now();
    // The old FAILURE record would answer result() at once: the task is pending again.
    const pending = entries.flatMap(({ message }) =>
      message
        ? [
            {
              id: message.id,
              task: message.task,
              queue: this.queue,
              state: 'PENDING' as const,
              attempt: 0,
              createdAt: message.createdAt ?? now,
              updatedAt: now,
            },
          ]
        : [],
    );
    await backend.write(pending, this.runtime.options.resultTtlMs);
    return broker.retryDead(
      this.queue,
      entries.map((entry) => entry.key),
      entries.map((entry) => (entry.message ? codec.encode({ ...entry.message, attempt: 0 }) : entry.body)),
    );
  }

  /** Delete dead letters; all of them when `keys` is omitted. */
  async purge(keys?: readonly string[]): Promise<number> {
    const { broker } = await this.runtime.stores();
    if (keys !== undefined) requireBrowsing(broker);
    return broker.purgeDead(this.queue, keys);
  }
}
