/** Errors a handler throws to steer retries, and errors Errand raises. */
import type { TaskErrorInfo } from './port.ts';

/** Thrown by a handler: retry this task in `delayMs` (counted against its retries), like Machinery's ErrRetryTaskLater. */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
  constructor(
    readonly delayMs: number,
    message = `retry requested in ${delayMs} ms`,
  ) {
    super(message);
  }
}

/** Thrown by a handler: fail now, do not retry. `cause` is reported as the task's error. */
export class DoNotRetry extends Error {
  override readonly name = 'DoNotRetry';
}

/** The attempt ran longer than its `timeoutMs`. */
export class TaskTimeoutError extends Error {
  override readonly name = 'TaskTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`task timed out after ${timeoutMs} ms`);
  }
}

/** `result()` gave up waiting. */
export class ResultTimeoutError extends Error {
  override readonly name = 'ResultTimeoutError';
  constructor(
    readonly taskId: string,
    readonly timeoutMs: number,
    cause?: unknown,
  ) {
    super(
      `no result for task ${taskId} within ${timeoutMs} ms` +
        (cause instanceof Error ? ` (the result backend failed: ${cause.message || cause.name})` : ''),
      cause === undefined ? undefined : { cause },
    );
  }
}

/** The rejection of `result()` when the task failed: carries the task's own error name and message. */
export class TaskFailedError extends Error {
  override readonly name = 'TaskFailedError';
  constructor(
    readonly taskId: string,
    readonly error: TaskErrorInfo,
  ) {
    super(error.message);
    if (error.stack) this.stack = `${error.name}: ${error.message}\n    (remote) ${error.stack}`;
  }
  /** The name of the error the handler threw (e.g. "TypeError"). */
  get remoteName(): string {
    return this.error.name;
  }
}

/** The task was cancelled (errand.cancel): `result()` rejects with it, and a running handler's signal aborts with it. */
export class TaskCancelledError extends Error {
  override readonly name = 'TaskCancelledError';
  constructor(readonly taskId: string) {
    super(`task ${taskId} was cancelled`);
  }
}

/** The broker lacks an optional operation (see QueueControlOperations in port.ts). */
export class UnsupportedOperationError extends Error {
  override readonly name = 'UnsupportedOperationError';
  constructor(
    readonly broker: string,
    readonly operation: string,
    what: string,
  ) {
    super(`the ${broker} broker cannot ${what} (it has no ${operation} operation)`);
  }
}

/** A running task's lease was lost (it expired and the message went to another worker): its run is aborted. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor() {
    super('the lease of this task expired and it was delivered again');
  }
}

/** The worker shut down past its deadline while this task ran: aborted, and its lease handed back. */
export class ShutdownError extends Error {
  override readonly name = 'ShutdownError';
  constructor() {
    super('the worker shut down before this task finished; it was handed back to the queue');
  }
}

/** The broker (or result backend) could not be reached or did not answer in time. */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
  constructor(
    /** Which broker, e.g. "Redis at 127.0.0.1:6379". */
    readonly broker: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${broker}: ${problem}`, options);
  }
}

/** Bad options or bad use of the API; `key` names the option at fault. */
export class ErrandConfigError extends Error {
  override readonly name = 'ErrandConfigError';
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

/** A pipeline step failed (after its in-place retries): names the step, so a retry resumes there. */
export class PipelineStepError extends Error {
  override readonly name = 'PipelineStepError';
  constructor(
    readonly pipeline: string,
    readonly index: number,
    readonly step: string,
    cause: unknown,
  ) {
    super(
      `pipeline "${pipeline}" failed at step ${index} (${step}): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** Groups and chords need a result backend with the GroupCounter capability. */
export class GroupsUnsupportedError extends Error {
  override readonly name = 'GroupsUnsupportedError';
  constructor(readonly backend: string) {
    super(`the result backend "${backend}" has no group counter (groups and chords need one)`);
  }
}

/** A broker was asked for an optional capability it declares absent (see BrokerCapabilities). */
export class CapabilityUnsupportedError extends Error {
  override readonly name = 'CapabilityUnsupportedError';
  constructor(
    readonly broker: string,
    readonly capability: string,
    readonly reason: string,
  ) {
    super(`the ${broker} broker has no ${capability}: ${reason}`);
  }
}

export function toErrorInfo(err: unknown): TaskErrorInfo {
  if (err instanceof DoNotRetry && err.cause !== undefined) return toErrorInfo(err.cause);
  if (err instanceof Error) {
    return err.stack
      ? { name: err.name, message: err.message, stack: err.stack }
      : { name: err.name, message: err.message };
  }
  return { name: 'Error', message: typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err)) };
}
