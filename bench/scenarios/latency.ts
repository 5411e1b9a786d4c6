/** Scenario 3: latency from enqueue to handler start at a steady rate (default 500 tasks/s). */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { inFlight, Progress } from '../lib/progress.ts';
import { quantile, round } from '../lib/stats.ts';
import { PRIMARY_SYSTEMS, type Scenario } from './types.ts';

export const LATENCY_CONCURRENCY = 10;
/**
 * Tasks sent and run before measuring, for every system alike: V8 needs thousands of runs of a
 * path before it is compiled for good, and until then its compilations land in the measured tail
 * (Errand's probe p99 at 500/s: about 2.2 ms after 50 warm-up tasks, 1.3-1.9 ms after 5,000, 1.2 ms after 20,000).
 */
export const WARMUP = 5000;
/**
 * Then one second at the measured rate, untimed, for every system alike: a worker that drained
 * a burst has not yet run its idle path (a wait per task) often enough for V8 to compile it.
 */
export const PACED_WARMUP_SECONDS = 1;

export const latencyScenario: Scenario = {
  name: 'latency',
  title: 'Latency, enqueue to handler start',
  systems: PRIMARY_SYSTEMS,
  async run(ctx, name) {
    const { latencyRate: rate, latencySeconds: seconds } = ctx.sizes;
    const total = Math.round(rate * seconds);
    {
      // Producer and worker in separate instances: no connection shared, as in separate processes.
      const sys = await ctx.freshSystem(name);
      const workerSide = await ctx.sameSystem(name);
      const latencies: number[] = [];
      let measuring = false;
      const progress = new Progress(
        Math.min(WARMUP, total) + Math.round(rate * PACED_WARMUP_SECONDS) + total,
      );
      const worker = await workerSide.startWorker(LATENCY_CONCURRENCY, {
        onStart: (p) => {
          if (measuring) latencies.push(performance.now() - p.t);
        },
        onDone: () => progress.finished(),
      });
      // Warm up (connections, scripts, the compiled path), then let the worker go idle (blocking wait).
      const warmDeadline = performance.now() + ctx.sizes.capMs;
      const warmed = await inFlight(Math.min(WARMUP, total), 10, warmDeadline, () =>
        sys.enqueueOne({ t: performance.now() }),
      );
      // Bounded like the sends: a system that cannot finish its warm-up in time is measured anyway.
      while (progress.done < warmed && performance.now() < warmDeadline && !ctx.signal.aborted)
        await sleep(5);
      await sleep(200);
      const pacedWarmup = Math.round(rate * PACED_WARMUP_SECONDS);
      await paced(pacedWarmup, rate, ctx.signal, () => sys.enqueueOne({ t: performance.now() }));
      while (progress.done < warmed + pacedWarmup && performance.now() < warmDeadline && !ctx.signal.aborted)
        await sleep(5);
      measuring = true;
      const { sent, seconds: sendSeconds } = await paced(total, rate, ctx.signal, () =>
        sys.enqueueOne({ t: performance.now() }),
      );
      const reached = await progress.wait(ctx.sizes.capMs, ctx.signal);
      await worker.stop();
      await Promise.all([sys.close(), workerSide.close()]);
      latencies.sort((a, b) => a - b);
      ctx.emit({
        case: `${rate}/s`,
        system: name,
        metrics: {
          p50Ms: round(quantile(latencies, 0.5)),
          p95Ms: round(quantile(latencies, 0.95)),
          p99Ms: round(quantile(latencies, 0.99)),
          maxMs: round(latencies.at(-1) ?? Number.NaN),
          tasks: latencies.length,
          achievedRate: round(sent / sendSeconds),
        },
        detail: { concurrency: LATENCY_CONCURRENCY, capped: !reached },
      });
    }
  },
};

/**
 * Sends `total` messages at `rate` a second: each tick sends what is due so far, so timer jitter
 * does not drift the rate. Resolves when every send has been answered; a failed send fails it.
 */
export async function paced(
  total: number,
  rate: number,
  signal: AbortSignal,
  send: () => Promise<void>,
): Promise<{ sent: number; seconds: number }> {
  const sends: Promise<void>[] = [];
  const errors: unknown[] = [];
  const start = performance.now();
  let sent = 0;
  while (sent < total && !signal.aborted) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    while (sent < due) {
      sends.push(send().catch((err: unknown) => void errors.push(err)));
      sent++;
    }
    await sleep(1);
  }
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(sends);
  if (errors.length > 0) throw new Error(`${errors.length} sends failed, first: ${String(errors[0])}`);
  return { sent, seconds };
}
