/** Deadlines on timers the daemon owns and clears (never a timeout signal inside AbortSignal.any: nodejs/node#57736). */

/** Resolves after `ms` (a timer of our own, cleared by `cancel`), or when `signal` aborts. */
export function deadline(ms: number, signal?: AbortSignal): { done: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    onAbort = () => resolve();
    if (signal?.aborted) resolve();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  return {
    done,
    cancel: () => {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** `p`, or a rejection after `ms` or when `signal` aborts (the timer is cleared either way). */
export async function within<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  const limit = deadline(ms, signal);
  try {
    return await Promise.race([
      p,
      limit.done.then(() => {
        throw new Error(signal?.aborted ? `${what}: aborted` : `${what}: no answer within ${ms} ms`);
      }),
    ]);
  } finally {
    limit.cancel();
  }
}
