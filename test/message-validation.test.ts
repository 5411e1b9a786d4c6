/** Issue 9, items 1-3 and 11: every field of a message and every option is checked before use. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, MAX_BACKOFF_MS, retryDelay, validateBackoff } from '../src/core/backoff.ts';
import { jsonCodec, MAX_NESTING, MAX_TIMEOUT_MS } from '../src/core/message.ts';
import { resolveOptions, validateSendOptions } from '../src/core/options.ts';
import { Errand, ErrandConfigError } from '../src/index.ts';

const decode = (body: string) => jsonCodec.decode(body, () => 'new-id');
const reason = (body: string): string => {
  const r = decode(body);
  assert.ok(!r.ok, `${body.slice(0, 80)} is rejected`);
  return r.reason;
};
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('message decoding refuses every malformed field, naming it', () => {
  it('backoff: not an object, bad type, non-finite or negative numbers, jitter out of range', () => {
    assert.match(
      reason('{"task":"a","retries":1,"backoff":{}}'),
      /"backoff" is invalid: backoff.type must be/,
    );
    assert.match(reason('{"task":"a","backoff":[]}'), /backoff must be an object, got an array/);
    assert.match(reason('{"task":"a","backoff":"fast"}'), /backoff must be an object/);
    assert.match(
      reason('{"task":"a","backoff":{"type":"fixed"}}'),
      /backoff.delayMs must be a finite number/,
    );
    assert.match(reason('{"task":"a","backoff":{"type":"fixed","delayMs":-1}}'), /backoff.delayMs/);
    assert.match(reason('{"task":"a","backoff":{"type":"fixed","delayMs":"5"}}'), /backoff.delayMs/);
    assert.match(reason('{"task":"a","backoff":{"type":"fixed","delayMs":1e999}}'), /got Infinity/);
    assert.match(reason('{"task":"a","backoff":{"type":"fixed","delayMs":1,"jitter":2}}'), /backoff.jitter/);
    assert.match(
      reason('{"task":"a","backoff":{"type":"fixed","delayMs":1,"maxDelayMs":null}}'),
      /maxDelayMs/,
    );
  });
  it('numbers: non-finite, fractional, negative, huge, or of the wrong type', () => {
    assert.match(reason('{"task":"a","createdAt":1e999}'), /"createdAt" must be a finite number/);
    assert.match(reason('{"task":"a","createdAt":"2024"}'), /"createdAt"/);
    assert.match(reason('{"task":"a","timeoutMs":0}'), /"timeoutMs" must be a number of ms in/);
    assert.match(reason(`{"task":"a","timeoutMs":${MAX_TIMEOUT_MS + 1}}`), /timeoutMs.*Node timers/);
    assert.match(reason('{"task":"a","timeoutMs":1e999}'), /"timeoutMs"/);
    assert.match(reason('{"task":"a","attempt":1.5}'), /"attempt" must be a non-negative integer/);
    assert.match(reason('{"task":"a","attempt":1e300}'), /"attempt"/);
    assert.match(reason('{"task":"a","retries":-1}'), /"retries"/);
    assert.match(reason('{"task":"a","retries":true}'), /"retries"/);
    assert.ok(decode(`{"task":"a","timeoutMs":${MAX_TIMEOUT_MS}}`).ok, 'the longest timer is fine');
  });
  it('strings and objects of the wrong type', () => {
    assert.match(reason('{"task":1}'), /no task name/);
    assert.match(reason('{"task":"a","id":7}'), /"id" must be a non-empty string/);
    assert.match(reason('{"task":"a","args":null}'), /"args" must be an array, got null/);
    assert.match(reason('{"task":"a","env":[]}'), /"env"/);
    assert.match(reason('{"task":"a","env":{"A":null}}'), /"env"/);
  });
  it('nesting deeper than MAX_NESTING is refused with the true reason (100,000 levels included)', () => {
    assert.match(reason(`{"task":"a","args":${nested(100_000)}}`), /nested more than 1000 levels/);
    assert.match(reason(`{"task":"a","x":${nested(MAX_NESTING)}}`), /nested more than/);
    const ok = decode(`{"task":"a","args":${nested(MAX_NESTING - 1)}}`);
    assert.ok(ok.ok, 'args at the limit are fine');
    assert.doesNotThrow(() => jsonCodec.encode(ok.message), 'and can be re-encoded');
  });
  it('prototype keys are plain data: they neither pollute nor break decoding', () => {
    const r = decode(
      '{"task":"a","__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"args":[{"__proto__":null}]}',
    );
    assert.ok(r.ok);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(r.message), Object.prototype);
    assert.equal((r.message as unknown as { polluted?: unknown }).polluted, undefined);
    assert.match(reason('{"task":"a","env":{"__proto__":1}}'), /"env"/);
  });
  it('encode refuses what decode would refuse, with the same reason', () => {
    const deep = JSON.parse(nested(MAX_NESTING + 5)) as unknown[];
    const message = { v: 1 as const, id: 'x', task: 'a', args: deep, attempt: 0 };
    assert.throws(() => jsonCodec.encode(message), /nested more than 1000 levels/);
    const deeper = JSON.parse(nested(20_000)) as unknown[];
    assert.throws(() => jsonCodec.encode({ ...message, args: deeper }), /nested more than 1000 levels/);
  });
});

describe('backoff delays are always finite (item 1)', () => {
  it('a malformed spec falls back to the default instead of NaN', () => {
    for (const spec of [
      {},
      { type: 'fixed' },
      { type: 'fixed', delayMs: Number.NaN },
      null,
      { type: 'x', delayMs: 5 },
    ]) {
      const d = backoffDelay(spec as never, 1);
      assert.ok(Number.isFinite(d) && d >= 0, `${JSON.stringify(spec)} -> ${d}`);
    }
  });
  it('huge retry numbers stay finite and capped', () => {
    assert.equal(
      backoffDelay({ type: 'exponential', delayMs: 1000 }, 5000, () => 0.5),
      MAX_BACKOFF_MS,
    );
    assert.equal(
      backoffDelay({ type: 'fibonacci', delayMs: 1000 }, 1e9, () => 0.5),
      MAX_BACKOFF_MS,
    );
    assert.equal(backoffDelay({ type: 'exponential', delayMs: 0 }, 5000), 0);
    assert.ok(Number.isFinite(backoffDelay({ type: 'exponential', delayMs: 1000, jitter: 1 }, 5000)));
  });
  it('RetryLater() without a delay (or with NaN) uses the backoff; a huge one is capped', () => {
    const spec = { type: 'fixed' as const, delayMs: 250 };
    assert.equal(retryDelay(undefined, spec, 1), 250);
    assert.equal(retryDelay(Number.NaN, spec, 1), 250);
    assert.equal(retryDelay(-5, spec, 1), 250);
    assert.equal(retryDelay(40, spec, 1), 40);
    assert.equal(retryDelay(Number.POSITIVE_INFINITY, spec, 1), MAX_BACKOFF_MS);
  });
  it('validateBackoff names the field', () => {
    assert.equal(validateBackoff({ type: 'fixed', delayMs: 0 }), undefined);
    assert.match(validateBackoff({ type: 'fixed', delayMs: Number.POSITIVE_INFINITY }) ?? '', /got Infinity/);
  });
});

describe('options are checked before anything depends on them (items 1-3)', () => {
  const send = (options: object) => () => validateSendOptions('send("x")', options);
  it('non-finite times are refused at the API', () => {
    assert.throws(
      send({ delayMs: Number.POSITIVE_INFINITY }),
      /send\("x"\)\.delayMs: must be a finite number >= 0 \(got Infinity\)/,
    );
    assert.throws(send({ delayMs: Number.NaN }), /delayMs.*NaN/);
    assert.throws(send({ eta: Number.NaN }), /send\("x"\)\.eta/);
    assert.throws(send({ eta: Number.POSITIVE_INFINITY }), /eta/);
    assert.throws(send({ eta: new Date('nope') }), /eta: .*invalid Date/);
    assert.doesNotThrow(send({ eta: new Date() }));
  });
  it('timeoutMs above 2,147,483,647 ms is refused (a Node timer would fire at once)', () => {
    assert.throws(send({ timeoutMs: MAX_TIMEOUT_MS + 1 }), /timeoutMs: must be at most 2147483647 ms/);
    assert.throws(send({ timeoutMs: Number.POSITIVE_INFINITY }), /timeoutMs/);
    assert.doesNotThrow(send({ timeoutMs: MAX_TIMEOUT_MS }));
  });
  it('backoff, retries, env, id and queue of the wrong shape are refused', () => {
    assert.throws(send({ backoff: {} }), /backoff: backoff.type/);
    assert.throws(send({ backoff: { type: 'fixed', delayMs: Number.POSITIVE_INFINITY } }), /backoff.delayMs/);
    assert.throws(send({ retries: Number.POSITIVE_INFINITY }), /retries/);
    assert.throws(send({ env: null }), /env/);
    assert.throws(send({ id: 5 }), /id/);
    assert.throws(send({ queue: 'a{b}' }), /queue/);
  });
  it('Errand options: numbers, prefix, queues and logger', () => {
    assert.throws(
      () => resolveOptions({ resultTtlMs: Number.POSITIVE_INFINITY }),
      /resultTtlMs: must be a positive integer \(got Infinity\)/,
    );
    assert.throws(() => resolveOptions({ maxDeliveries: 0 }), /maxDeliveries/);
    assert.throws(() => resolveOptions({ prefix: 5 as never }), /prefix/);
    assert.throws(() => resolveOptions({ queues: { q: { listKey: '' } } }), /queues\.q\.listKey/);
    assert.throws(() => resolveOptions({ queues: { q: { codec: {} as never } } }), /queues\.q\.codec/);
    assert.throws(() => resolveOptions({ logger: { warn() {} } as never }), /logger/);
    assert.doesNotThrow(() => resolveOptions({}));
  });
});

describe('through the public API', () => {
  it('send() refuses delayMs: Infinity and a timeoutMs past the timer limit; task() too', async () => {
    const errand = new Errand({ broker: 'memory:' });
    try {
      await assert.rejects(errand.send('x', [], { delayMs: Number.POSITIVE_INFINITY }), ErrandConfigError);
      await assert.rejects(errand.send('x', [], { eta: Number.NaN }), /eta/);
      await assert.rejects(errand.send('x', [], { timeoutMs: 2 ** 31 }), /timeoutMs: must be at most/);
      assert.throws(() => errand.task('t', () => 1, { timeoutMs: 2 ** 31 }), /timeoutMs/);
      const deep = JSON.parse(nested(5000)) as unknown;
      await assert.rejects(errand.send('x', [deep]), /nested more than 1000 levels/);
      assert.equal((await errand.stats()).waiting, 0, 'nothing was enqueued');
    } finally {
      await errand.close();
    }
  });
});
