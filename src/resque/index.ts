/**
 * `errand/resque`: Errand as a Resque worker and client, on Resque's keys (Ruby Resque, node-resque,
 * goworker and resque-web share them). See docs/resque.md.
 *
 *   const r = resque(errand, { namespace: 'resque:' });
 *   const worker = r.worker({ queues: 'high=2,low=1', concurrency: 25 });
 *   await worker.start();
 *   await r.enqueue('myqueue', 'MyClass', ['hi', 'there']);
 */
import { RedisConnection } from '../brokers/redis/connection.ts';
import type { Errand } from '../core/errand.ts';
import { ErrandConfigError } from '../core/errors.ts';
import { newTaskId } from '../core/ids.ts';
import type { TaskRecord } from '../core/port.ts';
import type { ResultOptions, SentTask } from '../core/task.ts';
import { ResqueWorker, type ResqueWorkerOptions } from './worker.ts';

export { failedAt, isoSeconds, resqueCodec, rubyTime } from './format.ts';
export { parseQueues, type QueueSpec } from './queues.ts';
export { ResqueWorker, type ResqueWorkerOptions } from './worker.ts';

export interface ResqueOptions {
  /** Key prefix, used verbatim as goworker does (default `"resque:"`); a missing final ":" is added. */
  readonly namespace?: string;
  /** The Redis holding Resque's keys (default: the Errand's broker URL, which must then be redis:// or rediss://). */
  readonly redis?: string;
}

export interface ResqueEnqueueOptions {
  /** Errand's retries for this job (carried in the payload; Resque readers ignore the extra key). */
  readonly retries?: number;
  /** Time limit of one attempt (ms); the handler's AbortSignal fires when it passes. */
  readonly timeoutMs?: number;
}

export class Resque {
  readonly namespace: string;
  private readonly connection: RedisConnection;
  private readonly workers = new Set<ResqueWorker>();
  private closing: Promise<void> | undefined;
  private releasing: Promise<void> | undefined;

  constructor(
    private readonly errand: Errand,
    options: ResqueOptions = {},
  ) {
    const namespace = options.namespace ?? 'resque:';
    if (typeof namespace !== 'string')
      throw new ErrandConfigError('resque.namespace', 'must be a string such as "resque:"');
    this.namespace = namespace === '' || namespace.endsWith(':') ? namespace : `${namespace}:`;
    const url = options.redis ?? errand.brokerUrl;
    if (url === undefined || !/^rediss?:\/\//.test(url)) {
      throw new ErrandConfigError(
        'resque.redis',
        `Resque's keys live in Redis: give a redis:// URL (the Errand's broker is ${url === undefined ? 'a Broker instance' : JSON.stringify(url)})`,
      );
    }
    this.connection = new RedisConnection({
      url,
      onError: (err) => errand.options.logger.debug(`resque redis connection: ${err.message}`),
    }).retain();
  }

  /** A worker running this Errand's tasks for Resque jobs: the job's class is the task name. */
  worker(options: ResqueWorkerOptions): ResqueWorker {
    const worker = new ResqueWorker(this.errand, this.connection, this.namespace, options, () =>
      this.close(),
    );
    this.workers.add(worker);
    return worker;
  }

  /**
   * Push a job as Resque clients do (`SADD queues`, `RPUSH queue:<q>`), as node-resque encodes it
   * (`{"class","queue","args"}`) plus an Errand id, so its result can be awaited here.
   */
  async enqueue(
    queue: string,
    klass: string,
    args: readonly unknown[] = [],
    options: ResqueEnqueueOptions = {},
  ): Promise<SentTask<unknown>> {
    const job = this.job(queue, klass, args, options, 'enqueue');
    const client = await this.connection.ready();
    await client
      .multi()
      .sAdd(`${this.namespace}queues`, queue)
      .rPush(`${this.namespace}queue:${queue}`, job.body)
      .exec();
    for (const worker of this.workers) worker.wake(queue);
    return this.sent(job.id, klass, queue);
  }

  /** Push a job to run at `at` (a Date or epoch ms) on resque-scheduler's keys (node-resque's scheduler reads them too). */
  async enqueueAt(
    at: Date | number,
    queue: string,
    klass: string,
    args: readonly unknown[] = [],
    options: ResqueEnqueueOptions = {},
  ): Promise<SentTask<unknown>> {
    const ms = at instanceof Date ? at.getTime() : at;
    if (typeof ms !== 'number' || !Number.isFinite(ms))
      throw new ErrandConfigError(
        'resque.enqueueAt.at',
        `must be a Date or epoch milliseconds (got ${String(at)})`,
      );
    const job = this.job(queue, klass, args, options, 'enqueueAt');
    // resque-scheduler keys delayed items by whole seconds (node-resque rounds the same way).
    const ts = String(Math.round(ms / 1000));
    const ns = this.namespace;
    const client = await this.connection.ready();
    await client
      .multi()
      .rPush(`${ns}delayed:${ts}`, job.body)
      .sAdd(`${ns}timestamps:${job.body}`, `delayed:${ts}`)
      .zAdd(`${ns}delayed_queue_schedule`, { score: Number(ts), value: ts })
      .exec();
    return this.sent(job.id, klass, queue);
  }

  /** enqueueAt(now + delayMs). */
  enqueueIn(
    delayMs: number,
    queue: string,
    klass: string,
    args: readonly unknown[] = [],
    options: ResqueEnqueueOptions = {},
  ): Promise<SentTask<unknown>> {
    if (typeof delayMs !== 'number' || !(delayMs >= 0))
      throw new ErrandConfigError('resque.enqueueIn.delayMs', `must be a number >= 0 (got ${delayMs})`);
    return this.enqueueAt(Date.now() + delayMs, queue, klass, args, options);
  }

  /** Stop this Resque's workers, close its connection and the Errand. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.release();
      await this.errand.close();
    })();
    return this.closing;
  }

  /** Stop this Resque's workers and close its connection, leaving the Errand open (for a host that owns it, as the daemon does). */
  release(): Promise<void> {
    this.releasing ??= (async () => {
      await Promise.all([...this.workers].map((w) => w.stop()));
      await this.connection.release();
    })();
    return this.releasing;
  }

  private job(
    queue: string,
    klass: string,
    args: readonly unknown[],
    options: ResqueEnqueueOptions,
    what: string,
  ) {
    if (typeof queue !== 'string' || queue === '' || /[:\s]/.test(queue))
      throw new ErrandConfigError(
        `resque.${what}.queue`,
        `must be a non-empty name without ":" or spaces (got ${JSON.stringify(queue)})`,
      );
    if (typeof klass !== 'string' || klass === '')
      throw new ErrandConfigError(`resque.${what}.class`, 'must be a non-empty string');
    if (!Array.isArray(args)) throw new ErrandConfigError(`resque.${what}.args`, 'must be an array');
    if (options.retries !== undefined && !(Number.isInteger(options.retries) && options.retries >= 0))
      throw new ErrandConfigError(`resque.${what}.retries`, 'must be an integer >= 0');
    if (options.timeoutMs !== undefined && !(typeof options.timeoutMs === 'number' && options.timeoutMs > 0))
      throw new ErrandConfigError(`resque.${what}.timeoutMs`, 'must be a number > 0');
    const id = newTaskId();
    const body = JSON.stringify({
      class: klass,
      queue,
      args,
      id,
      ...(options.retries !== undefined && { retries: options.retries }),
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    });
    return { id, body };
  }

  private sent(id: string, task: string, queue: string): SentTask<unknown> {
    return {
      id,
      task,
      queue,
      duplicate: false,
      result: (options?: ResultOptions) => this.errand.result(id, options),
      status: async (): Promise<TaskRecord> => {
        const now = Date.now();
        return (
          (await this.errand.status(id)) ?? {
            id,
            task,
            queue,
            state: 'PENDING',
            attempt: 0,
            createdAt: now,
            updatedAt: now,
          }
        );
      },
    };
  }
}

/** Resque's keys on the Errand's Redis (or `options.redis`). */
export function resque(errand: Errand, options: ResqueOptions = {}): Resque {
  return new Resque(errand, options);
}
