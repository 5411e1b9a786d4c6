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

/**
 * Handlers started per settle batch, at least: past this many starts since the settler last sent
 * its batch, waiting messages wait for that send. Short tasks leased ahead would otherwise all
 * run in one event-loop turn and be settled in one call, with the main thread idle while Redis
 * runs it; split in two, one batch runs while the other is settled. Measured at concurrency 100
 * (200 leased per settle): +40 % throughput for +14 % CPU per task. Below 64 the extra calls
 * cost more CPU than the overlap gains (concurrency 10, 40 leased: no gain, +30 % CPU).
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
