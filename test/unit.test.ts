/** Pure units, no server: backoff, message decoding, option validation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../src/core/backoff.ts';
import { Deadline, withTimeout } from '../src/core/clock.ts';
import { jsonCodec } from '../src/core/message.ts';
import { Slots } from '../src/core/worker/slots.ts';
import { Errand, ErrandConfigError } from '../src/index.ts';

describe('backoff', () => {
  const none = () => 0.5; // jitter term 2*0.5-1 = 0
  it('fixed, exponential and Fibonacci (Machinery: 1, 2, 3, 5, 8 …) grow as documented', () => {
    const seq = (type: 'fixed' | 'exponential' | 'fibonacci') =>
      [1, 2, 3, 4, 5].map((n) => backoffDelay({ type, delayMs: 100 }, n, none));
    assert.deepEqual(seq('fixed'), [100, 100, 100, 100, 100]);
    assert.deepEqual(seq('exponential'), [100, 200, 400, 800, 1600]);
    assert.deepEqual(seq('fibonacci'), [100, 200, 300, 500, 800]);
  });
  it('caps at maxDelayMs and spreads by jitter within bounds', () => {
    assert.equal(backoffDelay({ type: 'exponential', delayMs: 1000, maxDelayMs: 5000 }, 10, none), 5000);
    const spec = { type: 'fixed' as const, delayMs: 1000, jitter: 0.2 };
    assert.equal(
      backoffDelay(spec, 1, () => 0),
      800,
    );
    assert.equal(
      backoffDelay(spec, 1, () => 1),
      1200,
    );
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(spec, 1);
      assert.ok(d >= 800 && d <= 1200, `${d} within ±20 %`);
    }
  });
});

describe('message decoding', () => {
  const decode = (body: string) => jsonCodec.decode(body, () => 'new-id');
  it('accepts the minimal message and fills in defaults', () => {
    const r = decode('{"task":"add","args":[2,3]}');
    assert.ok(r.ok);
    assert.deepEqual(r.message, { v: 1, id: 'new-id', task: 'add', args: [2, 3], attempt: 0 });
    assert.equal(r.assignedId, true);
    const bare = decode('{"task":"ping"}');
    assert.ok(bare.ok && bare.message.args.length === 0);
  });
  it('names the problem of a bad message', () => {
    const reason = (body: string) => {
      const r = decode(body);
      assert.ok(!r.ok, `${body} is rejected`);
      return r.reason;
    };
    assert.match(reason('nope'), /not valid JSON/);
    assert.match(reason('[1,2]'), /not a JSON object/);
    assert.match(reason('{"task":""}'), /no task name/);
    assert.match(reason('{"task":"a","args":"x"}'), /"args" must be an array, got string/);
    assert.match(reason('{"task":"a","attempt":-1}'), /"attempt" must be a non-negative integer/);
    assert.match(reason('{"task":"a","env":{"A":1}}'), /"env" must be an object of strings/);
    assert.match(reason('{"v":3,"task":"a"}'), /unsupported message format version 3/);
  });
});

describe('option validation', () => {
  it('names the key and the problem', async () => {
    assert.throws(
      () => new Errand({ broker: 'memory:', maxDeliveries: 0 }),
      /maxDeliveries: must be a positive integer \(got 0\)/,
    );
    assert.throws(() => new Errand({ broker: 'memory:', prefix: 'a b' }), /prefix: must contain only/);
    const errand = new Errand({ broker: 'memory:' });
    assert.throws(
      () => errand.task('t', () => 1, { backoff: { type: 'linear' as 'fixed', delayMs: 1 } }),
      /task\("t"\)\.backoff: backoff.type must be "fixed", "exponential" or "fibonacci"/,
    );
    const t = errand.task('t2', (n: number) => n);
    await assert.rejects(
      t.with({ retries: -1 }).send(1),
      /send\("t2"\)\.retries: must be an integer >= 0 \(got -1\)/,
    );
    await assert.rejects(t.with({ delayMs: 5, eta: Date.now() }).send(1), /give delayMs or eta, not both/);
    await assert.rejects(
      errand.send('t2', [1], { queue: 'a{b}' }),
      /queue: must be a non-empty string without braces/,
    );
    assert.throws(() => errand.worker({ concurrency: 0 }), ErrandConfigError);
    assert.throws(() => errand.task('t2', () => 2), /already defined/);
    await assert.rejects(
      new Errand({ broker: 'mongodb://x' }).stats(),
      /broker: unsupported URL "mongodb:\/\/x"/,
    );
    await errand.close();
  });
});

describe('sleep', () => {
  it('waits for the signal only when the time is infinite', async () => {
    const { sleep } = await import('../src/core/clock.ts');
    const ac = new AbortController();
    let done = false;
    const waiting = sleep(Number.POSITIVE_INFINITY, ac.signal).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done, false, 'still waiting after 50 ms');
    ac.abort();
    await waiting;
    assert.equal(done, true);
  });
});

describe('slots', () => {
  it('takes at most what is free, never a negative count, and refuses to give back more than taken', () => {
    const slots = new Slots(3);
    assert.equal(slots.takeUpTo(5), 3);
    assert.equal(slots.takeUpTo(2), 0, 'nothing free: 0, not a negative count');
    assert.equal(slots.takeUpTo(-4), 0);
    slots.give(2);
    assert.equal(slots.free, 2);
    assert.throws(() => slots.give(2), /only 1 taken/);
  });
});

describe('Deadline', () => {
  it('fires on its own timer, or with a linked signal, and dispose() clears both', async () => {
    const fired = new Deadline(20);
    const t0 = Date.now();
    await fired.expired;
    assert.ok(fired.passed && Date.now() - t0 >= 15, 'fired after about 20 ms');

    const hurry = new AbortController();
    const linked = new Deadline(60_000, hurry.signal);
    hurry.abort();
    assert.ok(linked.passed, 'a linked signal ends it at once');

    assert.ok(new Deadline(0).passed, 'a deadline of 0 has passed already');

    const disposed = new Deadline(30);
    disposed.dispose();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(disposed.passed, false, 'a disposed deadline never fires');
  });

  it('withTimeout rejects with the error it is given, and clears its timer when the promise settles', async () => {
    await assert.rejects(
      withTimeout(new Promise(() => {}), 10, () => new Error('no answer')),
      /no answer/,
    );
    assert.equal(await withTimeout(Promise.resolve(7), 60_000, () => new Error('x')), 7);
  });
});
