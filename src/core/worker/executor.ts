/**
 * Runs one leased message, top to bottom:
 *   decode → resolveTask → recordStarted → perform (with timeout) → decide → recordOutcome → settle → emit
 */
import { traceOutcome, traceStart } from '../../ops/tracing.ts';
import { runFollowUps } from '../../workflow/follow-ups.ts';
import { DEFAULT_BACKOFF, retryDelay } from '../backoff.ts';
import { runInContext, type TaskContext } from '../context.ts';
import {
  DoNotRetry,
  GroupsUnsupportedError,
  LeaseLostError,
  RetryLater,
  TaskCancelledError,
  TaskTimeoutError,
  toErrorInfo,
} from '../errors.ts';
import { newTaskId } from '../ids.ts';
import type { TaskMessage } from '../message.ts';
import type { LeasedMessage, TaskErrorInfo, TaskRecord, TaskState } from '../port.ts';
import type { Runtime } from '../runtime.ts';
import type { TaskDefinition } from '../task.ts';
import type { Cancellation } from './cancellation.ts';
import type { WorkerEmitter, WorkerEventName, WorkerEvents } from './events.ts';
import type { Settler } from './settler.ts';
import type { SlotHolder } from './slots.ts';

/** One running delivery, as the worker tracks it. It holds a concurrency slot until it ends. */
export interface Execution extends SlotHolder {
  readonly queue: string;
  readonly leased: LeasedMessage;
  readonly cancellation: Cancellation;
  /** Set by shutdown: the lease was handed back, so the outcome must not be recorded. */
  released: boolean;
  /** The decoded message (undefined for a body that cannot run). */
  message?: TaskMessage;
  /** Why the body cannot run (set by `prepare` instead of `message`). */
  invalid?: string;
  /** The handler is done: only its outcome is being written (nothing left to abort). */
  concluding: boolean;
  /** When its handler started; undefined before and after (a prefetched message waits unstarted). */
  handlerStartedAt: number | undefined;
}

type Attempt =
  | { readonly ok: true; readonly value: unknown; readonly durationMs: number }
  | { readonly ok: false; readonly error: unknown };

type Decision =
  | { readonly kind: 'success'; readonly value: unknown; readonly durationMs: number }
  | { readonly kind: 'retry'; readonly error: TaskErrorInfo; readonly delayMs: number }
  | { readonly kind: 'fail'; readonly error: TaskErrorInfo };

export class Executor {
  constructor(
    private readonly runtime: Runtime,
    private readonly settler: Settler,
    private readonly events: WorkerEmitter,
    /** Called once per run when its handler is done (or will not run): another may start. */
    private readonly handlerDone: (execution: Execution) => void,
  ) {}

  /** Decodes the body when the message is leased, so a cancel reaches a prefetched task too. */
  prepare(execution: Execution): void {
    const decoded = this.decode(execution.queue, execution.leased);
    if (decoded.ok) execution.message = decoded.message;
    else execution.invalid = decoded.reason;
  }

  async run(execution: Execution): Promise<void> {
    const { queue, message } = execution;
    if (!message) {
      this.handlerDone(execution);
      return this.deadLetter(execution, execution.invalid ?? 'message was not decoded');
    }
    const definition = this.runtime.definition(message.task);
    if (!definition) {
      this.handlerDone(execution);
      return this.unknownTask(execution, message);
    }
    // Cancelled, or its lease lost, while it waited for a free slot: the handler does not run.
    if (execution.cancellation.aborted) {
      this.handlerDone(execution);
      if (execution.cancellation.reason instanceof TaskCancelledError) {
        execution.concluding = true;
        return this.cancelled(execution, message, Date.now());
      }
      return;
    }

    const startedAt = Date.now();
    this.record(message, queue, 'STARTED', startedAt);
    traceStart(message, queue);
    const attempt = await this.perform(definition, message, execution);
    this.handlerDone(execution);
    // Handed back at shutdown, or another worker has it now: this run's outcome is not the task's.
    if (execution.released || execution.cancellation.reason instanceof LeaseLostError) return;
    execution.concluding = true;
    if (execution.cancellation.reason instanceof TaskCancelledError)
      return this.cancelled(execution, message, startedAt);
    const decision = this.decide(definition, message, attempt);
    await this.conclude(execution, message, decision, startedAt);
  }

  private decode(queue: string, leased: LeasedMessage) {
    const limit = this.runtime.options.maxMessageBytes;
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only a long body needs counting.
    const bytes = leased.body.length * 3 <= limit ? 0 : Buffer.byteLength(leased.body);
    if (bytes > limit) {
      return {
        ok: false as const,
        reason: `message is ${bytes} bytes, over the limit of ${limit} (maxMessageBytes)`,
      };
    }
    return this.runtime.codec(queue).decode(leased.body, newTaskId);
  }

  private async perform(
    definition: TaskDefinition<unknown[], unknown>,
    message: TaskMessage,
    execution: Execution,
  ): Promise<Attempt> {
    const timeoutMs = message.timeoutMs ?? definition.options.timeoutMs;
    const { cancellation } = execution;
    const context = new ExecutionContext(message, execution, retriesOf(definition, message));
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => cancellation.abort(new TaskTimeoutError(timeoutMs)), timeoutMs);
    const started = performance.now();
    try {
      let value = runInContext(context, () => definition.handler.apply(context, message.args as unknown[]));
      // A handler that ignores its signal must not hold the slot (or the lease) past its timeout.
      if (isThenable(value)) value = await cancellation.race(value);
      return { ok: true, value: value === undefined ? null : value, durationMs: performance.now() - started };
    } catch (error) {
      return { ok: false, error };
    } finally {
      clearTimeout(timer);
    }
  }

  private decide(
    definition: TaskDefinition<unknown[], unknown>,
    message: TaskMessage,
    attempt: Attempt,
  ): Decision {
    if (attempt.ok) {
      try {
        // Only an object (or a bigint) can fail to encode: skip the trial run for the rest.
        if (typeof attempt.value === 'object' || typeof attempt.value === 'bigint')
          JSON.stringify(attempt.value);
      } catch (err) {
        return {
          kind: 'fail',
          error: { name: 'TypeError', message: `result is not JSON: ${(err as Error).message}` },
        };
      }
      return { kind: 'success', value: attempt.value, durationMs: attempt.durationMs };
    }
    const error = toErrorInfo(attempt.error);
    const retriesLeft = retriesOf(definition, message) - message.attempt;
    if (attempt.error instanceof DoNotRetry || retriesLeft <= 0) return { kind: 'fail', error };
    const delayMs = retryDelay(
      attempt.error instanceof RetryLater ? attempt.error.delayMs : undefined,
      message.backoff ?? definition.options.backoff ?? DEFAULT_BACKOFF,
      message.attempt + 1,
    );
    return { kind: 'retry', error, delayMs };
  }

  private async conclude(execution: Execution, message: TaskMessage, decision: Decision, startedAt: number) {
    const { queue, leased } = execution;
    const redelivered = leased.delivery > 1 ? leased.body : undefined;
    // Workflow follow-ups are enqueued before the ack (deduplicated by id if this runs twice).
    if (message.links && decision.kind !== 'retry' && !(await this.followUps(execution, message, decision)))
      return;
    switch (decision.kind) {
      case 'success': {
        this.record(message, queue, 'SUCCESS', startedAt, decision.value, undefined);
        if (
          (await this.settler.settle(queue, { kind: 'ack', token: leased.token }, redelivered, execution)) &&
          this.events.listenerCount('completed') > 0
        ) {
          this.emit('completed', {
            ...eventBase(message, queue, startedAt, leased.delivery),
            result: decision.value,
            durationMs: decision.durationMs,
          });
        }
        return;
      }
      case 'retry': {
        this.record(message, queue, 'RETRY', startedAt, undefined, decision.error);
        const next = this.runtime.codec(queue).encode({ ...message, attempt: message.attempt + 1 });
        const dueAt = Date.now() + decision.delayMs;
        if (
          await this.settler.settle(
            queue,
            { kind: 'retry', token: leased.token, body: next, dueAt },
            redelivered,
            execution,
          )
        ) {
          this.emit('retrying', {
            ...eventBase(message, queue, startedAt, leased.delivery),
            error: decision.error,
            delayMs: decision.delayMs,
          });
        }
        return;
      }
      case 'fail': {
        this.record(message, queue, 'FAILURE', startedAt, undefined, decision.error);
        const attempts = message.attempt + 1;
        const reason = `failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${decision.error.name}: ${decision.error.message}`;
        const body = this.runtime.codec(queue).encode(message);
        if (
          await this.settler.settle(
            queue,
            { kind: 'dead', token: leased.token, reason, body },
            redelivered,
            execution,
          )
        ) {
          this.emit('failed', {
            ...eventBase(message, queue, startedAt, leased.delivery),
            error: decision.error,
            body,
          });
        }
        return;
      }
    }
  }

  /** False when the follow-ups could not be enqueued: the task is then run again in 1 s (same attempt). */
  private async followUps(execution: Execution, message: TaskMessage, decision: Decision): Promise<boolean> {
    const outcome =
      decision.kind === 'success'
        ? { ok: true as const, value: decision.value }
        : { ok: false as const, error: (decision as { error: TaskErrorInfo }).error };
    try {
      await runFollowUps(this.runtime, message, execution.queue, outcome);
      return true;
    } catch (err) {
      // A backend that cannot run groups never will: dead-letter with the reason instead of looping.
      const permanent = err instanceof GroupsUnsupportedError;
      const reason = `workflow follow-ups not enqueued: ${String(err)}`;
      this.runtime.options.logger.error(
        `task ${message.id}: ${reason}${permanent ? '' : ' (run again in 1 s)'}`,
      );
      const { leased } = execution;
      await this.settler.settle(
        execution.queue,
        permanent
          ? { kind: 'dead', token: leased.token, reason }
          : { kind: 'retry', token: leased.token, body: leased.body, dueAt: Date.now() + 1000 },
        leased.delivery > 1 ? leased.body : undefined,
        execution,
      );
      return false;
    }
  }

  /** Cancelled (errand.cancel) while it ran: done, not retried; the record says CANCELLED again in case STARTED overtook it. */
  private async cancelled(execution: Execution, message: TaskMessage, startedAt: number): Promise<void> {
    const { queue, leased } = execution;
    const error = toErrorInfo(execution.cancellation.reason);
    this.record(message, queue, 'CANCELLED', startedAt, undefined, error);
    const redelivered = leased.delivery > 1 ? leased.body : undefined;
    if (await this.settler.settle(queue, { kind: 'ack', token: leased.token }, redelivered, execution)) {
      this.emit('cancelled', eventBase(message, queue, startedAt, leased.delivery));
    }
  }

  private async unknownTask(execution: Execution, message: TaskMessage): Promise<void> {
    const known = this.runtime.taskNames();
    const reason = `unknown task "${message.task}" (this worker runs: ${known.length > 0 ? known.join(', ') : 'no tasks'})`;
    this.record(message, execution.queue, 'FAILURE', Date.now(), undefined, {
      name: 'UnknownTaskError',
      message: reason,
    });
    await this.deadLetter(execution, reason, message.id);
  }

  private async deadLetter(execution: Execution, reason: string, id?: string): Promise<void> {
    const { queue, leased } = execution;
    const redelivered = leased.delivery > 1 ? leased.body : undefined;
    execution.concluding = true;
    if (
      await this.settler.settle(queue, { kind: 'dead', token: leased.token, reason }, redelivered, execution)
    ) {
      this.emit('dead', { queue, body: leased.body, reason, ...(id !== undefined && { id }) });
    }
  }

  private record(
    message: TaskMessage,
    queue: string,
    state: TaskState,
    startedAt: number,
    result?: unknown,
    error?: TaskErrorInfo,
  ): void {
    if (!this.settler.recording) return;
    const record: { -readonly [K in keyof TaskRecord]: TaskRecord[K] } = {
      id: message.id,
      task: message.task,
      queue,
      state,
      attempt: message.attempt + 1,
      createdAt: message.createdAt ?? startedAt,
      updatedAt: Date.now(),
    };
    // Only the keys that apply (a record never carries `result: undefined`).
    if (state === 'SUCCESS') record.result = result;
    if (error !== undefined) record.error = error;
    this.settler.record(record);
  }

  private emit<E extends WorkerEventName>(event: E, payload: WorkerEvents[E]): void {
    traceOutcome(event, payload as object);
    if (this.events.listenerCount(event) === 0) return;
    this.events.emit(event, payload, (err) =>
      this.runtime.options.logger.error(`a listener of "${event}" threw: ${String(err)}`),
    );
  }
}

/** The handler's `this` and `taskContext()`; the signal is made on first use. */
class ExecutionContext implements TaskContext {
  readonly id: string;
  readonly task: string;
  readonly queue: string;
  readonly attempt: number;
  readonly delivery: number;
  constructor(
    readonly message: TaskMessage,
    private readonly execution: Execution,
    readonly retries: number,
  ) {
    this.id = message.id;
    this.task = message.task;
    this.queue = execution.leased.queue ?? execution.queue;
    this.attempt = message.attempt + 1;
    this.delivery = execution.leased.delivery;
  }
  get signal(): AbortSignal {
    return this.execution.cancellation.signal;
  }
}

function eventBase(message: TaskMessage, queue: string, startedAt: number, delivery: number) {
  return {
    id: message.id,
    task: message.task,
    queue,
    attempt: message.attempt + 1,
    message,
    startedAt,
    delivery,
  };
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | null)?.then === 'function';

function retriesOf(definition: TaskDefinition<unknown[], unknown>, message: TaskMessage): number {
  return message.retries ?? definition.options.retries ?? 0;
}
