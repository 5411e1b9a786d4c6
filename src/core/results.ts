/**
 * Waiting for results by notification: one backend listener per Errand dispatches final-state
 * notifications to waiters; a slow re-read (every 5 s) covers notifications lost in a reconnect.
 */
import { Deadline } from './clock.ts';
import { ResultTimeoutError, TaskCancelledError, TaskFailedError } from './errors.ts';
import { FINAL_STATES, type ResultBackend, type TaskRecord } from './port.ts';
import type { ResultOptions } from './task.ts';

const SAFETY_REREAD_MS = 5000;

export class ResultWaiter {
  private readonly waiters = new Map<string, Set<() => void>>();
  private listening: Promise<() => Promise<void>> | undefined;

  constructor(private readonly backend: () => Promise<ResultBackend>) {}

  private async listen(): Promise<void> {
    const wake = (ids: readonly string[]): void => {
      // An empty list means "re-read everything" (after a reconnect).
      const which = ids.length === 0 ? [...this.waiters.keys()] : ids;
      for (const id of which) for (const notify of this.waiters.get(id) ?? []) notify();
    };
    this.listening ??= this.backend()
      .then((backend) => backend.onFinal(wake))
      .then((stop) => {
        // A task that became final between a waiter's first read and this subscription taking
        // effect was announced to nobody: every waiter reads again now, not at the slow re-read.
        wake([]);
        return stop;
      });
    await this.listening;
  }

  /** Resolves with the final record of `id`. Every timer it starts is cleared when it returns. */
  async waitFinal(id: string, options: ResultOptions = {}): Promise<TaskRecord> {
    // Not awaited: while the backend is unreachable, the slow re-read below still runs.
    this.listen().catch(() => {
      this.listening = undefined;
    });
    const backend = await this.backend();
    const deadline = new Deadline(
      options.timeoutMs ?? Number.POSITIVE_INFINITY,
      ...(options.signal ? [options.signal] : []),
    );
    let notified = new AbortController();
    const notify = (): void => notified.abort();
    let set = this.waiters.get(id);
    if (!set) {
      set = new Set();
      this.waiters.set(id, set);
    }
    set.add(notify);
    try {
      let lastError: unknown;
      for (;;) {
        const reading = backend.read(id).catch((err: unknown) => {
          lastError = err;
          return undefined;
        });
        // A read is bounded by the deadline too: a backend that does not answer cannot hold result().
        const record = await Promise.race([reading, deadline.expired.then(() => undefined)]);
        if (record && FINAL_STATES.has(record.state)) return record;
        if (options.signal?.aborted) throw options.signal.reason;
        if (deadline.passed) throw new ResultTimeoutError(id, options.timeoutMs ?? 0, lastError);
        const wake = new Deadline(SAFETY_REREAD_MS, notified.signal, deadline.signal);
        await wake.expired;
        wake.dispose();
        notified = new AbortController();
      }
    } finally {
      deadline.dispose();
      set.delete(notify);
      if (set.size === 0) this.waiters.delete(id);
    }
  }

  /** Stops listening; a subscription still being set up is stopped when it completes. */
  async close(): Promise<void> {
    const listening = this.listening;
    this.listening = undefined;
    if (listening !== undefined) void listening.then((stop) => stop()).catch(() => undefined);
  }
}

/** The task's value, or its error thrown as TaskFailedError. */
export function outcomeOf<R>(record: TaskRecord): R {
  if (record.state === 'FAILURE') {
    throw new TaskFailedError(record.id, record.error ?? { name: 'Error', message: 'task failed' });
  }
  if (record.state === 'CANCELLED') throw new TaskCancelledError(record.id);
  return record.result as R;
}
