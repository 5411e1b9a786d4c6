/** Scenario 2: processing throughput of N pre-enqueued no-op tasks by one worker, per concurrency. */
import { chunks, Progress } from '../lib/progress.ts';
import { callDelta, commandTimes, redisCpuSeconds, round } from '../lib/stats.ts';
import type { BenchSystem } from '../systems/types.ts';
import type { Scenario, ScenarioContext } from './types.ts';

interface LoadSnapshot {
  readonly cpu: number;
  readonly times: Awaited<ReturnType<typeof commandTimes>>;
}

/** What the Redis server spent on the run: CPU per task, commands per task, and where its time went. */
export interface RedisLoad {
  readonly cpuUsPerTask: number;
  readonly commandsPerTask: number;
  /** Microseconds of Redis time per task, by command (top five). */
  readonly usecPerTaskByCommand: Record<string, number>;
}

async function redisLoad(ctx: ScenarioContext): Promise<LoadSnapshot> {
  // Not through a proxy: the SQLite scenario reuses processOnce without Redis traffic.
  return { cpu: await redisCpuSeconds(ctx.admin), times: await commandTimes(ctx.admin) };
}

function loadDelta(a: LoadSnapshot, b: LoadSnapshot, n: number): RedisLoad {
  const calls = callDelta(
    new Map([...a.times].map(([k, v]) => [k, v.calls])),
    new Map([...b.times].map(([k, v]) => [k, v.calls])),
  );
  const usec = Object.keys(calls)
    .map((k) => [k, ((b.times.get(k)?.usec ?? 0) - (a.times.get(k)?.usec ?? 0)) / n] as const)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 5);
  return {
    cpuUsPerTask: round(((b.cpu - a.cpu) * 1e6) / n, 3),
    commandsPerTask: round(Object.values(calls).reduce((x, y) => x + y, 0) / n, 3),
    usecPerTaskByCommand: Object.fromEntries(usec.map(([k, v]) => [k, round(v, 3)])),
  };
}

/** Pre-enqueue `n` tasks (untimed), run one worker until all are finished; tasks/s from first start to last ack. */
export async function processOnce(
  ctx: ScenarioContext,
  sys: BenchSystem,
  n: number,
  concurrency: number,
): Promise<{ tasksPerSec: number; done: number; capped: boolean; redis: RedisLoad; cpuUsPerTask: number }> {
  for (const batch of chunks(
    Array.from({ length: n }, (_, i) => i),
    ctx.sizes.bulkChunk,
  )) {
    await sys.enqueueBulk(batch.map(() => ({ t: 0 })));
  }
  const progress = new Progress(n);
  const before = await redisLoad(ctx);
  const { worker, reached, after, cpu } = await ctx.profiler.around(
    `${sys.name}-c${concurrency}`,
    async () => {
      // Worker CPU: this process does nothing else while the worker runs (tasks are pre-enqueued).
      const cpuBefore = process.cpuUsage();
      const worker = await sys.startWorker(concurrency, {
        onStart: () => progress.started(),
        onDone: () => progress.finished(),
      });
      const reached = await progress.wait(ctx.sizes.capMs, ctx.signal);
      const cpu = process.cpuUsage(cpuBefore);
      return { worker, reached, cpu, after: await redisLoad(ctx) };
    },
  );
  await worker.stop();
  return {
    tasksPerSec: progress.rate(),
    done: progress.done,
    capped: !reached,
    redis: loadDelta(before, after, n),
    cpuUsPerTask: round((cpu.user + cpu.system) / Math.max(1, progress.done), 3),
  };
}

/** Tasks drained, untimed, by each system before its measured cases. */
const WARMUP_TASKS = 2000;

/** Fewer tasks at low concurrency, where every system is slow, to keep each measurement a few seconds. */
export const processTasks = (base: number, concurrency: number): number =>
  Math.max(50, Math.round(base * (concurrency <= 1 ? 0.2 : concurrency <= 10 ? 0.5 : 1)));

export const processScenario: Scenario = {
  name: 'process',
  title: 'Processing throughput',
  async run(ctx, name) {
    // Untimed, for every system alike: V8 compiles the hot paths (shared ones too: the raw loop
    // and Errand use the same Redis client) before any case is measured, whichever system runs first.
    {
      const sys = await ctx.freshSystem(name);
      await processOnce(ctx, sys, Math.min(WARMUP_TASKS, ctx.sizes.process), 10);
      await sys.close();
    }
    for (const concurrency of ctx.sizes.concurrencies) {
      {
        const sys = await ctx.freshSystem(name);
        const n = processTasks(ctx.sizes.process, concurrency);
        const r = await processOnce(ctx, sys, n, concurrency);
        await sys.close();
        ctx.emit({
          case: `c${concurrency}`,
          system: name,
          metrics: {
            tasksPerSec: round(r.tasksPerSec),
            tasks: r.done,
            concurrency,
            workerCpuUsPerTask: r.cpuUsPerTask,
            redisCpuUsPerTask: r.redis.cpuUsPerTask,
            redisCommandsPerTask: r.redis.commandsPerTask,
          },
          detail: { planned: n, capped: r.capped, redisUsecPerTaskByCommand: r.redis.usecPerTaskByCommand },
        });
      }
    }
  },
};
