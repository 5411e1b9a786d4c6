/**
 * The broker contract: one set of tests every broker must pass. A broker that cannot meet a
 * test declares it in `skip` with a reason; the test then shows as skipped with that reason.
 *
 * Usage (in a *.test.ts file):
 *   runBrokerContract({ name: 'redis', create: async () => ({ broker, backend, peer, close }) });
 */
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import {
  type Broker,
  capabilityAbsence,
  type LeasedMessage,
  type OptionalCapability,
  type ResultBackend,
  type TaskRecord,
} from '../../src/core/port.ts';

export interface ContractStores {
  readonly broker: Broker;
  readonly backend: ResultBackend;
}

export interface ContractFixture extends ContractStores {
  /** A second client of the same store (another process would see it this way); shared brokers only. */
  readonly peer?: () => Promise<ContractStores>;
  readonly close: () => Promise<void>;
}

/** A fixture of `first`, whose peers `openPeer` opens; closing it closes them all. */
export function withPeers(first: ContractStores, openPeer: () => ContractStores): Required<ContractFixture> {
  const opened = [first];
  return {
    ...first,
    peer: async () => {
      const peer = openPeer();
      opened.push(peer);
      return peer;
    },
    close: async () => {
      for (const s of opened) await Promise.all([s.broker.close(), s.backend.close()]);
    },
  };
}

export interface ContractOptions {
  readonly name: string;
  /** A fresh, isolated store for one test. */
  readonly create: () => Promise<ContractFixture>;
  readonly skip?: ReadonlyArray<{ readonly reason: string; readonly tests: readonly string[] }>;
}

/**
 * Optional capabilities (see BrokerCapabilities) each test relies on, by title. A test that leases
 * several messages of one queue at once (two reserves holding leases together, or one reserve
 * expected to return several) needs `concurrentDelivery`; it comes last, so a broker lacking
 * another capability as well is skipped with that one's reason.
 */
const NEEDS: Readonly<Record<string, readonly OptionalCapability[]>> = {
  'reserves in FIFO order with unique tokens, at most max': ['concurrentDelivery'],
  'an expired lease is delivered again, first, with its delivery counted': ['timedLeases', 'injectedClock'],
  'a settle or extend with a stale token is reported lost and not applied': ['timedLeases', 'injectedClock'],
  'a message delivered maxDeliveries times without finishing is dead-lettered': [
    'timedLeases',
    'injectedClock',
  ],
  'extend keeps a lease alive past its first deadline': ['timedLeases', 'injectedClock'],
  'an expired lease that no reserve has recovered is still held: extend and settle apply': [
    'timedLeases',
    'injectedClock',
    'concurrentDelivery',
  ],
  'a reserve 250 ms after the previous one recovers every expired lease': [
    'timedLeases',
    'injectedClock',
    'concurrentDelivery',
  ],
  'after a silence longer than the lease, holders renew before anyone recovers': [
    'timedLeases',
    'injectedClock',
    'concurrentDelivery',
  ],
  'a retry with a due time that is not finite is dead-lettered with the reason; the rest of its batch applies':
    ['deadLetterBrowsing', 'delayedCounts', 'concurrentDelivery'],
  'a delayed message waits until due and reports the next due time': ['delayedCounts', 'injectedClock'],
  'a retry replaces the body and waits for its due time': ['injectedClock'],
  'a released message goes back to the head at once, not counted as a delivery': [
    'uncountedRelease',
    'concurrentDelivery',
  ],
  'dead letters are listed newest first, retried and purged': ['deadLetterBrowsing', 'concurrentDelivery'],
  'settleAndReserve, when offered, settles and leases the next messages in one step': ['concurrentDelivery'],
  'a dedupe key enqueues once': ['dedupe', 'concurrentDelivery'],
  'concurrent reserves never hand out one message twice': ['concurrentDelivery'],
  'waitAndLease, when offered, leases the first messages to arrive, oldest first, at once': [
    'timedLeases',
    'injectedClock',
    'concurrentDelivery',
  ],
};

const LEASE = 1000;
const request = (now: number, max = 10, maxDeliveries = 5) => ({ max, leaseMs: LEASE, maxDeliveries, now });
const bodies = (n: number, tag = 'm') =>
  Array.from({ length: n }, (_, i) => ({ body: JSON.stringify({ tag, i }) }));

/** Whether `broker` leases several messages of one queue at once (see `concurrentDelivery`). */
const concurrent = (broker: Broker): boolean => capabilityAbsence(broker, 'concurrentDelivery') === undefined;

/**
 * For a broker without `concurrentDelivery`: leases the `count` waiting messages of `q` one reserve
 * at a time, acknowledging each batch before the next (the queue hands out nothing more while one
 * is leased). Every reserve must lease something, and every ack must apply.
 */
async function leaseInTurn(broker: Broker, count: number, now: number): Promise<LeasedMessage[]> {
  const leased: LeasedMessage[] = [];
  while (leased.length < count) {
    const { messages } = await broker.reserve('q', request(now));
    assert.ok(messages.length > 0, `${count - leased.length} message(s) still to lease`);
    leased.push(...messages);
    const settled = await broker.settle('q', { acks: messages.map((m) => m.token) }, now);
    assert.deepEqual(settled.lost, []);
  }
  return leased;
}

export function runBrokerContract(options: ContractOptions): void {
  const skipReason = (test: string): string | undefined =>
    options.skip?.find((s) => s.tests.includes(test))?.reason;

  describe(`broker contract: ${options.name}`, () => {
    const open: ContractFixture[] = [];
    after(async () => {
      await Promise.all(open.map((f) => f.close()));
    });
    const fixture = async (): Promise<ContractFixture> => {
      const f = await options.create();
      open.push(f);
      return f;
    };
    const test = (title: string, fn: (f: ContractFixture, t: TestContext) => Promise<void>): void => {
      const reason = skipReason(title);
      it(title, reason ? { skip: reason } : {}, async (t) => {
        const f = await fixture();
        // A broker that declares a capability this test needs absent skips it with its reason.
        const absent = NEEDS[title]?.find((need) => capabilityAbsence(f.broker, need) !== undefined);
        if (absent !== undefined) {
          t.skip(`${options.name} declares no ${absent}: ${capabilityAbsence(f.broker, absent)}`);
          return;
        }
        await fn(f, t);
      });
    };

    test('reserves in FIFO order with unique tokens, at most max', async ({ broker }) => {
      await broker.enqueue('q', bodies(5), 60_000);
      const now = Date.now();
      const first = await broker.reserve('q', request(now, 3));
      const second = await broker.reserve('q', request(now, 10));
      assert.deepEqual(
        [...first.messages, ...second.messages].map((m) => JSON.parse(m.body).i),
        [0, 1, 2, 3, 4],
      );
      assert.equal(first.messages.length, 3);
      const tokens = new Set([...first.messages, ...second.messages].map((m) => m.token));
      assert.equal(tokens.size, 5);
      assert.ok([...first.messages, ...second.messages].every((m) => m.delivery === 1));
      const empty = await broker.reserve('q', request(now));
      assert.deepEqual([empty.messages, empty.nextDueAt, empty.deadLettered ?? []], [[], undefined, []]);
    });

    test('stores bodies byte for byte', async ({ broker }) => {
      const odd = ['{"task":"x","args":["é ✓ 😀 \\u0000"]}', 'not json at all', 'x'.repeat(200_000), '{}'];
      await broker.enqueue(
        'q',
        odd.map((body) => ({ body })),
        60_000,
      );
      // One reserve leases them all; without concurrentDelivery they are leased one after another.
      const got = concurrent(broker)
        ? (await broker.reserve('q', request(Date.now()))).messages
        : await leaseInTurn(broker, odd.length, Date.now());
      assert.deepEqual(
        got.map((m) => m.body),
        odd,
      );
    });

    test('an acknowledged message is gone for good', async ({ broker }) => {
      await broker.enqueue('q', bodies(2), 60_000);
      const now = Date.now();
      if (concurrent(broker)) {
        const { messages } = await broker.reserve('q', request(now));
        const settled = await broker.settle('q', { acks: messages.map((m) => m.token) }, now);
        assert.deepEqual(settled.lost, []);
      } else {
        // The second is handed out only once the first is settled: each is acknowledged in turn.
        await leaseInTurn(broker, 2, now);
      }
      const later = await broker.reserve('q', request(now + 10 * LEASE));
      assert.equal(later.messages.length, 0);
      assert.deepEqual(await broker.stats('q'), { waiting: 0, delayed: 0, leased: 0, dead: 0 });
    });

    test('an expired lease is delivered again, first, with its delivery counted', async ({ broker }) => {
      await broker.enqueue('q', bodies(1, 'old'), 60_000);
      const now = Date.now();
      const [leased] = (await broker.reserve('q', request(now))).messages;
      await broker.enqueue('q', bodies(1, 'new'), 60_000);
      const again = await broker.reserve('q', request(now + 2 * LEASE, 1));
      assert.equal(again.messages.length, 1);
      assert.equal(again.messages[0]!.body, leased!.body);
      assert.equal(again.messages[0]!.delivery, 2);
      assert.notEqual(again.messages[0]!.token, leased!.token);
    });

    test('a settle or extend with a stale token is reported lost and not applied', async ({ broker }) => {
      await broker.enqueue('q', bodies(1), 60_000);
      const now = Date.now();
      const [stale] = (await broker.reserve('q', request(now))).messages;
      const [fresh] = (await broker.reserve('q', request(now + 2 * LEASE))).messages;
      assert.ok(fresh);
      assert.deepEqual(await broker.extend('q', [stale!.token], LEASE, now + 2 * LEASE), [stale!.token]);
      const settled = await broker.settle('q', { acks: [stale!.token] }, now + 2 * LEASE);
      assert.deepEqual(settled.lost, [stale!.token]);
      assert.equal((await broker.stats('q')).leased, 1, 'the fresh lease is untouched');
      assert.deepEqual((await broker.settle('q', { acks: [fresh.token] }, now + 2 * LEASE)).lost, []);
    });

    test('a message delivered maxDeliveries times without finishing is dead-lettered', async ({ broker }) => {
      await broker.enqueue('q', bodies(1), 60_000);
      let now = Date.now();
      for (let delivery = 1; delivery <= 3; delivery++) {
        const { messages } = await broker.reserve('q', request(now, 10, 3));
        assert.equal(messages.length, 1, `delivery ${delivery}`);
        assert.equal(messages[0]!.delivery, delivery);
        now += 2 * LEASE;
      }
      const after = await broker.reserve('q', request(now, 10, 3));
      assert.equal(after.messages.length, 0);
      const dead = await broker.listDead('q', 0, 10);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.reason, 'delivered 3 times without finishing');
      assert.equal(dead[0]!.body, bodies(1)[0]!.body);
    });

    test('extend keeps a lease alive past its first deadline', async ({ broker }) => {
      await broker.enqueue('q', bodies(1), 60_000);
      const now = Date.now();
      const [leased] = (await broker.reserve('q', request(now))).messages;
      assert.deepEqual(await broker.extend('q', [leased!.token], LEASE, now + 0.8 * LEASE), []);
      assert.equal((await broker.reserve('q', request(now + 1.5 * LEASE))).messages.length, 0);
      assert.equal((await broker.reserve('q', request(now + 2.5 * LEASE))).messages.length, 1);
    });

    // The lease contract (issue 9, item 12): a lease is held from reserve until it is settled or
    // until a reserve recovers it. Expiry makes it recoverable, not lost: extend and settle of an
    // expired lease that no reserve has recovered yet still apply.
    test('an expired lease that no reserve has recovered is still held: extend and settle apply', async ({
      broker,
    }) => {
      await broker.enqueue('q', bodies(2), 60_000);
      const now = Date.now();
      const [a, b] = (await broker.reserve('q', request(now))).messages;
      const late = now + 2 * LEASE;
      assert.deepEqual(await broker.extend('q', [a!.token], LEASE, late), [], 'extend renews it');
      assert.deepEqual((await broker.settle('q', { acks: [b!.token] }, late)).lost, [], 'settle applies');
      // Renewed from `late`: a reserve before the new deadline recovers nothing, one after does.
      assert.equal((await broker.reserve('q', request(late + 0.5 * LEASE))).messages.length, 0);
      const again = await broker.reserve('q', request(late + 2 * LEASE));
      assert.deepEqual(
        again.messages.map((m) => [m.body, m.delivery]),
        [[a!.body, 2]],
      );
    });

    // Recovery (item 12): reserve returns expired leases to the queue before leasing. A broker may
    // do it in a separate step at most every 250 ms per instance (Redis does): a reserve whose
    // `now` is 250 ms or more past the previous recovery recovers every lease expired by then.
    test('a reserve 250 ms after the previous one recovers every expired lease', async ({ broker }) => {
      await broker.enqueue('q', bodies(3), 60_000);
      const now = Date.now();
      const first = (await broker.reserve('q', request(now))).messages;
      assert.equal(first.length, 3);
      const at = now + LEASE + 250;
      const again = await broker.reserve('q', request(at));
      assert.deepEqual(
        again.messages.map((m) => m.body),
        first.map((m) => m.body),
        'all three, oldest first',
      );
      assert.ok(again.messages.every((m) => m.delivery === 2));
    });

    // The lease grace (item 9): after the broker was silent (no reserve or extend reached the
    // queue) for longer than two thirds of the lease, on the broker's own clock, leases that
    // expired during the silence get one more lease, so their holders can renew them first.
    test('after a silence longer than the lease, holders renew before anyone recovers', async ({
      broker,
    }) => {
      await broker.enqueue('q', bodies(2), 60_000);
      const lease = 600;
      const req = (now: number) => ({ max: 10, leaseMs: lease, maxDeliveries: 5, now });
      const [held, abandoned] = (await broker.reserve('q', req(Date.now()))).messages;
      await new Promise((r) => setTimeout(r, 2 * lease)); // the silence: real time, no calls
      const after = Date.now();
      const first = await broker.reserve('q', req(after));
      assert.equal(first.messages.length, 0, 'no lease is recovered by the first call after a silence');
      // From now on calls come every 150 ms (well inside 2/3 of the lease: no silence), the holder
      // renewing like a heartbeat: the abandoned lease is recovered once its grace ends.
      let recovered: { body: string; delivery: number; at: number } | undefined;
      while (!recovered && Date.now() < after + 3 * lease) {
        const lost = await broker.extend('q', [held!.token], lease, Date.now());
        assert.deepEqual(lost, [], 'the holder renews it');
        await new Promise((r) => setTimeout(r, 150));
        const at = Date.now();
        const [m] = (await broker.reserve('q', req(at))).messages;
        if (m) recovered = { body: m.body, delivery: m.delivery, at };
      }
      assert.deepEqual(
        [recovered?.body, recovered?.delivery],
        [abandoned!.body, 2],
        'the abandoned lease, and only it, is recovered',
      );
      assert.ok(recovered!.at - after >= lease - 50, `only after its grace (${recovered!.at - after} ms)`);
    });

    test('calls with non-finite times or bad counts are refused before anything changes', async ({
      broker,
    }) => {
      await assert.rejects(
        broker.enqueue('q', [{ body: 'x', dueAt: Number.POSITIVE_INFINITY }], 60_000),
        /dueAt/,
      );
      await assert.rejects(
        broker.enqueue('q', [{ body: 'y' }, { body: 'x', dueAt: Number.NaN }], 60_000),
        /dueAt/,
      );
      assert.deepEqual(
        await broker.stats('q'),
        { waiting: 0, delayed: 0, leased: 0, dead: 0 },
        'nothing enqueued',
      );
      await assert.rejects(broker.reserve('q', request(Date.now(), -1)), /max/);
      await assert.rejects(broker.reserve('q', request(Date.now(), 0)), /max/);
      await assert.rejects(broker.reserve('q', request(Number.NaN)), /now/);
      await assert.rejects(
        broker.reserve('q', { ...request(Date.now()), leaseMs: Number.POSITIVE_INFINITY }),
        /leaseMs/,
      );
      await assert.rejects(broker.extend('q', ['t'], Number.NaN, Date.now()), /leaseMs/);
    });

    test('a retry with a due time that is not finite is dead-lettered with the reason; the rest of its batch applies', async ({
      broker,
    }) => {
      await broker.enqueue('q', bodies(4), 60_000);
      const now = Date.now();
      const [m1, m2, m3, m4] = (await broker.reserve('q', request(now))).messages;
      const result = await broker.settle(
        'q',
        {
          acks: [m1!.token],
          retries: [
            { token: m2!.token, body: 'retry-nan', dueAt: Number.NaN },
            { token: m3!.token, body: 'retry-ok', dueAt: now + 500 },
            { token: m4!.token, body: 'retry-inf', dueAt: Number.POSITIVE_INFINITY },
          ],
        },
        now,
      );
      assert.deepEqual(result.lost, []);
      assert.deepEqual(await broker.stats('q'), { waiting: 0, delayed: 1, leased: 0, dead: 2 });
      const dead = await broker.listDead('q', 0, 10);
      assert.deepEqual(dead.map((d) => d.body).sort(), [m2!.body, m4!.body].sort(), 'stored bodies kept');
      assert.ok(
        dead.every((d) => /retry could not be scheduled: its due time (NaN|Infinity)/.test(d.reason)),
      );
      const due = await broker.reserve('q', request(now + 600));
      assert.deepEqual(
        due.messages.map((m) => m.body),
        ['retry-ok'],
      );
    });

    test('a delayed message waits until due and reports the next due time', async ({ broker }) => {
      const now = Date.now();
      await broker.enqueue(
        'q',
        [
          { body: 'late', dueAt: now + 60_000 },
          { body: 'soon', dueAt: now + 30_000 },
        ],
        60_000,
      );
      const early = await broker.reserve('q', request(now));
      assert.equal(early.messages.length, 0);
      assert.equal(early.nextDueAt, now + 30_000);
      const due = await broker.reserve('q', request(now + 30_000));
      assert.deepEqual(
        due.messages.map((m) => m.body),
        ['soon'],
      );
      assert.equal(due.nextDueAt, now + 60_000);
      assert.deepEqual(await broker.stats('q'), { waiting: 0, delayed: 1, leased: 1, dead: 0 });
    });

    test('a retry replaces the body and waits for its due time', async ({ broker }) => {
      await broker.enqueue('q', [{ body: 'attempt-1' }], 60_000);
      const now = Date.now();
      const [leased] = (await broker.reserve('q', request(now))).messages;
      await broker.settle(
        'q',
        { retries: [{ token: leased!.token, body: 'attempt-2', dueAt: now + 5000 }] },
        now,
      );
      assert.equal((await broker.reserve('q', request(now + 1000))).messages.length, 0);
      const again = await broker.reserve('q', request(now + 5000));
      assert.deepEqual(
        again.messages.map((m) => [m.body, m.delivery]),
        [['attempt-2', 1]],
      );
    });

    test('a released message goes back to the head at once, not counted as a delivery', async ({
      broker,
    }) => {
      await broker.enqueue('q', bodies(3), 60_000);
      const now = Date.now();
      const { messages } = await broker.reserve('q', request(now, 2));
      await broker.settle('q', { releases: messages.map((m) => m.token) }, now);
      const again = await broker.reserve('q', request(now, 10));
      assert.deepEqual(
        again.messages.map((m) => [JSON.parse(m.body).i, m.delivery]),
        [
          [0, 1],
          [1, 1],
          [2, 1],
        ],
      );
    });

    test('dead letters are listed newest first, retried and purged', async ({ broker }) => {
      await broker.enqueue('q', bodies(3), 60_000);
      const now = Date.now();
      const { messages } = await broker.reserve('q', request(now));
      for (const [i, m] of messages.entries()) {
        await broker.settle('q', { deadLetters: [{ token: m.token, reason: `reason ${i}` }] }, now + i);
      }
      const dead = await broker.listDead('q', 0, 10);
      assert.deepEqual(
        dead.map((d) => d.reason),
        ['reason 2', 'reason 1', 'reason 0'],
      );
      assert.deepEqual(
        (await broker.listDead('q', 1, 1)).map((d) => d.reason),
        ['reason 1'],
      );
      assert.equal(await broker.retryDead('q', [dead[0]!.key], ['replaced']), 1);
      const back = await broker.reserve('q', request(now + 10));
      assert.deepEqual(
        back.messages.map((m) => m.body),
        ['replaced'],
      );
      assert.equal(await broker.purgeDead('q', [dead[1]!.key]), 1);
      assert.equal((await broker.stats('q')).dead, 1);
      assert.equal(await broker.purgeDead('q'), 1);
      assert.deepEqual(await broker.listDead('q', 0, 10), []);
    });

    test('settleAndReserve, when offered, settles and leases the next messages in one step', async ({
      broker,
    }, t) => {
      if (!broker.settleAndReserve) {
        t.skip(`${options.name} does not offer the optional settleAndReserve (workers settle, then reserve)`);
        return;
      }
      await broker.enqueue('q', bodies(5), 60_000);
      const now = Date.now();
      const first = await broker.reserve('q', request(now, 2));
      const [stale] = (await broker.reserve('q', request(now, 1))).messages;
      await broker.settle('q', { releases: [stale!.token] }, now);
      const result = await broker.settleAndReserve(
        'q',
        { acks: [first.messages[0]!.token, stale!.token], retries: [] },
        request(now, 2),
      );
      assert.deepEqual(result.lost, [stale!.token]);
      assert.deepEqual(
        result.reserved.messages.map((m) => JSON.parse(m.body).i),
        [2, 3],
      );
      assert.equal((await broker.stats('q')).leased, 3, 'one from the first reserve, two new');
    });

    test('a dedupe key enqueues once', async ({ broker }) => {
      const first = await broker.enqueue('q', [{ body: 'a', dedupeKey: 'k1' }], 60_000);
      const second = await broker.enqueue(
        'q',
        [
          { body: 'b', dedupeKey: 'k1' },
          { body: 'c', dedupeKey: 'k2' },
        ],
        60_000,
      );
      assert.deepEqual(first, ['queued']);
      assert.deepEqual(second, ['duplicate', 'queued']);
      assert.deepEqual(
        (await broker.reserve('q', request(Date.now()))).messages.map((m) => m.body),
        ['a', 'c'],
      );
    });

    test('queues are isolated', async ({ broker }) => {
      await broker.enqueue('a', [{ body: 'in a' }], 60_000);
      assert.equal((await broker.reserve('b', request(Date.now()))).messages.length, 0);
      assert.equal((await broker.reserve('a', request(Date.now()))).messages.length, 1);
    });

    test('concurrent reserves never hand out one message twice', async ({ broker, peer }) => {
      await broker.enqueue('q', bodies(200), 60_000);
      const other = peer ? (await peer()).broker : broker;
      const now = Date.now();
      const batches = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? other : broker).reserve('q', request(now, 15))),
      );
      const seen = batches.flatMap((b) => b.messages.map((m) => m.body));
      assert.equal(seen.length, 200);
      assert.equal(new Set(seen).size, 200);
    });

    test('waitForWork wakes on a new message, at its deadline, and on abort', async ({ broker, peer }) => {
      const producer = peer ? (await peer()).broker : broker;
      const never = new AbortController().signal;
      let t = Date.now();
      const waiting = broker.waitForWork('q', t + 5000, never);
      setTimeout(() => void producer.enqueue('q', [{ body: 'x' }], 60_000), 100);
      await waiting;
      assert.ok(Date.now() - t < 2500, `woke after ${Date.now() - t} ms`);
      assert.equal((await broker.reserve('q', request(Date.now()))).messages.length, 1);

      t = Date.now();
      await broker.waitForWork('q', t + 300, never);
      assert.ok(Date.now() - t < 2500, `deadline honoured (${Date.now() - t} ms)`);

      const ac = new AbortController();
      t = Date.now();
      setTimeout(() => ac.abort(), 100);
      await broker.waitForWork('q', t + 60_000, ac.signal);
      assert.ok(Date.now() - t < 2500, `abort honoured (${Date.now() - t} ms)`);
    });

    test('waitAndLease, when offered, leases the first messages to arrive, oldest first, at once', async ({
      broker,
      peer,
    }, t) => {
      if (!broker.waitAndLease) {
        t.skip(`${options.name} does not offer the optional waitAndLease (workers wait, then reserve)`);
        return;
      }
      const producer = peer ? (await peer()).broker : broker;
      const never = new AbortController().signal;
      const lease = { leaseMs: LEASE };
      let started = Date.now();
      const waiting = broker.waitAndLease('q', started + 5000, lease, never);
      setTimeout(() => void producer.enqueue('q', [{ body: 'first' }, { body: 'second' }], 60_000), 100);
      const taken = await waiting;
      assert.ok(taken, 'a message arrived');
      assert.ok(Date.now() - started < 2500, `returned after ${Date.now() - started} ms`);
      assert.equal(taken.claimed.length, 1, 'one message, the max by default');
      const [claimed] = taken.claimed;
      assert.equal(claimed!.message.body, 'first');
      assert.equal(claimed!.message.delivery, 1);
      assert.equal(await claimed!.leased, true);
      assert.notEqual(taken.more, false, 'a second message was waiting behind it');
      const second = (await broker.reserve('q', request(Date.now()))).messages;
      assert.deepEqual(
        second.map((m) => m.body),
        ['second'],
      );
      assert.equal((await broker.stats('q')).leased, 2);
      // Settled like any lease, by its token; a second settle finds it gone.
      const acks = [claimed!.message.token, second[0]!.token];
      assert.deepEqual((await broker.settle('q', { acks }, Date.now())).lost, []);
      assert.deepEqual((await broker.settle('q', { acks: [claimed!.message.token] }, Date.now())).lost, [
        claimed!.message.token,
      ]);

      // Messages sent together come together, oldest first, `max` at most (a broker may take
      // fewer, never more); the last of the queue says so (when the broker tells).
      started = Date.now();
      const together = broker.waitAndLease('q', started + 5000, { ...lease, max: 2 }, never);
      const bodies = [{ body: 'a' }, { body: 'b' }, { body: 'c' }];
      setTimeout(() => void producer.enqueue('q', bodies, 60_000), 100);
      const pair = await together;
      assert.ok(pair, 'messages arrived');
      const pairBodies = pair.claimed.map((c) => c.message.body);
      assert.ok(pairBodies.length >= 1 && pairBodies.length <= 2, `took ${pairBodies.length} of max 2`);
      assert.deepEqual(pairBodies, ['a', 'b'].slice(0, pairBodies.length), 'oldest first');
      assert.equal(new Set(pair.claimed.map((c) => c.message.token)).size, pairBodies.length, 'a token each');
      for (const c of pair.claimed) {
        assert.equal(c.message.delivery, 1);
        assert.equal(await c.leased, true);
      }
      assert.notEqual(pair.more, false, 'a message was left behind them');
      const rest = (await broker.reserve('q', request(Date.now()))).messages;
      assert.deepEqual(
        rest.map((m) => m.body),
        ['a', 'b', 'c'].slice(pairBodies.length),
      );
      const pairAcks = [...pair.claimed.map((c) => c.message.token), ...rest.map((m) => m.token)];
      assert.deepEqual((await broker.settle('q', { acks: pairAcks }, Date.now())).lost, []);

      // Its lease expires like any.
      started = Date.now();
      const last = broker.waitAndLease('q', started + 5000, { ...lease, max: 3 }, never);
      setTimeout(() => void producer.enqueue('q', [{ body: 'last' }], 60_000), 100);
      const only = await last;
      assert.ok(only);
      assert.deepEqual(
        only.claimed.map((c) => c.message.body),
        ['last'],
      );
      assert.equal(await only.claimed[0]!.leased, true);
      assert.notEqual(only.more, true);
      const redelivered = await broker.reserve('q', request(Date.now() + LEASE + 1));
      assert.deepEqual(
        redelivered.messages.map((m) => [m.body, m.delivery]),
        [['last', 2]],
        'the lease of a message taken by waitAndLease expires and it is delivered again',
      );

      // Nothing arrives: undefined at the deadline, or on abort.
      started = Date.now();
      assert.equal(await broker.waitAndLease('empty', started + 300, lease, never), undefined);
      assert.ok(Date.now() - started < 2500, `deadline honoured (${Date.now() - started} ms)`);
      const ac = new AbortController();
      started = Date.now();
      setTimeout(() => ac.abort(), 100);
      assert.equal(await broker.waitAndLease('empty', started + 60_000, lease, ac.signal), undefined);
      assert.ok(Date.now() - started < 2500, `abort honoured (${Date.now() - started} ms)`);
      assert.equal((await broker.stats('empty')).leased, 0);
    });

    test('a delayed message sent while a worker waits wakes it by its due time', async ({ broker, peer }) => {
      const producer = peer ? (await peer()).broker : broker;
      const never = new AbortController().signal;
      const t = Date.now();
      const reserved = await broker.reserve('q', request(t));
      assert.equal(reserved.nextDueAt, undefined);
      const waiting = broker.waitForWork('q', t + 10_000, never);
      await producer.enqueue('q', [{ body: 'soon', dueAt: t + 200 }], 60_000);
      await waiting;
      const woke = Date.now() - t;
      assert.ok(woke < 2500, `woke after ${woke} ms`);
      let next = await broker.reserve('q', request(Date.now()));
      if (next.messages.length === 0) {
        assert.ok(next.nextDueAt !== undefined && next.nextDueAt <= t + 200, 'the due time is reported');
        await broker.waitForWork('q', next.nextDueAt, never);
        next = await broker.reserve('q', request(Math.max(Date.now(), t + 200)));
      }
      assert.deepEqual(
        next.messages.map((m) => m.body),
        ['soon'],
      );
    });

    test('results: write, read, expire, and notify final states', async ({ backend, peer }) => {
      const other = peer ? (await peer()).backend : backend;
      const heard: string[] = [];
      const stop = await other.onFinal((ids) => heard.push(...ids));
      const now = Date.now();
      const record = (id: string, state: TaskRecord['state']): TaskRecord => ({
        id,
        task: 't',
        queue: 'q',
        state,
        attempt: 1,
        createdAt: now,
        updatedAt: now,
        ...(state === 'SUCCESS' && { result: { n: 1 } }),
      });
      await backend.write([record('a', 'STARTED'), record('b', 'SUCCESS')], 60_000);
      await backend.write([record('short', 'SUCCESS')], 200);
      assert.deepEqual(await backend.read('b'), record('b', 'SUCCESS'));
      assert.equal((await backend.read('a'))?.state, 'STARTED');
      assert.equal(await backend.read('missing'), undefined);
      const deadline = Date.now() + 3000;
      while (!heard.includes('b') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(heard.includes('b'), 'final state notified');
      assert.ok(!heard.includes('a'), 'non-final state not notified');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await backend.read('short'), undefined, 'expired');
      await stop();
    });
  });
}
