/**
 * RabbitMQ under faults (issue 12): worker processes SIGKILLed mid-run, every connection closed
 * by the server mid-run (`rabbitmqctl close_all_connections`), and a poison task that kills its
 * worker reaching the dead letters after maxDeliveries. Nothing acknowledged may be lost.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Errand } from '../../src/index.ts';
import { AMQP_URL, deleteAmqpQueues } from '../amqp-helpers.ts';
import { REDIS_URL, tempDir, uniquePrefix } from '../helpers.ts';
import { checkKillLoop, killLoop, lines, startFixture, stopGently, waitFor } from './fleet.ts';

/** Unacknowledged deliveries of a queue, as RabbitMQ counts them (the broker's stats cannot). */
function unacked(queue: string): number {
  const out = execFileSync('rabbitmqctl', ['-q', 'list_queues', 'name', 'messages_unacknowledged'], {
    encoding: 'utf8',
  });
  const row = out.split('\n').find((line) => line.split(/\s+/)[0] === queue);
  return Number(row?.split(/\s+/)[1] ?? 0);
}

describe('RabbitMQ faults', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });
  const fresh = (tag: string): string => {
    const prefix = uniquePrefix(tag);
    cleanups.push(() => deleteAmqpQueues(prefix));
    return prefix;
  };

  it('3 worker processes, 5 SIGKILLs mid-run: nothing lost, duplicates within what was in flight', async () => {
    const started = Date.now();
    const prefix = fresh('amqpkill');
    const dir = tempDir('amqpkill');
    const total = 3000;
    const concurrency = 10;
    const producer = new Errand({ broker: AMQP_URL, backend: REDIS_URL, prefix });
    cleanups.push(() => producer.close());
    const work = producer.task('work', async (n: number) => n);
    const ids: string[] = [];
    for (let i = 0; i < total; i += 500) {
      const sent = await work.sendBulk(Array.from({ length: 500 }, (_, j) => [i + j] as [number]));
      ids.push(...sent.map((s) => s.id));
    }
    const files: string[] = [];
    const fleet = await killLoop({
      workers: 3,
      kills: 5,
      total,
      done: () => new Set(lines(...files)).size,
      // Sent, not finished and not ready: held by the workers (RabbitMQ's own count lags).
      leased: async () =>
        Math.max(0, total - new Set(lines(...files)).size - (await producer.stats()).waiting),
      start: async (n) => {
        const file = join(dir, `w${n}.txt`);
        files.push(file);
        const proc = await startFixture('queue-worker.ts', [
          AMQP_URL,
          REDIS_URL,
          prefix,
          file,
          concurrency,
          5,
        ]);
        cleanups.push(() => stopGently(proc, 5000));
        return proc;
      },
    });
    await waitFor('every task to finish', 120_000, () => new Set(lines(...files)).size >= total);
    await Promise.all(fleet.alive.map((p) => stopGently(p)));
    checkKillLoop('amqp-sigkill-loop', {
      expected: ids,
      runs: lines(...files),
      fleet,
      maxLeases: concurrency,
      started,
    });
    // RabbitMQ's own unacknowledged count is refreshed every few seconds: wait for it to show 0.
    await waitFor('no unacknowledged deliveries', 20_000, () => unacked(`${prefix}.default`) === 0);
    const stats = await producer.stats();
    assert.deepEqual([stats.waiting, stats.dead], [0, 0], 'nothing left behind');
  });

  it('every connection closed by the server mid-run: producer and worker recover, nothing acknowledged is lost', async () => {
    const prefix = fresh('amqpclose');
    const producer = new Errand({ broker: AMQP_URL, backend: REDIS_URL, prefix });
    const consumer = new Errand({ broker: AMQP_URL, backend: REDIS_URL, prefix });
    cleanups.push(
      () => producer.close(),
      () => consumer.close(),
    );
    const done = new Set<string>();
    const send = producer.task('job', async (n: number) => n);
    consumer.task('job', async function (n: number) {
      await new Promise((r) => setTimeout(r, 5));
      done.add(this.id);
      return n;
    });
    const worker = consumer.worker({ concurrency: 10, handleSignals: false });
    await worker.start();
    cleanups.push(() => worker.stop());
    const acknowledged: string[] = [];
    let refused = 0;
    const sending = (async () => {
      for (let i = 0; i < 60; i++) {
        // A send that rejects was not acknowledged by RabbitMQ: the caller knows to send it again.
        const sent = await send.send(i).catch(() => undefined);
        if (sent) acknowledged.push(sent.id);
        else refused++;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    for (const at of [300, 900]) {
      await waitFor(`${at} ms of sending`, 10_000, () => acknowledged.length + refused >= at / 25);
      execFileSync('rabbitmqctl', ['-q', 'close_all_connections', 'errand fault test']);
    }
    await sending;
    await waitFor('every acknowledged task to run', 60_000, () => acknowledged.every((id) => done.has(id)));
    assert.ok(
      acknowledged.length >= 40,
      `most sends acknowledged (${acknowledged.length}, ${refused} refused)`,
    );
    const late = await send.send(99);
    assert.equal(await late.result({ timeoutMs: 10_000 }), 99, 'a send after the outages runs too');
  });

  it('a task that kills its worker goes to the dead letters after maxDeliveries, not before', async () => {
    const prefix = fresh('amqppoison');
    const dir = tempDir('amqppoison');
    const file = join(dir, 'runs.txt');
    const maxDeliveries = 3;
    const producer = new Errand({ broker: AMQP_URL, backend: REDIS_URL, prefix, maxDeliveries });
    cleanups.push(() => producer.close());
    await producer.send('crash', []);
    for (let i = 0; i < maxDeliveries + 2 && (await producer.stats()).dead === 0; i++) {
      const proc = await startFixture('queue-worker.ts', [
        AMQP_URL,
        REDIS_URL,
        prefix,
        file,
        1,
        maxDeliveries,
      ]);
      cleanups.push(() => stopGently(proc, 2000));
      // Either the poison task kills it, or (once dead-lettered) nothing comes and it is stopped.
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 3000))]);
      await stopGently(proc, 2000);
    }
    await waitFor('the dead letter', 10_000, async () => (await producer.stats()).dead === 1);
    assert.deepEqual(lines(file), ['crash 1', 'crash 2', 'crash 3'], 'run once per delivery, counted');
    assert.equal((await producer.stats()).waiting, 0);
  });
});
