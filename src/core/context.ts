/** What a running handler knows about its task: `this` in a `function` handler, or `taskContext()`. */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { TaskMessage } from './message.ts';

export interface TaskContext {
  readonly id: string;
  readonly task: string;
  readonly queue: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Retries allowed after the first attempt. */
  readonly retries: number;
  /** 1 for the first delivery of this attempt; more after a worker died holding it. */
  readonly delivery: number;
  /** Fires on timeout, on shutdown past its deadline, or when the lease was lost. */
  readonly signal: AbortSignal;
  readonly message: TaskMessage;
}

const storage = new AsyncLocalStorage<TaskContext>();

export function runInContext<T>(context: TaskContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the task running in this async call chain. Throws outside a handler. */
export function taskContext(): TaskContext {
  const context = storage.getStore();
  if (!context) throw new Error('taskContext() was called outside a running task handler');
  return context;
}
