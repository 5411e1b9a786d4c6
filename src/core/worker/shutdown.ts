/**
 * Graceful shutdown: stop fetching, let running tasks finish until a deadline, then abort them
 * and hand their leases back at once so another worker takes them without waiting for expiry.
 * SIGTERM/SIGINT start it; a second signal skips the wait.
 */
import type { Deadline } from '../clock.ts';
import { ShutdownError } from '../errors.ts';
import type { TaskRecord } from '../port.ts';
import type { Execution } from './execution.ts';
import type { Settler } from './settler.ts';

/** How long the hand-back (and the last settles) may take once the drain deadline passed. */
export const HAND_BACK_MS = 2000;

/**
 * Waits for `running` to empty, until `deadline` passes. Returns the ones left. Every turn
 * waits on a timer or an event: a deadline already passed returns at once.
 */
export async function drain(
  running: ReadonlySet<Execution>,
  changed: () => Promise<void>,
  deadline: Deadline,
): Promise<Execution[]> {
  while (running.size > 0 && !deadline.passed) {
    await Promise.race([changed(), deadline.expired]);
  }
  return [...running];
}

/** A task shutdown aborted, and whether the broker took its lease back. */
export interface Released {
  readonly execution: Execution;
  readonly handedBack: boolean;
}

/**
 * Aborts what is still running and releases its leases (one settle call per queue). The task's
 * record goes back to PENDING: it did not finish, and it will run again.
 */
export function handBack(left: readonly Execution[], settler: Settler): Promise<Released[]> {
  const now = Date.now();
  return Promise.all(
    left.map(async (execution) => {
      execution.released = true;
      execution.cancellation.abort(new ShutdownError());
      const { message } = execution;
      if (message) settler.record(pendingAgain(message, execution.queue, now));
      const handedBack = await settler.settle(execution.queue, {
        kind: 'release',
        token: execution.leased.token,
      });
      return { execution, handedBack };
    }),
  );
}

function pendingAgain(message: NonNullable<Execution['message']>, queue: string, now: number): TaskRecord {
  return {
    id: message.id,
    task: message.task,
    queue,
    state: 'PENDING',
    attempt: message.attempt,
    createdAt: message.createdAt ?? now,
    updatedAt: now,
  };
}

/** "add#a1b2 (attempt 2), …", at most 20 named. */
export function nameTasks(executions: readonly Execution[]): string {
  const names = executions
    .slice(0, 20)
    .map(({ message, leased }) =>
      message ? `${message.task}#${message.id} (attempt ${message.attempt + 1})` : `lease ${leased.token}`,
    );
  if (executions.length > 20) names.push(`and ${executions.length - 20} more`);
  return names.join(', ');
}

/** Installs SIGTERM/SIGINT handlers; returns the function that removes them. */
export function onSignals(first: (signal: NodeJS.Signals) => void, second: () => void): () => void {
  let count = 0;
  const handler = (signal: NodeJS.Signals): void => {
    count++;
    if (count === 1) first(signal);
    else second();
  };
  // A listener replaces Node's default action (exit): see reraise() for how it is given back.
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

/**
 * After a signal-initiated drain: if nothing else in the process listens for the signal, raise it
 * again so the process ends the way it would have without Errand (an HTTP server in the same
 * process would otherwise keep it alive). Call after removing Errand's own listeners.
 */
export function reraise(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
