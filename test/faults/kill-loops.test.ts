/**
 * SIGKILL loops (issue 9, fault suite): several worker processes share a queue; each time a
 * share of the tasks has finished, a random one is killed with SIGKILL and replaced. Nothing
 * may be lost; a task runs twice only if a killed worker held its lease (at most `concurrency`
 * per kill). Figures are printed as FAULT-FIGURES lines (docs/reliability.md quotes them).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PREFETCH_MAX } from '../../src/core/worker/handlers.ts';
import { Errand } from '../../src/index.ts';
import { startPrivateRedis, tempDir, uniquePrefix } from '../helpers.ts';
import { checkKillLoop, killLoop, lines, startFixture, stopGently, waitFor } from './fleet.ts';

const isEmpty = (s: { waiting: number; delayed: number; leased: number; dead: number }): boolean =>
  s.waiting + s.delayed + s.leased + s.dead === 0;

describe('SIGKILL loops', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  /**
   * Three Redis worker processes (fixture redis-worker.ts, leases of 1 s) in a kill loop; resolves
   * once every task has run, `sending` is done, and the queue is empty again (what killed workers
   * held, some of it finished but unacknowledged, comes back when its lease expires).
   */
  async function redisKillLoop(o: {
    url: string;
    prefix: string;
    dir: string;
    concurrency: number;
    kills: number;
    total: number;
    producer: Errand;
    sending?: Promise<void>;
  }) {
    const files: string[] = [];
    const fleet = await killLoop({
      workers: 3,
      kills: o.kills,
      total: o.total,
      done: () => new Set(lines(...files)).size,
      leased: async () => (await o.producer.stats()).leased,
      start: async (n) => {
        const file = join(o.dir, `w${n}.txt`);
        files.push(file);
        const proc = await startFixture('redis-worker.ts', [o.url, o.prefix, file, o.concurrency, 1000]);
        cleanups.push(() => stopGently(proc, 5000));
        return proc;
      },
    });
    await o.sending;
    await waitFor('every task to finish', 120_000, () => new Set(lines(...files)).size >= o.total);
    await waitFor('the queue to empty', 60_000, async () => isEmpty(await o.producer.stats()));
    await Promise.all(fleet.alive.map((p) => stopGently(p)));
    return { fleet, files };
  }

  it('Redis: 3 worker processes, 10 SIGKILLs mid-run: nothing lost, duplicates within what was in flight', async () => {
    const started = Date.now();
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const prefix = uniquePrefix('killloop');
    const dir = tempDir('killloop');
    const total = 20_000;
    const concurrency = 20;
    const kills = 10;
    const producer = new Errand({ broker: redis.url, prefix });
    cleanups.push(() => producer.close());
    const work = producer.task('work', async (n: number) => n);
    const ids: string[] = [];
    for (let i = 0; i < total; i += 2000) {
      const sent = await work.sendBulk(Array.from({ length: 2000 }, (_, j) => [i + j] as [number]));
      ids.push(...sent.map((s) => s.id));
    }
    const { fleet, files } = await redisKillLoop({
      url: redis.url,
      prefix,
      dir,
      concurrency,
      kills,
      total,
      producer,
    });
    checkKillLoop('redis-sigkill-loop', {
      expected: ids,
      runs: lines(...files),
      fleet,
      // Concurrency plus the default prefetch: leased ahead while tasks are short.
      maxLeases: concurrency + PREFETCH_MAX,
      started,
    });
    const stats = await producer.stats();
    assert.deepEqual(
      [stats.waiting, stats.delayed, stats.leased, stats.dead],
      [0, 0, 0, 0],
      'nothing left behind',
    );
  });

  it('Redis, tasks sent one at a time (idle workers take each as it arrives): 8 SIGKILLs, nothing lost', async () => {
    // Here workers wait with nothing queued, so most tasks reach them through the wait that
    // leases (BLMOVE into a claim list, then claim.lua): kills land in that path too.
    const started = Date.now();
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const prefix = uniquePrefix('killtrickle');
    const dir = tempDir('killtrickle');
    const total = 4000;
    const concurrency = 4;
    const producer = new Errand({ broker: redis.url, prefix });
    cleanups.push(() => producer.close());
    const work = producer.task('work', async (n: number) => n);
    const ids: string[] = [];
    // 500 a second, each send on its own: the queue stays empty between them.
    const sending = (async () => {
      const t0 = Date.now();
      for (let i = 0; i < total; i++) {
        ids.push((await work.send(i)).id);
        const ahead = t0 + (i + 1) * 2 - Date.now();
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      }
    })();
    const { fleet, files } = await redisKillLoop({
      url: redis.url,
      prefix,
      dir,
      concurrency,
      kills: 8,
      total,
      producer,
      sending,
    });
    checkKillLoop('redis-sigkill-trickle', {
      expected: ids,
      runs: lines(...files),
      fleet,
      maxLeases: concurrency + PREFETCH_MAX,
      started,
    });
    const stats = await producer.stats();
    assert.deepEqual([stats.waiting, stats.delayed, stats.leased, stats.dead], [0, 0, 0, 0]);
  });

  it('SQLite: 3 worker processes on one file, 6 SIGKILLs mid-run: nothing lost, duplicates within what was in flight', async () => {
    const started = Date.now();
    const dir = tempDir('killloop-sqlite');
    const db = join(dir, 'queue.db');
    const total = 5000;
    const concurrency = 10;
    const kills = 6;
    const producer = new Errand({ broker: `sqlite:${db}`, prefix: 'loop' });
    cleanups.push(() => producer.close());
    const record = producer.task('record', async (n: number) => n);
    for (let i = 0; i < total; i += 500) {
      await record.sendBulk(Array.from({ length: 500 }, (_, j) => [i + j] as [number]));
    }
    const logs: string[] = [];
    const finished = (): Set<number> => new Set(lines(...logs).map((l) => Number(l.split(' ')[0])));
    const fleet = await killLoop({
      workers: 3,
      kills,
      total,
      done: () => finished().size,
      leased: async () => (await producer.stats()).leased,
      start: async (n) => {
        const log = join(dir, `w${n}.log`);
        logs.push(log);
        // 1-4 ms handlers: a worker dies mid-task, holding leases.
        const proc = await startFixture('sqlite-worker.ts', [db, 'loop', log, concurrency, 1000, 2]);
        cleanups.push(() => stopGently(proc, 5000));
        return proc;
      },
    });
    await waitFor('every task to finish', 120_000, () => finished().size >= total);
    await waitFor('the queue to empty', 60_000, async () => isEmpty(await producer.stats()));
    await Promise.all(fleet.alive.map((p) => stopGently(p)));
    checkKillLoop('sqlite-sigkill-loop', {
      expected: Array.from({ length: total }, (_, i) => i),
      runs: lines(...logs).map((l) => Number(l.split(' ')[0])),
      fleet,
      // Concurrency plus the default prefetch: leased ahead while tasks are short.
      maxLeases: concurrency + PREFETCH_MAX,
      started,
    });
    const stats = await producer.stats();
    assert.deepEqual(
      [stats.waiting, stats.delayed, stats.leased, stats.dead],
      [0, 0, 0, 0],
      'nothing left behind',
    );
  });
});
