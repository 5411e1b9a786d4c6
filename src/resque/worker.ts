/**
 * A Resque-mode worker: Errand's own Worker over a ResqueBroker, plus what Resque workers do
 * around jobs (register, heartbeat, prune dead workers, unregister).
 */
import type { RedisConnection } from '../brokers/redis/connection.ts';
import type { Errand } from '../core/errand.ts';
import { ErrandConfigError } from '../core/errors.ts';
import type { ResultBackend, TaskErrorInfo, TaskRecord } from '../core/port.ts';
import type { Listener, WorkerEventName } from '../core/worker/events.ts';
import { Worker, type WorkerOptions } from '../core/worker/worker.ts';
import { ResqueBroker } from './broker.ts';
import { FOREIGN_ID_PREFIX, parsedPayload, resqueCodec } from './format.ts';
import { heartbeat, pruneDeadWorkers, register, type Slot, slotsFor, unregister } from './presence.ts';
import { parseQueues, type QueueSpec } from './queues.ts';

export interface ResqueWorkerOptions {
  /** goworker's spec: `q1,q2` (that order) or `high=2,low=1` (weighted), or a list of names. */
  readonly queues: string | readonly string[];
  /** Jobs run at once; each slot is one Resque worker id (default 25, as goworker). */
  readonly concurrency?: number;
  /** The wait before looking again when every queue is empty (default 5000 ms, Resque's 5.0 s). */
  readonly intervalMs?: number;
  /** Stop once every queue is empty and no job runs (goworker's -exit-on-complete). */
  readonly exitOnComplete?: boolean;
  /** Heartbeat period (default 60 s, Resque's). */
  readonly heartbeatMs?: number;
  /** A worker whose heartbeat is older than this is pruned (default 300 s, Resque's). */
  readonly pruneAfterMs?: number;
  /** Move due resque-scheduler items (`delayed_queue_schedule`) to their queues (default true; retries use them). */
  readonly scheduler?: boolean;
  /** How long stop() waits for running jobs before handing them back (default 10 s). */
  readonly shutdownMs?: number;
  /** Stop gracefully on SIGTERM/SIGINT, then close the Errand (default true). */
  readonly handleSignals?: boolean;
}

type WorkerState = 'created' | 'running' | 'stopped';

export class ResqueWorker {
  readonly slots: readonly Slot[];
  readonly queues: QueueSpec;
  private readonly worker: Worker;
  private readonly broker: ResqueBroker;
  private readonly errors = new Map<string, TaskErrorInfo>();
  private readonly heartbeatMs: number;
  private readonly pruneAfterMs: number;
  private state: WorkerState = 'created';
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private resolveDone!: () => void;
  /** Resolves once the worker has stopped and unregistered (after stop(), a signal, or exit-on-complete). */
  readonly done: Promise<void> = new Promise((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(
    private readonly errand: Errand,
    private readonly connection: RedisConnection,
    private readonly ns: string,
    options: ResqueWorkerOptions,
    private readonly closeAll: () => Promise<void>,
  ) {
    this.queues = parseQueues('resque.worker.queues', options.queues);
    const concurrency = options.concurrency ?? 25;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new ErrandConfigError(
        'resque.worker.concurrency',
        `must be a positive integer (got ${concurrency})`,
      );
    const intervalMs = nonNegative('resque.worker.intervalMs', options.intervalMs, 5000);
    this.heartbeatMs = nonNegative('resque.worker.heartbeatMs', options.heartbeatMs, 60_000) || 60_000;
    this.pruneAfterMs = nonNegative('resque.worker.pruneAfterMs', options.pruneAfterMs, 300_000);
    this.slots = slotsFor(this.queues.names, concurrency);
    this.broker = new ResqueBroker(connection, {
      ns,
      queues: this.queues,
      slots: this.slots,
      intervalMs,
      promoteDelayed: options.scheduler ?? true,
      errorOf: (body) => this.takeError(body),
      onIdle: () => {
        if (options.exitOnComplete && this.state === 'running') {
          this.stop().catch((err: unknown) => this.warn(`resque exit-on-complete: ${String(err)}`));
        }
      },
    });
    const base = errand.runtime;
    const runtime = {
      ...base,
      stores: async () => ({ broker: this.broker, backend: this.backend((await base.stores()).backend) }),
      codec: () => resqueCodec,
    };
    const workerOptions: WorkerOptions = {
      concurrency,
      // Each slot is one Resque worker id: a job is taken only for a free one, as goworker does.
      prefetch: 0,
      queues: [`resque:${this.queues.names.join(',')}`],
      ...(options.shutdownMs !== undefined && { shutdownMs: options.shutdownMs }),
      handleSignals: options.handleSignals ?? true,
    };
    this.worker = new Worker(runtime, workerOptions, () => this.stopAndClose());
  }

  /** Task events, as Errand's worker reports them (the event's queue is the worker's; the handler's `this.queue` is the Resque queue). */
  on<E extends WorkerEventName>(event: E, listener: Listener<E>): () => void {
    return this.worker.on(event, listener);
  }

  /** A job was put on `queue` by this process: stop waiting out the idle interval. */
  wake(queue: string): void {
    this.broker.wake(queue);
  }

  /** Jobs running now. */
  get active(): number {
    return this.worker.active;
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new Error(`resque worker cannot start: it is ${this.state}`);
    const client = await this.connection.ready();
    await register(client, this.ns, this.slots);
    await this.prune();
    this.state = 'running';
    await this.worker.start();
    this.timer = setInterval(() => {
      // One tick at a time; shutdown waits for the last one (no heartbeat after unregistering).
      this.ticking ??= this.tick().finally(() => {
        this.ticking = undefined;
      });
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** Stop taking jobs, let running ones finish (up to shutdownMs, then they go back to their queues), unregister. */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    // Already stopping: a new deadline can only shorten the wait (Errand's worker decides).
    if (this.stopping && options.timeoutMs !== undefined) void this.worker.stop(options);
    this.stopping ??= this.shutdown(options.timeoutMs);
    return this.stopping;
  }

  private async shutdown(timeoutMs: number | undefined): Promise<void> {
    this.state = 'stopped';
    clearInterval(this.timer);
    try {
      await this.ticking;
      await this.worker.stop(timeoutMs === undefined ? {} : { timeoutMs });
      // Jobs are settled or handed back by now: a failed unregister leaves only stale ids, pruned later.
      await unregister(await this.connection.ready(), this.ns, this.slots).catch((err: unknown) =>
        this.warn(`resque: could not unregister (dead-worker pruning will): ${String(err)}`),
      );
    } finally {
      this.resolveDone();
    }
  }

  /** After a signal: stop, then close the Resque connection and the Errand (the process may end). */
  private async stopAndClose(): Promise<void> {
    await this.stop();
    await this.closeAll();
  }

  private warn(message: string): void {
    this.errand.options.logger.warn(message);
  }

  private async tick(): Promise<void> {
    try {
      const client = await this.connection.ready();
      await heartbeat(client, this.ns, this.slots);
      await this.prune();
    } catch (err) {
      this.errand.options.logger.warn(`resque heartbeat: ${(err as Error).message}`);
    }
  }

  private async prune(): Promise<void> {
    const requeued = await pruneDeadWorkers(await this.connection.ready(), {
      ns: this.ns,
      self: this.slots[0]!.id,
      pruneAfterMs: this.pruneAfterMs,
      own: new Set(this.slots.map((s) => s.id)),
      maxDeaths: this.errand.options.maxDeliveries,
    });
    for (const job of requeued) {
      this.warn(
        job.outcome === 'requeued'
          ? `resque: worker ${job.worker} is dead; its job went back to the head of queue "${job.queue}": ${job.payload}`
          : `resque: worker ${job.worker} is dead; its job had outlived ${this.errand.options.maxDeliveries} workers, so it went to the failed list: ${job.payload}`,
      );
    }
  }

  /** The result backend as the executor sees it: failures are noted for Resque's failure entry; made-up ids are not stored. */
  private backend(real: ResultBackend): ResultBackend {
    const errors = this.errors;
    return {
      name: real.name,
      write(records: readonly TaskRecord[], ttlMs: number) {
        for (const r of records) {
          if (r.state === 'FAILURE' && r.error) {
            if (errors.size > 10_000) errors.clear();
            errors.set(r.id, r.error);
          }
        }
        const kept = records.filter((r) => !r.id.startsWith(FOREIGN_ID_PREFIX));
        return kept.length > 0 ? real.write(kept, ttlMs) : Promise.resolve();
      },
      read: (id) => real.read(id),
      onFinal: (listener) => real.onFinal(listener),
      close: async () => {},
    };
  }

  private takeError(body: string): TaskErrorInfo | undefined {
    const job = parsedPayload(body) as { id?: unknown } | string;
    if (typeof job !== 'object' || job === null || typeof job.id !== 'string') return undefined;
    const error = this.errors.get(job.id);
    this.errors.delete(job.id);
    return error;
  }
}

function nonNegative(key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new ErrandConfigError(key, `must be a number of milliseconds >= 0 (got ${value})`);
  return value;
}
