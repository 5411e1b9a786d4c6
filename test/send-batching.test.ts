/** Sends made in the same moment go to the broker as one call per queue (issue 11). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RedisConnection } from '../src/brokers/redis/index.ts';
import { Errand } from '../src/index.ts';
import { deleteByPrefix, REDIS_URL, uniquePrefix } from './helpers.ts';

type Send = (args: readonly unknown[], options?: unknown) => Promise<unknown>;

async function commandLog(errand: Errand): Promise<string[][]> {
  const stores = await (
    errand as unknown as { runtime: { stores(): Promise<{ broker: unknown }> } }
  ).runtime.stores();
  const client = (stores.broker as { connection: RedisConnection }).connection.client as unknown as {
    sendCommand: Send;
  };
  const log: string[][] = [];
  const send = client.sendCommand;
  client.sendCommand = (args, options) => {
    log.push(args.map(String));
    return send(args, options);
  };
  return log;
}

describe('send batching', () => {
  it('100 sends in one tick are one enqueue call, each with its own id and outcome', async (t) => {
    const prefix = uniquePrefix('sendbatch');
    const errand = new Errand({ broker: REDIS_URL, prefix });
    // Closed and cleaned up even when an assertion fails (an open worker would hold the run).
    t.after(async () => {
      await errand.close();
      await deleteByPrefix(prefix);
    });
    const add = errand.task('add', (a: number, b: number) => a + b);
    const other = errand.task('other', (a: number) => a, { queue: 'other' });
    const log = await commandLog(errand);
    const sends = Array.from({ length: 100 }, (_, i) => add.send(i, 1));
    const elsewhere = other.send(7);
    const dupes = [add.with({ id: 'same' }).send(1, 1), add.with({ id: 'same' }).send(2, 2)];
    const sent = await Promise.all(sends);
    const [first, second] = await Promise.all(dupes);
    await elsewhere;
    // A batch with a dedupe key runs enqueue.lua; one of plain sends is a single RPUSH. (An EVAL
    // would be the same call re-sent after NOSCRIPT, when another test flushed the script cache.)
    const enqueues = log.filter((args) => ['EVALSHA', 'RPUSH'].includes(args[0]!));
    assert.deepEqual(
      enqueues.map((args) => args[0]),
      ['EVALSHA', 'RPUSH'],
      'one enqueue per queue',
    );
    assert.equal(new Set(sent.map((s) => s.id)).size, 100, 'every send got its own id');
    assert.ok(sent.every((s) => !s.duplicate));
    assert.equal(first!.duplicate, false);
    assert.equal(second!.duplicate, true, 'the second send of one id in a batch is still a duplicate');
    assert.deepEqual(await errand.stats('default'), { waiting: 101, delayed: 0, leased: 0, dead: 0 });
    assert.deepEqual(await errand.stats('other'), { waiting: 1, delayed: 0, leased: 0, dead: 0 });
    // Each waits for its own result as before.
    const worker = errand.worker({ concurrency: 10, handleSignals: false });
    await worker.start();
    assert.equal(await sent[41]!.result({ timeoutMs: 10_000 }), 42);
    await worker.stop();
    await errand.close();
  });

  it('sends awaited one after another still go out one by one, at once', async (t) => {
    const prefix = uniquePrefix('sendbatch-seq');
    const errand = new Errand({ broker: REDIS_URL, prefix });
    t.after(async () => {
      await errand.close();
      await deleteByPrefix(prefix);
    });
    const add = errand.task('add', (a: number, b: number) => a + b);
    const log = await commandLog(errand);
    for (let i = 0; i < 5; i++) await add.send(i, i);
    assert.equal(log.filter((args) => args[0] === 'RPUSH').length, 5);
    await errand.close();
  });

  it('a batch the broker refuses fails every send in it, with the broker error', async () => {
    const errand = new Errand({ broker: 'redis://127.0.0.1:1', prefix: uniquePrefix('sendbatch-down') });
    const add = errand.task('add', (a: number, b: number) => a + b);
    const results = await Promise.allSettled([add.send(1, 2), add.send(3, 4)]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason), /Redis/);
    }
    await errand.close();
  });
});
