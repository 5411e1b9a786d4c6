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
const WARMUP = 5000;

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
      const progress = new Progress(Math.min(WARMUP, total) + total);
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
      measuring = true;
      // Paced producer: each tick sends what is due so far, so timer jitter does not drift the rate.
      const sends: Promise<void>[] = [];
      const errors: unknown[] = [];
      const start = performance.now();
      let sent = 0;
      while (sent < total && !ctx.signal.aborted) {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
        while (sent < due) {
          sends.push(sys.enqueueOne({ t: performance.now() }).catch((err: unknown) => void errors.push(err)));
          sent++;
        }
        await sleep(1);
      }
      const sendSeconds = (performance.now() - start) / 1000;
      await Promise.all(sends);
      if (errors.length > 0)
        throw new Error(`${name}: ${errors.length} sends failed, first: ${String(errors[0])}`);
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
