/**
 * Bounds the commands of one client with a single timer instead of one per command: every
 * command gets the same time limit, so the oldest pending one always expires first and one
 * timer armed for it covers them all. The timer is unref'd while nothing is pending, so an
 * idle client never holds the process open.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Pending {
  readonly expiresAt: number;
  readonly expire: () => void;
}

export class CommandWatchdog {
  /** In the order the commands were sent, which is also the order of their deadlines. */
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = 0;

  constructor(private readonly ms: number) {}

  /** Settles like `promise`, or rejects with `onTimeout()` once it has been pending for the limit. */
  watch<T>(promise: Promise<T>, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = {
        expiresAt: performance.now() + this.ms,
        expire: () => reject(onTimeout()),
      };
      this.pending.add(entry);
      this.arm(entry.expiresAt);
      promise.then(
        (value) => {
          this.done(entry);
          resolve(value);
        },
        (err: unknown) => {
          this.done(entry);
          reject(err);
        },
      );
    });
  }

  private done(entry: Pending): void {
    this.pending.delete(entry);
    if (this.pending.size === 0) this.timer?.unref();
  }

  private arm(expiresAt: number): void {
    if (this.timer === undefined) {
      this.armedFor = expiresAt;
      this.timer = setTimeout(() => this.sweep(), Math.min(this.ms, MAX_TIMER_MS));
      return;
    }
    // An armed timer fires no later than any command sent since (same limit for all); it only
    // needs holding the process open again.
    this.timer.ref();
    if (this.armedFor === 0) {
      this.armedFor = expiresAt;
      this.timer.refresh();
    }
  }

  private sweep(): void {
    const now = performance.now();
    for (const entry of this.pending) {
      if (entry.expiresAt > now) break;
      this.pending.delete(entry);
      entry.expire();
    }
    const next = this.pending.values().next();
    if (next.done) {
      this.armedFor = 0;
      this.timer?.unref();
      return;
    }
    this.armedFor = next.value.expiresAt;
    this.timer?.ref();
    // refresh() re-arms for the full limit: wait only as long as the oldest command has left.
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.sweep(), Math.max(1, Math.ceil(next.value.expiresAt - now)));
  }

  /** Stops the timer (the client is closed; its pending commands fail on their own). */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = 0;
  }
}
