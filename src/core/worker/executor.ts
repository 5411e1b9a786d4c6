/**
 * Runs one leased message, top to bottom:
 *   decode → resolveTask → recordStarted → perform (with timeout) → decide → recordOutcome → settle → emit
 *
 * The path every successful task takes (perform → succeed) is written with callbacks, not
 * async/await: with AsyncLocalStorage on (taskContext), each promise and each await costs an
 * async hook call and an allocation, and that path made 12-13 promises per task. It now makes
 * two (the handler's own and one `then` on it). The other outcomes stay async functions.
 */
import { traceOutcome, traceStart } from '../../ops/tracing.ts';
import { runFollowUps } from '../../workflow/follow-ups.ts';
import { DEFAULT_BACKOFF, retryDelay } from '../backoff.ts';
import {
  DoNotRetry,
  GroupsUnsupportedError,
  LeaseLostError,
  RetryLater,
  TaskCancelledError,
  toErrorInfo,
} from '../errors.ts';
import { newTaskId } from '../ids.ts';
import type { TaskMessage } from '../message.ts';
import type { LeasedMessage, TaskErrorInfo, TaskRecord, TaskState } from '../port.ts';
import type { Runtime } from '../runtime.ts';
import type { TaskDefinition } from '../task.ts';
import type { WorkerEmitter, WorkerEventName, WorkerEvents } from './events.ts';
import { type Attempt, after, type Execution, perform, type RunEnded } from './execution.ts';
import type { Settler } from './settler.ts';

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

  run(execution: Execution, ended: RunEnded): void {
    const { queue, message } = execution;
    if (!message) {
      this.handlerDone(execution);
      after(this.deadLetter(execution, execution.invalid ?? 'message was not decoded'), ended);
      return;
    }
    const definition = this.runtime.definition(message.task);
    if (!definition) {
      this.handlerDone(execution);
      after(this.unknownTask(execution, message), ended);
      return;
    }
    // Cancelled, or its lease lost, while it waited for a free slot: the handler does not run.
    if (execution.cancellation.aborted) {
      this.handlerDone(execution);
      if (execution.cancellation.reason instanceof TaskCancelledError) {
        execution.concluding = true;
        after(this.cancelled(execution, message, Date.now()), ended);
      } else ended();
      return;
    }

    const startedAt = Date.now();
    this.record(message, queue, 'STARTED', startedAt);
    traceStart(message, queue);
    perform(definition, message, execution, retriesOf(definition, message), (attempt) => {
      try {
        this.handlerEnded(execution, definition, message, attempt, startedAt, ended);
      } catch (error) {
        ended({ error });
      }
    });
  }

  private handlerEnded(
    execution: Execution,
    definition: TaskDefinition<unknown[], unknown>,
    message: TaskMessage,
    attempt: Attempt,
    startedAt: number,
    ended: RunEnded,
  ): void {
    this.handlerDone(execution);
    // Handed back at shutdown, or another worker has it now: this run's outcome is not the task's.
    if (execution.released || execution.cancellation.reason instanceof LeaseLostError) {
      ended();
      return;
    }
    execution.concluding = true;
    if (execution.cancellation.reason instanceof TaskCancelledError) {
      after(this.cancelled(execution, message, startedAt), ended);
      return;
    }
    const decision = this.decide(definition, message, attempt);
    if (decision.kind === 'success' && !message.links)
      this.succeed(execution, message, decision, startedAt, ended);
    else after(this.conclude(execution, message, decision, startedAt), ended);
  }

  /** The common outcome, without promises: record, ack, then 'completed'. */
  private succeed(
    execution: Execution,
    message: TaskMessage,
    decision: Extract<Decision, { kind: 'success' }>,
    startedAt: number,
    ended: RunEnded,
  ): void {
    const { queue, leased } = execution;
    this.record(message, queue, 'SUCCESS', startedAt, decision.value, undefined);
    const redelivered = leased.delivery > 1 ? leased.body : undefined;
    this.settler.settleThen(
      queue,
      { kind: 'ack', token: leased.token },
      redelivered,
      execution,
      (applied) => {
        try {
          if (applied && this.events.listenerCount('completed') > 0) {
            this.emit('completed', completedEvent(message, queue, startedAt, leased.delivery, decision));
          }
        } finally {
          ended();
        }
      },
    );
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
      case 'success':
        // After its follow-ups, a workflow task ends as any other success does.
        return new Promise<void>((resolve, reject) =>
          this.succeed(execution, message, decision, startedAt, (failure) =>
            failure ? reject(failure.error) : resolve(),
          ),
        );
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

/**
 * The payload of 'completed', as one literal: spreading `eventBase` into it cost about 2 µs per
 * task (12 % of the main thread in a drain at concurrency 100, CPU profile). Same fields.
 */
function completedEvent(
  message: TaskMessage,
  queue: string,
  startedAt: number,
  delivery: number,
  decision: { readonly value: unknown; readonly durationMs: number },
): WorkerEvents['completed'] {
  return {
    id: message.id,
    task: message.task,
    queue,
    attempt: message.attempt + 1,
    message,
    startedAt,
    delivery,
    result: decision.value,
    durationMs: decision.durationMs,
  };
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

function retriesOf(definition: TaskDefinition<unknown[], unknown>, message: TaskMessage): number {
  return message.retries ?? definition.options.retries ?? 0;
}
