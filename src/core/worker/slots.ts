/**
 * Concurrency slots shared by a worker's fetch loops and its settle refills. A slot is taken
 * before the broker is asked for a message and belongs to the execution that message starts;
 * nothing else takes one, so `used` never exceeds `size` and a reserve never asks for less than 1.
 */
/** Who holds a slot: an execution, until it finishes or hands the slot to a settle refill. */
export interface SlotHolder {
  slotHeld: boolean;
}

export class Slots {
  private used = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly size: number) {}

  get free(): number {
    return this.size - this.used;
  }

  /** Takes as many free slots as there are, up to `wanted`; returns how many it took (maybe 0). */
  takeUpTo(wanted: number): number {
    const n = Math.max(0, Math.min(Math.floor(wanted), this.free));
    this.used += n;
    return n;
  }

  /** Gives back `n` slots taken earlier. */
  give(n = 1): void {
    if (n <= 0) return;
    if (n > this.used) throw new Error(`slot accounting: giving back ${n} slot(s), only ${this.used} taken`);
    this.used -= n;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when a slot frees, or when `signal` aborts. */
  whenFree(signal: AbortSignal): Promise<void> {
    if (this.free > 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
