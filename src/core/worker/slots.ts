/**
 * Lease slots shared by a worker's fetch loops and its settle refills: one per message the
 * worker may hold (its concurrency, plus its prefetch while tasks are short). A slot is taken
 * before the broker is asked for a message and belongs to the execution that message starts;
 * nothing else takes one, so `used` never exceeds `size` (except after prefetch stops, until
 * slots are given back) and a reserve never asks for less than 1.
 */
/** Who holds a slot: an execution, until it finishes or hands the slot to a settle refill. */
export interface SlotHolder {
  slotHeld: boolean;
}

export class Slots {
  private used = 0;
  /** Slots only settle refills lease into: messages leased ahead of free handlers (prefetch). */
  private ahead = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly base: number) {}

  get size(): number {
    return this.base + this.ahead;
  }

  get free(): number {
    return this.size - this.used;
  }

  /** Lets settle refills lease `n` messages ahead (0 stops it); taken slots stay taken. */
  leaseAhead(n: number): void {
    const grew = n > this.ahead;
    this.ahead = n;
    if (grew) this.wake();
  }

  /**
   * Takes free slots, up to `wanted`, for a fetch loop: the room kept for leasing ahead is
   * left to settle refills, which lease in order behind the messages they settle (two
   * reserves racing would start a queue's messages out of order). Returns how many it took.
   */
  takeUpTo(wanted: number): number {
    const n = Math.max(0, Math.min(Math.floor(wanted), this.free - this.ahead));
    this.used += n;
    return n;
  }

  /** Takes free slots, up to `wanted`, for a settle refill, the room kept for leasing ahead included. */
  takeAhead(wanted: number): number {
    const n = Math.max(0, Math.min(Math.floor(wanted), this.free));
    this.used += n;
    return n;
  }

  /** Gives back `n` slots taken earlier. */
  give(n = 1): void {
    if (n <= 0) return;
    if (n > this.used) throw new Error(`slot accounting: giving back ${n} slot(s), only ${this.used} taken`);
    this.used -= n;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** How many slots a fetch loop may take now. */
  takeable(): number {
    return Math.max(0, this.free - this.ahead);
  }

  /** Whether a fetch loop may take a slot now. */
  canTake(): boolean {
    return this.free > this.ahead;
  }

  /** Resolves when a slot a fetch loop may take frees, or when `signal` aborts. */
  whenFree(signal: AbortSignal): Promise<void> {
    if (this.canTake() || signal.aborted) return Promise.resolve();
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
