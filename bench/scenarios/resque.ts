/**
 * Resque mode: N pre-enqueued no-op Resque jobs (`{"class":"Noop","args":[0]}`) run by Errand's
 * Resque worker and by node-resque's worker (10 `Worker`s, one job each at a time, as node-resque
 * runs concurrency), both at concurrency 10 on the same private Redis; jobs/s from first start to last finish.
 */
import { Worker as NodeResqueWorker } from 'node-resque';
import { Errand, resque } from '../lib/errand-dist.ts';
import { chunks, Progress } from '../lib/progress.ts';
import { round } from '../lib/stats.ts';
import { processTasks } from './process.ts';
import type { Scenario, ScenarioContext } from './types.ts';

const CONCURRENCY = 10;
const QUEUE = 'bench';

async function prefill(ctx: ScenarioContext, n: number): Promise<void> {
  await ctx.admin.flushAll();
  const job = JSON.stringify({ class: 'Noop', args: [0] });
  for (const batch of chunks(
    Array.from({ length: n }, () => job),
    ctx.sizes.bulkChunk,
  )) {
    await ctx.admin.rPush(`resque:queue:${QUEUE}`, batch);
  }
  await ctx.admin.sAdd('resque:queues', QUEUE);
}

async function errandResque(ctx: ScenarioContext, n: number): Promise<Progress> {
  await prefill(ctx, n);
  const progress = new Progress(n);
  const errand = new Errand({ broker: ctx.redis.url, prefix: 'bench' });
  errand.task('Noop', async (_x: number) => {
    progress.started();
    progress.finished();
  });
  const r = resque(errand, { namespace: 'resque:' });
  const worker = r.worker({ queues: QUEUE, concurrency: CONCURRENCY, intervalMs: 5, handleSignals: false });
  await worker.start();
  await progress.wait(ctx.sizes.capMs, ctx.signal);
  await r.close();
  return progress;
}

async function nodeResque(ctx: ScenarioContext, n: number): Promise<Progress> {
  await prefill(ctx, n);
  const progress = new Progress(n);
  const url = new URL(ctx.redis.url);
  const connection = { host: url.hostname, port: Number(url.port), namespace: 'resque' };
  const jobs = {
    Noop: {
      perform: async (_x: number) => {
        progress.started();
        progress.finished();
      },
    },
  };
  const workers = Array.from(
    { length: CONCURRENCY },
    (_, i) => new NodeResqueWorker({ connection, queues: [QUEUE], timeout: 5, name: `bench:${i}` }, jobs),
  );
  for (const w of workers) {
    w.on('error', () => {});
    await w.connect();
  }
  await Promise.all(workers.map((w) => w.start()));
  await progress.wait(ctx.sizes.capMs, ctx.signal);
  await Promise.all(workers.map((w) => w.end()));
  return progress;
}

export const resqueScenario: Scenario = {
  name: 'resque',
  title: 'Resque jobs: Errand Resque mode vs node-resque (concurrency 10)',
  systems: ['errand'],
  async run(ctx) {
    const n = processTasks(ctx.sizes.process, CONCURRENCY);
    for (const [system, measure] of [
      ['errand-resque', errandResque],
      ['node-resque', nodeResque],
    ] as const) {
      const progress = await measure(ctx, n);
      ctx.emit({
        case: `c${CONCURRENCY}`,
        system,
        metrics: { tasksPerSec: round(progress.rate()), tasks: progress.done, concurrency: CONCURRENCY },
        detail: { planned: n, capped: progress.done < n },
      });
    }
  },
};
