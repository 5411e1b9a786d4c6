/**
 * A worker: fetch loops (one per queue) feed an executor through shared concurrency slots;
 * a heartbeat renews leases; a settler batches outcomes; shutdown drains with a deadline.
 *
 * States: created → running → draining → stopped.
 */
import { Deadline } from '../clock.ts';
import { ErrandConfigError, LeaseLostError } from '../errors.ts';
import { DEFAULT_QUEUE } from '../options.ts';
import type { DeadLetter, LeasedMessage } from '../port.ts';
import type { Runtime } from '../runtime.ts';
import { watchCancels } from './cancel-watch.ts';
import { Dispatcher } from './dispatcher.ts';
import { type Listener, WorkerEmitter, type WorkerEventName } from './events.ts';
import type { Execution } from './execution.ts';
import { Executor } from './executor.ts';
import { runFetchLoop } from './fetcher.ts';
import { HandlerQueue, PREFETCH_MAX } from './handlers.ts';
import { runHeartbeat } from './heartbeat.ts';
import { runPauseWatch } from './pause-watch.ts';
import { Settler } from './settler.ts';
import { drain, HAND_BACK_MS, handBack, nameTasks, onSignals, type Released, reraise } from './shutdown.ts';
import { Slots } from './slots.ts';

export interface WorkerOptions {
  /** Tasks run at once (default 10). */
  readonly concurrency?: number;
  /** Lease length; renewed every third of it while a task runs (default 30 s). */
  readonly leaseMs?: number;
  /** Queues to consume (default: the queues of the defined tasks, and "default"). */
  readonly queues?: readonly string[];
  /** How long stop() waits for running tasks before aborting them (default 10 s). */
  readonly shutdownMs?: number;
  /** Stop gracefully on SIGTERM/SIGINT, then close the Errand (default true). */
  readonly handleSignals?: boolean;
  /** Record states and results in the result backend (default true). */
  readonly results?: boolean;
  /** Most messages leased in one broker call (default: concurrency, at most 100). */
  readonly batchSize?: number;
  /**
   * Messages leased ahead of free slots at most, so a finished task's slot takes the next one at
   * once instead of after a broker round trip (default 200; 0 turns it off). Only while tasks are
   * short (under PREFETCH_TASK_MS on average), and only as many as the handlers run in about
   * PREFETCH_WAIT_MS (handlers.ts): a prefetched message never waits long behind slow tasks that
   * another worker could have taken it from.
   */
  readonly prefetch?: number;
}

export type WorkerState = 'created' | 'running' | 'draining' | 'stopped';

export class Worker {
  state: WorkerState = 'created';
  private readonly events = new WorkerEmitter();
  /** Every leased message the worker holds: running, concluding, or waiting for a slot. */
  private readonly running = new Set<Execution>();
  /** Handlers running, and the messages leased ahead waiting for one (also in `running`). */
  private handlers: HandlerQueue | undefined;
  private readonly fetchAbort = new AbortController();
  /** Ends lease renewal: after the drain, not before (running tasks keep their leases while they drain). */
  private readonly heartbeatAbort = new AbortController();
  private heartbeat: Promise<void> = Promise.resolve();
  private pauseWatch: Promise<void> = Promise.resolve();
  /** Resolves to the function that stops listening for cancels, once listening has started. */
  private cancelWatch: Promise<(() => Promise<void>) | undefined> = Promise.resolve(undefined);
  private readonly hurry = new AbortController();
  private loops: Promise<void>[] = [];
  private settler: Settler | undefined;
  private stopping: Promise<void> | undefined;
  private removeSignals: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Set when the hand-back starts: a message leased after that is released, not run. */
  private handingBack = false;
  private hurryTimer: NodeJS.Timeout | undefined;
  /** Takes the prefetched messages that have not started out of the worker (set by start()). */
  private releaseWaiting: () => Execution[] = () => [];
  readonly concurrency: number;
  readonly prefetch: number;
  readonly leaseMs: number;
  readonly shutdownMs: number;

  constructor(
    private readonly runtime: Runtime,
    private readonly options: WorkerOptions,
    private readonly closeErrand: () => Promise<void>,
  ) {
    this.concurrency = positive('worker.concurrency', options.concurrency, 10);
    this.prefetch = options.prefetch ?? PREFETCH_MAX;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0)
      throw new ErrandConfigError('worker.prefetch', `must be an integer >= 0 (got ${options.prefetch})`);
    this.leaseMs = positive('worker.leaseMs', options.leaseMs, 30_000);
    this.shutdownMs = options.shutdownMs ?? 10_000;
    if (!(this.shutdownMs >= 0)) throw new ErrandConfigError('worker.shutdownMs', 'must be a number >= 0');
    if (this.leaseMs < 100) throw new ErrandConfigError('worker.leaseMs', 'must be at least 100 ms');
  }

  on<E extends WorkerEventName>(event: E, listener: Listener<E>): () => void {
    return this.events.on(event, listener);
  }

  /** Tasks running now (prefetched messages waiting for a slot are not counted). */
  get active(): number {
    return this.running.size - (this.handlers?.waitingCount ?? 0);
  }

  get queues(): string[] {
    if (this.options.queues) return [...this.options.queues];
    const queues = new Set([DEFAULT_QUEUE]);
    for (const name of this.runtime.taskNames())
      queues.add(this.runtime.queueOf(this.runtime.definition(name)!));
    return [...queues];
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new Error(`worker cannot start: it is ${this.state}`);
    const { broker, backend } = await this.runtime.stores();
    // stop() while the broker was opening: stay stopped.
    if (this.state !== 'created') return;
    const { options: errandOptions } = this.runtime;
    this.state = 'running';
    // Lease expiry dead-letters inside the broker: tell listeners as for any other dead letter.
    const reportDead = (queue: string, entries: readonly DeadLetter[]): void => {
      for (const { body, reason } of entries) {
        this.events.emit('dead', { queue, body, reason }, (err) =>
          this.runtime.options.logger.error(`a listener of "dead" threw: ${String(err)}`),
        );
      }
    };
    // Queues whose last reserve came back short: a settle does not try to refill them.
    const empty = new Set<string>();
    // Queues paused by an operator (errand.pause): nothing is taken from them, refills included.
    const paused = new Set<string>();
    const refilling = (queue: string): boolean =>
      this.state === 'running' && !empty.has(queue) && !paused.has(queue);
    const settler = new Settler(
      broker,
      backend,
      errandOptions.resultTtlMs,
      errandOptions.logger,
      this.options.results ?? true,
      {
        // The slots the settling executions hand over, fewer if prefetch has stopped since.
        wanted: (queue, freed) => (refilling(queue) ? Math.max(0, Math.min(freed, slots.free + freed)) : 0),
        takeAhead: (queue) => (refilling(queue) ? slots.takeAhead(this.prefetch) : 0),
        dispatch: (queue, leased) => dispatcher.dispatch(queue, leased),
        giveBack: (n) => slots.give(n),
        reportDead,
        sent: () => dispatcher.sent(),
        leaseMs: this.leaseMs,
        maxDeliveries: errandOptions.maxDeliveries,
      },
    );
    this.settler = settler;
    const slots = new Slots(this.concurrency);
    const handlers = new HandlerQueue(this.concurrency);
    this.handlers = handlers;
    const dispatcher = new Dispatcher({
      running: this.running,
      slots,
      handlers,
      paused,
      prefetch: this.prefetch,
      prepare: (execution) => executor.prepare(execution),
      run: (execution, ended) => executor.run(execution, ended),
      refusing: () => this.handingBack || (this.state !== 'running' && handlers.full),
      handBack: (queue, leased) => void this.releaseUnstarted(settler, queue, leased),
      requestSend: () => settler.schedule(),
      reportError: (err) => this.reportError(err),
      onEnded: () => this.wakeIdle(),
    });
    const executor = new Executor(this.runtime, settler, this.events, (execution) =>
      dispatcher.handlerDone(execution),
    );
    const signal = this.fetchAbort.signal;
    const onError = (err: Error): void => this.reportError(err);
    this.releaseWaiting = () => dispatcher.releaseWaiting();
    this.loops = this.queues.map((queue) =>
      runFetchLoop(
        {
          queue,
          broker,
          slots,
          leaseMs: this.leaseMs,
          maxDeliveries: errandOptions.maxDeliveries,
          batchSize: this.options.batchSize ?? Math.min(this.concurrency, 100),
          idleMs: Math.min(1000, this.leaseMs / 2),
          dispatch: (q, leased) => dispatcher.dispatch(q, leased),
          handBack: (q, leased) => void this.releaseUnstarted(settler, q, leased),
          leaseLost: (q, token) => {
            for (const e of this.running)
              if (e.queue === q && e.leased.token === token) e.cancellation.abort(new LeaseLostError());
          },
          reportDead,
          onEmpty: (q, isEmpty) => (isEmpty ? empty.add(q) : empty.delete(q)),
          isPaused: (q) => paused.has(q),
          onError,
        },
        signal,
      ),
    );
    // Not awaited: with the backend out of reach the subscription waits, and the worker must run anyway.
    this.cancelWatch = watchCancels(backend, this.running, onError).catch((err: unknown) => {
      onError(
        new Error(
          `worker: cannot listen for cancels (a cancelled running task runs to its end): ${String(err)}`,
        ),
      );
      return undefined;
    });
    this.pauseWatch = runPauseWatch(broker, this.queues, paused, onError, signal);
    this.heartbeat = runHeartbeat(broker, this.running, this.leaseMs, onError, this.heartbeatAbort.signal);
    if (this.options.handleSignals ?? true) {
      this.removeSignals = onSignals(
        (signal) => void this.stopAndClose(signal),
        () => void this.stop({ timeoutMs: 0 }),
      );
    }
  }

  private async stopAndClose(signal: NodeJS.Signals): Promise<void> {
    try {
      await this.stop();
      await this.closeErrand();
    } catch (err) {
      this.reportError(err instanceof Error ? err : new Error(String(err)));
    }
    reraise(signal);
  }

  /**
   * Stop fetching, wait for running tasks up to `timeoutMs` (default `shutdownMs`), then abort
   * the rest and hand their leases back. Safe to call more than once.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (options.timeoutMs !== undefined && !(options.timeoutMs >= 0)) {
      return Promise.reject(
        new ErrandConfigError('stop().timeoutMs', `must be a number >= 0 (got ${options.timeoutMs})`),
      );
    }
    if (this.stopping !== undefined) {
      // Already stopping: a new deadline can only shorten the wait (stop({ timeoutMs: 0 }) = now).
      if (options.timeoutMs !== undefined && options.timeoutMs <= 0) {
        // At once, not on a timer: callers (the daemon) rely on the hand-back starting now.
        this.hurry.abort();
      } else if (options.timeoutMs !== undefined && !this.handingBack && this.state !== 'stopped') {
        // Cleared when the drain ends; unref'd so it never holds the process by itself.
        clearTimeout(this.hurryTimer);
        this.hurryTimer = setTimeout(() => this.hurry.abort(), Math.min(options.timeoutMs, 2 ** 31 - 1));
        this.hurryTimer.unref();
      }
      return this.stopping;
    }
    this.stopping = this.shutdown(options.timeoutMs ?? this.shutdownMs);
    return this.stopping;
  }

  /**
   * Bounded whatever the broker does: the drain ends by `timeoutMs`, and the hand-back gets
   * HAND_BACK_MS more. Past that the worker stops trying (the broker did not answer): the
   * leases it still holds expire and those tasks run again elsewhere, as the log says.
   */
  private async shutdown(timeoutMs: number): Promise<void> {
    if (this.state === 'created') {
      this.state = 'stopped';
      return;
    }
    this.state = 'draining';
    this.fetchAbort.abort();
    // Prefetched messages that have not started go back to the queue now, not after the drain.
    const settler = this.settler;
    const unstarted = settler
      ? this.releaseWaiting().map((e) => this.releaseUnstarted(settler, e.queue, e.leased))
      : [];
    const loops = Promise.all([...this.loops, this.pauseWatch]);
    const deadline = new Deadline(timeoutMs, this.hurry.signal);
    let left: Execution[];
    try {
      // A reserve in flight may still start tasks: they run and drain like the others.
      await Promise.race([loops, deadline.expired]);
      left = await drain(this.running, () => this.whenIdleChanges(), deadline);
    } finally {
      deadline.dispose();
      clearTimeout(this.hurryTimer);
    }
    this.heartbeatAbort.abort();
    this.handingBack = true;
    if (settler) {
      const grace = new Deadline(HAND_BACK_MS);
      try {
        // Tasks whose handler has returned are only writing their outcome: nothing to abort.
        const handingBack = handBack(
          left.filter((execution) => !execution.concluding),
          settler,
        );
        await Promise.race([Promise.all([loops, this.heartbeat, ...unstarted]), grace.expired]);
        await settler.drain(grace.signal);
        if (grace.passed) {
          const dropped = settler.abandon();
          if (dropped > 0) {
            this.runtime.options.logger.warn(
              `worker: the broker did not answer within ${HAND_BACK_MS} ms of the shutdown deadline; gave up on ${dropped} outcome(s) and lease hand-back(s): those leases expire within ${this.leaseMs} ms and the tasks run again`,
            );
          }
        }
        this.reportReleased(await handingBack);
      } finally {
        grace.dispose();
      }
    }
    this.removeSignals?.();
    // Stops when (if ever) listening has started; never holds the stop itself.
    void this.cancelWatch.then((stopWatching) =>
      stopWatching?.().catch((err: unknown) =>
        this.reportError(err instanceof Error ? err : new Error(String(err))),
      ),
    );
    this.state = 'stopped';
  }

  /** Names the tasks shutdown aborted (log line) and emits one 'released' event for each. */
  private reportReleased(released: readonly Released[]): void {
    if (released.length === 0) return;
    const back = released.filter((r) => r.handedBack).map((r) => r.execution);
    const stuck = released.filter((r) => !r.handedBack).map((r) => r.execution);
    const { logger } = this.runtime.options;
    if (back.length > 0)
      logger.warn(
        `worker: shutdown deadline passed; aborted ${back.length} task(s) and handed them back to the queue: ${nameTasks(back)}`,
      );
    if (stuck.length > 0)
      logger.warn(
        `worker: shutdown deadline passed; aborted ${stuck.length} task(s) but could not hand them back (the broker did not answer): they run again when their leases expire (within ${this.leaseMs} ms): ${nameTasks(stuck)}`,
      );
    for (const { execution, handedBack } of released) {
      const { message, queue } = execution;
      if (!message) continue;
      const event = { id: message.id, task: message.task, queue, attempt: message.attempt + 1, message };
      this.events.emit('released', { ...event, handedBack }, (err) =>
        logger.error(`a listener of "released" threw: ${String(err)}`),
      );
    }
  }

  /** Hands back a message leased but never started (after the drain began, or prefetched). */
  private releaseUnstarted(settler: Settler, queue: string, leased: LeasedMessage): Promise<void> {
    return settler.settle(queue, { kind: 'release', token: leased.token }).then((handedBack) => {
      if (!handedBack)
        this.runtime.options.logger.warn(
          `worker: a message of ${queue} leased but not started could not be handed back; it runs when its lease expires (within ${this.leaseMs} ms)`,
        );
    });
  }

  private whenIdleChanges(): Promise<void> {
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private reportError(cause: Error): void {
    // A broker error should name itself (the Redis connection wraps node-redis's empty ones); in case one does not:
    const err = cause.message
      ? cause
      : new Error('a Redis command timed out (is Redis reachable?)', { cause });
    if (this.events.listenerCount('error') > 0) {
      this.events.emit('error', err, () => {});
    } else {
      this.runtime.options.logger.warn(`worker: ${err.message}`);
    }
  }
}

function positive(key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new ErrandConfigError(key, `must be a positive integer (got ${value})`);
  return value;
}
