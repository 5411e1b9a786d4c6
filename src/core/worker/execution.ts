/**
 * One run of a leased message: what the worker tracks while it holds the lease (Execution),
 * the handler's `this` and `taskContext()` (ExecutionContext), and running the handler itself
 * (perform), with its timeout and its cancellation.
 */
import { runInContext, type TaskContext } from '../context.ts';
import { TaskTimeoutError } from '../errors.ts';
import type { TaskMessage } from '../message.ts';
import type { LeasedMessage } from '../port.ts';
import type { TaskDefinition } from '../task.ts';
import type { Cancellation } from './cancellation.ts';
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

export type Attempt =
  | { readonly ok: true; readonly value: unknown; readonly durationMs: number }
  | { readonly ok: false; readonly error: unknown };

/** Called once when a run is over (its outcome written, or never to be); `failure` if it threw. */
export type RunEnded = (failure?: { readonly error: unknown }) => void;

/**
 * Runs the handler and calls `then` once with how it went: when its promise settles, or as
 * soon as the run is cancelled (a handler that ignores its signal must not hold the slot, or
 * the lease, past its timeout). Always after the current call stack, even for a synchronous
 * handler, so a chain of prefetched tasks never recurses.
 */
export function perform(
  definition: TaskDefinition<unknown[], unknown>,
  message: TaskMessage,
  execution: Execution,
  retries: number,
  then: (attempt: Attempt) => void,
): void {
  const timeoutMs = message.timeoutMs ?? definition.options.timeoutMs;
  const { cancellation } = execution;
  const context = new ExecutionContext(message, execution, retries);
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => cancellation.abort(new TaskTimeoutError(timeoutMs)), timeoutMs);
  const started = performance.now();
  let over = false;
  const end = (attempt: Attempt): void => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    then(attempt);
  };
  let value: unknown;
  try {
    value = runInContext(context, () => definition.handler.apply(context, message.args as unknown[]));
  } catch (error) {
    queueMicrotask(() => end({ ok: false, error }));
    return;
  }
  if (!isThenable(value)) {
    const attempt: Attempt = { ok: true, value: value ?? null, durationMs: performance.now() - started };
    queueMicrotask(() => end(attempt));
    return;
  }
  // Promise.resolve: a native promise as it is; a foreign thenable that calls back at once is
  // made to call back later, like every other handler.
  Promise.resolve(value).then(
    (result) => end({ ok: true, value: result ?? null, durationMs: performance.now() - started }),
    (error: unknown) => end({ ok: false, error }),
  );
  cancellation.onAbort((reason) => end({ ok: false, error: reason }));
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

/** Calls `ended` when `outcome` settles (the outcomes written by async steps). */
export function after(outcome: Promise<void>, ended: RunEnded): void {
  outcome.then(
    () => ended(),
    (error: unknown) => ended({ error }),
  );
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | null)?.then === 'function';
