/**
 * Waiting for results by notification: one backend listener per Errand dispatches final-state
 * notifications to waiters; a slow re-read (every 5 s) covers notifications lost in a reconnect.
 */
import { sleep } from './clock.ts';
import { ResultTimeoutError, TaskFailedError } from './errors.ts';
import { FINAL_STATES, type ResultBackend, type TaskRecord } from './port.ts';
import type { ResultOptions } from './task.ts';

const SAFETY_REREAD_MS = 5000;

export class ResultWaiter {
  private readonly waiters = new Map<string, Set<() => void>>();
  private listening: Promise<() => Promise<void>> | undefined;

  constructor(private readonly backend: () => Promise<ResultBackend>) {}

  private async listen(): Promise<void> {
    this.listening ??= this.backend().then((backend) =>
      backend.onFinal((ids) => {
        // An empty list means "re-read everything" (after a reconnect).
        const wake = ids.length === 0 ? [...this.waiters.keys()] : ids;
        for (const id of wake) for (const notify of this.waiters.get(id) ?? []) notify();
      }),
    );
    await this.listening;
  }

  /** Resolves with the final record of `id`. */
  async waitFinal(id: string, options: ResultOptions = {}): Promise<TaskRecord> {
    // Not awaited: while the backend is unreachable, the slow re-read below still runs.
    this.listen().catch(() => {
      this.listening = undefined;
    });
    const backend = await this.backend();
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
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
        const record = Number.isFinite(deadline)
          ? await Promise.race([reading, sleep(deadline - Date.now()).then(() => undefined)])
          : await reading;
        if (record && FINAL_STATES.has(record.state)) return record;
        if (options.signal?.aborted) throw options.signal.reason;
        const left = deadline - Date.now();
        if (left <= 0) throw new ResultTimeoutError(id, options.timeoutMs ?? 0, lastError);
        const wake = options.signal ? AbortSignal.any([notified.signal, options.signal]) : notified.signal;
        await sleep(Math.min(left, SAFETY_REREAD_MS), wake);
        notified = new AbortController();
      }
    } finally {
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
  return record.result as R;
}
