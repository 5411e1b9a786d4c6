/**
 * Resque mode against the real node-resque 9.7 (from npm) on a real Redis: jobs cross both ways,
 * and node-resque's inspection APIs read what Errand writes (protocols.md §5).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createClient } from '@redis/client';
import { Worker as NodeResqueWorker, Queue, Scheduler } from 'node-resque';
import { RedisConnection } from '../src/brokers/redis/connection.ts';
import { Errand } from '../src/index.ts';
import { type Resque, resque } from '../src/resque/index.ts';
import { pruneDeadWorkers } from '../src/resque/presence.ts';
import { eventually, REDIS_URL, uniquePrefix } from './helpers.ts';

const redis = createClient({ url: REDIS_URL });
redis.on('error', () => {});
const redisReady = redis.connect();

const namespaces: string[] = [];

after(async () => {
  await redisReady;
  // Again at the end: node-resque's clients may still write `connection_test_key` while ending.
  for (const ns of namespaces) await cleanup(ns);
  await redis.close();
});

const url = new URL(REDIS_URL);
const connection = (ns: string) => ({
  host: url.hostname,
  port: Number(url.port || 6379),
  namespace: ns.slice(0, -1),
});

/** A namespace no other test uses (with Resque's trailing ':'). */
function uniqueNs(tag: string): string {
  const ns = `${uniquePrefix(`resque-${tag}`)}:`;
  namespaces.push(ns);
  return ns;
}

async function keysOf(ns: string): Promise<string[]> {
  await redisReady;
  return (await redis.keys(`${ns}*`)).map((k) => k.slice(ns.length)).sort();
}

async function cleanup(ns: string, ...more: string[]): Promise<void> {
  await redisReady;
  for (const prefix of [ns, ...more]) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(keys);
  }
}

interface Setup {
  readonly ns: string;
  readonly errand: Errand;
  readonly r: Resque;
  readonly queue: Queue;
  done(): Promise<void>;
}

async function setup(tag: string, define: (errand: Errand) => void): Promise<Setup> {
  const ns = uniqueNs(tag);
  const errand = new Errand({ broker: REDIS_URL, prefix: `${ns}errand` });
  define(errand);
  const r = resque(errand, { namespace: ns });
  const queue = new Queue({ connection: connection(ns) });
  queue.on('error', () => {});
  await queue.connect();
  return {
    ns,
    errand,
    r,
    queue,
    done: async () => {
      await queue.end();
      await r.close();
      await cleanup(ns);
    },
  };
}

void describe('Resque mode with node-resque', () => {
  void it('runs jobs node-resque enqueues; failures and counters read back through node-resque', async () => {
    const ran: unknown[] = [];
    let boomFixed = false;
    const s = await setup('in', (errand) => {
      errand.task('Add', async function (a: number, b: number) {
        ran.push({ sum: a + b, queue: this.queue });
      });
      errand.task('Boom', async () => {
        if (boomFixed) {
          ran.push('boom fixed');
          return;
        }
        throw new TypeError('kaboom');
      });
    });
    try {
      const worker = s.r.worker({ queues: 'q1', concurrency: 2, intervalMs: 50, handleSignals: false });
      await worker.start();
      await s.queue.enqueue('q1', 'Add', [1, 2]);
      await s.queue.enqueue('q1', 'Boom', []);
      await s.queue.enqueue('q1', 'Nope', ['x']);
      await eventually(async () => (await s.queue.failedCount()) === 2 && ran.length === 1, 10_000, 'jobs');
      assert.deepEqual(ran, [{ sum: 3, queue: 'q1' }]);

      // Ruby's rule: processed counts every finished job, failed ones too.
      const stats = await s.queue.stats();
      assert.equal(stats.processed, '3');
      assert.equal(stats.failed, '2');
      const ids = new Set(worker.slots.map((slot) => slot.id));
      let perWorker = 0;
      for (const [key, value] of Object.entries(stats)) {
        const m = /^processed:(.+)$/.exec(key);
        if (m) {
          assert.ok(ids.has(m[1]!), `per-worker stat keyed by the full worker id: ${key}`);
          perWorker += Number(value);
        }
      }
      assert.equal(perWorker, 3);

      const failed = await s.queue.failed(0, -1);
      const boom = failed.find((f) => f.payload.class === 'Boom')!;
      const nope = failed.find((f) => f.payload.class === 'Nope')!;
      assert.equal(boom.exception, 'TypeError');
      assert.equal(boom.error, 'kaboom');
      assert.ok(
        Array.isArray(boom.backtrace) && boom.backtrace.length > 0,
        'backtrace is an array of frames',
      );
      assert.match(boom.failed_at, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC$/);
      assert.ok(ids.has(boom.worker));
      assert.equal(boom.queue, 'q1');
      assert.deepEqual(boom.payload, { class: 'Boom', queue: 'q1', args: [] });
      // An unknown class fails the job with a clear error (Resque's behaviour); it is not dropped.
      assert.equal(nope.exception, 'UnknownTaskError');
      assert.match(nope.error, /unknown task "Nope"/);
      assert.deepEqual(nope.payload.args, ['x']);
      assert.ok(Array.isArray(nope.backtrace));

      // node-resque's retryStuckJobs reads backtrace[1] of every entry: it must not throw.
      await s.queue.retryStuckJobs();
      // removeFailed is an LREM of JSON.stringify(entry): byte-identical entries are found.
      assert.equal(await s.queue.removeFailed(nope), 1);
      boomFixed = true;
      await s.queue.retryAndRemoveFailed(boom);
      await eventually(() => (ran as unknown[]).includes('boom fixed'), 10_000, 'the retried job');
      assert.equal(await s.queue.failedCount(), 0);
      await worker.stop();
    } finally {
      await s.done();
    }
  });

  void it('a job Errand enqueues is run by a node-resque Worker; its result is awaited by id', async () => {
    const s = await setup('out', () => {});
    try {
      const sent = await s.r.enqueue('q2', 'Mul', [3, 4]);
      assert.ok((await s.queue.queues()).includes('q2'), 'enqueue adds the queue to <ns>queues');
      let got: unknown;
      const worker = new NodeResqueWorker(
        { connection: connection(s.ns), queues: ['q2'], timeout: 50 },
        {
          Mul: { perform: async (a: number, b: number) => (got = a * b) },
        },
      );
      worker.on('error', () => {});
      await worker.connect();
      await worker.start();
      await eventually(() => got !== undefined, 10_000, 'node-resque to run the job');
      assert.equal(got, 12);
      await worker.end();
      assert.equal(sent.queue, 'q2');
      assert.equal(typeof sent.id, 'string');
    } finally {
      await s.done();
    }
  });

  void it("Errand's delayed jobs are moved by node-resque's Scheduler and run by its Worker", async () => {
    const s = await setup('sched', () => {});
    const scheduler = new Scheduler({ connection: connection(s.ns), timeout: 50 });
    scheduler.on('error', () => {});
    const got: unknown[] = [];
    const worker = new NodeResqueWorker(
      { connection: connection(s.ns), queues: ['later'], timeout: 50 },
      {
        Note: { perform: async (x: unknown) => got.push(x) },
      },
    );
    worker.on('error', () => {});
    try {
      await s.r.enqueueIn(500, 'later', 'Note', ['soon']);
      await scheduler.connect();
      await scheduler.start();
      await worker.connect();
      await worker.start();
      await eventually(() => got.length === 1, 15_000, "node-resque's scheduler and worker");
      assert.deepEqual(got, ['soon']);
      assert.deepEqual(await s.queue.timestamps(), []);
    } finally {
      await worker.end();
      await scheduler.end();
      await s.done();
    }
  });

  void it("Errand's own jobs keep their results; delayed jobs use resque-scheduler's keys both ways", async () => {
    const ran: string[] = [];
    const s = await setup('delay', (errand) => {
      errand.task('Greet', async (name: string) => {
        ran.push(name);
        return `hello ${name}`;
      });
    });
    try {
      const worker = s.r.worker({ queues: ['q3'], concurrency: 1, intervalMs: 50, handleSignals: false });
      await worker.start();
      const sent = await s.r.enqueue('q3', 'Greet', ['ada']);
      assert.equal(await sent.result({ timeoutMs: 10_000 }), 'hello ada');
      // Delayed by Errand: node-resque sees it in its delayed views. Not due for a few seconds:
      // node-resque's timestamps() SCANs the whole keyspace ten keys at a time, which takes a
      // second or more on a shared Redis holding 100,000 keys (the job must not be due by then).
      const at = Date.now() + 4000;
      await s.r.enqueueAt(at, 'q3', 'Greet', ['later']);
      const timestamps = await s.queue.timestamps();
      assert.deepEqual(timestamps, [Math.round(at / 1000) * 1000]);
      // Delayed by node-resque: Errand's worker moves it when due.
      await s.queue.enqueueIn(100, 'q3', 'Greet', ['from node-resque']);
      await eventually(() => ran.length === 3, 15_000, 'the delayed jobs');
      assert.deepEqual(ran.slice(0, 1), ['ada']);
      assert.deepEqual(new Set(ran), new Set(['ada', 'later', 'from node-resque']));
      assert.deepEqual(await s.queue.timestamps(), []);
      await worker.stop();
    } finally {
      await s.done();
    }
  });

  void it("node-resque's workers(), workingOn() and allWorkingOn() read Errand's registrations", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const s = await setup('reg', (errand) => {
      errand.task('Hold', async () => held);
    });
    try {
      const worker = s.r.worker({
        queues: 'high=2,low=1',
        concurrency: 2,
        intervalMs: 50,
        handleSignals: false,
      });
      await worker.start();
      const workers = await s.queue.workers();
      assert.deepEqual(
        workers,
        Object.fromEntries(worker.slots.map((slot) => [slot.name, 'high,low'])),
        'each slot is a worker named host:pid-N on queues high,low',
      );
      for (const slot of worker.slots) {
        const started = await redis.get(`${s.ns}worker:${slot.id}:started`);
        assert.match(started ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/, "Ruby's Time#to_s");
        const beat = await redis.hGet(`${s.ns}workers:heartbeat`, slot.id);
        assert.match(beat ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }
      await s.r.enqueue('low', 'Hold', [7]);
      await eventually(() => worker.active === 1, 10_000, 'the job to start');
      const working = await s.queue.allWorkingOn();
      const busy = Object.values(working).filter((w) => typeof w !== 'string');
      assert.equal(busy.length, 1);
      const job = busy[0] as unknown as Record<string, unknown> & { payload: Record<string, unknown> };
      assert.equal(job.queue, 'low');
      assert.match(String(job.run_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(Math.abs(Date.parse(String(job.run_at)) - Date.now()) < 60_000);
      assert.equal(job.payload.class, 'Hold');
      assert.deepEqual(job.payload.args, [7]);
      const name = String(job.worker);
      assert.ok(
        worker.slots.some((slot) => slot.name === name),
        'worker field = node-resque worker name',
      );
      assert.deepEqual(JSON.parse((await s.queue.workingOn(name, 'high,low'))!), job);
      release();
      await eventually(async () => (await s.queue.stats()).processed === '1', 10_000, 'the job to finish');
      assert.equal(await redis.get(`${s.ns}worker:${worker.slots[0]!.id}`), null);
      await worker.stop();
      assert.deepEqual(await s.queue.workers(), {}, 'unregistered on stop');
      // Left: node-resque's own key, the queue set, the global counter (and the Errand's result, by id).
      const left = (await keysOf(s.ns)).filter((k) => !k.startsWith('errand:result:'));
      assert.deepEqual(left, ['connection_test_key', 'queues', 'stat:processed']);
    } finally {
      release();
      await s.done();
    }
  });

  void it('weighted queues are taken in proportion; a plain list is taken in order', async () => {
    const order: string[] = [];
    const s = await setup('weights', (errand) => {
      errand.task('Mark', async function () {
        order.push(this.queue);
      });
    });
    try {
      const client = await redisReady.then(() => redis);
      const job = JSON.stringify({ class: 'Mark', args: [] });
      for (const q of ['high', 'low', 'a', 'b'])
        await client.rPush(
          `${s.ns}queue:${q}`,
          Array.from({ length: 200 }, () => job),
        );
      const weighted = s.r.worker({
        queues: 'high=3,low=1',
        concurrency: 1,
        intervalMs: 50,
        handleSignals: false,
      });
      await weighted.start();
      await eventually(() => order.length >= 200, 60_000, '200 jobs');
      await weighted.stop();
      const first = order.slice(0, 200);
      const high = first.filter((q) => q === 'high').length;
      // Expected 150 (3 in 4); the bounds are over 6 standard deviations (~6.1) away.
      assert.ok(high > 110 && high < 190, `high was taken ${high} times in 200 (expected about 150)`);
      order.length = 0;
      const strict = s.r.worker({ queues: 'a,b', concurrency: 1, intervalMs: 50, handleSignals: false });
      await strict.start();
      await eventually(() => order.length >= 300, 60_000, '300 jobs');
      await strict.stop();
      assert.deepEqual(order.slice(0, 200), Array(200).fill('a'));
      assert.deepEqual(order.slice(200, 300), Array(100).fill('b'));
    } finally {
      await s.done();
    }
  });

  void it('Ruby-encoded payloads are read as Ruby meant them; worker:<id> stays valid JSON', async () => {
    const fixture = (await import('./fixtures/resque/ruby-payloads.json', { with: { type: 'json' } }))
      .default;
    const seen: unknown[][] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const s = await setup('ruby', (errand) => {
      errand.task('Echo', async (...args: unknown[]) => {
        seen.push(args);
        await held;
        throw new Error('after echo');
      });
    });
    try {
      await s.errand.runtime.stores();
      await redis.rPush(`${s.ns}queue:low`, fixture.payload);
      // A Ruby failure entry already in the list: node-resque still reads it beside Errand's.
      await redis.rPush(`${s.ns}failed`, fixture.failedEntry);
      const worker = s.r.worker({ queues: 'low', concurrency: 1, intervalMs: 50, handleSignals: false });
      await worker.start();
      await eventually(() => seen.length === 1, 10_000, 'the job');
      assert.deepEqual(seen[0], fixture.expectedArgs);
      const working = JSON.parse((await redis.get(`${s.ns}worker:${worker.slots[0]!.id}`))!) as {
        payload: { args: unknown[] };
      };
      assert.deepEqual(working.payload.args, fixture.expectedArgs);
      release();
      await eventually(async () => (await s.queue.failedCount()) === 2, 10_000, 'the failure');
      const [ruby, ours] = await s.queue.failed(0, -1);
      assert.equal(ruby!.failed_at, '2025/01/02 03:04:05 UTC');
      assert.deepEqual(ours!.payload.args, fixture.expectedArgs);
      assert.equal(await s.queue.removeFailed(ours!), 1);
      await worker.stop();
    } finally {
      release();
      await s.done();
    }
  });

  void it('dead Ruby and goworker workers (expired heartbeats) are pruned; their jobs requeued, not failed', async () => {
    const ran: unknown[] = [];
    const s = await setup('prune', (errand) => {
      errand.task('Echo', async (...args: unknown[]) => {
        ran.push(args);
      });
    });
    try {
      // A Ruby worker on another host, last seen 10 minutes ago, in the middle of a job.
      const id = 'otherhost:4242:low';
      const old = `${new Date(Date.now() - 600_000).toISOString().slice(0, 19)}Z`;
      await redis.sAdd(`${s.ns}workers`, id);
      await redis.hSet(`${s.ns}workers:heartbeat`, id, old);
      await redis.set(
        `${s.ns}worker:${id}`,
        JSON.stringify({ queue: 'low', run_at: old, payload: { class: 'Echo', args: ['lost?'] } }),
      );
      // A goworker, heartbeat written once (its bug) in Go's format, run_at in RFC3339Nano.
      const goId = 'gohost:99-0:low';
      await redis.sAdd(`${s.ns}workers`, goId);
      await redis.hSet(`${s.ns}workers:heartbeat`, goId, '2020-01-02T03:04:05+01:00');
      await redis.set(
        `${s.ns}worker:${goId}`,
        '{"queue":"low","run_at":"2020-01-02T03:04:05.123456789+01:00","payload":{"class":"Echo","args":["go"]}}',
      );
      const worker = s.r.worker({ queues: 'low', concurrency: 1, intervalMs: 50, handleSignals: false });
      await worker.start();
      await eventually(() => ran.length === 2, 10_000, 'the requeued jobs');
      assert.deepEqual(new Set(ran.map((args) => JSON.stringify(args))), new Set(['["lost?"]', '["go"]']));
      assert.equal(await s.queue.failedCount(), 0);
      for (const dead of [id, goId]) {
        assert.equal(await redis.sIsMember(`${s.ns}workers`, dead), 0);
        assert.equal(await redis.hGet(`${s.ns}workers:heartbeat`, dead), null);
        assert.equal(await redis.get(`${s.ns}worker:${dead}`), null);
      }
      await worker.stop();
    } finally {
      await s.done();
    }
  });

  void it("Errand's retries (through resque-scheduler's keys) and timeouts apply to Resque jobs", async () => {
    const attempts: number[] = [];
    const s = await setup('retry', (errand) => {
      errand.task(
        'Flaky',
        async function () {
          attempts.push(this.attempt);
          if (this.attempt < 2) throw new Error(`attempt ${this.attempt} failed`);
        },
        { retries: 2, backoff: { type: 'fixed', delayMs: 10 } },
      );
      errand.task(
        'Sleepy',
        async function () {
          await new Promise((resolve) => this.signal.addEventListener('abort', resolve));
          throw this.signal.reason;
        },
        { timeoutMs: 100 },
      );
    });
    try {
      const worker = s.r.worker({ queues: 'q', concurrency: 2, intervalMs: 50, handleSignals: false });
      await worker.start();
      await s.queue.enqueue('q', 'Flaky', []);
      await s.queue.enqueue('q', 'Sleepy', []);
      await eventually(
        async () => attempts.length === 2 && (await s.queue.failedCount()) === 1,
        15_000,
        'jobs',
      );
      assert.deepEqual(attempts, [1, 2]);
      const [timedOut] = await s.queue.failed(0, -1);
      assert.equal(timedOut!.payload.class, 'Sleepy');
      assert.equal(timedOut!.exception, 'TaskTimeoutError');
      // The retry is counted once, when it finished; the timed-out job once, as failed.
      const stats = await s.queue.stats();
      assert.equal(stats.processed, '2');
      assert.equal(stats.failed, '1');
      assert.deepEqual(await s.queue.timestamps(), []);
      await worker.stop();
    } finally {
      await s.done();
    }
  });

  void it('a job whose workers keep dying is failed after maxDeliveries deaths; a finished one forgets its count', async () => {
    const ran: unknown[] = [];
    const s = await setup('deaths', (errand) => {
      errand.task('Fine', async (...args: unknown[]) => {
        ran.push(args);
      });
    });
    const connection = new RedisConnection({ url: REDIS_URL }).retain();
    try {
      const client = await connection.ready();
      const old = `${new Date(Date.now() - 600_000).toISOString().slice(0, 19)}Z`;
      const prune = () =>
        pruneDeadWorkers(client, {
          ns: s.ns,
          self: 'test',
          pruneAfterMs: 300_000,
          own: new Set(),
          maxDeaths: 3,
        });
      /** A worker on another host that took `payload` from queue "low" and died with it. */
      const dies = async (id: string, payload: string): Promise<void> => {
        await redis.sAdd(`${s.ns}workers`, id);
        await redis.hSet(`${s.ns}workers:heartbeat`, id, old);
        await redis.hSet(`${s.ns}errand:inflight:${id}`, { token: 't', queue: 'low', payload });
      };
      const crash = '{"class":"Crash","args":[1]}';
      for (let death = 1; death <= 3; death++) {
        if (death > 1) assert.equal(await redis.lPop(`${s.ns}queue:low`), crash);
        await dies(`otherhost:${death}-0:low`, crash);
        const [out] = await prune();
        assert.equal(out?.outcome, death < 3 ? 'requeued' : 'failed', `death ${death}`);
      }
      assert.equal(await redis.lLen(`${s.ns}queue:low`), 0);
      const [failed] = await s.queue.failed(0, -1);
      assert.equal(failed?.exception, 'Resque::DirtyExit');
      assert.match(String(failed?.error), /died while running it 3 times/);
      assert.deepEqual(failed?.payload, { class: 'Crash', args: [1] });
      assert.equal(await redis.exists(`${s.ns}errand:requeues`), 0);

      // Died once, then finished: its count is forgotten.
      await dies('otherhost:9-0:low', '{"class":"Fine","args":[2]}');
      assert.equal((await prune())[0]?.outcome, 'requeued');
      assert.equal(await redis.hLen(`${s.ns}errand:requeues`), 1);
      const worker = s.r.worker({ queues: 'low', concurrency: 1, intervalMs: 50, handleSignals: false });
      await worker.start();
      await eventually(() => ran.length === 1, 10_000, 'the requeued job');
      await eventually(
        async () => (await redis.exists(`${s.ns}errand:requeues`)) === 0,
        10_000,
        'the count to go',
      );
      await worker.stop();
    } finally {
      await connection.release();
      await s.done();
    }
  });

  void it("r.enqueue wakes this process's idle workers instead of leaving the job for the interval", async () => {
    const s = await setup('wake', (errand) => {
      errand.task('Ping', async () => 'pong');
    });
    try {
      const worker = s.r.worker({ queues: 'w', concurrency: 1, intervalMs: 60_000, handleSignals: false });
      await worker.start();
      // Let the first look at the (empty) queue happen: the worker is now in its 60 s idle wait.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const started = Date.now();
      const sent = await s.r.enqueue('w', 'Ping', []);
      assert.equal(await sent.result({ timeoutMs: 20_000 }), 'pong');
      assert.ok(Date.now() - started < 20_000);
      await worker.stop();
    } finally {
      await s.done();
    }
  });

  void it('bad options get clear errors naming the key', async () => {
    const errand = new Errand({ broker: REDIS_URL });
    const r = resque(errand, { namespace: uniqueNs('bad') });
    try {
      assert.throws(() => r.worker({ queues: '' }), /resque\.worker\.queues.*at least one queue/);
      assert.throws(() => r.worker({ queues: 'high=x' }), /weight of "high" must be a whole number/);
      assert.throws(() => r.worker({ queues: 'a', concurrency: 0 }), /resque\.worker\.concurrency/);
      await assert.rejects(r.enqueue('a:b', 'C', []), /resque\.enqueue\.queue/);
      assert.throws(() => resque(new Errand({ broker: 'memory:' })), /resque\.redis/);
    } finally {
      await r.close();
    }
  });
});
