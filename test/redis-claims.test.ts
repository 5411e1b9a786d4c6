/**
 * RedisBroker.waitAndLease: an idle worker's BLMOVE takes the message into a claim list and
 * claim.lua leases it. What a crash, a wake-up marker, a redelivery and a flushed script cache
 * do to that path (the contract suite checks the common behaviour).
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createClient } from '@redis/client';
import { RedisBroker, RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import { queueKeys } from '../src/brokers/redis/keys.ts';
import { runScript } from '../src/brokers/redis/scripts.ts';
import type { ClaimedLeases } from '../src/core/port.ts';
import { Errand, taskContext } from '../src/index.ts';
import { deleteByPrefix, eventually, REDIS_URL, startPrivateRedis, uniquePrefix } from './helpers.ts';

const request = (now: number, leaseMs = 1000) => ({ max: 10, leaseMs, maxDeliveries: 5, now });
const never = new AbortController().signal;
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

describe('redis: the wait that leases (waitAndLease, claim.lua)', () => {
  const prefix = uniquePrefix('claims');
  const connection = new RedisConnection({ url: REDIS_URL }).retain();
  const broker = new RedisBroker(connection, { prefix });
  after(async () => {
    await broker.close();
    await deleteByPrefix(prefix);
  });
  const client = () => connection.ready();
  const claimKeys = async (queue: string) =>
    (await (await client()).sendCommand(['KEYS', `${prefix}:{${queue}}:claim:*`])) as string[];

  it('a worker killed (SIGKILL) between taking messages and leasing them loses nothing: recovered in order, counted', async () => {
    const q = 'killed';
    const k = queueKeys(prefix, q);
    const child = fork(
      new URL('./fixtures/claim-and-die.ts', import.meta.url).pathname,
      [REDIS_URL, prefix, q, '300', '2'],
      { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const died = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    // Sent together: the wait's BLMOVE takes the first, the LMOVE behind it the second.
    await broker.enqueue(q, [{ body: 'survivor' }, { body: 'second' }], 60_000);
    assert.equal(await died, 'SIGKILL');
    const c = await client();
    // Left where the crash left them: in the claim list, leased by nobody, registered with a deadline.
    const [claim] = await claimKeys(q);
    assert.ok(claim, 'the claim list is there');
    assert.deepEqual(await c.sendCommand(['LRANGE', claim, '0', '-1']), ['survivor', 'second']);
    assert.equal(await c.sendCommand(['ZCARD', k.leases]), 0);
    assert.equal(await c.sendCommand(['ZCARD', k.claims]), 1);
    // Before the deadline (the wait's end plus a lease) nobody takes it...
    assert.deepEqual((await broker.reserve(q, request(Date.now()))).messages, []);
    // ...after it, the first recover puts them back in order, each counted as a delivery like an expired lease.
    const later = Date.now() + 10_000 + 300 + 1;
    const { messages } = await broker.reserve(q, request(later));
    assert.deepEqual(
      messages.map((m) => [m.body, m.delivery]),
      [
        ['survivor', 2],
        ['second', 2],
      ],
    );
    assert.deepEqual(await claimKeys(q), []);
    assert.equal(await c.sendCommand(['ZCARD', k.claims]), 0);
  });

  it('a lapsed claim holding a wake-up marker is dropped, not counted as a delivery', async () => {
    const q = 'marker-lapsed';
    const k = queueKeys(prefix, q);
    const c = await client();
    const claim = k.claim('host:1:abc/7');
    await c.sendCommand(['RPUSH', claim, '']);
    await c.sendCommand(['ZADD', k.claims, String(Date.now() - 1), claim]);
    assert.deepEqual((await broker.reserve(q, request(Date.now()))).messages, []);
    assert.equal(await c.sendCommand(['EXISTS', k.expired, claim]), 0);
    assert.equal(await c.sendCommand(['ZCARD', k.claims]), 0);
  });

  it('a lapsed claim holding several messages: each dead-lettered under a key of its own once delivered too often', async () => {
    const q = 'lapsed-pair';
    const k = queueKeys(prefix, q);
    const c = await client();
    const claim = k.claim('host:1:abc/11');
    await c.sendCommand(['RPUSH', claim, 'x', 'y']);
    await c.sendCommand(['ZADD', k.claims, String(Date.now() - 1), claim]);
    // Both delivered four times already: this lapse is their fifth, maxDeliveries.
    await c.sendCommand(['HSET', k.expired, sha1('x'), '4', sha1('y'), '4']);
    const { messages, deadLettered } = await broker.reserve(q, request(Date.now()));
    assert.deepEqual(messages, []);
    assert.deepEqual(
      (deadLettered ?? []).map((d) => [d.key, d.body]),
      [
        ['host:1:abc/11+1', 'y'],
        ['host:1:abc/11', 'x'],
      ],
    );
    assert.equal((await broker.stats(q)).dead, 2);
  });

  it('messages sent together are taken by one wait, up to its max: leased in order under tokens of their own', async () => {
    const q = 'together';
    const k = queueKeys(prefix, q);
    const c = await client();
    const waiting = broker.waitAndLease(q, Date.now() + 5000, { leaseMs: 1000, max: 3 }, never);
    setTimeout(
      () =>
        void broker.enqueue(
          q,
          ['m1', 'm2', 'm3', 'm4'].map((body) => ({ body })),
          60_000,
        ),
      50,
    );
    const taken = await waiting;
    assert.ok(taken);
    assert.deepEqual(
      taken.claimed.map((t) => [t.message.body, t.message.delivery]),
      [
        ['m1', 1],
        ['m2', 1],
        ['m3', 1],
      ],
    );
    assert.equal(taken.more, true, 'm4 waits behind them');
    for (const t of taken.claimed) assert.equal(await t.leased, true);
    const tokens = taken.claimed.map((t) => t.message.token);
    assert.equal(new Set(tokens).size, 3);
    for (const token of tokens) assert.notEqual(await c.sendCommand(['ZSCORE', k.leases, token]), null);
    assert.deepEqual(await c.sendCommand(['LRANGE', k.wait, '0', '-1']), ['m4']);
    assert.deepEqual(await claimKeys(q), []);
    assert.deepEqual((await broker.settle(q, { acks: tokens }, Date.now())).lost, []);
    // Never more than the broker's own cap per wait, whatever the caller asks for.
    await c.sendCommand(['DEL', k.wait]);
    const capped = broker.waitAndLease(q, Date.now() + 5000, { leaseMs: 1000, max: 100 }, never);
    setTimeout(
      () =>
        void broker.enqueue(
          q,
          Array.from({ length: 10 }, (_, i) => ({ body: `n${i}` })),
          60_000,
        ),
      50,
    );
    const many = await capped;
    assert.ok(many && many.claimed.length >= 1 && many.claimed.length < 10, `took ${many?.claimed.length}`);
    await assert.rejects(
      broker.waitAndLease(q, Date.now() + 100, { leaseMs: 1000, max: 0 }, never),
      /waitAndLease: max must be a positive integer \(got 0\)/,
    );
  });

  it('a wait that ends without a message leaves no claim behind', async () => {
    const q = 'timeouts';
    const k = queueKeys(prefix, q);
    for (let i = 0; i < 3; i++)
      assert.equal(await broker.waitAndLease(q, Date.now() + 200, { leaseMs: 1000 }, never), undefined);
    assert.deepEqual(await claimKeys(q), []);
    assert.equal(await (await client()).sendCommand(['ZCARD', k.claims]), 0);
  });

  it('an aborted wait hands back what its BLMOVE may have taken (claim.lua return), leaving no claim', async () => {
    const q = 'aborted';
    const k = queueKeys(prefix, q);
    const c = await client();
    // What an abort can leave when the reply to the BLMOVE was lost with the closed connection.
    const claim = k.claim('host:1:abc/9');
    await c.sendCommand(['RPUSH', k.wait, 'behind']);
    await c.sendCommand(['RPUSH', claim, 'taken']);
    await c.sendCommand(['ZADD', k.claims, String(Date.now() + 60_000), claim]);
    await runScript(
      c,
      'claim',
      [k.claims, claim, k.leases, k.inflight, k.wait, k.expired],
      ['host:1:abc/', 9, Date.now(), 1000, 1, 'return'],
    );
    assert.deepEqual(await c.sendCommand(['LRANGE', k.wait, '0', '-1']), ['taken', 'behind']);
    assert.equal(await c.sendCommand(['EXISTS', claim, k.leases, k.expired]), 0);
    assert.equal(await c.sendCommand(['ZCARD', k.claims]), 0);
    // A real aborted wait leaves nothing: the ZADD queued behind the unserved BLMOVE never ran.
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    assert.equal(
      await broker.waitAndLease('aborted-empty', Date.now() + 5000, { leaseMs: 1000 }, ac.signal),
      undefined,
    );
    assert.equal(await c.sendCommand(['ZCARD', queueKeys(prefix, 'aborted-empty').claims]), 0);
    assert.deepEqual(await claimKeys('aborted-empty'), []);
  });

  it('woken by a delayed message becoming the earliest: no lease, nothing claimed, the message comes due', async () => {
    const q = 'marker';
    const k = queueKeys(prefix, q);
    const t = Date.now();
    assert.deepEqual((await broker.reserve(q, request(t))).messages, []);
    const waiting = broker.waitAndLease(q, t + 5000, { leaseMs: 1000 }, never);
    setTimeout(() => void broker.enqueue(q, [{ body: 'later', dueAt: t + 300 }], 60_000), 50);
    assert.equal(await waiting, undefined);
    assert.ok(Date.now() - t < 1000, `woken after ${Date.now() - t} ms`);
    const c = await client();
    assert.deepEqual(await claimKeys(q), []);
    assert.equal(await c.sendCommand(['ZCARD', k.claims]), 0);
    assert.equal(await c.sendCommand(['ZCARD', k.leases]), 0);
    await eventually(async () => (await broker.reserve(q, request(Date.now()))).messages.length === 1, 3000);
  });

  it('a message delivered before is handed over only once leased, with its delivery count', async () => {
    const q = 'redelivered';
    const k = queueKeys(prefix, q);
    const c = await client();
    // What recover.lua leaves for a message whose lease expired once (the count, keyed by body).
    await c.sendCommand(['HSET', k.expired, sha1('again'), '1']);
    const waiting = broker.waitAndLease(q, Date.now() + 5000, { leaseMs: 1000 }, never);
    setTimeout(() => void broker.enqueue(q, [{ body: 'again' }], 60_000), 50);
    const [claimed] = (await waiting)?.claimed ?? [];
    assert.ok(claimed);
    assert.equal(claimed.message.delivery, 2);
    assert.equal((await c.sendCommand(['ZSCORE', k.leases, claimed.message.token])) !== null, true);
    assert.equal(await claimed.leased, true);
  });

  it('the lease comes before a settle sent right after the hand-over, even with the script cache flushed', async () => {
    const q = 'ordered';
    const c = await client();
    await c.sendCommand(['SCRIPT', 'FLUSH']);
    // The settle script is cached again; claim.lua is not: an EVALSHA of it would be refused
    // (NOSCRIPT) and re-sent behind the settle below, which would then find no lease.
    await broker.enqueue(q, [{ body: 'warm' }], 60_000);
    const [warm] = (await broker.reserve(q, request(Date.now()))).messages;
    await broker.settle(q, { acks: [warm!.token] }, Date.now());
    const waiting = broker.waitAndLease(q, Date.now() + 5000, { leaseMs: 1000 }, never);
    setTimeout(() => void broker.enqueue(q, [{ body: 'quick' }], 60_000), 50);
    const [claimed] = (await waiting)?.claimed ?? [];
    assert.ok(claimed);
    const settled = await broker.settle(q, { acks: [claimed.message.token] }, Date.now());
    assert.deepEqual(settled.lost, []);
    assert.equal(await claimed.leased, true);
    assert.deepEqual(await broker.stats(q), { waiting: 0, delayed: 0, leased: 0, dead: 0 });
  });
});

/** A Redis broker whose first wait-and-lease says its lease never came (as when claim.lua lost the race). */
class FirstClaimLost extends RedisBroker {
  private lost = false;
  override async waitAndLease(
    queue: string,
    until: number,
    lease: { readonly leaseMs: number; readonly max?: number },
    signal: AbortSignal,
  ): Promise<ClaimedLeases | undefined> {
    const taken = await super.waitAndLease(queue, until, lease, signal);
    if (!taken || this.lost) return taken;
    this.lost = true;
    const [first, ...rest] = taken.claimed;
    return { ...taken, claimed: [{ ...first!, leased: first!.leased.then(() => false) }, ...rest] };
  }
}

describe('redis: a worker whose message was handed over before its lease', () => {
  const prefix = uniquePrefix('claims-worker');
  after(() => deleteByPrefix(prefix));

  it('stops the run when the lease never comes: no outcome applied, the task runs again', async () => {
    const connection = new RedisConnection({ url: REDIS_URL }).retain().retain();
    const errand = new Errand({
      broker: new FirstClaimLost(connection, { prefix }),
      backend: new RedisResultBackend(connection, prefix),
    });
    const runs: Array<{ delivery: number; aborted?: string }> = [];
    const task = errand.task('waits', async () => {
      const { signal, delivery } = taskContext();
      const run: { delivery: number; aborted?: string } = { delivery };
      runs.push(run);
      if (runs.length > 1) return 'done';
      // The first run waits for its signal: the lost lease must abort it.
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      run.aborted = (signal.reason as Error).name;
      return 'first';
    });
    const worker = errand.worker({ concurrency: 1, leaseMs: 500, handleSignals: false });
    const completed: unknown[] = [];
    worker.on('completed', (e) => completed.push(e.result));
    await worker.start();
    try {
      // Idle first, so the message comes through the wait.
      await new Promise((r) => setTimeout(r, 200));
      await task.send();
      await eventually(() => completed.length === 1, 10_000, 'the second run to complete');
      assert.equal(runs[0]?.aborted, 'LeaseLostError');
      assert.deepEqual(completed, ['done'], 'the first run, without a lease, completed nothing');
      assert.equal(runs[1]?.delivery, 2, 'its lease expired and it was delivered again');
    } finally {
      await worker.stop();
      await errand.close();
    }
  });
});

/** A Redis broker that counts the messages its reserves hand out. */
class CountingReserves extends RedisBroker {
  reservedMessages = 0;
  override async reserve(...args: Parameters<RedisBroker['reserve']>) {
    const reserved = await super.reserve(...args);
    this.reservedMessages += reserved.messages.length;
    return reserved;
  }
}

describe('redis: an idle worker and tasks sent together', () => {
  const prefix = uniquePrefix('claims-together');
  after(() => deleteByPrefix(prefix));

  it('starts them all from its wait, none by a reserve after it', async () => {
    const connection = new RedisConnection({ url: REDIS_URL }).retain().retain();
    const broker = new CountingReserves(connection, { prefix });
    const errand = new Errand({ broker, backend: new RedisResultBackend(connection, prefix) });
    const starts: number[] = [];
    const task = errand.task('together', async (n: number) => {
      starts.push(n);
      return n;
    });
    const worker = errand.worker({ concurrency: 4, leaseMs: 60_000, handleSignals: false });
    let completed = 0;
    worker.on('completed', () => completed++);
    await worker.start();
    try {
      // Idle first, so the tasks come through the wait; its first reserve found nothing.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(broker.reservedMessages, 0);
      await task.sendBulk([[1], [2], [3]]);
      await eventually(() => completed === 3, 10_000, 'the three tasks to complete');
      assert.deepEqual(starts, [1, 2, 3]);
      assert.equal(broker.reservedMessages, 0, 'no reserve handed out any of them');
    } finally {
      await worker.stop();
      await errand.close();
    }
  });
  it('a lone task costs its worker two writes: the wait, then the lease and the settle together', async () => {
    // Counted by a Redis of our own (total_reads_processed: one read per write that reaches it).
    const redis = await startPrivateRedis();
    const producer = new Errand({ broker: redis.url, prefix });
    const errand = new Errand({ broker: redis.url, prefix });
    errand.task('alone', async (n: number) => n);
    const alone = producer.task('alone', async (n: number) => n);
    const worker = errand.worker({ concurrency: 4, handleSignals: false });
    let completed = 0;
    let onCompleted = (): void => {};
    worker.on('completed', () => {
      completed++;
      onCompleted();
    });
    const admin = createClient({ url: redis.url });
    await admin.connect();
    const reads = async () => Number(/total_reads_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);
    try {
      await worker.start();
      await alone.send(0);
      await eventually(() => completed === 1, 10_000, 'the first task');
      const tasks = 40;
      const before = await reads();
      for (let i = 1; i <= tasks; i++) {
        // Each sent once the one before completed (the event, not a poll: little idle chatter between).
        const done = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`task ${i} did not complete in 10 s`)), 10_000);
          onCompleted = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        await alone.send(i);
        await done;
      }
      const perTask = ((await reads()) - before) / tasks;
      // Send 1 + wait 1 + lease-and-settle 1, and a little idle chatter (heartbeats); with the
      // lease and the settle in two writes it is about 4.
      assert.ok(perTask < 3.5, `${perTask.toFixed(2)} writes reached Redis per task`);
    } finally {
      await worker.stop();
      await Promise.all([errand.close(), producer.close(), admin.close()]);
      await redis.stop();
    }
  });
});
