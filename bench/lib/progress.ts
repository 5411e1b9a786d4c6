/** Counting finished tasks against a target, with a bounded, abortable wait. */
import { performance } from 'node:perf_hooks';

export class Progress {
  done = 0;
  /** `performance.now()` of the first handler start and of the last completion. */
  firstStart = 0;
  lastDone = 0;
  private resolveReached: (() => void) | undefined;
  private readonly reached: Promise<void>;

  constructor(readonly target: number) {
    this.reached = new Promise((resolve) => {
      this.resolveReached = resolve;
    });
    if (target <= 0) this.resolveReached?.();
  }

  started(): void {
    if (this.firstStart === 0) this.firstStart = performance.now();
  }

  finished(): void {
    this.done++;
    this.lastDone = performance.now();
    if (this.done === this.target) this.resolveReached?.();
  }

  /** Resolves true when the target is reached, false when `ms` pass or the signal aborts first. */
  async wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const bounded = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      onAbort = () => resolve(false);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.reached.then(() => true), bounded]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Tasks per second between the first start and the last completion. */
  rate(): number {
    const seconds = (this.lastDone - this.firstStart) / 1000;
    return seconds > 0 ? this.done / seconds : Number.NaN;
  }
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Run `fn` for indexes 0..n-1 with at most `limit` in flight; stops starting new ones after `deadline`. */
export async function inFlight(
  n: number,
  limit: number,
  deadline: number,
  fn: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  let completed = 0;
  const lane = async (): Promise<void> => {
    while (next < n && performance.now() < deadline) {
      const i = next++;
      await fn(i);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  return completed;
}
