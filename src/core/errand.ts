/** The Errand facade: define tasks, send them, wait for results, run workers, manage dead letters. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CancelOutcome, QueueControl, type TaskListOptions, type TaskView } from '../ops/control.ts';
import { Metrics } from '../ops/metrics.ts';
import { traceEnqueue } from '../ops/tracing.ts';
import type { FlowNode, WorkflowHandle } from '../workflow/flow.ts';
import { checkSteps, Pipeline, type PipelineStep, pipelineHandler } from '../workflow/pipeline.ts';
import { type WorkflowState, Workflows } from '../workflow/workflows.ts';
import { DeadLetters } from './dead-letters.ts';
import { ErrandConfigError } from './errors.ts';
import { newTaskId } from './ids.ts';
import type { JsonChecked } from './json.ts';
import { jsonCodec, LINKS_WIRE_VERSION, type TaskMessage, WIRE_VERSION } from './message.ts';
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
import { SendBatcher } from './send-batcher.ts';
import { type Handler, type ResultOptions, type SentTask, Task, type TaskDefinition } from './task.ts';
import { Worker, type WorkerOptions } from './worker/worker.ts';

export class Errand {
  readonly options: ResolvedOptions;
  private readonly brokerSource: ErrandOptions['broker'];
  private readonly backendOverride: ErrandOptions['backend'];
  private readonly definitions = new Map<string, TaskDefinition<unknown[], unknown>>();
  private storesPromise: Promise<Stores> | undefined;
  /** The stores once open (sends then go to the broker without an await). */
  private opened: Stores | undefined;
  private readonly waiter: ResultWaiter;
  private readonly workers = new Set<Worker>();
  private closed = false;
  private readonly control: QueueControl;
  private metricsCache: Metrics | undefined;
  /** The view of this Errand that workers use. */
  readonly runtime: Runtime;
  private readonly workflows: Workflows;
  /** Chain flows: each link gets the previous result appended (docs/workflows.md). */
  readonly chain: Workflows['chain'];
  /** Run flows in parallel; the result is their results in order. */
  readonly group: Workflows['group'];
  /** A group, then a callback with all the results, exactly once. */
  readonly chord: Workflows['chord'];

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
    this.control = new QueueControl(this.runtime);
    this.workflows = new Workflows({
      runtime: this.runtime,
      result: (id, options) => this.result(id, options),
      status: (id) => this.status(id),
    });
    this.chain = this.workflows.chain.bind(this.workflows) as Workflows['chain'];
    this.group = this.workflows.group.bind(this.workflows);
    this.chord = this.workflows.chord.bind(this.workflows);
  }

  /** Every node of the workflow whose handle id is `id`, with its state (undefined when unknown or expired). */
  workflow(id: string): Promise<WorkflowState | undefined> {
    return this.workflows.workflow(id);
  }

  /** A handle on a workflow node by id (from any process sharing the result backend). */
  workflowHandle<R = unknown>(id: string): WorkflowHandle<R> {
    return this.workflows.handle<R>(id);
  }

  /**
   * A task named `name` running `steps` in order, each one's output map the next one's input.
   * A failed run retried (by its retries, the API or `errand failed retry`) resumes at the failed step.
   */
  pipeline(name: string, steps: readonly PipelineStep[], options: TaskOptions = {}): Pipeline {
    checkSteps(name, steps);
    return new Pipeline(this.runtime, this.task(name, pipelineHandler(this.runtime, name, steps), options));
  }

  /** The broker URL this Errand was made with; undefined when it was given a Broker instance. */
  get brokerUrl(): string | undefined {
    return typeof this.brokerSource === 'string' ? this.brokerSource : undefined;
  }

  private stores(): Promise<Stores> {
    if (this.closed) return Promise.reject(new Error('this Errand is closed'));
    this.storesPromise ??= this.openStores().then((stores) => (this.opened = stores));
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

  private readonly sends = new SendBatcher((queue, entries) => {
    // Once open, straight to the broker: a lone send's command is queued without an await.
    if (this.opened && !this.closed)
      return this.opened.broker.enqueue(queue, entries, this.options.resultTtlMs);
    return this.stores().then(({ broker }) => broker.enqueue(queue, entries, this.options.resultTtlMs));
  });

  private readonly sender = {
    sendMany: <R>(task: string, argsList: readonly (readonly unknown[])[], options: SendOptions) =>
      this.sendMany<R>(task, argsList, options),
    flows: { sendFlow: <R>(node: FlowNode) => this.workflows.sendFlow<R>(node) },
  };

  private async sendMany<R>(
    task: string,
    argsList: readonly (readonly unknown[])[],
    options: SendOptions,
  ): Promise<SentTask<R>[]> {
    // Most sends carry no options: nothing to check then.
    if (!isEmptyObject(options)) validateSendOptions(`send("${task}")`, options);
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
      const id = options.id ?? newTaskId();
      const trace = traceEnqueue(id, task, queue);
      const message: TaskMessage = {
        v: WIRE_VERSION,
        id,
        task,
        args,
        attempt: 0,
        createdAt: now,
        ...(options.retries !== undefined && { retries: options.retries }),
        ...(options.backoff !== undefined && { backoff: options.backoff }),
        ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
        ...(options.env !== undefined && { env: options.env }),
        ...(options.links !== undefined && { v: LINKS_WIRE_VERSION, links: options.links }),
        ...(trace !== undefined && { trace }),
      };
      const body = codec.encode(message);
      // A UTF-16 code unit is at most 3 UTF-8 bytes: only a long body needs counting.
      const bytes = body.length * 3 <= this.options.maxMessageBytes ? 0 : Buffer.byteLength(body);
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
    // Sends made in the same moment share one broker call (see send-batcher.ts).
    const outcomes = await this.sends.add(
      queue,
      entries.map((e) => e.entry),
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
    this.metricsRegistry.observe(worker);
    return worker;
  }

  deadLetters(queue: string = DEFAULT_QUEUE): DeadLetters {
    return new DeadLetters(this.runtime, queue);
  }

  /** A queue's tasks in one state (waiting, delayed, running, dead), paged. See docs/operations.md. */
  tasks(queue?: string, options?: TaskListOptions): Promise<TaskView[]> {
    return this.control.tasks(queue, options);
  }

  /** Cancel a task by id from any process: removed if waiting or delayed, its signal aborted if running. */
  cancel(id: string, options?: { queue?: string }): Promise<CancelOutcome> {
    return this.control.cancel(id, options);
  }

  /** Workers (of every process) stop taking from the queue within a second; running tasks finish. */
  pause(queue?: string): Promise<void> {
    return this.control.pause(queue);
  }

  resume(queue?: string): Promise<void> {
    return this.control.resume(queue);
  }

  isPaused(queue?: string): Promise<boolean> {
    return this.control.isPaused(queue);
  }

  /** Prometheus text exposition: queue gauges from the broker, counters and histograms of this process's workers. */
  metrics(options?: { queues?: readonly string[] }): Promise<string> {
    return this.metricsRegistry.exposition(options?.queues ?? this.knownQueues());
  }

  /** A node:http request listener serving metrics() (mount it at /metrics in your own server). */
  metricsHandler(options?: {
    queues?: readonly string[];
  }): (req: IncomingMessage, res: ServerResponse) => void {
    return this.metricsRegistry.handler(() => options?.queues ?? this.knownQueues());
  }

  /** The collector behind metrics(), for the request handler and the daemon's /metrics. */
  get metricsRegistry(): Metrics {
    this.metricsCache ??= new Metrics(async () => (await this.stores()).broker);
    return this.metricsCache;
  }

  private knownQueues(): string[] {
    const queues = new Set([DEFAULT_QUEUE, ...Object.keys(this.options.queues)]);
    for (const definition of this.definitions.values()) queues.add(this.runtime.queueOf(definition));
    for (const worker of this.workers) for (const queue of worker.queues) queues.add(queue);
    return [...queues];
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

function isEmptyObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return false;
  for (const _ in value) return false;
  return true;
}
