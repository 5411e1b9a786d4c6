/** Bounded, abortable waiting. Every sleep and deadline in Errand goes through here. */

/** The longest delay setTimeout keeps (a longer one fires after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves after `ms`, or at once when `signal` aborts. Never rejects. An infinite `ms` waits
 * for the signal only (setTimeout would turn it into 1 ms).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.min(ms, MAX_TIMER_MS)) : undefined;
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A deadline on a timer this module owns, optionally cut short by other signals. Not a timeout
 * signal inside `AbortSignal.any`: on Node 20 that combination never fires once a
 * garbage collection has run (nodejs/node#57736). Call dispose() when the deadline no longer
 * matters: it clears the timer and unhooks the linked signals.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly links: Array<() => void> = [];
  private expiry: Promise<void> | undefined;
  readonly signal: AbortSignal = this.controller.signal;

  constructor(ms: number, ...linked: readonly AbortSignal[]) {
    const at = Date.now() + ms;
    const arm = (): void => {
      const left = at - Date.now();
      if (left <= 0) this.controller.abort();
      // Re-armed in steps: setTimeout cannot wait longer than MAX_TIMER_MS at once.
      else this.timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    };
    if (Number.isFinite(ms)) arm();
    for (const other of linked) {
      if (other.aborted) this.controller.abort();
      const onAbort = (): void => this.controller.abort();
      other.addEventListener('abort', onAbort, { once: true });
      this.links.push(() => other.removeEventListener('abort', onAbort));
    }
    if (this.signal.aborted) this.dispose();
    else this.signal.addEventListener('abort', () => this.dispose(), { once: true });
  }

  get passed(): boolean {
    return this.signal.aborted;
  }

  /** Resolves when the deadline passes (never, if it is disposed first). */
  get expired(): Promise<void> {
    this.expiry ??= sleep(Number.POSITIVE_INFINITY, this.signal);
    return this.expiry;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const unlink of this.links.splice(0)) unlink();
  }
}

/** Settles like `promise`, or rejects with `onTimeout()` after `ms` (the timer is cleared either way). */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.min(ms, MAX_TIMER_MS));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Capped exponential backoff for infrastructure errors (broker down): 100 ms, 200 ms … 5 s. */
export function reconnectDelay(failures: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(failures, 6)) * (0.75 + Math.random() * 0.5);
}
