/**
 * The daemon: one Errand hosting command task types (from the config) and JS/TS handlers
 * (from `modules`), one worker per queue so each type keeps its own concurrency, Gordon's
 * failed lists and error script on final failures and malformed entries, the stats server,
 * and presence keys for `errand status`.
 */
import { dirname } from 'node:path';
import { reconnectDelay, sleep } from '../core/clock.ts';
import { Errand } from '../core/errand.ts';
import { schemeOf } from '../core/registry.ts';
import type { TaskEventBase, WorkerEvents } from '../core/worker/events.ts';
import type { Worker } from '../core/worker/worker.ts';
import type { Listening } from '../ops/http.ts';
import { killGroup } from './command-runner.ts';
import { type CommandHooks, commandHandler } from './command-task.ts';
import type { CommandTaskConfig, DaemonConfig } from './config-types.ts';
import { runDeadLetterSweeper } from './dead-letter-sweeper.ts';
import { ErrorNotifier } from './error-script.ts';
import { FifoPool } from './fifo-pool.ts';
import { failedEntry, gordonCodec } from './gordon-codec.ts';
import type { Logger } from './logger.ts';
import { loadModules } from './modules.ts';
import { goJson, internalErrorText, malformedText, taskFailedText } from './notifications.ts';
import { startOpsServers } from './ops-servers.ts';
import { runPresence } from './presence.ts';
import { planReload } from './reload.ts';
import { ResqueSection, registerResqueJobs } from './resque-section.ts';
import { SideRedis } from './side-redis.ts';
import { type StatsServer, startStatsServer, TaskCounter } from './stats-server.ts';
import { type TaskLog, taskLog } from './task-log.ts';
import { deadline, within } from './timers.ts';
import { ERRAND_VERSION } from './version.ts';

/** Infrastructure errors reach the error script at most this often (an outage repeats them). */
const INTERNAL_NOTIFY_EVERY_MS = 60_000;
const CONNECTION_WARN_EVERY_MS = 30_000;
/** How long past shutdown_timeout a stop may take (handing back, closing connections). */
const STOP_GRACE_MS = 5000;
/** One attempt to reach the broker at start is abandoned after this long. */
const REACH_TIMEOUT_MS = 5000;

/** Whether the broker is Redis, which the daemon's side channel (stats, presence) also uses. */
export const isRedisUrl = (url: string): boolean => {
  const scheme = schemeOf(url);
  return scheme === 'redis' || scheme === 'rediss';
};

/** Errand options for a config: Gordon/Goophry types read and write `<queue_key>:<type>` lists. */
export function errandFor(config: DaemonConfig, log?: Logger): Errand {
  const queues: Record<string, { listKey: string; codec: ReturnType<typeof gordonCodec> }> = {};
  if (config.flavour !== 'errand') {
    for (const t of config.tasks) {
      queues[t.queue] = {
        listKey: `${config.queueKey ?? ''}:${t.name}`,
        codec: gordonCodec(t.name, config.flavour),
      };
    }
  }
  const logger = log
    ? {
        debug: (m: string, f?: Record<string, unknown>) => log.debug(m, plain(f)),
        info: (m: string, f?: Record<string, unknown>) => log.info(m, plain(f)),
        warn: (m: string, f?: Record<string, unknown>) => log.warn(m, plain(f)),
        error: (m: string, f?: Record<string, unknown>) => log.error(m, plain(f)),
      }
    : undefined;
  return new Errand({
    ...(config.broker ? { broker: config.broker } : {}),
    ...(config.backend ? { backend: config.backend } : {}),
    prefix: config.prefix,
    queues,
    ...(logger ? { logger } : {}),
  });
}

const plain = (fields: Record<string, unknown> | undefined) =>
  Object.fromEntries(
    Object.entries(fields ?? {}).map(([k, v]) => [
      k,
      typeof v === 'number' || typeof v === 'boolean' ? v : String(v),
    ]),
  );

/** Registers every command task type on `errand` (also used by `errand send` so routing matches). */
export function registerCommandTasks(errand: Errand, config: DaemonConfig, hooks: CommandHooks): void {
  for (const t of config.tasks) {
    errand.task(t.name, commandHandler(t, hooks), {
      queue: t.queue,
      retries: t.retries,
      ...(t.backoff ? { backoff: t.backoff } : {}),
      ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}),
    });
  }
}

export class Daemon {
  readonly errand: Errand;
  private readonly pipes = new FifoPool((err) =>
    this.log.warn('Cannot make pipes for the commands; they get sockets (/dev/stdout will not open)', {
      error: err.message,
    }),
  );
  private readonly tasks: TaskLog;
  /** Aborted when the daemon stops: ends the start-up wait for the broker and background loops. */
  private readonly lifetime = new AbortController();
  private sweeper: Promise<void> = Promise.resolve();
  private readonly workers: Worker[] = [];
  private readonly children = new Map<string, number>();
  private readonly counter: TaskCounter;
  private readonly notifier: ErrorNotifier;
  private readonly side: SideRedis | undefined;
  private readonly byQueue = new Map<string, CommandTaskConfig>();
  private readonly presenceAbort = new AbortController();
  private presence: Promise<void> | undefined;
  private stats: StatsServer | undefined;
  private lastInternalNotice = 0;
  private lastConnectionWarning = 0;
  /** Aborted a few seconds after a second signal: shutdown stops waiting for the broker. */
  private readonly giveUp = new AbortController();
  private stopping: Promise<void> | undefined;

  /** Workers retired by a reload: they finish their running tasks, then stop. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly retired = new Set<Worker>();
  private readonly opsServers: Listening[] = [];
  /** `[resque]`: the Resque worker, once started. */
  private resqueSection: ResqueSection | undefined;
  /** Its start, which a stop waits for (a worker stopped mid-start would register after its stop). */
  private resqueStarting: Promise<void> | undefined;

  constructor(
    /** Replaced by a successful reload(). */
    public config: DaemonConfig,
    private readonly log: Logger,
  ) {
    this.errand = errandFor(config, log);
    this.counter = new TaskCounter([...config.tasks, ...(config.resque?.jobs ?? [])].map((t) => t.name));
    this.notifier = new ErrorNotifier(config.errorScript, config.tempDir, log, this.pipes);
    this.tasks = taskLog(log);
    for (const t of config.tasks) this.byQueue.set(t.queue, t);
    this.side = isRedisUrl(config.broker)
      ? new SideRedis(config.broker, (err) => this.connectionError(err))
      : undefined;
  }

  /** Queues and the concurrency of the worker consuming each. */
  private plan(): Map<string, number> {
    const plan = new Map<string, number>();
    for (const t of this.config.tasks) plan.set(t.queue, (plan.get(t.queue) ?? 0) + t.concurrency);
    if (this.config.modules.length > 0) {
      const commandNames = this.commandNames();
      const queues = new Set(this.config.moduleQueues);
      for (const name of this.errand.runtime.taskNames()) {
        const def = this.errand.runtime.definition(name);
        if (def && !commandNames.has(name)) queues.add(this.errand.runtime.queueOf(def));
      }
      for (const q of queues) plan.set(q, (plan.get(q) ?? 0) + this.config.moduleConcurrency);
    }
    return plan;
  }

  async start(): Promise<void> {
    const { config, log } = this;
    for (const w of config.warnings) log.info(`config: ${w}`);
    registerCommandTasks(this.errand, config, this.hooks);
    if (config.resque) registerResqueJobs(this.errand, config.resque, this.hooks);
    await loadModules(this.errand, config.modules, dirname(config.file));
    for (const name of this.moduleTaskNames()) this.counter.add(name);
    if (config.stats) {
      try {
        this.stats = await startStatsServer(config.stats, config.flavour, this.counter, ERRAND_VERSION);
        log.info('Serving stats', { url: this.stats.url });
      } catch (err) {
        // Gordon keeps running when the stats server cannot listen.
        this.internalError(`stats.serve(): ${(err as Error).message}`);
      }
    }
    await this.startOpsServers();
    for (const [queue, concurrency] of this.plan()) {
      if (this.lifetime.signal.aborted) return;
      await this.startWorker(queue, concurrency);
    }
    if (this.side) {
      this.presence = runPresence(
        this.side,
        config.prefix,
        () => ({
          startedAt: this.counter.startedAt,
          version: ERRAND_VERSION,
          queues: [...this.plan().keys()],
          running: this.workers.reduce((n, w) => n + w.active, 0),
        }),
        (err) => log.debug('presence update failed', { error: err.message }),
        this.presenceAbort.signal,
      );
    }
    this.startSweeper();
    // Only once the broker has answered: a daemon that cannot reach it is not up.
    if (!(await this.reachBroker())) return;
    if (config.resque) await this.startResque(config.resque);
    log.info('Up and waiting for tasks', {
      config: config.file,
      flavour: config.flavour,
      types: this.errand.runtime.taskNames().join(','),
    });
  }

  /** `[resque]`: started once Redis answers (its registration needs Redis). */
  private async startResque(section: NonNullable<DaemonConfig['resque']>): Promise<void> {
    if (this.lifetime.signal.aborted) return;
    const s = await ResqueSection.create(this.errand, section, this.config.shutdownMs);
    if (this.lifetime.signal.aborted) return;
    this.listen(s.worker);
    this.resqueStarting = s.start();
    await this.resqueStarting;
    // Set before a waiting shutdown resumes (it awaits a promise derived from resqueStarting).
    this.resqueSection = s;
    this.log.info('Serving Resque jobs', {
      namespace: section.namespace,
      queues: section.queues,
      concurrency: section.concurrency,
    });
  }

  /** `[metrics]` and `[dashboard]`: a server that cannot listen is logged, and the daemon runs on (as for stats). */
  private async startOpsServers(): Promise<void> {
    const servers = await startOpsServers(this.errand, this.config, () => [...this.plan().keys()], {
      info: (msg, url) => this.log.info(msg, { url }),
      error: (text) => this.internalError(text),
    });
    this.opsServers.push(...servers);
  }

  private async startWorker(queue: string, concurrency: number): Promise<void> {
    const { config } = this;
    const worker = this.errand.worker({
      queues: [queue],
      concurrency,
      // As Gordon and Goophry: an entry leaves its list only for a free slot (commands are not
      // short enough for leasing ahead to pay, and a list's length keeps meaning "not started").
      prefetch: 0,
      leaseMs: config.leaseMs,
      shutdownMs: config.shutdownMs,
      handleSignals: false,
      results: config.storeResults,
    });
    this.listen(worker);
    await worker.start();
    this.workers.push(worker);
    this.log.debug('Created queue worker', { queue, concurrency });
  }

  /**
   * Apply a new config without a restart (SIGHUP): task types added or removed, concurrency
   * changed. A queue whose worker changes gets a new worker at once; the old one takes nothing
   * more and finishes its running tasks (no deadline: a reload drops nothing). Returns the
   * reasons when the config cannot be applied live; the running config then stays.
   */
  async reload(next: DaemonConfig): Promise<string[]> {
    if (this.stopping !== undefined) return ['the daemon is stopping'];
    const planned = planReload(this.config, next);
    if (!planned.ok) return planned.problems;
    const { added, removed, resized } = planned.plan;
    const oldPlan = this.plan();
    this.config = next;
    registerCommandTasks(this.errand, { ...next, tasks: added }, this.hooks);
    for (const t of added) {
      this.counter.add(t.name);
      this.byQueue.set(t.queue, t);
    }
    for (const t of removed) this.byQueue.delete(t.queue);
    const newPlan = this.plan();
    for (const [queue, concurrency] of oldPlan) {
      if (newPlan.get(queue) === concurrency) continue;
      for (const worker of this.workers.filter((w) => w.queues.includes(queue))) this.retire(worker);
    }
    for (const [queue, concurrency] of newPlan) {
      if (oldPlan.get(queue) !== concurrency) await this.startWorker(queue, concurrency);
    }
    this.log.info('Reloaded config', {
      file: next.file,
      added: added.map((t) => t.name).join(','),
      removed: removed.map((t) => t.name).join(','),
      concurrency: resized.map(([name, from, to]) => `${name}:${from}->${to}`).join(','),
    });
    return [];
  }

  private retire(worker: Worker): void {
    this.workers.splice(this.workers.indexOf(worker), 1);
    const running = worker.active;
    // Stopped by the daemon's shutdown too (with its deadline), which shortens this wait.
    const stopping = worker
      .stop({ timeoutMs: 2 ** 31 - 1 })
      .then(() => this.log.debug('Retired queue worker', { queue: worker.queues.join(','), running }))
      .catch((err: unknown) => this.internalError(`retiring a worker: ${String(err)}`))
      .finally(() => this.retiring.delete(stopping));
    this.retiring.add(stopping);
    this.retired.add(worker);
  }

  /** Task types defined by modules (not command types). */
  private moduleTaskNames(): string[] {
    const commandNames = this.commandNames();
    return this.errand.runtime.taskNames().filter((n) => !commandNames.has(n));
  }

  /** Task names served by commands: `[[tasks]]` types and `[[resque.jobs]]` classes. */
  private commandNames(): Set<string> {
    return new Set([...this.config.tasks, ...(this.config.resque?.jobs ?? [])].map((t) => t.name));
  }

  /** Waits until the broker answers (retrying with backoff); false when the daemon stopped first. */
  private async reachBroker(): Promise<boolean> {
    const queue = [...this.plan().keys()][0] ?? 'default';
    const signal = this.lifetime.signal;
    for (let failures = 0; !signal.aborted; failures++) {
      try {
        const stats = async () => (await this.errand.runtime.stores()).broker.stats(queue);
        await within(stats(), REACH_TIMEOUT_MS, 'broker', signal);
        return true;
      } catch (err) {
        if (signal.aborted) break;
        if (failures === 0) {
          this.log.warn('Cannot reach the broker yet, retrying', { error: (err as Error).message });
        } else this.log.debug('Cannot reach the broker yet', { error: (err as Error).message });
        await sleep(reconnectDelay(failures), signal);
      }
    }
    return false;
  }

  /** Gordon/Goophry types: dead letters older than the type's failed-list TTL are deleted. */
  private startSweeper(): void {
    const ttl = new Map<string, number>();
    for (const t of this.config.tasks)
      if (t.deadLetterTtlMs !== undefined) ttl.set(t.queue, t.deadLetterTtlMs);
    if (ttl.size === 0) return;
    this.sweeper = runDeadLetterSweeper(
      this.errand,
      ttl,
      (queue, n) => this.log.debug('Deleted expired dead letters', { queue, count: n }),
      (err) => this.log.debug('dead-letter sweep failed', { error: err.message }),
      this.lifetime.signal,
    );
  }

  private readonly hooks: CommandHooks = {
    started: (task, id, args, env) => {
      this.counter.started(task.name);
      this.tasks.started(task.name, id, args, env);
    },
    pipes: this.pipes,
    child: (id, pid) => {
      if (pid === undefined) this.children.delete(id);
      else this.children.set(id, pid);
    },
  };

  private listen(worker: Pick<Worker, 'on'>): void {
    // Module tasks have no start hook: each attempt is counted for the stats when it ends.
    const countModuleTask = (e: TaskEventBase): void => {
      if (!this.commandNames().has(e.task)) this.counter.started(e.task);
    };
    worker.on('completed', (e) => {
      countModuleTask(e);
      this.tasks.completed(e);
    });
    worker.on('retrying', (e) => {
      countModuleTask(e);
      this.tasks.retrying(e);
    });
    worker.on('failed', (e) => {
      countModuleTask(e);
      this.onFailed(e);
    });
    worker.on('dead', (e) => this.onDead(e));
    worker.on('error', (err) => this.internalError(`broker error: ${err.message}`));
  }

  private onFailed(e: TaskEventBase & WorkerEvents['failed']): void {
    const { config } = this;
    const error = e.error.message;
    const task = this.byQueue.get(e.queue);
    const args = e.message.args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a)));
    const env = e.message.env ?? {};
    if (task && config.flavour !== 'errand')
      this.pushFailed(task, failedEntry(config.flavour, args, env, error));
    const payload = goJson({ args, env });
    const text = taskFailedText(config.flavour, e.task, task?.program ?? e.task, payload, args, error);
    this.tasks.failed(e, text);
    this.notifier.notify(text);
  }

  private onDead(e: WorkerEvents['dead']): void {
    const { config } = this;
    this.tasks.dead(e);
    const task = this.byQueue.get(e.queue);
    if (task && config.flavour !== 'errand') {
      this.pushFailed(task, failedEntry(config.flavour, [], {}, e.reason, e.body));
    }
    this.notifier.notify(malformedText(config.flavour, e.queue, e.body, e.reason));
  }

  /** RPUSH `<queue_key>:<type>:failed` + EXPIRE, when the type has a failed-list TTL. */
  private pushFailed(task: CommandTaskConfig, entry: string): void {
    const side = this.side;
    if (!side || task.failedTtlSec <= 0) return;
    const key = `${this.config.queueKey ?? ''}:${task.name}:failed`;
    side
      .run('failed list', (c) => c.multi().rPush(key, entry).expire(key, task.failedTtlSec).exec())
      .catch((err: unknown) =>
        this.internalError(`failedTaskWorker(), RPUSH: ${(err as Error).message}\nPayload:\n${entry}`),
      );
  }

  /** Connection errors repeat while Redis is down: one warning per interval, the rest at debug level. */
  private connectionError(err: Error): void {
    const now = Date.now();
    if (now - this.lastConnectionWarning < CONNECTION_WARN_EVERY_MS) {
      this.log.debug('Redis connection error', { error: err.message });
      return;
    }
    this.lastConnectionWarning = now;
    this.log.warn('Redis connection error, reconnecting', { error: err.message });
  }

  private internalError(text: string): void {
    this.log.error(text);
    const now = Date.now();
    if (now - this.lastInternalNotice < INTERNAL_NOTIFY_EVERY_MS) return;
    this.lastInternalNotice = now;
    this.notifier.notify(internalErrorText(text));
  }

  /** Tasks running now, across workers. */
  get running(): number {
    const queued = [...this.workers, ...this.retired].reduce((n, w) => n + w.active, 0);
    return queued + (this.resqueSection?.worker.active ?? 0);
  }

  /**
   * Graceful stop: no new tasks; running ones get `shutdownMs` to finish, then are aborted
   * (their process groups signalled) and handed back to the queue.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.log.info('Stopping', { running: this.running, deadline_ms: this.config.shutdownMs });
    this.presenceAbort.abort();
    this.lifetime.abort();
    const closing = (async () => {
      await this.resqueStarting?.catch(() => undefined);
      const all = [...this.workers, ...this.retired];
      await Promise.all([
        ...all.map((w) => w.stop({ timeoutMs: this.config.shutdownMs })),
        this.resqueSection?.stop(this.config.shutdownMs),
      ]);
      this.log.debug('Finished task workers');
      await Promise.all(this.opsServers.map((s) => s.close().catch(() => undefined)));
      await this.errand.close();
    })();
    // Bounded: with the broker unreachable the workers cannot hand tasks back; their leases expire instead.
    // A timer of our own: a timeout signal inside AbortSignal.any never fires after a GC on Node 20.
    const limit = deadline(this.config.shutdownMs + STOP_GRACE_MS, this.giveUp.signal);
    const done = await Promise.race([closing.then(() => true), limit.done.then(() => false)]);
    limit.cancel();
    if (!done) {
      this.log.error(
        'shutdown did not finish (is the broker unreachable?); exiting, unfinished tasks run again when their leases expire',
      );
      closing.catch(() => undefined);
    }
    const scripts = new AbortController();
    const scriptLimit = deadline(done ? 10_000 : 1000);
    void scriptLimit.done.then(() => scripts.abort());
    await this.notifier.idle(scripts.signal);
    scriptLimit.cancel();
    await this.presence;
    // The sweeper ends with the lifetime signal, unless a broker call hangs: then it is left behind.
    const sweepLimit = deadline(1000);
    await Promise.race([this.sweeper, sweepLimit.done]);
    sweepLimit.cancel();
    this.pipes.close();
    await this.stats?.close();
    await this.side?.close();
    this.log.info('Stopped');
  }

  /**
   * Second signal: stop at once. Running tasks are handed back to the queue, and their
   * process groups are killed.
   */
  hurry(): void {
    this.log.warn('Stopping now', { running: this.running });
    // Skip the drain wait: abort running tasks and hand their leases back.
    for (const w of [...this.workers, ...this.retired]) void w.stop({ timeoutMs: 0 });
    this.resqueSection
      ?.stop(0)
      .catch((err: unknown) => this.log.error('stopping resque', { error: String(err) }));
    // Let the workers mark the tasks released before their children die.
    setImmediate(() => {
      for (const pid of this.children.values()) killGroup(pid, 'SIGKILL');
    });
    setTimeout(() => this.giveUp.abort(), 2000).unref();
    this.stop().catch((err: unknown) => this.log.error('stop failed', { error: String(err) }));
  }
}
