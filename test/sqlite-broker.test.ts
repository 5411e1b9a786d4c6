/**
 * SQLite broker and result backend: the semantics of the port on a real database file,
 * plus what only SQLite has (prefixes sharing one file, cross-connection wake-ups,
 * shared refcounted connections).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { openSqlite } from '../src/brokers/sqlite/index.ts';
import type { Broker, TaskRecord } from '../src/core/port.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'errand-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
const newFile = (): string => join(dir, `t${++fileCount}.db`);

/** Opens broker + backend on a fresh file; closes both after the test. */
function open(t: { after: (fn: () => Promise<void>) => void }, file = newFile(), prefix = 'p') {
  const pair = openSqlite(file, { prefix });
  t.after(async () => {
    await pair.broker.close();
    await pair.backend.close();
  });
  return { ...pair, file };
}

const lease = { leaseMs: 30_000, maxDeliveries: 5 };

async function reserveBodies(broker: Broker, queue: string, max: number, now = Date.now()) {
  return (await broker.reserve(queue, { max, now, ...lease })).messages;
}

/** Runs a snippet in another process against the same file (a separate SQLite connection). */
async function inOtherProcess(code: string): Promise<string> {
  const script = `import { openSqlite } from ${JSON.stringify(new URL('../src/brokers/sqlite/index.ts', import.meta.url).pathname)};\n${code}`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    timeout: 20_000,
  });
  return stdout;
}

void describe('sqlite broker', () => {
  void test('leases oldest first, with unique tokens, and counts by state', async (t) => {
    const { broker } = open(t);
    assert.deepEqual(
      await broker.enqueue(
        'q',
        ['a', 'b', 'c', 'd'].map((body) => ({ body })),
        1000,
      ),
      ['queued', 'queued', 'queued', 'queued'],
    );
    const first = await reserveBodies(broker, 'q', 3);
    assert.deepEqual(
      first.map((m) => m.body),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      first.map((m) => m.delivery),
      [1, 1, 1],
    );
    assert.equal(new Set(first.map((m) => m.token)).size, 3);
    assert.deepEqual(await broker.stats('q'), { waiting: 1, delayed: 0, leased: 3, dead: 0 });
    assert.deepEqual(await broker.settle('q', { acks: first.map((m) => m.token) }, Date.now()), { lost: [] });
    assert.deepEqual(await broker.stats('q'), { waiting: 1, delayed: 0, leased: 0, dead: 0 });
    // Settling twice: the token is stale.
    assert.deepEqual((await broker.settle('q', { acks: [first[0]!.token] }, Date.now())).lost, [
      first[0]!.token,
    ]);
    assert.deepEqual(
      (await reserveBodies(broker, 'q', 10)).map((m) => m.body),
      ['d'],
    );
  });

  void test('an expired lease is delivered again with the counter raised, then dead-lettered', async (t) => {
    const { broker } = open(t);
    await broker.enqueue('q', [{ body: 'x' }, { body: 'y' }], 1000);
    let now = 1_000_000_000_000;
    const req = { max: 1, leaseMs: 100, maxDeliveries: 3 };
    const one = (await broker.reserve('q', { ...req, now })).messages[0]!;
    assert.deepEqual([one.body, one.delivery], ['x', 1]);
    now += 101;
    const two = (await broker.reserve('q', { ...req, now })).messages[0]!;
    assert.deepEqual([two.body, two.delivery], ['x', 2], 'expired lease goes back to the head');
    assert.notEqual(two.token, one.token);
    // The first delivery's token is fenced off: neither its ack nor its extension applies.
    assert.deepEqual(await broker.extend('q', [one.token], 100, now), [one.token]);
    assert.deepEqual((await broker.settle('q', { acks: [one.token] }, now)).lost, [one.token]);
    // Extending the live lease keeps it past its first deadline.
    assert.deepEqual(await broker.extend('q', [two.token], 500, now + 50), []);
    assert.deepEqual((await broker.reserve('q', { ...req, now: now + 200 })).messages[0]?.body, 'y');
    now += 600;
    // Both expired; each returns to the head, so neither waits behind newer work.
    await broker.enqueue('q', [{ body: 'newer' }], 1000);
    const three = (await broker.reserve('q', { ...req, max: 2, now })).messages;
    assert.deepEqual(
      three.map((m) => [m.body, m.delivery]).sort((x, y) => String(x).localeCompare(String(y))),
      [
        ['x', 3],
        ['y', 2],
      ],
    );
    now += 200;
    assert.deepEqual(
      (await broker.reserve('q', { ...req, now })).messages.map((m) => m.body),
      ['y'],
    );
    assert.deepEqual(
      (await broker.reserve('q', { ...req, now })).messages.map((m) => m.body),
      ['newer'],
    );
    const dead = await broker.listDead('q', 0, 10);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.body, 'x');
    assert.equal(dead[0]!.reason, 'delivered 3 times without finishing');
    assert.equal(dead[0]!.failedAt, now);
  });

  void test('delayed messages wait until due; retries replace the body; releases go to the head uncounted', async (t) => {
    const { broker } = open(t);
    const now = Date.now();
    await broker.enqueue('q', [{ body: 'later', dueAt: now + 60_000 }, { body: 'a' }, { body: 'b' }], 1000);
    const r1 = await broker.reserve('q', { max: 10, now, ...lease });
    assert.deepEqual(
      r1.messages.map((m) => m.body),
      ['a', 'b'],
    );
    assert.equal(r1.nextDueAt, now + 60_000);
    const [a, b] = r1.messages;
    await broker.settle('q', { retries: [{ token: a!.token, body: 'a2', dueAt: now + 10 }] }, now);
    assert.deepEqual(await broker.stats('q'), { waiting: 0, delayed: 2, leased: 1, dead: 0 });
    await broker.enqueue('q', [{ body: 'c' }], 1000);
    await broker.settle('q', { releases: [b!.token] }, now);
    const r2 = await broker.reserve('q', { max: 10, now: now + 10, ...lease });
    // b released to the head (not counted), then c, then the retry promoted when due to the tail.
    assert.deepEqual(
      r2.messages.map((m) => [m.body, m.delivery]),
      [
        ['b', 1],
        ['c', 1],
        ['a2', 1],
      ],
    );
    await broker.settle('q', { acks: r2.messages.map((m) => m.token) }, now + 10);
    const r3 = await broker.reserve('q', { max: 10, now: now + 60_000, ...lease });
    assert.deepEqual(
      r3.messages.map((m) => m.body),
      ['later'],
    );
    assert.equal(r3.nextDueAt, undefined);
  });

  void test('a dedupe key is remembered for its ttl only', async (t) => {
    const { broker } = open(t);
    const key = { dedupeKey: 'k1' };
    assert.deepEqual(
      await broker.enqueue(
        'q',
        [
          { body: '1', ...key },
          { body: '2', ...key },
        ],
        150,
      ),
      ['queued', 'duplicate'],
    );
    assert.deepEqual(await broker.enqueue('q', [{ body: '3', ...key }], 150), ['duplicate']);
    assert.deepEqual(await broker.enqueue('other', [{ body: '4', ...key }], 150), ['queued'], 'per queue');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await broker.enqueue('q', [{ body: '5', ...key }], 150), ['queued']);
    assert.deepEqual(
      (await reserveBodies(broker, 'q', 10)).map((m) => m.body),
      ['1', '5'],
    );
  });

  void test('dead letters: newest first, paged, retried to the tail with new bodies, purged', async (t) => {
    const { broker } = open(t);
    await broker.enqueue(
      'q',
      ['a', 'b', 'c'].map((body) => ({ body })),
      1000,
    );
    const msgs = await reserveBodies(broker, 'q', 3);
    for (const [i, m] of msgs.entries()) {
      await broker.settle(
        'q',
        { deadLetters: [{ token: m.token, reason: `r${i}`, body: `${m.body}!` }] },
        1000 + i,
      );
    }
    const all = await broker.listDead('q', 0, 10);
    assert.deepEqual(
      all.map((d) => [d.body, d.reason, d.failedAt]),
      [
        ['c!', 'r2', 1002],
        ['b!', 'r1', 1001],
        ['a!', 'r0', 1000],
      ],
    );
    assert.deepEqual(
      (await broker.listDead('q', 1, 1)).map((d) => d.body),
      ['b!'],
    );
    assert.equal(await broker.retryDead('q', [all[2]!.key, all[0]!.key, 'nope'], ['A', 'C']), 2);
    assert.equal(await broker.retryDead('q', [all[2]!.key]), 0, 'already moved');
    const again = await reserveBodies(broker, 'q', 10);
    assert.deepEqual(
      again.map((m) => [m.body, m.delivery]),
      [
        ['A', 1],
        ['C', 1],
      ],
    );
    assert.equal(await broker.purgeDead('q', [all[1]!.key, all[2]!.key]), 1);
    await broker.settle('q', { deadLetters: again.map((m) => ({ token: m.token, reason: 'x' })) }, 2000);
    assert.equal(await broker.purgeDead('q'), 2);
    assert.deepEqual(await broker.stats('q'), { waiting: 0, delayed: 0, leased: 0, dead: 0 });
  });

  void test('only the newest deadLetterLimit dead letters are kept', async (t) => {
    const pair = openSqlite(newFile(), { prefix: 'p', deadLetterLimit: 2 });
    t.after(async () => {
      await pair.broker.close();
      await pair.backend.close();
    });
    const { broker } = pair;
    await broker.enqueue(
      'q',
      ['a', 'b', 'c'].map((body) => ({ body })),
      1000,
    );
    for (const [i, m] of (await reserveBodies(broker, 'q', 3)).entries()) {
      await broker.settle('q', { deadLetters: [{ token: m.token, reason: 'r' }] }, 1000 + i);
    }
    assert.deepEqual(
      (await broker.listDead('q', 0, 10)).map((d) => d.body),
      ['c', 'b'],
    );
    // Lease expiry dead-letters are trimmed too.
    await broker.enqueue('q', [{ body: 'd' }], 1000);
    const now = Date.now();
    await broker.reserve('q', { max: 1, leaseMs: 10, maxDeliveries: 1, now });
    await broker.reserve('q', { max: 1, leaseMs: 10, maxDeliveries: 1, now: now + 20 });
    assert.deepEqual(
      (await broker.listDead('q', 0, 10)).map((d) => d.body),
      ['d', 'c'],
    );
  });

  void test('two prefixes in one file do not see each other', async (t) => {
    const file = newFile();
    const one = open(t, file, 'one');
    const two = open(t, file, 'two');
    await one.broker.enqueue('q', [{ body: '1' }], 1000);
    assert.deepEqual(await two.broker.stats('q'), { waiting: 0, delayed: 0, leased: 0, dead: 0 });
    assert.deepEqual(await reserveBodies(two.broker, 'q', 10), []);
    assert.deepEqual(
      (await reserveBodies(one.broker, 'q', 10)).map((m) => m.body),
      ['1'],
    );
    await one.backend.write([record('r', 'SUCCESS')], 60_000);
    assert.equal(await two.backend.read('r'), undefined);
    assert.equal((await one.backend.read('r'))?.state, 'SUCCESS');
  });

  void test('waitForWork wakes on a same-process enqueue, at `until`, and on abort', async (t) => {
    const { broker } = open(t);
    const start = Date.now();
    await broker.waitForWork('q', start + 80, new AbortController().signal);
    assert.ok(Date.now() - start >= 70, 'waited until `until`');
    const waiting = broker.waitForWork('q', Date.now() + 10_000, AbortSignal.timeout(5000));
    const t0 = Date.now();
    setTimeout(() => void broker.enqueue('q', [{ body: 'x' }], 1000), 20);
    await waiting;
    assert.ok(Date.now() - t0 < 1000, 'woken by the enqueue');
    // Work is waiting: resolves at once.
    await broker.waitForWork('q', Date.now() + 10_000, AbortSignal.timeout(5000));
    await reserveBodies(broker, 'q', 1);
    const ac = new AbortController();
    const aborted = broker.waitForWork('q', Number.POSITIVE_INFINITY, ac.signal);
    ac.abort();
    await aborted;
  });

  void test('waitForWork wakes on a commit from another process', async (t) => {
    const { broker, file } = open(t);
    const waiting = broker.waitForWork('q', Date.now() + 15_000, AbortSignal.timeout(15_000));
    let woke = 0;
    void waiting.then(() => {
      woke = Date.now();
    });
    const done = await inOtherProcess(
      `const { broker } = openSqlite(${JSON.stringify(file)}, { prefix: 'p' });
       await broker.enqueue('q', [{ body: 'from-child' }], 1000);
       console.log(Date.now());`,
    );
    await waiting;
    const enqueuedAt = Number(done.trim());
    assert.ok(woke - enqueuedAt < 500, `woke ${woke - enqueuedAt} ms after the other process enqueued`);
    assert.deepEqual(
      (await reserveBodies(broker, 'q', 1)).map((m) => m.body),
      ['from-child'],
    );
  });
});

const record = (id: string, state: TaskRecord['state'], extra: Partial<TaskRecord> = {}): TaskRecord => ({
  id,
  task: 'add',
  queue: 'default',
  state,
  attempt: 1,
  createdAt: 1,
  updatedAt: 2,
  ...extra,
});

void describe('sqlite result backend', () => {
  void test('writes replace, reads ignore expired records', async (t) => {
    const { backend } = open(t);
    await backend.write([record('a', 'STARTED')], 60_000);
    await backend.write([record('a', 'SUCCESS', { result: { sum: 5 } }), record('b', 'FAILURE')], 60_000);
    assert.deepEqual(await backend.read('a'), record('a', 'SUCCESS', { result: { sum: 5 } }));
    assert.equal((await backend.read('b'))?.state, 'FAILURE');
    assert.equal(await backend.read('missing'), undefined);
    await backend.write([record('short', 'SUCCESS', { result: null })], 50);
    assert.equal((await backend.read('short'))?.result, null);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(await backend.read('short'), undefined);
  });

  void test('onFinal reports final states once, from this process and from others', async (t) => {
    const { backend, file } = open(t);
    const other = open(t, file, 'other-prefix');
    const seen: string[] = [];
    const stop = await backend.onFinal((ids) => seen.push(...ids));
    await backend.write([record('x', 'STARTED'), record('y', 'SUCCESS'), record('z', 'FAILURE')], 60_000);
    await other.backend.write([record('not-mine', 'SUCCESS')], 60_000);
    assert.deepEqual(seen, ['y', 'z'], 'same-process writes arrive at once');
    await inOtherProcess(
      `const { backend } = openSqlite(${JSON.stringify(file)}, { prefix: 'p' });
       await backend.write([{ id: 'child', task: 't', queue: 'q', state: 'SUCCESS', attempt: 1, createdAt: 1, updatedAt: 1 }], 60000);
       await backend.close();`,
    );
    const deadline = Date.now() + 5000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ['y', 'z', 'child']);
    await stop();
    await backend.write([record('after-stop', 'SUCCESS')], 60_000);
    assert.deepEqual(seen, ['y', 'z', 'child']);
  });

  void test('writes issued together commit together, but one failing write does not undo the others', async (t) => {
    const { broker, backend } = open(t);
    const bad = record('bad', 'SUCCESS', { result: 1n as unknown });
    const [failed, enqueued, written] = await Promise.allSettled([
      backend.write([record('before', 'SUCCESS'), bad], 60_000),
      broker.enqueue('q', [{ body: 'kept' }], 1000),
      backend.write([record('after', 'SUCCESS')], 60_000),
    ]);
    assert.equal(failed.status, 'rejected');
    assert.match(String((failed as PromiseRejectedResult).reason), /BigInt/);
    assert.deepEqual(enqueued, { status: 'fulfilled', value: ['queued'] });
    assert.equal(written.status, 'fulfilled');
    assert.equal(await backend.read('before'), undefined, 'the failed write is rolled back as a whole');
    assert.equal((await backend.read('after'))?.state, 'SUCCESS');
    assert.deepEqual(
      (await reserveBodies(broker, 'q', 10)).map((m) => m.body),
      ['kept'],
    );
  });

  void test('a file in a missing directory fails with an error naming the directory', () => {
    assert.throws(
      () => openSqlite(join(dir, 'missing', 'x.db'), { prefix: 'p' }),
      /cannot open SQLite database ".*x\.db": directory ".*missing" does not exist/,
    );
  });

  void test('broker and backend share one connection that closes with the last of them', async () => {
    const file = newFile();
    const { broker, backend } = openSqlite(file, { prefix: 'p' });
    await broker.enqueue('q', [{ body: '1' }], 1000);
    await broker.close();
    await broker.close(); // idempotent: must not release the backend's reference
    await assert.rejects(broker.stats('q'), /SQLite broker is closed/);
    await backend.write([record('a', 'SUCCESS')], 60_000);
    assert.equal((await backend.read('a'))?.state, 'SUCCESS');
    await backend.close();
    await assert.rejects(backend.read('a'), /closed/);
    // The file keeps everything for the next opener.
    const again = openSqlite(file, { prefix: 'p' });
    assert.deepEqual((await again.broker.stats('q')).waiting, 1);
    assert.equal((await again.backend.read('a'))?.state, 'SUCCESS');
    await again.broker.close();
    await again.backend.close();
  });
});
