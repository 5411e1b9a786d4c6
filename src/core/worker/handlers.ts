/**
 * Who runs now and who waits: at most `concurrency` handlers at once, the other leased messages
 * (leased ahead: prefetch) wait in lease order. Keeps the moving average of handler times that
 * decides whether the worker leases ahead (only while tasks are short, PREFETCH_TASK_MS) and how
 * many (what the handlers run in PREFETCH_WAIT_MS), so a message never waits long behind tasks
 * another worker could have run it beside.
 */
import type { Execution } from './execution.ts';

/** Tasks of a worker must average under this for it to lease messages ahead of free slots. */
export const PREFETCH_TASK_MS = 50;

/**
 * Messages leased ahead at most, by default (the worker's `prefetch` option). Bigger settle
 * batches mean fewer round trips: in alternating drains of no-op tasks, 100 ahead instead of 30
 * gave 50-75 % more throughput at concurrency 10, and 200 instead of 100 another 15-20 % at
 * concurrency 1, 10 and 100, with less CPU per task.
 */
export const PREFETCH_MAX = 200;

/**
 * How long a message leased ahead waits for a handler, about, at most: a worker leases ahead
 * what its handlers run in this time at their recent average, never more than its prefetch.
 * Tasks of a few microseconds get the whole prefetch; at 5 ms a task, concurrency 10 leases 40
 * ahead, and at 20 ms, 10.
 */
export const PREFETCH_WAIT_MS = 20;

/**
 * Handlers started per settle batch, at least: past this many starts since the settler last sent
 * its batch, waiting messages wait for that send. Short tasks leased ahead would otherwise all
 * run in one event-loop turn and be settled in one call, with the main thread idle while Redis
 * runs it; split, one batch runs while another is settled. Measured in drains at concurrency 100:
 * +25-40 % throughput; batches of 64 there, or of 300 (no split), were slower than of 100-150.
 * Below 64 the extra calls cost more CPU than the overlap gains (concurrency 10 with 40 leased
 * per settle: no gain, +30 % CPU per task).
 */
export const MIN_STARTS_PER_BATCH = 64;

export class HandlerQueue {
  private running = 0;
  /** Moving average of handler times; unknown (infinite) until a first handler ended. */
  private averageMs = Number.POSITIVE_INFINITY;
  private waiting: Execution[] = [];
  /** Handlers begun since the settler last sent a batch (see MIN_STARTS_PER_BATCH). */
  private startedSinceSend = 0;
  private readonly startsPerBatch: number;

  constructor(private readonly concurrency: number) {
    this.startsPerBatch = Math.max(MIN_STARTS_PER_BATCH, concurrency);
  }

  /** Leased messages waiting for a free handler. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  get full(): boolean {
    return this.running >= this.concurrency;
  }

  /** Enough handlers began since the last settle batch was sent: waiting messages wait for the next send. */
  get batchFull(): boolean {
    return this.startedSinceSend >= this.startsPerBatch;
  }

  /** The settler sent its batch: a new one begins. */
  batchSent(): void {
    this.startedSinceSend = 0;
  }

  /** Tasks have been short enough lately for leasing ahead to pay. */
  get short(): boolean {
    return this.averageMs < PREFETCH_TASK_MS;
  }

  /** Messages to lease ahead now, at most `max`: none while tasks are slow, else what the handlers run in PREFETCH_WAIT_MS. */
  ahead(max: number): number {
    if (!this.short) return 0;
    // Handler times are whole milliseconds (Date.now): a task of a few microseconds averages near 0.
    const inWait = Math.floor((this.concurrency * PREFETCH_WAIT_MS) / Math.max(this.averageMs, 0.01));
    return Math.min(max, Math.max(1, inWait));
  }

  /**
   * True when `execution` may start now (counted as running); else it waits its turn: for a free
   * handler, or (`batchFull`) for the settler to send the batch of those started already.
   */
  admit(execution: Execution): boolean {
    if (this.full || this.batchFull || this.waiting.length > 0) {
      this.waiting.push(execution);
      return false;
    }
    this.begin(execution);
    return true;
  }

  /** Counts `execution` as running (one admitted, or one taken from `next`). */
  begin(execution: Execution): void {
    this.running++;
    this.startedSinceSend++;
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
