/** Worker events, typed. A worker never throws from an event: infrastructure errors go to 'error' (or the logger). */
import type { TaskMessage } from '../message.ts';
import type { TaskErrorInfo } from '../port.ts';

export interface TaskEventBase {
  readonly id: string;
  readonly task: string;
  readonly queue: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly message: TaskMessage;
  /** When this attempt started (epoch ms); absent on 'released'. */
  readonly startedAt?: number;
  /** Delivery number of this attempt's lease (1 = first); absent on 'released'. */
  readonly delivery?: number;
}

export interface WorkerEvents {
  completed: TaskEventBase & { readonly result: unknown; readonly durationMs: number };
  retrying: TaskEventBase & { readonly error: TaskErrorInfo; readonly delayMs: number };
  /** Failed for good (no retries left, or DoNotRetry); the message is in the dead letters. */
  failed: TaskEventBase & { readonly error: TaskErrorInfo; readonly body: string };
  /** Cancelled by errand.cancel while it ran: its signal aborted; the message is gone, the record says CANCELLED. */
  cancelled: TaskEventBase;
  /**
   * Shutdown aborted this task past its deadline. `handedBack`: the broker took the lease back and
   * the task is waiting again; false: the broker did not answer in time, the lease expires and
   * the task runs again then. Its record reads PENDING again either way.
   */
  released: TaskEventBase & { readonly handedBack: boolean };
  /** A message that cannot run (malformed, unknown task, too large) went to the dead letters. */
  dead: { readonly queue: string; readonly body: string; readonly reason: string; readonly id?: string };
  /** The broker or backend failed; the worker retries with backoff and carries on. */
  error: Error;
}

export type WorkerEventName = keyof WorkerEvents;
export type Listener<E extends WorkerEventName> = (event: WorkerEvents[E]) => void;

export class WorkerEmitter {
  private readonly listeners = new Map<WorkerEventName, Set<(payload: never) => void>>();

  on<E extends WorkerEventName>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  listenerCount(event: WorkerEventName): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  emit<E extends WorkerEventName>(
    event: E,
    payload: WorkerEvents[E],
    onListenerError: (err: unknown) => void,
  ): void {
    for (const listener of (this.listeners.get(event) ?? []) as Set<Listener<E>>) {
      try {
        listener(payload);
      } catch (err) {
        onListenerError(err);
      }
    }
  }
}
