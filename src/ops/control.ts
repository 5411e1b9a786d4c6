/**
 * Inspection and control of queues from any process: list tasks by state, cancel a task by id,
 * pause and resume a queue. Built on the brokers' optional operations (QueueControlOperations in
 * port.ts); a broker without one gets an UnsupportedOperationError naming it.
 */
import { TaskCancelledError, UnsupportedOperationError } from '../core/errors.ts';
import type { TaskMessage } from '../core/message.ts';
import { DEFAULT_QUEUE } from '../core/options.ts';
import { type Broker, FINAL_STATES, type TaskRecord, type TaskState } from '../core/port.ts';
import type { Runtime } from '../core/runtime.ts';

export const TASK_LIST_STATES = ['waiting', 'delayed', 'running', 'dead'] as const;
export type TaskListState = (typeof TASK_LIST_STATES)[number];

export interface TaskListOptions {
  /** Default 'waiting'. */
  readonly state?: TaskListState;
  readonly offset?: number;
  /** Default 100. */
  readonly limit?: number;
}

/** One task as listed: the stored body, decoded when it is a valid message. */
export interface TaskView {
  readonly state: TaskListState;
  readonly body: string;
  readonly message?: TaskMessage;
  /** delayed: due time; running: lease expiry; dead: when it failed. */
  readonly at?: Date;
  /** running: the worker holding the lease, `<host>:<pid>:<random>` (when the broker can tell). */
  readonly worker?: string;
  /** dead: why it is there, and its key for retry/purge. */
  readonly reason?: string;
  readonly key?: string;
}

/** What cancel() did: removed a waiting/delayed task, signalled running workers, or found it finished. */
export interface CancelOutcome {
  readonly id: string;
  readonly outcome: 'removed' | 'signalled' | 'finished';
  /** The final state when `outcome` is 'finished'. */
  readonly state?: TaskState;
}

/** Messages scanned per broker call while looking for a task id to cancel. */
const SCAN_PAGE = 500;

export class QueueControl {
  constructor(private readonly runtime: Runtime) {}

  async tasks(queue: string = DEFAULT_QUEUE, options: TaskListOptions = {}): Promise<TaskView[]> {
    const state = options.state ?? 'waiting';
    const offset = options.offset ?? 0;
    const limit = options.limit ?? 100;
    if (!TASK_LIST_STATES.includes(state))
      throw new RangeError(
        `tasks().state must be one of ${TASK_LIST_STATES.join(', ')} (got ${String(state)})`,
      );
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new RangeError(`tasks().offset must be an integer >= 0 (got ${offset})`);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`tasks().limit must be an integer >= 1 (got ${limit})`);
    const { broker } = await this.runtime.stores();
    if (state === 'dead') {
      const dead = await broker.listDead(queue, offset, limit);
      return dead.map((d) => ({
        ...this.view(queue, 'dead', d.body),
        at: new Date(d.failedAt),
        reason: d.reason,
        key: d.key,
      }));
    }
    const list = need(broker, 'listMessages', 'list the tasks of a queue');
    const listed = await list.call(broker, queue, state === 'running' ? 'leased' : state, offset, limit);
    return listed.map((m) => ({
      ...this.view(queue, state, m.body),
      ...(m.at !== undefined && { at: new Date(m.at) }),
      ...(m.worker !== undefined && { worker: m.worker }),
    }));
  }

  /**
   * Cancel a task by id. Waiting or delayed: removed from the queue. Otherwise (running, or not
   * found): a CANCELLED record is written, which every worker sharing the result backend hears;
   * the one running it aborts its signal. Either way `result()` rejects with TaskCancelledError.
   */
  async cancel(id: string, options: { queue?: string } = {}): Promise<CancelOutcome> {
    if (typeof id !== 'string' || id === '')
      throw new RangeError('cancel(id): id must be a non-empty string');
    const { broker, backend } = await this.runtime.stores();
    const record = await backend.read(id);
    if (record && FINAL_STATES.has(record.state)) return { id, outcome: 'finished', state: record.state };
    const queue = options.queue ?? record?.queue ?? DEFAULT_QUEUE;
    const found = await this.removeQueued(broker, queue, id);
    const now = Date.now();
    const cancelled: TaskRecord = {
      id,
      task: found?.task ?? record?.task ?? '',
      queue,
      state: 'CANCELLED',
      attempt: record?.attempt ?? found?.attempt ?? 0,
      error: { name: 'TaskCancelledError', message: new TaskCancelledError(id).message },
      createdAt: record?.createdAt ?? found?.createdAt ?? now,
      updatedAt: now,
    };
    await backend.write([cancelled], this.runtime.options.resultTtlMs);
    return { id, outcome: found ? 'removed' : 'signalled' };
  }

  /** Workers stop taking from the queue within a second; running tasks finish. */
  async pause(queue: string = DEFAULT_QUEUE): Promise<void> {
    const { broker } = await this.runtime.stores();
    await need(broker, 'setPaused', 'pause a queue').call(broker, queue, true);
  }

  async resume(queue: string = DEFAULT_QUEUE): Promise<void> {
    const { broker } = await this.runtime.stores();
    await need(broker, 'setPaused', 'resume a queue').call(broker, queue, false);
  }

  async isPaused(queue: string = DEFAULT_QUEUE): Promise<boolean> {
    const { broker } = await this.runtime.stores();
    return broker.isPaused ? broker.isPaused(queue) : false;
  }

  /** Finds the task among the waiting and delayed messages and removes it; its message if it did. */
  private async removeQueued(broker: Broker, queue: string, id: string): Promise<TaskMessage | undefined> {
    if (!broker.listMessages || !broker.removeWaiting) return undefined;
    for (const state of ['waiting', 'delayed'] as const) {
      for (let offset = 0; ; offset += SCAN_PAGE) {
        const page = await broker.listMessages(queue, state, offset, SCAN_PAGE);
        for (const { body } of page) {
          const message = this.decode(queue, body);
          if (message?.id !== id) continue;
          const removed = await broker.removeWaiting(queue, [body]);
          // Leased in the meantime: it is running now, so it is cancelled by signal instead.
          return removed.length > 0 ? message : undefined;
        }
        if (page.length < SCAN_PAGE) break;
      }
    }
    return undefined;
  }

  private decode(queue: string, body: string): TaskMessage | undefined {
    const decoded = this.runtime.codec(queue).decode(body, () => '');
    return decoded.ok ? decoded.message : undefined;
  }

  private view(queue: string, state: TaskListState, body: string): TaskView {
    const message = this.decode(queue, body);
    return { state, body, ...(message && { message }) };
  }
}

/** The broker's optional operation, or an error saying this broker lacks it. */
function need<K extends 'listMessages' | 'setPaused'>(
  broker: Broker,
  operation: K,
  what: string,
): NonNullable<Broker[K]> {
  const fn = broker[operation];
  if (!fn) throw new UnsupportedOperationError(broker.name, operation, what);
  return fn as NonNullable<Broker[K]>;
}
