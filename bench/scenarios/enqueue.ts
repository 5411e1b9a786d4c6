/** Scenario 1: enqueue throughput — one at a time, 100 in flight, bulk. No worker runs. */
import { performance } from 'node:perf_hooks';
import { chunks, inFlight } from '../lib/progress.ts';
import { round } from '../lib/stats.ts';
import type { BenchSystem } from '../systems/types.ts';
import { PRIMARY_SYSTEMS, type Scenario, type ScenarioContext } from './types.ts';

async function measure(
  ctx: ScenarioContext,
  sys: BenchSystem,
  kase: string,
  n: number,
  body: (deadline: number) => Promise<number>,
): Promise<void> {
  // Warm-up, untimed: connections, script loading and per-queue keys are not what we measure.
  await sys.enqueueOne({ t: performance.now() });
  await sys.enqueueBulk([{ t: performance.now() }]);
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  const done = await body(start + ctx.sizes.capMs);
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = (performance.now() - start) / 1000;
  ctx.emit({
    case: kase,
    system: sys.name,
    metrics: {
      tasksPerSec: round(done / seconds),
      tasks: done,
      seconds: round(seconds),
      // The producer's process CPU (user + system) per task: no worker runs in this scenario.
      clientCpuUsPerTask: round((cpu.user + cpu.system) / done),
    },
    detail: { planned: n, capped: done < n },
  });
}

export const enqueueScenario: Scenario = {
  name: 'enqueue',
  title: 'Enqueue throughput',
  systems: PRIMARY_SYSTEMS,
  async run(ctx, name) {
    const { sizes } = ctx;
    {
      // A fresh, empty store for each case so no case pays for another's backlog.
      let sys = await ctx.freshSystem(name);
      await measure(ctx, sys, 'one', sizes.enqueueOne, (deadline) =>
        inFlight(sizes.enqueueOne, 1, deadline, () => sys.enqueueOne({ t: performance.now() })),
      );
      await sys.close();

      sys = await ctx.freshSystem(name);
      await measure(ctx, sys, 'inflight100', sizes.enqueueInFlight, (deadline) =>
        inFlight(sizes.enqueueInFlight, 100, deadline, () => sys.enqueueOne({ t: performance.now() })),
      );
      await sys.close();

      sys = await ctx.freshSystem(name);
      const batches = chunks(
        Array.from({ length: sizes.enqueueBulk }, (_, i) => i),
        sizes.bulkChunk,
      );
      await measure(ctx, sys, 'bulk', sizes.enqueueBulk, async (deadline) => {
        let done = 0;
        for (const batch of batches) {
          if (performance.now() > deadline) break;
          await sys.enqueueBulk(batch.map(() => ({ t: performance.now() })));
          done += batch.length;
        }
        return done;
      });
      await sys.close();
    }
  },
};
