/** Resque mode's pure parts: goworker's queue spec, Resque's time formats, the payload codec. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backtraceOf,
  failedAt,
  failureEntry,
  isoSeconds,
  resqueCodec,
  rubyTime,
} from '../src/resque/format.ts';
import { parseQueues, pollOrder } from '../src/resque/queues.ts';

const newId = (): string => 'unused';

void describe('Resque queue specs (goworker)', () => {
  void it('parses strict and weighted specs as goworker does', () => {
    assert.deepEqual(parseQueues('k', 'q1, q2,,q1'), {
      names: ['q1', 'q2'],
      weighted: ['q1', 'q2', 'q1'],
      strict: true,
    });
    assert.deepEqual(parseQueues('k', 'high=2,low'), {
      names: ['high', 'low'],
      weighted: ['high', 'high', 'low'],
      strict: false,
    });
    assert.throws(() => parseQueues('k', ' , '), /k: .*at least one queue/);
    assert.throws(() => parseQueues('k', 'high='), /weight of "high" must be a whole number >= 1 \(got ""\)/);
    assert.throws(() => parseQueues('k', 'a:b'), /must not contain ":"/);
  });

  void it('strict order is the given order; weighted order puts each queue first in proportion', () => {
    assert.deepEqual(pollOrder(parseQueues('k', 'a,b,c')), [0, 1, 2]);
    const spec = parseQueues('k', 'high=2,low=1');
    let seed = 1;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    };
    let highFirst = 0;
    for (let i = 0; i < 3000; i++) {
      const order = pollOrder(spec, random);
      assert.deepEqual([...order].sort(), [0, 1], 'every queue once');
      if (order[0] === 0) highFirst++;
    }
    assert.ok(highFirst > 1800 && highFirst < 2200, `high first ${highFirst} of 3000 (expected 2000)`);
  });
});

void describe("Resque's formats", () => {
  const t = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

  void it('writes times as Ruby does', () => {
    assert.equal(failedAt(t), '2025/01/02 03:04:05 UTC');
    assert.equal(rubyTime(t), '2025-01-02 03:04:05 +0000');
    assert.equal(isoSeconds(t), '2025-01-02T03:04:05Z');
  });

  void it('decodes Resque payloads into messages, and says what is wrong with bad ones', () => {
    const ok = resqueCodec.decode('{"class":"C","args":[1.0,"\\u00e9"],"queue":"q"}', newId);
    assert.ok(ok.ok);
    assert.equal(ok.message.task, 'C');
    assert.deepEqual(ok.message.args, [1, 'é']);
    assert.match(ok.message.id, /^resque-/, 'a job without an id gets a made-up one');
    const noArgs = resqueCodec.decode('{"class":"C"}', newId);
    assert.ok(noArgs.ok && noArgs.message.args.length === 0);
    assert.deepEqual(resqueCodec.decode('nope', newId).ok, false);
    assert.match((resqueCodec.decode('nope', newId) as { reason: string }).reason, /not valid JSON/);
    assert.match((resqueCodec.decode('{"args":[]}', newId) as { reason: string }).reason, /no class/);
    assert.match(
      (resqueCodec.decode('{"class":"C","args":{}}', newId) as { reason: string }).reason,
      /"args" must be an array/,
    );
    assert.match(
      (resqueCodec.decode('{"class":"C","attempt":-1}', newId) as { reason: string }).reason,
      /"attempt"/,
    );
  });

  void it('keeps Errand fields through encode, so a retry carries its attempt', () => {
    const decoded = resqueCodec.decode('{"class":"C","args":[1],"id":"x1","retries":3}', newId);
    assert.ok(decoded.ok);
    const again = JSON.parse(resqueCodec.encode({ ...decoded.message, attempt: 1 })) as Record<
      string,
      unknown
    >;
    assert.deepEqual(again, { class: 'C', args: [1], id: 'x1', attempt: 1, retries: 3 });
  });

  void it('writes failure entries with Ruby fields; the backtrace is always an array', () => {
    const entry = failureEntry({
      body: '{"class":"C","args":[1]}',
      error: {
        name: 'TypeError',
        message: 'bad',
        stack: 'TypeError: bad\n    at f (/a.js:1:2)\n    at g (/b.js:3:4)',
      },
      worker: 'h:1-0:q',
      queue: 'q',
      now: t,
    });
    assert.equal(
      entry,
      '{"failed_at":"2025/01/02 03:04:05 UTC","payload":{"class":"C","args":[1]},"exception":"TypeError","error":"bad","backtrace":["at f (/a.js:1:2)","at g (/b.js:3:4)"],"worker":"h:1-0:q","queue":"q"}',
    );
    // node-resque's removeFailed compares JSON.stringify(JSON.parse(entry)) with the stored bytes.
    assert.equal(JSON.stringify(JSON.parse(entry)), entry);
    assert.deepEqual(backtraceOf(undefined), []);
    const raw = JSON.parse(
      failureEntry({
        body: 'not json',
        error: { name: 'DecodeError', message: 'x' },
        worker: 'w',
        queue: 'q',
        now: t,
      }),
    ) as { payload: unknown; backtrace: unknown };
    assert.equal(raw.payload, 'not json');
    assert.deepEqual(raw.backtrace, []);
  });
});
