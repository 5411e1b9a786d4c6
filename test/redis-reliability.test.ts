/** Nothing is lost: a worker killed with SIGKILL mid-run, and Redis restarted mid-run. */
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PREFETCH_MAX } from '../src/core/worker/handlers.ts';
import { Errand } from '../src/index.ts';
import { eventually, freePort, REDIS_URL, startPrivateRedis, tempDir, uniquePrefix } from './helpers.ts';

const WORKER = new URL('./fixtures/redis-worker.ts', import.meta.url).pathname;

function startWorker(url: string, prefix: string, doneFile: string, concurrency: number, leaseMs: number) {
  const child = fork(WORKER, [url, prefix, doneFile, String(concurrency), String(leaseMs)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
  return { child, ready };
}

function doneIds(...files: string[]): string[] {
  return files.flatMap((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []));
}

const exited = (child: ChildProcess) =>
  new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));

describe('reliability on Redis', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a worker killed with SIGKILL mid-run loses no task; duplicates are at most what it had in flight', async () => {
    const prefix = uniquePrefix('kill');
    const dir = tempDir('kill');
    const total = 3000;
    const concurrency = 20;
    const producer = new Errand({ broker: REDIS_URL, prefix });
    cleanups.push(() => producer.close());
    await producer.runtime.stores();
    const sent = await (async () => {
      const ids: string[] = [];
      for (let i = 0; i < total; i += 500) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(500, total - i) }, (_, j) => producer.send('work', [i + j])),
        );
        ids.push(...batch.map((s) => s.id));
      }
      return ids;
    })();

    const fileA = join(dir, 'a.txt');
    const fileB = join(dir, 'b.txt');
    const a = startWorker(REDIS_URL, prefix, fileA, concurrency, 1000);
    cleanups.push(async () => a.child.kill('SIGKILL'));
    await a.ready;
    await eventually(() => doneIds(fileA).length >= 600, 60_000, 'worker A to make progress');
    a.child.kill('SIGKILL');
    await exited(a.child);
    const byA = doneIds(fileA).length;
    assert.ok(byA < total, 'worker A was killed before the end');

    const b = startWorker(REDIS_URL, prefix, fileB, concurrency, 1000);
    cleanups.push(async () => {
      b.child.kill('SIGTERM');
      await exited(b.child);
    });
    await b.ready;
    await eventually(() => new Set(doneIds(fileA, fileB)).size >= total, 90_000, 'every task to complete');
    const all = doneIds(fileA, fileB);
    const unique = new Set(all);
    for (const id of sent) assert.ok(unique.has(id), `task ${id} ran`);
    const duplicates = all.length - unique.size;
    // A worker holds at most concurrency + prefetch leases (docs/reliability.md): every one of
    // them may have run without its ack reaching Redis when the worker was killed.
    const held = concurrency + PREFETCH_MAX;
    assert.ok(duplicates <= held, `${duplicates} duplicates, at most ${held} were leased`);
    const stats = await producer.stats();
    assert.equal(stats.waiting + stats.delayed + stats.dead, 0);
  });

  it('SIGTERM drains a worker process, hands its unfinished task back at once and exits', async () => {
    const prefix = uniquePrefix('sigterm');
    const dir = tempDir('sigterm');
    const producer = new Errand({ broker: REDIS_URL, prefix });
    cleanups.push(() => producer.close());
    const w = startWorker(REDIS_URL, prefix, join(dir, 'done.txt'), 4, 30_000);
    cleanups.push(async () => w.child.kill('SIGKILL'));
    await w.ready;
    const sleepy = await producer.send('sleepy', [120_000]);
    const quick = await producer.send('work', [1]);
    await eventually(
      async () => (await producer.status(sleepy.id))?.state === 'STARTED',
      10_000,
      'sleepy to start',
    );
    assert.equal(await producer.result(quick.id, { timeoutMs: 5000 }), 1);
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    await exited(w.child);
    const took = Date.now() - t0;
    // After draining, the worker gives the signal back to Node's default action: the process ends by it.
    assert.equal(
      w.child.signalCode,
      'SIGTERM',
      `ended by the re-raised SIGTERM (exit code ${w.child.exitCode})`,
    );
    assert.ok(took >= 900 && took < 10_000, `waited its 1 s shutdown deadline, then stopped (${took} ms)`);
    const stats = await producer.stats();
    assert.deepEqual(
      [stats.leased, stats.waiting],
      [0, 1],
      'the unfinished task is waiting again, not leased',
    );
  });

  it('with Redis unreachable, result() keeps its timeout and stop() and close() return', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`; // nothing listens there
    const errand = new Errand({ broker: url, prefix: uniquePrefix('down') });
    errand.task('t', () => 1);
    const worker = errand.worker({ handleSignals: false });
    const errors: Error[] = [];
    worker.on('error', (e) => errors.push(e));
    await worker.start();
    let t0 = Date.now();
    await assert.rejects(
      errand.result('some-id', { timeoutMs: 500 }),
      /no result for task some-id within 500 ms/,
    );
    assert.ok(Date.now() - t0 < 2000, `result() kept its timeout (${Date.now() - t0} ms)`);
    t0 = Date.now();
    await errand.close();
    assert.ok(Date.now() - t0 < 10_000, `close() returned (${Date.now() - t0} ms)`);
    assert.equal(worker.state, 'stopped');
    assert.ok(
      errors.every((e) => e.message !== ''),
      'errors say what failed',
    );
  });

  it('Redis restarted mid-run: nothing acknowledged is lost and workers resume by themselves', async () => {
    const redis = await startPrivateRedis({ appendonly: true });
    cleanups.push(() => redis.stop());
    const prefix = uniquePrefix('restart');
    const errand = new Errand({ broker: redis.url, prefix });
    cleanups.push(() => errand.close());
    const ran = new Set<number>();
    const work = errand.task('work', async (n: number) => {
      await new Promise((r) => setTimeout(r, 1));
      ran.add(n);
      return n;
    });
    const worker = errand.worker({ concurrency: 10, leaseMs: 2000, handleSignals: false });
    const errors: Error[] = [];
    worker.on('error', (e) => errors.push(e));
    await worker.start();
    const first = await work.sendBulk(Array.from({ length: 2000 }, (_, i) => [i] as [number]));
    assert.equal(first.length, 2000);
    await eventually(() => ran.size >= 200, 30_000, 'progress before the restart');
    await redis.stop();
    // While Redis is down: a send waits for it (it is not lost), and the worker backs off instead of spinning.
    const errorsBefore = errors.length;
    const cpuBefore = process.cpuUsage();
    const sending = work.sendBulk(Array.from({ length: 500 }, (_, i) => [2000 + i] as [number]));
    await new Promise((r) => setTimeout(r, 1500));
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    assert.ok(cpuMs < 750, `the process used ${cpuMs} ms of CPU in 1.5 s of outage: no busy loop`);
    assert.ok(
      errors.length - errorsBefore < 40,
      `${errors.length - errorsBefore} errors in 1.5 s: backing off`,
    );
    await redis.start();
    const second = await sending;
    assert.equal(second.length, 500);
    await eventually(() => ran.size === 2500, 60_000, `all 2500 tasks to run (ran ${ran.size})`);
    const last = await second[499]!.result({ timeoutMs: 10_000 });
    assert.equal(last, 2499);
  });
});
