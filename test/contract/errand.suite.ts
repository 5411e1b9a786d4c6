/**
 * Behaviour of the public API, run against every broker URL: results, retries and backoff,
 * delays, timeouts, idempotency, bad input, dead letters, shutdown. Times are asserted as
 * order and bounds, never exact values.
 */
import assert from 'node:assert/strict';
import { after, describe, type TestOptions, it as testIt } from 'node:test';
import type { OptionalCapability } from '../../src/core/port.ts';
import {
  DoNotRetry,
  Errand,
  type ErrandOptions,
  ResultTimeoutError,
  RetryLater,
  TaskFailedError,
  taskContext,
} from '../../src/index.ts';
import { eventually } from '../helpers.ts';

export interface SuiteOptions {
  readonly name: string;
  /** Options of a fresh, isolated Errand; calling it twice with the same tag gives two clients of one store. */
  readonly errandOptions: (tag: string) => ErrandOptions;
  readonly cleanup?: (tag: string) => Promise<void>;
  /** Whether two Errand instances with the same tag share a store (false for memory:). */
  readonly shared: boolean;
}

/**
 * Optional capabilities (see BrokerCapabilities) each test relies on, by title. A test that needs
 * several tasks of one queue running at once needs `concurrentDelivery` (listed last, so a broker
 * lacking another capability as well is skipped with that one's reason).
 */
const NEEDS: Readonly<Record<string, readonly OptionalCapability[]>> = {
  'sending the same id twice runs the task once': ['dedupe'],
  'a task whose lease expired maxDeliveries times is reported dead by the worker that finds it': [
    'timedLeases',
    'msPrecision',
  ],
  'failed tasks can be listed, retried and purged': ['deadLetterBrowsing'],
  'delayed tasks run no sooner than asked, in due order, with delayMs and eta': ['msPrecision'],
  'runs at most `concurrency` tasks at once and renews leases of long tasks': ['concurrentDelivery'],
  'stop() lets running tasks finish, then hands back the unfinished at once': [
    'immediateRelease',
    'concurrentDelivery',
  ],
};

/** Whether the broker of `errand` declares `capability` absent. */
const lacks = async (errand: Errand, capability: OptionalCapability): Promise<boolean> =>
  (await errand.brokerCapabilities()).absent?.[capability] !== undefined;

export function runErrandSuite(suite: SuiteOptions): void {
  describe(`errand behaviour: ${suite.name}`, () => {
    const open: Errand[] = [];
    const tags: string[] = [];
    let n = 0;
    after(async () => {
      await Promise.all(open.map((e) => e.close()));
      for (const tag of tags) await suite.cleanup?.(tag);
    });
    const make = (tag?: string): { errand: Errand; tag: string } => {
      const t = tag ?? `s${++n}-${Date.now()}`;
      if (!tags.includes(t)) tags.push(t);
      const errand = new Errand(suite.errandOptions(t));
      open.push(errand);
      return { errand, tag: t };
    };
    /** `it`, skipping a test whose needed capability the broker declares absent, with the reason. */
    const it = (title: string, ...rest: [TestOptions, () => Promise<void>] | [() => Promise<void>]) => {
      const fn = rest.length === 2 ? rest[1] : rest[0];
      const options = rest.length === 2 ? rest[0] : {};
      testIt(title, options, async (t) => {
        const needs = NEEDS[title] ?? [];
        if (needs.length > 0) {
          const probe = make();
          const { absent } = await probe.errand.brokerCapabilities();
          const missing = needs.find((need) => absent?.[need] !== undefined);
          if (missing !== undefined) {
            t.skip(`${suite.name} declares no ${missing}: ${absent![missing]}`);
            return;
          }
        }
        await fn();
      });
    };
    const started = async (errand: Errand, options: Parameters<Errand['worker']>[0] = {}) => {
      const worker = errand.worker({ handleSignals: false, ...options });
      await worker.start();
      return worker;
    };

    it('sends, runs and returns typed results, one by one and in bulk', async () => {
      const { errand } = make();
      const add = errand.task('add', async (a: number, b: number) => a + b);
      const greet = errand.task('greet', (name: string) => ({ hello: name }));
      await started(errand, { concurrency: 4 });
      const sent = await add.send(2, 3);
      const sum: number = await sent.result({ timeoutMs: 5000 });
      assert.equal(sum, 5);
      assert.deepEqual(await (await greet.send('ada')).result({ timeoutMs: 5000 }), { hello: 'ada' });
      const bulk = await add.sendBulk([
        [1, 2],
        [3, 4],
      ]);
      assert.deepEqual(await Promise.all(bulk.map((s) => s.result({ timeoutMs: 5000 }))), [3, 7]);
      const status = await sent.status();
      assert.equal(status.state, 'SUCCESS');
      assert.equal(status.attempt, 1);
      // Without a timeout, result() waits as long as it takes (and no longer: it is done).
      assert.equal(await (await add.send(20, 22)).result(), 42);
    });

    it('sends by name and waits by id from another client', {
      skip: !suite.shared && 'memory: is one process',
    }, async () => {
      const producer = make();
      const consumer = make(producer.tag);
      consumer.errand.task('mul', async (a: number, b: number) => a * b);
      await started(consumer.errand);
      const sent = await producer.errand.send<number>('mul', [6, 7]);
      assert.equal(await producer.errand.result<number>(sent.id, { timeoutMs: 5000 }), 42);
    });

    it('a failing task rejects result() with its error after its retries, with backoff in order', async () => {
      const { errand } = make();
      const times: number[] = [];
      const boom = errand.task(
        'boom',
        async () => {
          times.push(Date.now());
          throw new TypeError('kaput');
        },
        { retries: 2, backoff: { type: 'exponential', delayMs: 100 } },
      );
      const worker = await started(errand);
      const retrying: number[] = [];
      worker.on('retrying', (e) => retrying.push(e.delayMs));
      const sent = await boom.send();
      const err = await sent.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
      assert.ok(err instanceof TaskFailedError);
      assert.equal(err.message, 'kaput');
      assert.equal(err.remoteName, 'TypeError');
      assert.equal(times.length, 3);
      assert.deepEqual(retrying, [100, 200]);
      assert.ok(times[1]! - times[0]! >= 100, 'first retry after its backoff');
      assert.ok(times[2]! - times[1]! >= 200, 'second retry after a longer backoff');
      const status = await sent.status();
      assert.equal(status.state, 'FAILURE');
      assert.equal(status.attempt, 3);
      if (await lacks(errand, 'deadLetterBrowsing')) {
        await eventually(async () => (await errand.stats()).dead === 1, 5000, 'one dead letter');
        return;
      }
      const dead = await errand.deadLetters().list();
      assert.equal(dead.length, 1);
      assert.match(dead[0]!.reason, /failed after 3 attempts: TypeError: kaput/);
    });

    it('RetryLater retries after the given delay and counts against retries; DoNotRetry fails at once', async () => {
      const { errand } = make();
      let calls = 0;
      const later = errand.task(
        'later',
        async () => {
          calls++;
          if (calls < 3) throw new RetryLater(150);
          return calls;
        },
        { retries: 5 },
      );
      let fatalCalls = 0;
      const fatal = errand.task(
        'fatal',
        async () => {
          fatalCalls++;
          throw new DoNotRetry('bad data', { cause: new RangeError('out of range') });
        },
        { retries: 5 },
      );
      await started(errand);
      const t0 = Date.now();
      assert.equal(await (await later.send()).result({ timeoutMs: 10_000 }), 3);
      assert.ok(Date.now() - t0 >= 300, 'two retries of 150 ms each');
      const err = await (await fatal.send()).result({ timeoutMs: 5000 }).catch((e: unknown) => e);
      assert.ok(err instanceof TaskFailedError);
      assert.equal(err.remoteName, 'RangeError');
      assert.equal(fatalCalls, 1);
      const exhausted = errand.task(
        'exhausted',
        async () => {
          throw new RetryLater(10);
        },
        { retries: 2 },
      );
      const e2 = await (await exhausted.send()).result({ timeoutMs: 5000 }).catch((e: unknown) => e);
      assert.ok(e2 instanceof TaskFailedError, 'RetryLater is bounded by retries');
    });

    it('a timeout aborts the handler signal and fails the attempt', async () => {
      const { errand } = make();
      let sawAbort = false;
      const slow = errand.task(
        'slow',
        async function () {
          await new Promise<void>((resolve) => this.signal.addEventListener('abort', () => resolve()));
          sawAbort = taskContext().signal.aborted;
          return 'late';
        },
        { timeoutMs: 200 },
      );
      const stuck = errand.task('stuck', () => new Promise<never>(() => {}), { timeoutMs: 200 });
      await started(errand);
      const t0 = Date.now();
      const err = await (await slow.send()).result({ timeoutMs: 5000 }).catch((e: unknown) => e);
      assert.ok(err instanceof TaskFailedError);
      assert.equal(err.remoteName, 'TaskTimeoutError');
      assert.ok(Date.now() - t0 >= 200);
      await eventually(() => sawAbort, 2000, 'the handler to see its signal aborted');
      const err2 = await (await stuck.send()).result({ timeoutMs: 5000 }).catch((e: unknown) => e);
      assert.ok(err2 instanceof TaskFailedError, 'a handler ignoring its signal still times out');
    });

    it('delayed tasks run no sooner than asked, in due order, with delayMs and eta', async () => {
      const { errand } = make();
      const ran: Array<[string, number]> = [];
      const mark = errand.task('mark', async (label: string) => {
        ran.push([label, Date.now()]);
      });
      await started(errand);
      const t0 = Date.now();
      const sent = await Promise.all([
        mark.with({ delayMs: 600 }).send('c'),
        mark.with({ eta: new Date(t0 + 300) }).send('b'),
        mark.with({ delayMs: 100 }).send('a'),
      ]);
      await Promise.all(sent.map((s) => s.result({ timeoutMs: 10_000 })));
      assert.deepEqual(
        ran.map(([l]) => l),
        ['a', 'b', 'c'],
      );
      const at = Object.fromEntries(ran);
      assert.ok(at.a! - t0 >= 100 && at.b! - t0 >= 300 && at.c! - t0 >= 600, 'none ran early');
      assert.ok(at.c! - t0 < 3000, `the last ran within bounds (${at.c! - t0} ms)`);
    });

    it('sending the same id twice runs the task once', async () => {
      const { errand } = make();
      let runs = 0;
      const once = errand.task('once', async () => ++runs);
      await started(errand);
      const first = await once.with({ id: 'order-42' }).send();
      const second = await once.with({ id: 'order-42' }).send();
      assert.equal(first.id, 'order-42');
      assert.equal(first.duplicate, false);
      assert.equal(second.duplicate, true);
      assert.equal(await second.result({ timeoutMs: 5000 }), 1);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(runs, 1);
    });

    it('bad input goes to the dead letters with a clear reason and the worker keeps going', async () => {
      const { errand } = make();
      const add = errand.task('add', async (a: number, b: number) => a + b);
      const worker = await started(errand, { concurrency: 2 });
      const dead: string[] = [];
      worker.on('dead', (e) => dead.push(e.reason));
      const { broker } = await errand.runtime.stores();
      // A broker that cannot store a message over maxMessageBytes (SQS) is not sent one.
      const large = !(await lacks(errand, 'largeMessages'));
      const bad = [
        'this is not json',
        '{"args":[1,2]}',
        '{"task":"add","args":{"a":1}}',
        '{"task":"nope","args":[]}',
        ...(large ? [`{"task":"add","args":["${'x'.repeat(2 * 1024 * 1024)}"]}`] : []),
        '{"v":3,"task":"add","args":[1,2]}',
      ];
      await broker.enqueue(
        'default',
        bad.map((body) => ({ body })),
        60_000,
      );
      const after = await add.send(1, 1);
      assert.equal(await after.result({ timeoutMs: 5000 }), 2);
      await eventually(() => dead.length === bad.length, 5000, 'all bad messages dead-lettered');
      // A broker that cannot list its dead letters: the reasons the worker reported with them.
      const reasons = (await lacks(errand, 'deadLetterBrowsing'))
        ? dead.join('\n')
        : (await errand.deadLetters().list()).map((d) => d.reason).join('\n');
      assert.match(reasons, /not valid JSON/);
      assert.match(reasons, /no task name/);
      assert.match(reasons, /"args" must be an array/);
      assert.match(reasons, /unknown task "nope" \(this worker runs: add\)/);
      if (large) assert.match(reasons, /over the limit of 1048576 \(maxMessageBytes\)/);
      assert.match(reasons, /unsupported message format version 3/);
      await assert.rejects(add.send(1, 'x'.repeat(2 * 1024 * 1024) as unknown as number), /maxMessageBytes/);
    });

    it('a task whose lease expired maxDeliveries times is reported dead by the worker that finds it', async () => {
      const t = `s${++n}-${Date.now()}`;
      tags.push(t);
      const errand = new Errand({ ...suite.errandOptions(t), maxDeliveries: 2 });
      open.push(errand);
      errand.task('crashy', () => 'never runs here');
      const { broker } = await errand.runtime.stores();
      await broker.enqueue('default', [{ body: '{"id":"poison-1","task":"crashy"}' }], 60_000);
      // Two deliveries whose worker "died": each lease (50 ms) expires unsettled, while the rest of
      // the fleet stays alive (a heartbeat every 10 ms). A broker nobody calls for longer than the
      // lease gives expired leases one more lease instead (the grace after a silence, issue 9).
      const request = () => ({ max: 1, leaseMs: 50, maxDeliveries: 2, now: Date.now() });
      const fleetAlive = async (ms: number) => {
        for (const end = Date.now() + ms; Date.now() < end; ) {
          await broker.extend('default', ['another-workers-token'], 50, Date.now());
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      assert.equal((await broker.reserve('default', request())).messages[0]?.delivery, 1);
      await fleetAlive(300);
      assert.equal((await broker.reserve('default', request())).messages[0]?.delivery, 2);
      await fleetAlive(300);
      const worker = errand.worker({ handleSignals: false });
      const dead: Array<{ reason: string; body: string }> = [];
      worker.on('dead', (e) => dead.push(e));
      await worker.start();
      await eventually(() => dead.length === 1, 5000, 'the dead event');
      assert.equal(dead[0]!.reason, 'delivered 2 times without finishing');
      assert.equal(dead[0]!.body, '{"id":"poison-1","task":"crashy"}');
      assert.equal((await errand.deadLetters().list())[0]?.reason, 'delivered 2 times without finishing');
    });

    it('RetryLater() without a delay retries with the task backoff; the rest of its settle batch applies', async () => {
      const { errand } = make();
      let attempts = 0;
      const later = errand.task(
        'later-nodelay',
        () => {
          // What a JavaScript caller can write: no delay at all (it used to schedule the retry at NaN).
          if (++attempts === 1) throw new (RetryLater as unknown as new () => Error)();
          return 'second time';
        },
        { retries: 1, backoff: { type: 'fixed', delayMs: 50 } },
      );
      const quick = errand.task('quick-neighbour', (n: number) => n);
      await started(errand, { concurrency: 8 });
      // Sent together: their outcomes are settled in the same batches as the bad retry.
      const [first, ...others] = await Promise.all([
        later.send(),
        ...Array.from({ length: 6 }, (_, i) => quick.send(i)),
      ]);
      assert.deepEqual(
        await Promise.all(others.map((s) => s!.result({ timeoutMs: 10_000 }))),
        [0, 1, 2, 3, 4, 5],
      );
      assert.equal(await first!.result({ timeoutMs: 10_000 }), 'second time');
      assert.equal(attempts, 2);
    });

    it('failed tasks can be listed, retried and purged', async () => {
      const { errand } = make();
      let fixed = false;
      const fragile = errand.task('fragile', async (n: number) => {
        if (!fixed) throw new Error(`not yet ${n}`);
        return n;
      });
      await started(errand);
      const sent = await fragile.sendBulk([[1], [2], [3]]);
      await Promise.all(sent.map((s) => s.result({ timeoutMs: 5000 }).catch(() => undefined)));
      const letters = errand.deadLetters();
      const listed = await letters.list();
      assert.equal(listed.length, 3);
      assert.deepEqual(
        listed.map((d) => d.message?.task),
        ['fragile', 'fragile', 'fragile'],
      );
      fixed = true;
      const one = listed.find((d) => d.message?.args[0] === 2)!;
      assert.equal(await letters.retry([one.key]), 1);
      assert.equal(await errand.result(one.message!.id, { timeoutMs: 5000 }), 2);
      assert.equal(await letters.count(), 2);
      assert.equal(await letters.purge(), 2);
      assert.equal(await letters.count(), 0);
    });

    it('result() gives up at its timeout', async () => {
      const { errand } = make();
      const t0 = Date.now();
      await assert.rejects(errand.result('never-sent', { timeoutMs: 150 }), ResultTimeoutError);
      assert.ok(Date.now() - t0 >= 150);
    });

    it('runs at most `concurrency` tasks at once and renews leases of long tasks', async () => {
      const { errand } = make();
      let now = 0;
      let peak = 0;
      let runs = 0;
      const work = errand.task('work', async (ms: number) => {
        runs++;
        peak = Math.max(peak, ++now);
        await new Promise((r) => setTimeout(r, ms));
        now--;
      });
      await started(errand, { concurrency: 3, leaseMs: 300 });
      const sent = await work.sendBulk([[900], [900], [50], [50], [50], [50]]);
      await Promise.all(sent.map((s) => s.result({ timeoutMs: 10_000 })));
      assert.equal(peak, 3);
      assert.equal(runs, 6, 'a task outliving its lease length was not delivered again');
    });

    it('stop() lets running tasks finish, then hands back the unfinished at once', async () => {
      const { errand, tag } = make();
      const quick = errand.task('quick', async () => {
        await new Promise((r) => setTimeout(r, 100));
        return 'done';
      });
      const endless = errand.task('endless', async function () {
        await new Promise((r) => this.signal.addEventListener('abort', r));
      });
      const worker = await started(errand, { leaseMs: 60_000, shutdownMs: 300 });
      const q = await quick.send();
      const e = await endless.send();
      await eventually(() => worker.active === 2, 5000, 'both tasks running');
      const t0 = Date.now();
      await worker.stop();
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 5000, `stop waited for its deadline (${took} ms)`);
      assert.equal(worker.state, 'stopped');
      assert.equal(await q.result({ timeoutMs: 1000 }), 'done');
      // The endless task's lease (60 s) was handed back: it is waiting again, not leased.
      const stats = await errand.stats();
      assert.equal(stats.leased, 0);
      assert.equal(stats.waiting, 1);
      if (suite.shared) {
        const next = make(tag).errand;
        let picked = false;
        next.task('endless', async () => {
          picked = true;
        });
        await started(next);
        await eventually(() => picked, 5000, 'another worker to pick up the handed-back task');
        await next.result(e.id, { timeoutMs: 5000 });
      }
    });
  });
}
