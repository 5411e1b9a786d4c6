/**
 * Scaling past one process: 1, 2 and 4 worker processes on one private Redis, each running
 * Errand with its defaults (results stored) at the given concurrency, draining the same number
 * of queued no-op tasks. Reports throughput and Redis CPU µs per task: Redis CPU per task is
 * what decides where one Redis saturates (the ceiling of a fleet), since worker processes add
 * Node CPU but share Redis's one core.
 *
 *   npx tsx bench/scaling.ts [--tasks 40000] [--concurrency 100] [--processes 1,2,4] [--runs 1] [--out file.jsonl]
 *
 * Writes one result line per run and process count (scenario "scaling", case "p<processes>"),
 * to stdout or appended to --out; `bench/report.ts` renders them when given that file too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '@redis/client';
import { Errand } from './lib/errand-dist.ts';
import { startPrivateRedis } from './lib/redis-server.ts';
import { parseInfo, round } from './lib/stats.ts';

const PREFIX = 'scaling';

/** One worker process: says "ready", starts on "go", prints its CPU time when told to stop. */
async function child(url: string, concurrency: number): Promise<void> {
  const errand = new Errand({ broker: url, prefix: PREFIX });
  errand.task('noop', async () => {});
  const worker = errand.worker({ concurrency, handleSignals: false, leaseMs: 30_000 });
  let done = 0;
  worker.on('completed', () => done++);
  worker.on('error', (err) => process.stderr.write(`worker error: ${err.message}\n`));
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  let cpuAtStart = process.cpuUsage();
  for await (const line of lines) {
    if (line === 'go') {
      cpuAtStart = process.cpuUsage();
      await worker.start();
    } else if (line === 'stop') {
      const cpu = process.cpuUsage(cpuAtStart);
      await worker.stop();
      await errand.close();
      process.stdout.write(`${JSON.stringify({ done, cpuUs: cpu.user + cpu.system })}\n`);
      lines.close();
    }
  }
}

interface ChildHandle {
  readonly proc: ChildProcess;
  readonly lines: AsyncIterator<string>;
}

function spawnChild(url: string, concurrency: number): ChildHandle {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      '--url',
      url,
      '--concurrency',
      String(concurrency),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return { proc, lines };
}

async function nextLine(handle: ChildHandle, what: string): Promise<string> {
  const timer = setTimeout(() => handle.proc.kill('SIGKILL'), 60_000);
  try {
    const line = await handle.lines.next();
    if (line.done) throw new Error(`a worker process ended before ${what}`);
    return line.value;
  } finally {
    clearTimeout(timer);
  }
}

async function redisCpuUs(client: { info(section: string): Promise<string> }): Promise<number> {
  const info = parseInfo(await client.info('cpu'));
  return (Number(info.get('used_cpu_sys')) + Number(info.get('used_cpu_user'))) * 1e6;
}

async function measure(url: string, processes: number, tasks: number, concurrency: number) {
  const client = createClient({ url });
  await client.connect();
  await client.flushAll();
  const errand = new Errand({ broker: url, prefix: PREFIX });
  const noop = errand.task('noop', async () => {});
  for (let i = 0; i < tasks; i += 1000) {
    await noop.sendBulk(Array.from({ length: Math.min(1000, tasks - i) }, () => [] as []));
  }
  await errand.close();
  const children = Array.from({ length: processes }, () => spawnChild(url, concurrency));
  for (const c of children) await nextLine(c, 'it was ready');
  const cpuBefore = await redisCpuUs(client);
  const started = performance.now();
  for (const c of children) c.proc.stdin!.write('go\n');
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [waiting, leased] = await Promise.all([
      client.lLen(`${PREFIX}:{default}:wait`),
      client.zCard(`${PREFIX}:{default}:leases`),
    ]);
    if (waiting === 0 && leased === 0) break;
    if (Date.now() > deadline) throw new Error(`not drained in 120 s (${waiting} waiting, ${leased} leased)`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = await redisCpuUs(client);
  let done = 0;
  let workerCpuUs = 0;
  for (const c of children) {
    c.proc.stdin!.write('stop\n');
    const report = JSON.parse(await nextLine(c, 'it reported')) as { done: number; cpuUs: number };
    done += report.done;
    workerCpuUs += report.cpuUs;
    c.proc.stdin!.end();
  }
  await client.close();
  return {
    processes,
    concurrencyPerProcess: concurrency,
    tasks: done,
    tasksPerSec: round(done / seconds),
    redisCpuUsPerTask: round((cpuAfter - cpuBefore) / done),
    workerCpuUsPerTask: round(workerCpuUs / done),
  };
}

/** A result line as bench/lib/aggregate.ts reads them. */
function resultLine(run: number, redisVersion: string, m: Awaited<ReturnType<typeof measure>>): string {
  return `${JSON.stringify({
    type: 'result',
    run,
    scenario: 'scaling',
    case: `p${m.processes}`,
    system: 'errand',
    metrics: m,
    detail: { redis: redisVersion },
  })}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean', default: false },
      url: { type: 'string' },
      tasks: { type: 'string', default: '40000' },
      concurrency: { type: 'string', default: '100' },
      processes: { type: 'string', default: '1,2,4' },
      runs: { type: 'string', default: '1' },
      out: { type: 'string' },
    },
  });
  const concurrency = Number(values.concurrency);
  if (values.child) return child(values.url!, concurrency);
  const redis = await startPrivateRedis();
  try {
    for (let run = 1; run <= Number(values.runs); run++) {
      for (const processes of values.processes!.split(',').map(Number)) {
        const m = await measure(redis.url, processes, Number(values.tasks), concurrency);
        const line = resultLine(run, redis.version, m);
        if (values.out) appendFileSync(values.out, line);
        process.stdout.write(line);
      }
    }
  } finally {
    await redis.stop();
  }
}

await main();
