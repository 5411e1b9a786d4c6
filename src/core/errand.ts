/** The Errand facade: define tasks, send them, wait for results, run workers, manage dead letters. */
import { DeadLetters } from './dead-letters.ts';
import { ErrandConfigError } from './errors.ts';
import { newTaskId } from './ids.ts';
import type { JsonChecked } from './json.ts';
import { jsonCodec, type TaskMessage, WIRE_VERSION } from './message.ts';
import {
  DEFAULT_QUEUE,
  dueAtOf,
  type ErrandOptions,
  type ResolvedOptions,
  resolveOptions,
  type SendOptions,
  type TaskOptions,
  validateSendOptions,
} from './options.ts';
import type { BrokerCapabilities, QueueStats, TaskRecord } from './port.ts';
import { openBackend } from './registry.ts';
import { DEFAULT_BROKER_URL, openStores, type Stores } from './resolve.ts';
import { outcomeOf, ResultWaiter } from './results.ts';
import type { Runtime } from './runtime.ts';
import { type Handler, type ResultOptions, type SentTask, Task, type TaskDefinition } from './task.ts';
import { Worker, type WorkerOptions } from './worker/worker.ts';

export class Errand {
  readonly options: ResolvedOptions;
  private readonly brokerSource: ErrandOptions['broker'];
  private readonly backendOverride: ErrandOptions['backend'];
  private readonly definitions = new Map<string, TaskDefinition<unknown[], unknown>>();
  private storesPromise: Promise<Stores> | undefined;
  private readonly waiter: ResultWaiter;
  private readonly workers = new Set<Worker>();
  private closed = false;
  /** The view of this Errand that workers use. */
  readonly runtime: Runtime;

  constructor(options: ErrandOptions = {}) {
    this.options = resolveOptions(options);
    this.brokerSource = options.broker ?? process.env.ERRAND_BROKER ?? DEFAULT_BROKER_URL;
    this.backendOverride = options.backend;
    this.waiter = new ResultWaiter(async () => (await this.stores()).backend);
    this.runtime = {
      options: this.options,
      stores: () => this.stores(),
      definition: (name) => this.definitions.get(name),
      taskNames: () => [...this.definitions.keys()],
      codec: (queue) => this.options.queues[queue]?.codec ?? jsonCodec,
      queueOf: (definition) => definition.options.queue ?? DEFAULT_QUEUE,
    };
  }

  /** The broker URL this Errand was made with; undefined when it was given a Broker instance. */
  get brokerUrl(): string | undefined {
    return typeof this.brokerSource === 'string' ? this.brokerSource : undefined;
  }

  private stores(): Promise<Stores> {
    if (this.closed) return Promise.reject(new Error('this Errand is closed'));
    this.storesPromise ??= this.openStores();
    return this.storesPromise;
  }

  private async openStores(): Promise<Stores> {
    const source = this.brokerSource;
    const backend = this.backendOverride;
    if (typeof source === 'string') return openStores(source, this.options, backend);
    if (backend === undefined)
      throw new ErrandConfigError('backend', 'a Broker instance needs a result backend too');
    return {
      broker: source!,
      backend: typeof backend === 'string' ? await openBackend(backend, this.options) : backend,
    };
  }

  /** Define a task. Its handler's parameter and return types become send()'s and result()'s. */
  task<A extends unknown[], R>(
    name: string,
    handler: Handler<A, R> & JsonChecked<A, R>,
    options: TaskOptions = {},
  ): Task<A, Awaited<R>> {
    if (typeof name !== 'string' || name === '')
      throw new ErrandConfigError('task', 'name must be a non-empty string');
    if (this.definitions.has(name))
      throw new ErrandConfigError(`task("${name}")`, 'a task with this name is already defined');
    validateSendOptions(`task("${name}")`, options);
    const definition = { name, handler, options } as TaskDefinition<unknown[], unknown>;
    this.definitions.set(name, definition);
    return new Task<A, Awaited<R>>(this.sender, definition);
  }

  /** Send a task by name (the handler may live in another process). */
  async send<R = unknown>(
    name: string,
    args: readonly unknown[],
    options: SendOptions = {},
  ): Promise<SentTask<R>> {
    const defaults = this.definitions.get(name)?.options ?? {};
    const [sent] = await this.sendMany<R>(name, [args], { ...defaults, ...options });
    return sent!;
  }

  private readonly sender = {
    sendMany: <R>(task: string, argsList: readonly (readonly unknown[])[], options: SendOptions) =>
      this.sendMany<R>(task, argsList, options),
  };

  private async sendMany<R>(
    task: string,
    argsList: readonly (readonly unknown[])[],
    options: SendOptions,
  ): Promise<SentTask<R>[]> {
    validateSendOptions(`send("${task}")`, options);
    if (options.id !== undefined && argsList.length > 1) {
      throw new ErrandConfigError(`send("${task}").id`, 'one id cannot name several tasks (sendBulk)');
    }
    const queue = options.queue ?? DEFAULT_QUEUE;
    const codec = this.runtime.codec(queue);
    const now = Date.now();
    const dueAt = dueAtOf(options, now);
    const entries = argsList.map((args, i) => {
      if (!Array.isArray(args))
        throw new ErrandConfigError(`send("${task}").args[${i}]`, 'must be an array of arguments');
      const message: TaskMessage = {
        v: WIRE_VERSION,
        id: options.id ?? newTaskId(),
        task,
        args,
        attempt: 0,
        createdAt: now,
        ...(options.retries !== undefined && { retries: options.retries }),
        ...(options.backoff !== undefined && { backoff: options.backoff }),
        ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
        ...(options.env !== undefined && { env: options.env }),
      };
      const body = codec.encode(message);
      const bytes = Buffer.byteLength(body);
      if (bytes > this.options.maxMessageBytes) {
        throw new ErrandConfigError(
          `send("${task}").args`,
          `the message is ${bytes} bytes, over maxMessageBytes (${this.options.maxMessageBytes})`,
        );
      }
      return {
        message,
        entry: {
          body,
          ...(dueAt !== undefined && { dueAt }),
          ...(options.id !== undefined && { dedupeKey: options.id }),
        },
      };
    });
    const { broker } = await this.stores();
    const outcomes = await broker.enqueue(
      queue,
      entries.map((e) => e.entry),
      this.options.resultTtlMs,
    );
    return entries.map(({ message }, i) =>
      this.sentTask<R>(message.id, task, queue, outcomes[i] === 'duplicate'),
    );
  }

  private sentTask<R>(id: string, task: string, queue: string, duplicate: boolean): SentTask<R> {
    return {
      id,
      task,
      queue,
      duplicate,
      result: (options) => this.result<R>(id, options),
      status: async () => (await this.status(id)) ?? pendingRecord(id, task, queue),
    };
  }

  /** Wait for the result of any task id (from any process sharing the result backend). */
  async result<R = unknown>(id: string, options: ResultOptions = {}): Promise<R> {
    return outcomeOf<R>(await this.waiter.waitFinal(id, options));
  }

  /** The stored record of a task id, or undefined if none is stored (not started yet, or expired). */
  async status(id: string): Promise<TaskRecord | undefined> {
    return (await this.stores()).backend.read(id);
  }

  /** A worker running this Errand's tasks. */
  worker(options: WorkerOptions = {}): Worker {
    const worker = new Worker(this.runtime, options, () => this.close());
    this.workers.add(worker);
    return worker;
  }

  deadLetters(queue: string = DEFAULT_QUEUE): DeadLetters {
    return new DeadLetters(this.runtime, queue);
  }

  /** What the broker can do beyond the required operations (see BrokerCapabilities). */
  async brokerCapabilities(): Promise<BrokerCapabilities> {
    return (await this.stores()).broker.capabilities;
  }

  async stats(queue: string = DEFAULT_QUEUE): Promise<QueueStats> {
    return (await this.stores()).broker.stats(queue);
  }

  private closing: Promise<void> | undefined;

  /** Stop running workers (with their drain deadline) and close connections. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.stop()));
    this.closed = true;
    await this.waiter.close();
    const stores = await this.storesPromise?.catch(() => undefined);
    if (stores) await Promise.all([stores.broker.close(), stores.backend.close()]);
  }
}

function pendingRecord(id: string, task: string, queue: string): TaskRecord {
  const now = Date.now();
  return { id, task, queue, state: 'PENDING', attempt: 0, createdAt: now, updatedAt: now };
}
