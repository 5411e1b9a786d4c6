/**
 * Workflow links on the wire: a message from another process or language carries its own
 * follow-ups; bad links are refused with a reason naming the path; a link enqueued twice (its
 * parent ran twice) runs once; a backend without a group counter leaves a trace.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { createClient } from '@redis/client';
import { MemoryBroker, MemoryResultBackend } from '../src/brokers/memory/index.ts';
import { Errand, GroupsUnsupportedError, jsonCodec, type ResultBackend, toMessage } from '../src/index.ts';
import { runFollowUps } from '../src/workflow/follow-ups.ts';
import { eventually, REDIS_URL, uniquePrefix } from './helpers.ts';

const open: Errand[] = [];
after(async () => {
  await Promise.all(open.map((e) => e.close()));
});

it('a plain RPUSH with links runs the chain, with ids derived from the parent', async () => {
  const prefix = uniquePrefix('wfwire');
  const errand = new Errand({ broker: REDIS_URL, prefix });
  open.push(errand);
  errand.task('add', async (a: number, b: number) => a + b);
  errand.task('mul', async (a: number, b: number) => a * b);
  await errand.worker({ handleSignals: false }).start();
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    const message = {
      id: 'raw-1',
      task: 'add',
      args: [1, 2],
      links: { next: { task: 'mul', args: [10] }, onSuccess: [{ task: 'add', args: [100] }] },
    };
    await client.rPush(`${prefix}:{default}:wait`, JSON.stringify(message));
  } finally {
    await client.close();
  }
  assert.equal(await errand.result('raw-1.next', { timeoutMs: 10_000 }), 30);
  assert.equal(await errand.result('raw-1.ok0', { timeoutMs: 10_000 }), 103);
});

it('bad links are refused with a reason naming the path', () => {
  const reason = (links: unknown) => {
    const decoded = toMessage({ task: 'add', args: [], links }, () => 'id');
    return decoded.ok ? undefined : decoded.reason;
  };
  assert.equal(reason([]), '"links" is invalid: "links" must be an object');
  assert.equal(
    reason({ next: { args: [] } }),
    '"links" is invalid: "links.next.task" must be a non-empty string',
  );
  assert.equal(
    reason({ onError: [{ task: 'x', immutable: 'yes' }] }),
    '"links" is invalid: "links.onError[0].immutable" must be a boolean',
  );
  assert.equal(
    reason({ member: { group: 'g', index: 3, size: 3 } }),
    '"links" is invalid: "links.member.index" must be an integer in [0, size)',
  );
  assert.equal(
    reason({ next: { group: [] } }),
    '"links" is invalid: "links.next.group" must be a non-empty array of links',
  );
  assert.equal(reason({ next: { group: [{ task: 'a' }] } }), undefined);
});

it('a message with links is format version 2, so a worker that predates links dead-letters it instead of dropping them', () => {
  const decoded = toMessage({ task: 'add', args: [], links: { next: { task: 'b' } } }, () => 'id');
  assert.ok(decoded.ok);
  assert.equal(decoded.message.v, 2);
  const plain = toMessage({ task: 'add', args: [] }, () => 'id');
  assert.ok(plain.ok);
  assert.equal(plain.message.v, 1);
  const dispatched = toMessage(JSON.parse(jsonCodec.encode(decoded.message)), () => 'id');
  assert.ok(dispatched.ok && dispatched.message.v === 2, 'kept when re-encoded (a retry, a dead letter)');
});

it('a link enqueued twice (its parent ran twice, its ack lost) runs once', async () => {
  const errand = new Errand({ broker: 'memory:' });
  open.push(errand);
  const runs: number[][] = [];
  errand.task('mul', async (a: number, b: number) => {
    runs.push([a, b]);
    return a * b;
  });
  await errand.worker({ handleSignals: false }).start();
  const message = {
    v: 2 as const,
    id: 'parent-1',
    task: 'add',
    args: [1, 2],
    attempt: 0,
    links: { next: { task: 'mul', args: [10] } },
  };
  await runFollowUps(errand.runtime, message, 'default', { ok: true, value: 3 });
  await runFollowUps(errand.runtime, message, 'default', { ok: true, value: 3 });
  assert.equal(await errand.result('parent-1.next', { timeoutMs: 5000 }), 30);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(runs, [[10, 3]]);
});

it('a chord member whose follow-ups run again after the group completed (its ack lost) does not run the callback twice', async () => {
  const errand = new Errand({ broker: 'memory:' });
  open.push(errand);
  const runs: number[][] = [];
  errand.task('sum', async (xs: number[]) => {
    runs.push(xs);
    return xs.reduce((s, x) => s + x, 0);
  });
  await errand.worker({ handleSignals: false }).start();
  const member = (index: number) => ({
    v: 2 as const,
    id: `m${index}`,
    task: 'member',
    args: [],
    attempt: 0,
    links: {
      member: { group: 'g-1', index, size: 3, links: { next: { id: 'cb-1', task: 'sum', args: [] } } },
    },
  });
  await runFollowUps(errand.runtime, member(0), 'default', { ok: true, value: 10 });
  // The last two members finish together, and one of them runs (and reports) again.
  await Promise.all([
    runFollowUps(errand.runtime, member(1), 'default', { ok: true, value: 20 }),
    runFollowUps(errand.runtime, member(2), 'default', { ok: true, value: 30 }),
    runFollowUps(errand.runtime, member(2), 'default', { ok: true, value: 31 }),
  ]);
  await runFollowUps(errand.runtime, member(1), 'default', { ok: true, value: 20 });
  assert.equal(await errand.result('cb-1', { timeoutMs: 5000 }), 60);
  assert.deepEqual(
    await errand.result('g-1', { timeoutMs: 5000 }),
    [10, 20, 30],
    'the group record, first values kept',
  );
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(runs, [[10, 20, 30]], 'the callback ran once');
});

it('a backend without a group counter: chords are refused at send, a member message is dead-lettered with the reason', async () => {
  const memory = new MemoryResultBackend();
  const plain: ResultBackend = {
    name: 'plain',
    write: (r, t) => memory.write(r, t),
    read: (id) => memory.read(id),
    onFinal: (l) => memory.onFinal(l),
    close: () => memory.close(),
  };
  const errand = new Errand({ broker: new MemoryBroker(), backend: plain });
  open.push(errand);
  const add = errand.task('add', async (a: number, b: number) => a + b);
  const sum = errand.task('sum', async (xs: number[]) => xs.length);
  await assert.rejects(errand.chord([add.s(1, 1)], sum.s()).send(), GroupsUnsupportedError);
  const worker = errand.worker({ handleSignals: false });
  await worker.start();
  await errand.send('add', [1, 1], {}); // unaffected
  const member = await errand.runtime.stores();
  await member.broker.enqueue(
    'default',
    [
      {
        body: JSON.stringify({
          id: 'm1',
          task: 'add',
          args: [1, 2],
          links: { member: { group: 'g', index: 0, size: 2 } },
        }),
      },
    ],
    60_000,
  );
  await eventually(async () => (await errand.deadLetters().list()).length === 1, 10_000);
  const [dead] = await errand.deadLetters().list();
  assert.match(dead!.reason, /no group counter/);
});
