/**
 * Bounds the commands of one client with a single timer instead of one per command: every
 * command gets the same time limit, so the oldest pending one always expires first and one
 * timer armed for it covers them all. The timer is unref'd while nothing is pending, so an
 * idle client never holds the process open.
 *
 * It also hands node-redis an abort signal per command, shared by all commands sent within
 * BUCKET_MS, which all expire together when the last of them is past the limit: node-redis then
 * takes a command that was never written out of its offline queue (so a command reported as
 * failed is never sent later). One signal per bucket instead of node-redis's own
 * timeout signal per command, which costs a timer and a weak reference each.
 */
import { setMaxListeners } from 'node:events';

const MAX_TIMER_MS = 2 ** 31 - 1;
/** Commands sent within this long share one abort signal (and are aborted up to this much late). */
export const BUCKET_MS = 100;

interface Bucket {
  readonly controller: AbortController;
  /** Commands sent until this time (performance.now()) use this bucket. */
  readonly until: number;
}

interface Pending {
  readonly expiresAt: number;
  readonly expire: () => void;
}

export class CommandWatchdog {
  /** In the order the commands were sent, which is also the order of their deadlines. */
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = 0;
  /** Oldest first; aborted and dropped once all their commands are past the limit. */
  private buckets: Bucket[] = [];

  constructor(private readonly ms: number) {}

  /**
   * Runs `send` with the abort signal of the current bucket; settles like its promise, or
   * rejects with `onTimeout()` once the bucket is past the limit (the limit, and at most
   * BUCKET_MS more). The bucket's signal aborts at that moment too.
   */
  watch<T>(send: (signal: AbortSignal) => Promise<T>, onTimeout: () => Error): Promise<T> {
    const now = performance.now();
    let bucket = this.buckets[this.buckets.length - 1];
    if (bucket === undefined || now >= bucket.until) {
      bucket = { controller: new AbortController(), until: now + BUCKET_MS };
      // Shared by every command of the bucket, each adding a listener: not a leak.
      setMaxListeners(0, bucket.controller.signal);
      this.buckets.push(bucket);
    }
    const { signal } = bucket.controller;
    const expiresAt = bucket.until + this.ms;
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { expiresAt, expire: () => reject(onTimeout()) };
      this.pending.add(entry);
      this.arm(expiresAt);
      send(signal).then(
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
      const wait = Math.ceil(expiresAt - performance.now());
      this.timer = setTimeout(() => this.sweep(), Math.min(Math.max(1, wait), MAX_TIMER_MS));
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
    let stale = 0;
    while (stale < this.buckets.length && this.buckets[stale]!.until + this.ms <= now) stale++;
    for (const bucket of this.buckets.splice(0, stale)) bucket.controller.abort();
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
    this.buckets = [];
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = 0;
  }
}
