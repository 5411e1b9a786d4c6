/** The common face of every system under test, so each scenario is written once. */

/** What every benchmark task carries: when it was sent, and optional padding. */
export interface Payload {
  /** `performance.now()` when the producer sent the task (same process as the worker). */
  readonly t: number;
  /** Padding to reach a given payload size (scenario 4, memory). */
  readonly pad?: string;
}

export interface WorkerHooks {
  /** Called when the handler starts (the no-op task itself). */
  onStart(payload: Payload): void;
  /** Called once the system has recorded the task as finished (acked, result stored). */
  onDone(): void;
}

export interface WorkerHandle {
  stop(): Promise<void>;
}

export interface SystemConfig {
  /** Redis URL (the private server, or the counting proxy in front of it). */
  readonly url: string;
  /** Key prefix/queue name unique to this measurement. */
  readonly prefix: string;
}

export interface BenchSystem {
  readonly name: string;
  /** Library version under test. */
  readonly version: string;
  /** The reliability settings used, stated in the report so the comparison is fair. */
  readonly settings: string;
  enqueueOne(payload: Payload): Promise<void>;
  /** Enqueue many tasks in one call (the system's bulk API). */
  enqueueBulk(payloads: readonly Payload[]): Promise<void>;
  startWorker(concurrency: number, hooks: WorkerHooks): Promise<WorkerHandle>;
  close(): Promise<void>;
}

export type SystemFactory = (config: SystemConfig) => Promise<BenchSystem>;

/** Retries allowed after the first attempt, for every system that has retries. */
export const RETRIES = 3;
/** Lease / lock / stall interval, for every system that has one. */
export const LEASE_MS = 30_000;

const errorCounts = new Map<string, number>();

/** An error listener that reports a system's first few background errors on stderr (never silently lost). */
export function reportErrors(system: string): (err: unknown) => void {
  return (err) => {
    const n = (errorCounts.get(system) ?? 0) + 1;
    errorCounts.set(system, n);
    if (n <= 3)
      process.stderr.write(`bench: ${system} error: ${err instanceof Error ? err.message : String(err)}\n`);
  };
}
