/**
 * Prefetch side by side: one worker draining N pre-enqueued no-op tasks with `prefetch: 0` and
 * with the default, in alternating runs on one Redis (so drifts of a shared machine hit both).
 * `npx tsx bench/prefetch-ab.ts [--redis URL] [--concurrency 1,10,100] [--tasks N] [--pairs 3]`
 * Prints one line per run: tasks/s and worker CPU µs per task, and on Linux how much of it the
 * main thread used (the rest is V8's helper threads: parallel scavenges, concurrent marking).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Errand } from './lib/errand-dist.ts';

const { values } = parseArgs({
  options: {
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    concurrency: { type: 'string', default: '1,10,100' },
    tasks: { type: 'string', default: '20000' },
    pairs: { type: 'string', default: '3' },
  },
});

/** CPU µs of this process's main thread so far (Linux: /proc), or undefined elsewhere. */
function mainThreadCpuUs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks (USER_HZ, 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

async function drain(concurrency: number, tasks: number, prefetch: number | undefined) {
  const prefix = `bench-prefetch-${process.pid}-${Date.now()}`;
  const errand = new Errand({ broker: values.redis, prefix, resultTtlMs: 60_000 });
  const noop = errand.task('noop', async (n: number) => n, { retries: 3 });
  for (let i = 0; i < tasks; i += 1000)
    await noop.sendBulk(Array.from({ length: Math.min(1000, tasks - i) }, (_, j) => [i + j] as [number]));
  let done = 0;
  let finished = (): void => {};
  const all = new Promise<void>((resolve) => (finished = resolve));
  const worker = errand.worker({
    concurrency,
    handleSignals: false,
    ...(prefetch === undefined ? {} : { prefetch }),
  });
  worker.on('completed', () => {
    if (++done === tasks) finished();
  });
  const cpu = process.cpuUsage();
  const mainBefore = mainThreadCpuUs();
  const started = performance.now();
  await worker.start();
  await all;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const mainAfter = mainThreadCpuUs();
  await worker.stop();
  await errand.close();
  return {
    tasksPerSec: Math.round(tasks / seconds),
    cpuUsPerTask: (used.user + used.system) / tasks,
    mainUsPerTask:
      mainBefore === undefined || mainAfter === undefined ? undefined : (mainAfter - mainBefore) / tasks,
  };
}

const tasks = Number(values.tasks);
for (const concurrency of values.concurrency.split(',').map(Number)) {
  const n = concurrency === 1 ? Math.max(50, Math.round(tasks / 5)) : tasks;
  for (let pair = 1; pair <= Number(values.pairs); pair++) {
    for (const prefetch of [0, undefined]) {
      const r = await drain(concurrency, n, prefetch);
      console.log(
        `c${concurrency} pair ${pair} prefetch ${prefetch ?? 'default'}: ${r.tasksPerSec} tasks/s, ${r.cpuUsPerTask.toFixed(1)} µs CPU/task` +
          (r.mainUsPerTask === undefined ? '' : ` (main thread ${r.mainUsPerTask.toFixed(1)})`),
      );
    }
  }
}
