/**
 * Who runs now and who waits: at most `concurrency` handlers at once, the other leased messages
 * (leased ahead: prefetch) wait in lease order. Keeps the moving average of handler times that
 * decides whether the worker leases ahead at all: only while tasks are short (PREFETCH_TASK_MS),
 * so a message never waits long behind a slow task another worker could have run it beside.
 */
import type { Execution } from './execution.ts';

/** Tasks of a worker must average under this for it to lease messages ahead of free slots. */
export const PREFETCH_TASK_MS = 50;

/**
 * Messages leased ahead by default: three per handler (at least 10, at most 100). Measured at
 * concurrency 1 and 10, three per handler gave bigger settle batches and 20-100 % more throughput
 * than one per handler; at 50 ms a task, the last of them waits about 150 ms.
 */
export const defaultPrefetch = (concurrency: number): number => Math.min(100, Math.max(10, 3 * concurrency));

export class HandlerQueue {
  private running = 0;
  /** Moving average of handler times; unknown (infinite) until a first handler ended. */
  private averageMs = Number.POSITIVE_INFINITY;
  private waiting: Execution[] = [];

  constructor(private readonly concurrency: number) {}

  /** Leased messages waiting for a free handler. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  get full(): boolean {
    return this.running >= this.concurrency;
  }

  /** Tasks have been short enough lately for leasing ahead to pay. */
  get short(): boolean {
    return this.averageMs < PREFETCH_TASK_MS;
  }

  /** True when `execution` may start now (counted as running); else it waits its turn. */
  admit(execution: Execution): boolean {
    if (this.full) {
      this.waiting.push(execution);
      return false;
    }
    this.begin(execution);
    return true;
  }

  /** Counts `execution` as running (one admitted, or one taken from `next`). */
  begin(execution: Execution): void {
    this.running++;
    execution.handlerStartedAt = Date.now();
  }

  /** The handler of `execution` is done; false if it was already counted done (or never began). */
  finish(execution: Execution): boolean {
    if (execution.handlerStartedAt === undefined) return false;
    const tookMs = Date.now() - execution.handlerStartedAt;
    execution.handlerStartedAt = undefined;
    this.running--;
    this.averageMs =
      this.averageMs === Number.POSITIVE_INFINITY ? tookMs : this.averageMs + (tookMs - this.averageMs) / 8;
    return true;
  }

  /** The longest-waiting message, taken out of the queue. */
  next(): Execution | undefined {
    return this.waiting.shift();
  }

  /** Every waiting message, taken out (a stopping worker hands them back). */
  takeAll(): Execution[] {
    const waiting = this.waiting;
    this.waiting = [];
    return waiting;
  }
}
