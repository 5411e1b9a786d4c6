/**
 * Result records ride on the settle script (issue 11): a worker's settle and the records of
 * the same step are one command, one round trip; records with no settle to ride on are still
 * written, and a failed ride fails the write too (so the settler retries it, nothing is lost).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RedisBroker, RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import { queueKeys } from '../src/brokers/redis/keys.ts';
import type { TaskRecord } from '../src/core/port.ts';
import { Errand } from '../src/index.ts';
import { REDIS_URL, uniquePrefix } from './helpers.ts';

type Send = (args: readonly unknown[], options?: unknown) => Promise<unknown>;

/** Counts the commands the shared client sends, by name (EVALSHA by the first line of its script). */
function countCommands(connection: RedisConnection): Map<string, number> {
  const counts = new Map<string, number>();
  const client = connection.client as unknown as { sendCommand: Send };
  const send = client.sendCommand;
  client.sendCommand = (args, options) => {
    counts.set(String(args[0]), (counts.get(String(args[0])) ?? 0) + 1);
    return send(args, options);
  };
  return counts;
}

const record = (id: string, state: TaskRecord['state']): TaskRecord => ({
  id,
  task: 't',
  queue: 'q',
  state,
  attempt: 1,
  createdAt: 1,
  updatedAt: 2,
  ...(state === 'SUCCESS' && { result: { id } }),
});

describe('result records ride on the settle script', () => {
  const prefix = uniquePrefix('ride');
  const connection = new RedisConnection({ url: REDIS_URL }).retain().retain();
  const broker = new RedisBroker(connection, { prefix });
  const backend = new RedisResultBackend(connection, prefix);
  after(async () => {
    const client = await connection.ready();
    const keys = (await client.sendCommand(['KEYS', `${prefix}:*`])) as string[];
    if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
    await Promise.all([broker.close(), backend.close()]);
  });

  it('a write and a settle issued in the same step are one command, and both apply', async () => {
    await broker.enqueue('q', [{ body: 'a' }, { body: 'b' }], 60_000);
    const now = Date.now();
    const [a, b] = (await broker.reserve('q', { max: 2, leaseMs: 60_000, maxDeliveries: 5, now })).messages;
    const finals: string[][] = [];
    const stop = await backend.onFinal((ids) => ids.length > 0 && finals.push([...ids]));
    const counts = countCommands(connection);
    const [, settled] = await Promise.all([
      backend.write([record('ra', 'SUCCESS'), record('rb', 'STARTED')], 60_000),
      broker.settle('q', { acks: [a!.token, b!.token] }, Date.now()),
    ]);
    assert.deepEqual(settled.lost, []);
    assert.deepEqual(Object.fromEntries(counts), { EVALSHA: 1 }, 'one script call for both');
    assert.deepEqual(await backend.read('ra'), record('ra', 'SUCCESS'));
    assert.deepEqual(await backend.read('rb'), record('rb', 'STARTED'));
    assert.deepEqual(await broker.stats('q'), { waiting: 0, delayed: 0, leased: 0, dead: 0 });
    const client = await connection.ready();
    const ttl = Number(await client.sendCommand(['PTTL', `${prefix}:result:ra`]));
    assert.ok(ttl > 50_000 && ttl <= 60_000, `time to live ${ttl} ms`);
    // Only the final record is announced.
    for (let i = 0; i < 100 && finals.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(finals, [['ra']]);
    await stop();
  });

  it('records with no settle in the same step are written on their own', async () => {
    await backend.write([record('alone', 'STARTED')], 60_000);
    assert.deepEqual(await backend.read('alone'), record('alone', 'STARTED'));
  });

  it('a settle with no outcomes leaves the records to their own write', async () => {
    const [, settled] = await Promise.all([
      backend.write([record('empty-settle', 'SUCCESS')], 60_000),
      broker.settle('q', {}, Date.now()),
    ]);
    assert.deepEqual(settled.lost, []);
    assert.deepEqual(await backend.read('empty-settle'), record('empty-settle', 'SUCCESS'));
  });

  it('when the settle script fails, the records riding on it fail too (the settler retries them)', async () => {
    const client = await connection.ready();
    // A wait list that is not a list: the script fails when it leases (after the checks).
    await client.sendCommand(['SET', queueKeys(prefix, 'broken').wait, 'not a list']);
    const [written, settled] = await Promise.allSettled([
      backend.write([record('rides-a-failure', 'SUCCESS')], 60_000),
      broker.settleAndReserve(
        'broken',
        { acks: ['no-such-token'] },
        {
          max: 1,
          leaseMs: 60_000,
          maxDeliveries: 5,
          now: Date.now(),
        },
      ),
    ]);
    assert.equal(settled.status, 'rejected');
    // Its caller cannot know how far a failed script got: the write reports the failure.
    assert.equal(written.status, 'rejected', 'the write must not report success when its script failed');
    // Written again (as the settler does), on their own this time, they are stored.
    await backend.write([record('rides-a-failure', 'SUCCESS')], 60_000);
    assert.deepEqual(await backend.read('rides-a-failure'), record('rides-a-failure', 'SUCCESS'));
  });
});

describe('a worker at concurrency 1 sends one command per task', () => {
  it('settle, result write and the next reserve are one script call', async () => {
    const prefix = uniquePrefix('ride-worker');
    const errand = new Errand({ broker: REDIS_URL, prefix });
    const echo = errand.task('echo', async (n: number) => n * 2);
    const n = 50;
    const sent = await echo.sendBulk(Array.from({ length: n }, (_, i) => [i] as [number]));
    const connection = (
      (await (errand as unknown as { runtime: { stores(): Promise<{ broker: unknown }> } }).runtime.stores())
        .broker as { connection: RedisConnection }
    ).connection;
    const counts = countCommands(connection);
    const worker = errand.worker({ concurrency: 1, handleSignals: false });
    let done = 0;
    const finished = new Promise<void>((resolve) => worker.on('completed', () => ++done === n && resolve()));
    await worker.start();
    await finished;
    await worker.stop();
    // Reserves, recovery checks and the first lease add a few; without the ride every task
    // would add a write-results call (2n).
    const evalsha = counts.get('EVALSHA') ?? 0;
    assert.ok(evalsha <= n + 10, `${evalsha} script calls for ${n} tasks`);
    assert.equal(await sent[n - 1]!.result({ timeoutMs: 5000 }), 2 * (n - 1));
    assert.equal(await sent[0]!.result({ timeoutMs: 5000 }), 0);
    await errand.close();
  });
});
