/** Gordon/Goophry list entries <-> Errand messages, and the failed-list entries. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskMessage } from '../src/core/message.ts';
import { failedEntry, gordonCodec } from '../src/daemon/gordon-codec.ts';

const newId = () => 'new-id';

void describe('gordonCodec', () => {
  const codec = gordonCodec('resize', 'gordon');

  void it("decodes Gordon entries as in Gordon's tests: {}, args, env, both; keys case-insensitive", () => {
    const cases: Array<[string, unknown[], Record<string, string>]> = [
      ['{}', [], {}],
      ['{"args":["_valid"]}', ['_valid'], {}],
      ['{"env":{"var1":"val1"}}', [], { var1: 'val1' }],
      ['{"args":["_valid"],"env":{"var1":"val1"}}', ['_valid'], { var1: 'val1' }],
      ['{"Args":["x"],"ENV":{"a":"b"},"unknown":1}', ['x'], { a: 'b' }],
      ['{"args":null}', [], {}],
    ];
    for (const [body, args, env] of cases) {
      const d = codec.decode(body, newId);
      assert.ok(d.ok, body);
      assert.deepEqual(d.message.args, args, body);
      assert.deepEqual(d.message.env, env, body);
      assert.equal(d.message.task, 'resize');
      assert.equal(d.message.id, 'new-id');
      assert.equal(d.message.attempt, 0);
      assert.equal(d.assignedId, true);
    }
  });

  void it('rejects what Gordon rejected, with a reason', () => {
    const reasons = ['[]', '"x"', 'not json', '{"args":"a"}', '{"args":[1]}', '{"env":{"a":1}}'].map((b) => {
      const d = codec.decode(b, newId);
      assert.ok(!d.ok, b);
      return d.reason;
    });
    assert.deepEqual(reasons.slice(0, 2), [
      'task entry must be a JSON object like {"args":[...]}, got an array',
      'task entry must be a JSON object like {"args":[...]}, got string',
    ]);
    assert.match(reasons[2] ?? '', /^task entry is not valid JSON: /);
    assert.deepEqual(reasons.slice(3), [
      '"args" must be an array of strings, got string',
      '"args"[0] must be a string, got number',
      '"env".a must be a string, got number',
    ]);
  });

  void it("encodes a retried message as a Gordon entry that keeps Errand's id and attempt", () => {
    const message: TaskMessage = {
      v: 1,
      id: 'abc',
      task: 'resize',
      args: ['a', 2],
      attempt: 1,
      retries: 3,
      createdAt: 123,
      env: { K: 'V' },
    };
    const body = codec.encode(message);
    assert.deepEqual(JSON.parse(body), {
      args: ['a', '2'],
      env: { K: 'V' },
      errand: { id: 'abc', attempt: 1, retries: 3, createdAt: 123 },
    });
    const back = codec.decode(body, newId);
    assert.ok(back.ok);
    assert.equal(back.assignedId, false);
    assert.deepEqual({ ...back.message }, { ...message, args: ['a', '2'] });
  });

  void it('Goophry entries are {"Args":[...]} (Env only when set)', () => {
    const goophry = gordonCodec('t', 'goophry');
    const body = goophry.encode({ v: 1, id: 'i', task: 't', args: ['x'], attempt: 0 });
    assert.deepEqual(JSON.parse(body), { Args: ['x'], errand: { id: 'i', attempt: 0 } });
    const d = goophry.decode('{"Args":["test output"]}', newId);
    assert.ok(d.ok);
    assert.deepEqual(d.message.args, ['test output']);
  });

  void it('failed entries in each flavour', () => {
    assert.equal(
      failedEntry('gordon', ['a'], {}, 'exit status 3'),
      '{"args":["a"],"env":{},"error_message":"exit status 3"}',
    );
    assert.equal(failedEntry('goophry', ['a'], {}, 'boom'), '{"Args":["a"],"ErrorMessage":"boom"}');
    assert.equal(
      failedEntry('gordon', [], {}, 'bad', '[]'),
      '{"args":[],"env":{},"error_message":"bad","payload":"[]"}',
    );
  });

  void it("writes Go's HTML-safe escapes in failed entries, byte for byte as Gordon", () => {
    assert.equal(
      failedEntry('gordon', ['<a&b>', '\u2028'], { K: '<' }, 'x > y & z'),
      '{"args":["\\u003ca\\u0026b\\u003e","\\u2028"],"env":{"K":"\\u003c"},"error_message":"x \\u003e y \\u0026 z"}',
    );
  });

  void it('an empty entry is EOF, as Gordon says, not skipped', () => {
    for (const body of ['', '  \n']) {
      const d = codec.decode(body, newId);
      assert.ok(!d.ok);
      assert.equal(d.reason, 'EOF (the entry is empty)');
    }
  });

  void it("reads the first JSON value and ignores what follows, as Go's stream decoder does", () => {
    const cases: Array<[string, string[]]> = [
      ['{"args":["x"]} garbage', ['x']],
      ['{"args":["}{\\"]"]}{"args":["second"]}', ['}{"]']],
      ['{"args":["x"]}\n', ['x']],
    ];
    for (const [body, args] of cases) {
      const d = codec.decode(body, newId);
      assert.ok(d.ok, body);
      assert.deepEqual(d.message.args, args, body);
    }
    const broken = codec.decode('{"args":["x"] garbage', newId);
    assert.ok(!broken.ok);
    assert.match(broken.reason, /^task entry is not valid JSON: /);
  });

  void it('with "args" and "Args" both present the last one wins, as in Go', () => {
    const a = codec.decode('{"args":["first"],"Args":["last"]}', newId);
    const b = codec.decode('{"Args":["first"],"args":["last"]}', newId);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(a.message.args, ['last']);
    assert.deepEqual(b.message.args, ['last']);
  });
});
