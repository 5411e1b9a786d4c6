/**
 * Redis itself fails (issue 9, fault suite), on a redis-server of the test's own:
 * - SIGKILL and restart mid-run (AOF, fsync always), three times: no acknowledged send is lost.
 * - SIGSTOP for longer than the lease (item 9): long tasks are not run a second time.
 * - SIGSTOP under a blocking wait: the wait ends within its bound (no per-command timer of node-redis).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createClient } from '@redis/client';
import { COMMAND_TIMEOUT_MS } from '../../src/brokers/redis/connection.ts';
import { RedisBroker, RedisConnection } from '../../src/brokers/redis/index.ts';
import { PREFETCH_MAX } from '../../src/core/worker/handlers.ts';
import { Errand } from '../../src/index.ts';
import { type PrivateRedis, startPrivateRedis, tempDir, uniquePrefix } from '../helpers.ts';
import { lines, report, startFixture, stopGently, waitFor } from './fleet.ts';

async function pidOf(redis: PrivateRedis): Promise<number> {
  const client = createClient({ url: redis.url, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  const info = (await client.sendCommand(['INFO', 'server'])) as string;
  await client.close();
  return Number(/process_id:(\d+)/.exec(info)?.[1]);
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis outages', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('Redis SIGKILLed and restarted 3 times mid-run: no acknowledged send is lost', async () => {
    const started = Date.now();
    const redis = await startPrivateRedis({ appendonly: true });
    let redisUp = true;
    cleanups.push(async () => redisUp && (await redis.stop()));
    const prefix = uniquePrefix('redis-kill');
    const dir = tempDir('redis-kill');
    const concurrency = 10;
    const files = [join(dir, 'a.txt'), join(dir, 'b.txt')];
    const workers = await Promise.all(
      files.map((f) => startFixture('redis-worker.ts', [redis.url, prefix, f, concurrency, 1000])),
    );
    for (const w of workers) cleanups.push(() => stopGently(w, 5000));
    const producer = new Errand({ broker: redis.url, prefix, logger: quiet });
    cleanups.push(() => producer.close());
    const work = producer.task('work', async (n: number) => n);
    // The producer sends chunks in a loop; a chunk whose send resolved is acknowledged.
    const acked: string[] = [];
    let refused = 0;
    let sending = true;
    const produce = (async () => {
      for (let n = 0; sending; n += 100) {
        try {
          const sent = await work.sendBulk(Array.from({ length: 100 }, (_, i) => [n + i] as [number]));
          acked.push(...sent.map((s) => s.id));
        } catch {
          refused++; // not acknowledged: it may or may not run, and does not count
          await delay(100);
        }
        await delay(5);
      }
    })();
    const restarts = 3;
    for (let i = 0; i < restarts; i++) {
      await waitFor('progress before a kill', 60_000, () => lines(...files).length >= 1000 * (i + 1));
      process.kill(await pidOf(redis), 'SIGKILL');
      redisUp = false;
      await delay(500);
      await redis.start();
      redisUp = true;
    }
    await delay(1000);
    sending = false;
    await produce;
    await waitFor('every acknowledged send to run', 120_000, () => {
      const done = new Set(lines(...files));
      return acked.every((id) => done.has(id));
    });
    await Promise.all(workers.map((w) => stopGently(w)));
    const runs = lines(...files);
    const unique = new Set(runs);
    const lost = acked.filter((id) => !unique.has(id)).length;
    const figures = {
      tasks: acked.length,
      kills: restarts,
      runs: runs.length,
      lost,
      duplicates: runs.length - unique.size,
      // Each worker holds at most concurrency + its default prefetch leases.
      bound: restarts * workers.length * (concurrency + PREFETCH_MAX),
      seconds: Math.round((Date.now() - started) / 1000),
    };
    report('redis-sigkill-restart', { ...figures, refusedSends: refused } as typeof figures);
    assert.equal(lost, 0, 'every acknowledged send ran');
    assert.ok(
      figures.duplicates <= figures.bound,
      `${figures.duplicates} duplicates (bound ${figures.bound})`,
    );
  });

  it('Redis stopped (SIGSTOP) for longer than the lease: running tasks are not run a second time', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const pid = await pidOf(redis);
    const prefix = uniquePrefix('redis-stop');
    const errand = new Errand({ broker: redis.url, prefix, logger: quiet });
    cleanups.push(async () => {
      process.kill(pid, 'SIGCONT');
      await errand.close();
    });
    const leaseMs = 1500;
    const runs = new Map<number, number>();
    const long = errand.task('long', async (n: number) => {
      runs.set(n, (runs.get(n) ?? 0) + 1);
      await delay(6000);
      return n;
    });
    // Free slots in both workers: their fetch loops reserve (and recover) as soon as Redis answers.
    await errand.worker({ concurrency: 8, leaseMs, handleSignals: false }).start();
    const peer = new Errand({ broker: redis.url, prefix, logger: quiet });
    cleanups.push(() => peer.close());
    peer.task('long', async (n: number) => {
      runs.set(n, (runs.get(n) ?? 0) + 1);
      await delay(6000);
      return n;
    });
    await peer.worker({ concurrency: 8, leaseMs, handleSignals: false }).start();
    const sent = await long.sendBulk([[0], [1], [2], [3]]);
    await waitFor('all four to start', 20_000, () => runs.size === 4);
    process.kill(pid, 'SIGSTOP');
    await delay(2.5 * leaseMs); // every lease expires while Redis is stopped
    process.kill(pid, 'SIGCONT');
    const results = await Promise.all(sent.map((s) => s.result({ timeoutMs: 30_000 })));
    assert.deepEqual(results, [0, 1, 2, 3]);
    await delay(2 * leaseMs); // a redelivery, if any, would start now
    assert.deepEqual([...runs.values()], [1, 1, 1, 1], `runs per task: ${JSON.stringify([...runs])}`);
    report('redis-sigstop', {
      tasks: 4,
      kills: 1,
      runs: [...runs.values()].reduce((a, b) => a + b, 0),
      lost: 0,
      duplicates: [...runs.values()].reduce((a, b) => a + b, 0) - 4,
      bound: 0,
      seconds: Math.round((2.5 * leaseMs) / 1000),
    });
  });

  it('Redis stopped (SIGSTOP) under a blocking wait: the wait ends within its bound', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const pid = await pidOf(redis);
    const connection = new RedisConnection({ url: redis.url }).retain();
    const broker = new RedisBroker(connection, { prefix: uniquePrefix('redis-stop-wait') });
    cleanups.push(async () => {
      process.kill(pid, 'SIGCONT');
      await broker.close();
    });
    await broker.waitForWork('q', Date.now() + 50, new AbortController().signal); // connected, idle
    process.kill(pid, 'SIGSTOP');
    const started = Date.now();
    // Never aborted: only the wait's own bound can end it while Redis does not answer.
    await broker.waitForWork('q', Date.now() + 1000, new AbortController().signal);
    const took = Date.now() - started;
    process.kill(pid, 'SIGCONT');
    assert.ok(
      took >= 1000 && took < COMMAND_TIMEOUT_MS + 1500,
      `waited ${took} ms (bound ${COMMAND_TIMEOUT_MS} ms)`,
    );
  });
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
