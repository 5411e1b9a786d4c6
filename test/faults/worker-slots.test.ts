/**
 * Slot accounting under a forced interleaving (issue 9 item 10): a test double re-orders broker
 * replies so that a settle-and-refill reply and a fetch loop's reserve reply are handled in the
 * same macrotask, the rare ordering in which a refill used to dispatch before the finishing
 * executions gave their slots back (free < 0, reserve with a negative max, over-running).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBroker, MemoryResultBackend } from '../../src/brokers/memory/index.ts';
import { openRedis } from '../../src/brokers/redis/index.ts';
import type { ReserveRequest, SettleBatch } from '../../src/core/port.ts';
import { Errand } from '../../src/index.ts';
import { REDIS_URL, uniquePrefix } from '../helpers.ts';

/**
 * Holds each reserve reply until a settle-and-reserve reply is ready too (or 10 ms passed), then
 * hands both over in one macrotask, the settle's first. Its refill leases at most half of what
 * was asked ("up to max" allows it), so the fetch loop keeps finding free slots and reserving
 * while settles are in flight: the two kinds of reply keep meeting.
 */
class ReorderingBroker extends MemoryBroker {
  readonly reserveMaxes: number[] = [];
  pairs = 0;
  private settles: Array<() => void> = [];
  private reserves: Array<() => void> = [];
  private flushTimer: NodeJS.Timeout | undefined;

  private hold<T>(value: T, kind: 'settle' | 'reserve'): Promise<T> {
    return new Promise<T>((resolve) => {
      (kind === 'settle' ? this.settles : this.reserves).push(() => resolve(value));
      if (this.settles.length > 0 && this.reserves.length > 0) {
        this.pairs++;
        this.release();
      } else {
        this.flushTimer ??= setTimeout(() => this.release(), 10);
      }
    });
  }

  private release(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const held = [...this.settles, ...this.reserves];
    this.settles = [];
    this.reserves = [];
    setImmediate(() => {
      for (const resolve of held) resolve();
    });
  }

  override async reserve(name: string, request: ReserveRequest) {
    this.reserveMaxes.push(request.max);
    return this.hold(await super.reserve(name, request), 'reserve');
  }

  override async settleAndReserve(name: string, batch: SettleBatch, request: ReserveRequest) {
    this.reserveMaxes.push(request.max);
    const settled = await super.settle(name, batch, request.now);
    const max = request.max > 1 ? Math.floor(request.max / 2) : request.max;
    const reserved = await super.reserve(name, { ...request, max });
    return this.hold({ ...settled, reserved }, 'settle');
  }
}

describe('worker slot accounting with re-ordered broker replies', () => {
  // Without prefetch the fetch loop and the refills lease side by side all the time; with it, the
  // refills also lease ahead into room the fetch loop leaves alone, and the two meet less often.
  for (const prefetch of [0, undefined]) {
    it(`never runs more handlers than its concurrency, never reserves max <= 0, loses no task (prefetch ${prefetch ?? 'default'})`, async () => {
      const broker = new ReorderingBroker();
      const errand = new Errand({ broker, backend: new MemoryResultBackend() });
      const concurrency = 5;
      const total = 400;
      let running = 0;
      let peak = 0;
      const ran = new Set<number>();
      const work = errand.task('work', async (n: number) => {
        running++;
        peak = Math.max(peak, running);
        // Mixed durations: some finish in the same turn, some a little later.
        if (n % 3 !== 0) await new Promise((r) => setTimeout(r, n % 4));
        running--;
        ran.add(n);
        return n;
      });
      for (let i = 0; i < total; i += 100) {
        await work.sendBulk(Array.from({ length: 100 }, (_, j) => [i + j] as [number]));
      }
      const worker = errand.worker({
        concurrency,
        batchSize: 3,
        handleSignals: false,
        ...(prefetch === undefined ? {} : { prefetch }),
      });
      await worker.start();
      const deadline = Date.now() + 60_000;
      while (ran.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await worker.stop({ timeoutMs: 5000 });
      const stats = await broker.stats('default');
      await errand.close();
      if (prefetch === 0)
        assert.ok(broker.pairs >= 10, `the forced interleaving happened (${broker.pairs} times)`);
      assert.ok(peak <= concurrency, `at most ${concurrency} handlers at once (peak ${peak})`);
      const bad = broker.reserveMaxes.filter((max) => !(max >= 1));
      assert.deepEqual(bad, [], 'every reserve asks for at least one message');
      assert.equal(ran.size, total, `every task ran (${ran.size} of ${total})`);
      assert.deepEqual(stats, { waiting: 0, delayed: 0, leased: 0, dead: 0 });
    });
  }
});

describe('Redis fencing tokens', () => {
  it('a reserve for fewer than 1 message is refused before it can rewind the token counter', async () => {
    const prefix = uniquePrefix('tokens');
    const { broker, backend } = openRedis(REDIS_URL, { prefix });
    try {
      const request = { leaseMs: 10_000, maxDeliveries: 5, now: Date.now() };
      await broker.enqueue(
        'q',
        [{ body: '{"task":"a"}' }, { body: '{"task":"b"}' }, { body: '{"task":"c"}' }],
        60_000,
      );
      const first = await broker.reserve('q', { ...request, max: 1 });
      for (const max of [0, -2, 1.5, Number.NaN]) {
        await assert.rejects(broker.reserve('q', { ...request, max }), /max must be a positive integer/);
      }
      const rest = await broker.reserve('q', { ...request, max: 2 });
      const tokens = [...first.messages, ...rest.messages].map((m) => m.token);
      assert.equal(tokens.length, 3);
      assert.equal(new Set(tokens).size, 3, `tokens never repeat: ${tokens.join(', ')}`);
      await broker.settle('q', { acks: tokens }, Date.now());
    } finally {
      await Promise.all([broker.close(), backend.close()]);
    }
  });
});
