/**
 * Keeps a worker's set of paused queues (errand.pause) current: asks the broker every
 * PAUSE_CHECK_MS, so a pause takes effect within about that long (the documented bound is one
 * second) for the fetch loops and for settle refills alike, at one small call per queue per interval.
 */
import { sleep } from '../clock.ts';
import type { Broker } from '../port.ts';

export const PAUSE_CHECK_MS = 500;

export async function runPauseWatch(
  broker: Broker,
  queues: readonly string[],
  paused: Set<string>,
  onError: (err: Error) => void,
  signal: AbortSignal,
): Promise<void> {
  const isPaused = broker.isPaused?.bind(broker);
  if (!isPaused) return;
  while (!signal.aborted) {
    try {
      const flags = await Promise.all(queues.map((queue) => isPaused(queue)));
      queues.forEach((queue, i) => {
        if (flags[i]) paused.add(queue);
        else paused.delete(queue);
      });
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)));
    }
    await sleep(PAUSE_CHECK_MS, signal);
  }
}
