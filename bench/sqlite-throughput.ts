/**
 * Throughput of the embedded SQLite broker through the public API, on a fresh temp file:
 * enqueue (sendBulk in chunks of 100, and one send at a time), then processing of a no-op
 * task by one worker at the given concurrency (results written), then both at once.
 * With --processes: one producer process and two worker processes (concurrency 10 each)
 * sharing the file, timed from the producer's spawn to the last task run.
 *
 *   node --import tsx bench/sqlite-throughput.ts [tasks] [concurrency] [--processes]   → prints JSON
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Errand } from './lib/errand-dist.ts';

export interface SqliteThroughput {
  /** Tasks enqueued per second with sendBulk (chunks of 100). */
  readonly enqueuePerSec: number;
  /** Tasks enqueued per second with one send() per task. */
  readonly enqueueOneByOnePerSec: number;
  /** Tasks run per second (already enqueued) by one worker: reserve, run, write result, ack. */
  readonly processPerSec: number;
  /** Tasks per second when enqueueing (one by one, 10 producers) and processing run together. */
  readonly endToEndPerSec: number;
}

const perSec = (n: number, ms: number): number => Math.round((n / ms) * 1000);

async function processAll(errand: Errand, tasks: number, concurrency: number, during?: () => Promise<void>) {
  const worker = errand.worker({ concurrency, queues: ['default'], handleSignals: false });
  let completed = 0;
  const done = new Promise<void>((resolve, reject) => {
    worker.on('completed', () => {
      if (++completed === tasks) resolve();
    });
    worker.on('failed', (e) => reject(new Error(`task failed: ${e.error.message}`)));
  });
  const started = performance.now();
  await worker.start();
  await Promise.all([done, during?.()]);
  const ms = performance.now() - started;
  await worker.stop();
  return ms;
}

export async function measureSqlite(options: {
  tasks: number;
  concurrency: number;
}): Promise<SqliteThroughput> {
  const { tasks, concurrency } = options;
  const dir = mkdtempSync(join(tmpdir(), 'errand-sqlite-bench-'));
  const errand = new Errand({ broker: `sqlite:${join(dir, 'bench.db')}`, prefix: 'bench' });
  try {
    const noop = errand.task('noop', async (n: number) => n);
    const send = errand.task('send', async (n: number) => n, { queue: 'single' });
    await errand.stats(); // open the file (and create the schema) before timing anything

    let started = performance.now();
    for (let i = 0; i < tasks; i += 100) {
      await noop.sendBulk(Array.from({ length: Math.min(100, tasks - i) }, (_, j): [number] => [i + j]));
    }
    const enqueuePerSec = perSec(tasks, performance.now() - started);

    const single = Math.min(tasks, 2000);
    started = performance.now();
    for (let i = 0; i < single; i++) await send.send(i);
    const enqueueOneByOnePerSec = perSec(single, performance.now() - started);

    const processPerSec = perSec(tasks, await processAll(errand, tasks, concurrency));

    // The one-by-one sends went to queue 'single', which the workers here do not consume.
    const producers = async (): Promise<void> => {
      let next = 0;
      const producer = async (): Promise<void> => {
        while (next < tasks) await noop.send(next++);
      };
      await Promise.all(Array.from({ length: 10 }, producer));
    };
    const endToEndPerSec = perSec(tasks, await processAll(errand, tasks, concurrency, producers));
    return { enqueuePerSec, enqueueOneByOnePerSec, processPerSec, endToEndPerSec };
  } finally {
    await errand.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fixture = (name: string): string => fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));
const lines = (file: string): number =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0;

/** One producer process and `workers` worker processes (concurrency 10 each) on one file. */
export async function measureSqliteProcesses(options: { tasks: number; workers: number }): Promise<{
  producerMs: number;
  totalMs: number;
  tasksPerSec: number;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'errand-sqlite-bench-'));
  const db = join(dir, 'bench.db');
  const run = (script: string, args: string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture(script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    return { child, out: () => out };
  };
  const logs = Array.from({ length: options.workers }, (_, i) => join(dir, `worker-${i}.log`));
  const workers = logs.map((log) => run('sqlite-worker.ts', [db, 'bench', log, '10', '30000', '0']));
  try {
    const deadline = Date.now() + 60_000;
    while (!workers.every((w) => w.out().includes('ready'))) {
      if (Date.now() > deadline) throw new Error('worker processes did not start within 60 s');
      await delay(20);
    }
    const started = performance.now();
    let producerMs = Number.NaN;
    const producer = run('sqlite-producer.ts', [db, 'bench', String(options.tasks)]);
    producer.child.once('exit', () => {
      producerMs = performance.now() - started;
    });
    while (logs.reduce((n, log) => n + lines(log), 0) < options.tasks) {
      if (Date.now() > deadline + 600_000) throw new Error('tasks did not finish within 10 minutes');
      await delay(5);
    }
    const totalMs = performance.now() - started;
    return {
      producerMs: Math.round(producerMs),
      totalMs: Math.round(totalMs),
      tasksPerSec: perSec(options.tasks, totalMs),
    };
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((resolve) => w.child.once('exit', resolve))));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [tasksArg, concurrencyArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const tasks = Number(tasksArg ?? 20_000);
  const concurrency = Number(concurrencyArg ?? 10);
  const result = process.argv.includes('--processes')
    ? {
        processes: '1 producer + 2 workers (concurrency 10 each)',
        ...(await measureSqliteProcesses({ tasks, workers: 2 })),
      }
    : { concurrency, ...(await measureSqlite({ tasks, concurrency })) };
  console.log(JSON.stringify({ broker: 'sqlite', tasks, ...result }, null, 2));
}
