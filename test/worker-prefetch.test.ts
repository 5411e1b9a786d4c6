/**
 * Prefetch: while tasks are short a worker leases up to `prefetch` messages ahead of its free
 * slots (so a finished task's slot starts the next at once); never while tasks are slow, never
 * with `prefetch: 0`. A prefetched message that has not started goes back at stop() and when its
 * queue is paused, and a cancel reaches it before its handler runs.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { openRedis, RedisConnection } from '../src/brokers/redis/index.ts';
import type { Execution } from '../src/core/worker/execution.ts';
import { HandlerQueue, PREFETCH_TASK_MS, PREFETCH_WAIT_MS } from '../src/core/worker/handlers.ts';
import { Errand, TaskCancelledError } from '../src/index.ts';
import { deleteByPrefix, eventually, REDIS_URL, trackPrefix, uniquePrefix } from './helpers.ts';

const prefixes: string[] = [];
after(async () => {
  await deleteByPrefix(...prefixes);
});

function open(): Errand {
  const prefix = trackPrefix(uniquePrefix('prefetch'));
  prefixes.push(prefix);
  return new Errand({ broker: REDIS_URL, prefix });
}

/** A gate handlers wait on until it opens. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Samples the queue's leased count every 5 ms until `stop` resolves; returns the largest seen. */
async function peakLeased(errand: Errand, stop: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  void stop.finally(() => (done = true));
  while (!done) {
    peak = Math.max(peak, (await errand.stats()).leased);
    await delay(5);
  }
  return peak;
}

describe('redis blocking connections', () => {
  it('a blocking connection aborted while it connects leaves no socket open', async () => {
    const sockets = (): number =>
      (process as unknown as { _getActiveHandles(): object[] })
        ._getActiveHandles()
        .filter((h) => h.constructor.name === 'Socket').length;
    const connection = new RedisConnection({ url: REDIS_URL }).retain();
    await connection.ready();
    const before = sockets();
    // The window node-redis mishandles: destroy() before the socket connected.
    for (let i = 0; i < 5; i++) {
      const abort = new AbortController();
      const opening = connection.blockingClient(abort.signal).then(
        () => 'opened',
        () => 'refused',
      );
      abort.abort();
      assert.equal(await opening, 'refused');
    }
    await delay(300);
    assert.ok(sockets() <= before, `no socket left open (${sockets()} open, ${before} before)`);
    await connection.release();
  });
});

describe('worker prefetch', () => {
  it('short tasks lease ahead up to concurrency + prefetch; stop() hands the unstarted back at once', async () => {
    const errand = open();
    const blocked = gate();
    let ran = 0;
    const short = errand.task('short', async (n: number) => {
      ran++;
      // The first ten are quick (they switch prefetch on); the rest hold their slots.
      if (n >= 10) await blocked.wait;
    });
    await short.sendBulk(Array.from({ length: 40 }, (_, i) => [i] as [number]));
    const worker = errand.worker({ concurrency: 2, prefetch: 3, handleSignals: false });
    try {
      await worker.start();
      // Two running (blocked) and three leased ahead, waiting for a slot.
      await eventually(async () => (await errand.stats()).leased === 5, 5000, '5 leased');
      // `active` also counts the quick ones until their settle's reply is handled (under load, a
      // moment after Redis already shows their leases gone): it comes down to the two that block.
      await eventually(() => worker.active === 2, 2000, 'only two run');
      assert.equal(ran, 12);
      const stopping = worker.stop({ timeoutMs: 10_000 });
      // The three never started are back in the queue at once, while the two still run.
      await eventually(async () => (await errand.stats()).leased === 2, 2000, 'the unstarted handed back');
      // 40 sent, 12 started; the 3 leased ahead are waiting again.
      assert.equal((await errand.stats()).waiting, 28);
      blocked.open();
      await stopping;
      assert.equal(ran, 12, 'nothing started after stop()');
      assert.deepEqual(await errand.stats(), { waiting: 28, delayed: 0, leased: 0, dead: 0 });
    } finally {
      blocked.open();
      await worker.stop();
      await errand.close();
    }
  });

  it('slow tasks (and prefetch: 0) never lease ahead of free slots', async () => {
    for (const [label, handlerMs, prefetch] of [
      ['slow tasks', 80, undefined],
      ['prefetch: 0', 1, 0],
    ] as const) {
      const errand = open();
      const task = errand.task('t', async () => {
        await delay(handlerMs);
      });
      const count = label === 'slow tasks' ? 12 : 60;
      await task.sendBulk(Array.from({ length: count }, () => [] as []));
      let finished = 0;
      const worker = errand.worker({
        concurrency: 3,
        handleSignals: false,
        ...(prefetch === undefined ? {} : { prefetch }),
      });
      worker.on('completed', () => finished++);
      try {
        await worker.start();
        const peak = await peakLeased(
          errand,
          eventually(() => finished === count, 20_000, `${label}: all done`),
        );
        assert.ok(peak <= 3, `${label}: at most 3 leased at once (saw ${peak})`);
      } finally {
        await worker.stop();
        await errand.close();
      }
    }
  });

  it('a cancel reaches a prefetched task: its handler never runs', async () => {
    const errand = open();
    const blocked = gate();
    const started: string[] = [];
    const job = errand.task('job', async (name: string) => {
      started.push(name);
      if (name === 'blocker') await blocked.wait;
    });
    // Sent before the worker starts: leasing ahead happens as tasks settle (in queue order).
    for (const name of ['a', 'b', 'c', 'blocker']) await job.send(name);
    const victim = await job.send('victim');
    const worker = errand.worker({ concurrency: 1, prefetch: 1, handleSignals: false });
    try {
      await worker.start();
      await eventually(() => started.includes('blocker'), 5000, 'the blocker runs');
      // Leased ahead behind the blocker (the worker holds both).
      await eventually(async () => (await errand.stats()).leased === 2, 5000, 'victim leased ahead');
      assert.deepEqual(await errand.cancel(victim.id), { id: victim.id, outcome: 'signalled' });
      await delay(100);
      blocked.open();
      await assert.rejects(victim.result({ timeoutMs: 5000 }), TaskCancelledError);
      assert.deepEqual(started, ['a', 'b', 'c', 'blocker']);
      await eventually(async () => (await errand.stats()).leased === 0, 5000, 'all settled');
    } finally {
      blocked.open();
      await worker.stop();
      await errand.close();
    }
  });

  it('a prefetched message of a queue paused since goes back instead of running', async () => {
    const errand = open();
    const blocked = gate();
    const started: string[] = [];
    const job = errand.task('job', async (name: string) => {
      started.push(name);
      if (name === 'blocker') await blocked.wait;
    });
    for (const name of ['a', 'b', 'c', 'blocker', 'held']) await job.send(name);
    const worker = errand.worker({ concurrency: 1, prefetch: 1, handleSignals: false });
    try {
      await worker.start();
      await eventually(() => started.includes('blocker'), 5000, 'the blocker runs');
      await eventually(async () => (await errand.stats()).leased === 2, 5000, '"held" leased ahead');
      await errand.pause();
      // The worker notices the pause within its check interval (about a second).
      await delay(1500);
      blocked.open();
      await eventually(async () => (await errand.stats()).waiting === 1, 5000, '"held" back in the queue');
      await delay(200);
      assert.deepEqual(started, ['a', 'b', 'c', 'blocker']);
      await errand.resume();
      await eventually(() => started.length === 5, 5000, '"held" runs after resume');
    } finally {
      blocked.open();
      await worker.stop();
      await errand.close();
    }
  });
});

describe('settle batches', () => {
  it('short tasks leased ahead run in batches that overlap their settles (at most max(64, concurrency) per batch)', async () => {
    const prefix = trackPrefix(uniquePrefix('batches'));
    prefixes.push(prefix);
    const { broker, backend } = openRedis(REDIS_URL, { prefix });
    // Records how many outcomes each settle-and-refill carried, and how many ran at once.
    const settleAndReserve = broker.settleAndReserve!.bind(broker);
    const outcomes: number[] = [];
    let inFlight = 0;
    let overlapped = 0;
    broker.settleAndReserve = async (queue, batch, request) => {
      outcomes.push(
        (batch.acks?.length ?? 0) +
          (batch.retries?.length ?? 0) +
          (batch.deadLetters?.length ?? 0) +
          (batch.releases?.length ?? 0),
      );
      if (++inFlight > 1) overlapped++;
      try {
        return await settleAndReserve(queue, batch, request);
      } finally {
        inFlight--;
      }
    };
    const errand = new Errand({ broker, backend });
    const concurrency = 100;
    const total = 3000;
    const noop = errand.task('noop', async (n: number) => n);
    for (let i = 0; i < total; i += 1000) {
      await noop.sendBulk(Array.from({ length: 1000 }, (_, j) => [i + j] as [number]));
    }
    let finished = 0;
    const worker = errand.worker({ concurrency, handleSignals: false });
    worker.on('completed', () => finished++);
    try {
      await worker.start();
      await eventually(() => finished === total, 30_000, 'all done');
      // Leased 100 + 100 ahead at a time: without the split, 200 ran in one turn and one call settled them.
      const largest = Math.max(...outcomes);
      assert.ok(
        largest <= concurrency + 10,
        `at most ~${concurrency} outcomes per settle (largest ${largest})`,
      );
      assert.ok(overlapped > 0, 'a settle was sent while another was in flight');
      assert.deepEqual(await errand.stats(), { waiting: 0, delayed: 0, leased: 0, dead: 0 });
    } finally {
      await worker.stop();
      await errand.close();
    }
  });
});

describe('prefetch by time', () => {
  it('leases ahead what the handlers run in about PREFETCH_WAIT_MS at their average, none while slow', () => {
    const finished = (queue: HandlerQueue, tookMs: number): void => {
      const execution = { handlerStartedAt: undefined } as unknown as Execution;
      queue.begin(execution);
      execution.handlerStartedAt = Date.now() - tookMs;
      queue.finish(execution);
    };
    const ten = new HandlerQueue(10);
    assert.equal(ten.ahead(200), 0, 'nothing ahead before a first handler ended');
    finished(ten, 5);
    // 10 handlers × 20 ms / 5 ms a task.
    assert.equal(ten.ahead(200), (10 * PREFETCH_WAIT_MS) / 5);
    assert.equal(ten.ahead(7), 7, 'never more than the prefetch');
    const quick = new HandlerQueue(1);
    finished(quick, 0);
    assert.equal(quick.ahead(200), 200, 'tasks of microseconds get the whole prefetch');
    const slow = new HandlerQueue(4);
    finished(slow, PREFETCH_TASK_MS + 10);
    assert.equal(slow.ahead(200), 0, 'slow tasks lease nothing ahead');
    const one = new HandlerQueue(1);
    finished(one, 30);
    assert.equal(one.ahead(200), 1, 'at least one while tasks are short');
  });

  it('a worker of 10 ms tasks holds about 20 ms of work ahead, not its whole prefetch', async () => {
    const errand = open();
    const task = errand.task('ten-ms', async () => {
      await delay(10);
    });
    const count = 150;
    await task.sendBulk(Array.from({ length: count }, () => [] as []));
    let finished = 0;
    const worker = errand.worker({ concurrency: 2, handleSignals: false });
    worker.on('completed', () => finished++);
    try {
      await worker.start();
      const peak = await peakLeased(
        errand,
        eventually(() => finished === count, 20_000, 'all done'),
      );
      // 2 handlers × 20 ms / ~10 ms a task = about 4 ahead (timer jitter makes tasks a little longer).
      assert.ok(
        peak <= 2 + 6,
        `at most about 2 + 4 leased at once (saw ${peak}; the prefetch is ${worker.prefetch})`,
      );
      assert.ok(peak > 2, `some were leased ahead (saw ${peak})`);
    } finally {
      await worker.stop();
      await errand.close();
    }
  });
});
