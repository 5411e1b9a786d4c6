/**
 * Cancel of a running task from any process: `errand.cancel(id)` writes a CANCELLED record, the
 * result backend tells every listener the id reached a final state, and the worker running
 * that id aborts its signal with TaskCancelledError (command tasks: SIGTERM to the process group,
 * then SIGKILL). A backend with `onCancelled` (Redis) tells only cancelled ids; otherwise final
 * ids of other tasks cost one set lookup per running task.
 */
import { TaskCancelledError } from '../errors.ts';
import type { ResultBackend } from '../port.ts';
import type { Execution } from './execution.ts';

export function watchCancels(
  backend: ResultBackend,
  running: ReadonlySet<Execution>,
  onError: (err: Error) => void,
): Promise<() => Promise<void>> {
  // Cancelled ids only where the backend can say so; else every final id (then read which).
  const listen = backend.onCancelled?.bind(backend) ?? backend.onFinal.bind(backend);
  return listen((ids) => {
    if (running.size === 0) return;
    const finished = new Set(ids);
    for (const execution of running) {
      const id = execution.message?.id;
      if (id === undefined || execution.concluding || !finished.has(id)) continue;
      // Final by another path (a duplicate delivery finishing elsewhere) is not a cancel: read which.
      backend.read(id).then(
        (record) => {
          if (record?.state === 'CANCELLED' && !execution.concluding)
            execution.cancellation.abort(new TaskCancelledError(id));
        },
        (err: unknown) => onError(err instanceof Error ? err : new Error(String(err))),
      );
    }
  });
}
