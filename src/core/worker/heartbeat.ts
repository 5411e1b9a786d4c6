/**
 * Renews the leases of running tasks: every third of the lease length, one extend call per
 * queue for all its tokens. A token the broker no longer holds aborts its task (another worker
 * has it now), so a stale run stops instead of finishing twice.
 */
import { sleep } from '../clock.ts';
import { LeaseLostError } from '../errors.ts';
import type { Broker } from '../port.ts';
import type { Execution } from './execution.ts';

export async function runHeartbeat(
  broker: Broker,
  running: ReadonlySet<Execution>,
  leaseMs: number,
  onError: (err: Error) => void,
  signal: AbortSignal,
): Promise<void> {
  const every = Math.max(50, Math.floor(leaseMs / 3));
  while (!signal.aborted) {
    await sleep(every, signal);
    if (signal.aborted || running.size === 0) continue;
    const byQueue = new Map<string, Execution[]>();
    for (const execution of running) {
      if (execution.released) continue;
      const list = byQueue.get(execution.queue);
      if (list) list.push(execution);
      else byQueue.set(execution.queue, [execution]);
    }
    await Promise.all(
      [...byQueue].map(async ([queue, executions]) => {
        try {
          const lost = new Set(
            await broker.extend(
              queue,
              executions.map((e) => e.leased.token),
              leaseMs,
              Date.now(),
            ),
          );
          for (const e of executions)
            if (lost.has(e.leased.token)) e.cancellation.abort(new LeaseLostError());
        } catch (err) {
          onError(err instanceof Error ? err : new Error(String(err)));
        }
      }),
    );
  }
}
