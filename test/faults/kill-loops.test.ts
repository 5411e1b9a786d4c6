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
import { Errand, type Task } from '../../src/index.ts';
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
   * Three Redis worker processes (fixture redis-worker.ts, concurrency `o.concurrency`, leases of
   * 1 s) on a private redis-server, one of them SIGKILLed and replaced `o.kills` times while the
   * tasks `o.send` enqueues run (before the loop starts, or during it: `o.duringKills`). Then every
   * task must have run, the queue be empty again (what killed workers held comes back when its
   * lease expires), and the figures hold (checkKillLoop, reported as `name`).
   */
  async function redisKillLoop(
    name: string,
    o: {
      concurrency: number;
      kills: number;
      total: number;
      duringKills: boolean;
      send: (work: Task<[number], number>, ids: string[]) => Promise<void>;
    },
  ): Promise<void> {
    const started = Date.now();
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const prefix = uniquePrefix(name);
    const dir = tempDir(name);
    const producer = new Errand({ broker: redis.url, prefix });
    cleanups.push(() => producer.close());
    const work = producer.task('work', async (n: number) => n);
    const ids: string[] = [];
    const sending = o.send(work, ids);
    if (!o.duringKills) await sending;
    const files: string[] = [];
    const fleet = await killLoop({
      workers: 3,
      kills: o.kills,
      total: o.total,
      done: () => new Set(lines(...files)).size,
      leased: async () => (await producer.stats()).leased,
      start: async (n) => {
        const file = join(dir, `w${n}.txt`);
        files.push(file);
        const proc = await startFixture('redis-worker.ts', [redis.url, prefix, file, o.concurrency, 1000]);
        cleanups.push(() => stopGently(proc, 5000));
        return proc;
      },
    });
    await sending;
    await waitFor('every task to finish', 120_000, () => new Set(lines(...files)).size >= o.total);
    await waitFor('the queue to empty', 60_000, async () => isEmpty(await producer.stats()));
    await Promise.all(fleet.alive.map((p) => stopGently(p)));
    checkKillLoop(name, {
      expected: ids,
      runs: lines(...files),
      fleet,
      // Concurrency plus the default prefetch: leased ahead while tasks are short.
      maxLeases: o.concurrency + PREFETCH_MAX,
      started,
    });
    const stats = await producer.stats();
    assert.deepEqual(
      [stats.waiting, stats.delayed, stats.leased, stats.dead],
      [0, 0, 0, 0],
      'nothing left behind',
    );
  }

  it('Redis: 3 worker processes, 10 SIGKILLs mid-run: nothing lost, duplicates within what was in flight', async () => {
    const total = 20_000;
    await redisKillLoop('redis-sigkill-loop', {
      concurrency: 20,
      kills: 10,
      total,
      duringKills: false,
      send: async (work, ids) => {
        for (let i = 0; i < total; i += 2000) {
          const sent = await work.sendBulk(Array.from({ length: 2000 }, (_, j) => [i + j] as [number]));
          ids.push(...sent.map((s) => s.id));
        }
      },
    });
  });

  it('Redis, tasks sent alone or a few together (idle workers take them as they arrive): 8 SIGKILLs, nothing lost', async () => {
    // Here workers wait with nothing queued, so most tasks reach them through the wait that
    // leases (BLMOVE, and LMOVEs for those sent together, into a claim list, then claim.lua):
    // kills land in that path too.
    const total = 4000;
    await redisKillLoop('redis-sigkill-trickle', {
      concurrency: 4,
      kills: 8,
      total,
      duringKills: true,
      // 500 a second, most sends alone, some of 2 or 3 together: the queue stays empty between them.
      send: async (work, ids) => {
        const t0 = Date.now();
        const sizes = [1, 3, 1, 2];
        for (let i = 0, group = 0; i < total; group++) {
          const n = Math.min(sizes[group % sizes.length]!, total - i);
          const sent = await work.sendBulk(Array.from({ length: n }, (_, j) => [i + j] as [number]));
          ids.push(...sent.map((s) => s.id));
          i += n;
          const ahead = t0 + i * 2 - Date.now();
          if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
        }
      },
    });
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
