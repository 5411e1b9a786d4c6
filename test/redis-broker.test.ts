import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RedisBroker, RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import { queueKeys } from '../src/brokers/redis/keys.ts';
import { runScript } from '../src/brokers/redis/scripts.ts';
import { runBrokerContract, withPeers } from './contract/broker.contract.ts';
import { REDIS_URL, uniquePrefix } from './helpers.ts';

runBrokerContract({
  name: 'redis',
  create: async () => {
    const prefix = uniquePrefix('contract');
    const open = () => {
      const connection = new RedisConnection({ url: REDIS_URL }).retain().retain();
      return {
        broker: new RedisBroker(connection, { prefix }),
        backend: new RedisResultBackend(connection, prefix),
      };
    };
    const fixture = withPeers(open(), open);
    return {
      ...fixture,
      close: async () => {
        await fixture.close();
        const client = await new RedisConnection({ url: REDIS_URL }).ready();
        const keys = (await client.sendCommand(['KEYS', `${prefix}:*`])) as string[];
        if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
        await client.close();
      },
    };
  },
});

describe('redis scripts apply entirely or not at all (issue 9, item 1)', () => {
  const prefix = uniquePrefix('scripts');
  const connection = new RedisConnection({ url: REDIS_URL }).retain();
  const broker = new RedisBroker(connection, { prefix });
  after(async () => {
    await broker.close();
    const client = await new RedisConnection({ url: REDIS_URL }).ready();
    const keys = (await client.sendCommand(['KEYS', `${prefix}:*`])) as string[];
    if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
    await client.close();
  });
  const k = queueKeys(prefix, 'q');
  const settleKeys = [k.wait, k.delayed, k.leases, k.inflight, k.expired, k.dead, k.deadIndex];

  it('settle.lua with a due time that is not a number fails before its first write', async () => {
    await broker.enqueue('q', [{ body: 'a' }, { body: 'b' }], 60_000);
    const [a, b] = (await broker.reserve('q', { max: 2, leaseMs: 60_000, maxDeliveries: 5, now: Date.now() }))
      .messages;
    const client = await connection.ready();
    // What the old worker sent for RetryLater() with no delay: ack a, retry b due at NaN.
    const args = [Date.now(), 100, 1, 1, 0, 0, 0, a!.token, b!.token, 'b2', 'NaN'];
    await assert.rejects(
      runScript(client, 'settle', settleKeys, args),
      /retry due time must be a finite number/,
    );
    assert.deepEqual(
      await broker.stats('q'),
      { waiting: 0, delayed: 0, leased: 2, dead: 0 },
      'nothing changed',
    );
    // The same batch through the broker: the bad retry is dead-lettered, the ack applies.
    const result = await broker.settle(
      'q',
      { acks: [a!.token], retries: [{ token: b!.token, body: 'b2', dueAt: Number.NaN }] },
      Date.now(),
    );
    assert.deepEqual(result.lost, []);
    assert.deepEqual(await broker.stats('q'), { waiting: 0, delayed: 0, leased: 0, dead: 1 });
    assert.match((await broker.listDead('q', 0, 1))[0]!.reason, /due time NaN is not a finite number/);
  });

  it('enqueue.lua refuses a batch with a bad due time before claiming any dedupe key', async () => {
    const client = await connection.ready();
    const args = [Date.now(), 60_000, 1, 'x', '', 1, 'y', 'inf', 0];
    await assert.rejects(runScript(client, 'enqueue', [k.wait, k.delayed, k.dedupe('d1')], args), /due time/);
    assert.equal(await client.sendCommand(['EXISTS', k.dedupe('d1')]), 0, 'dedupe key not claimed');
    assert.equal(await client.sendCommand(['LLEN', k.wait]), 0);
  });

  it('a blocking wait sets no timer that outlives it (node-redis per-command AbortSignal.timeout)', async () => {
    // Each such signal holds a timer and a weak reference for its whole 5 s: an idle worker
    // woken per task piled them up into the old generation, and every scavenge slowed down.
    const client = await connection.ready();
    const q = 'wakes';
    await client.sendCommand(['RPUSH', queueKeys(prefix, q).wait, 'x']);
    const original = AbortSignal.timeout;
    let made = 0;
    AbortSignal.timeout = (ms: number) => {
      made++;
      return original.call(AbortSignal, ms);
    };
    try {
      const signal = new AbortController().signal;
      const started = Date.now();
      // The list is not empty: each wait is one BLMOVE answered at once.
      for (let i = 0; i < 30; i++) await broker.waitForWork(q, Date.now() + 1000, signal);
      assert.ok(Date.now() - started < 1000, 'waits on a non-empty list return at once');
    } finally {
      AbortSignal.timeout = original;
    }
    assert.equal(made, 0, `${made} timeout signals made by 30 blocking waits`);
  });

  it('a blocking wait that fails (or gets a due time that is not a number) still waits, so no loop spins', async () => {
    const client = await connection.ready();
    const q = 'wrongtype';
    await client.sendCommand(['SET', queueKeys(prefix, q).wait, 'not a list']); // BLMOVE fails: WRONGTYPE
    const signal = new AbortController().signal;
    let calls = 0;
    const started = Date.now();
    while (Date.now() - started < 1500) {
      await broker.waitForWork(q, Date.now() + 300, signal);
      calls++;
    }
    assert.ok(calls <= 8, `${calls} failing waits in 1.5 s (each must last its 300 ms)`);
    const t0 = Date.now();
    await broker.waitForWork('q', Number.NaN, signal);
    assert.ok(Date.now() - t0 >= 1900, `a NaN deadline waits the 2 s cap (took ${Date.now() - t0} ms)`);
    const reserved = await broker.reserve('q', { max: 1, leaseMs: 1000, maxDeliveries: 5, now: Date.now() });
    assert.equal(reserved.nextDueAt, undefined);
    // A foreign ZADD of +inf: no due time to wake for, rather than NaN.
    await client.sendCommand(['ZADD', k.delayed, 'inf', 'forever']);
    const next = await broker.reserve('q', { max: 1, leaseMs: 1000, maxDeliveries: 5, now: Date.now() });
    assert.equal(next.nextDueAt, undefined);
  });
});
