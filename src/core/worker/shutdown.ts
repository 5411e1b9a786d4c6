/**
 * Graceful shutdown: stop fetching, let running tasks finish until a deadline, then abort them
 * and hand their leases back at once so another worker takes them without waiting for expiry.
 * SIGTERM/SIGINT start it; a second signal skips the wait.
 */
import { sleep } from '../clock.ts';
import { ShutdownError } from '../errors.ts';
import type { Execution } from './executor.ts';
import type { Settler } from './settler.ts';

/** Waits for `running` to empty, up to `deadlineMs` (or until `hurry` aborts). Returns the ones left. */
export async function drain(
  running: ReadonlySet<Execution>,
  finished: () => Promise<void>,
  deadlineMs: number,
  hurry: AbortSignal,
): Promise<Execution[]> {
  const deadline = AbortSignal.any([AbortSignal.timeout(Math.max(0, deadlineMs)), hurry]);
  while (running.size > 0 && !deadline.aborted) {
    await Promise.race([finished(), sleep(deadlineMs, deadline)]);
  }
  return [...running];
}

/** Aborts what is still running and releases its leases (one settle call per queue). */
export async function handBack(left: readonly Execution[], settler: Settler): Promise<void> {
  await Promise.all(
    left.map((execution) => {
      execution.released = true;
      execution.cancellation.abort(new ShutdownError());
      return settler.settle(execution.queue, { kind: 'release', token: execution.leased.token });
    }),
  );
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
