/** Bounded, abortable waiting. Every sleep in Errand goes through here. */

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
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.min(ms, 2 ** 31 - 1)) : undefined;
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Capped exponential backoff for infrastructure errors (broker down): 100 ms, 200 ms … 5 s. */
export function reconnectDelay(failures: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(failures, 6)) * (0.75 + Math.random() * 0.5);
}
