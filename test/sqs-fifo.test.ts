/**
 * SQS FIFO queues (`sqs://…?fifo=1`) against the fauxqs emulator with the real AWS client:
 * order within an Errand queue, 5-minute deduplication of sends, and delays held in the companion
 * standard queue until due (FIFO queues refuse per-message delays).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SqsBroker } from '../src/brokers/sqs/index.ts';
import { openSqs } from '../src/brokers/sqs/index.ts';
import { Errand } from '../src/index.ts';
import { uniquePrefix } from './helpers.ts';
import { type LocalSqs, startLocalSqs } from './sqs-helpers.ts';

let sqs: LocalSqs | undefined;
const local = (): LocalSqs => {
  if (!sqs) throw new Error('the local SQS has not started');
  return sqs;
};
before(async () => {
  sqs = await startLocalSqs();
});
after(async () => {
  await sqs?.stop();
});

const fifoUrl = () => `${local().url}&fifo=1`;
const open = (prefix: string): SqsBroker => openSqs(fifoUrl(), { prefix, maxDeliveries: 5 });
const reserve = (broker: SqsBroker, max = 10) =>
  broker.reserve('q', { max, leaseMs: 30_000, maxDeliveries: 5, now: Date.now() });

/** Reserves and acknowledges until `count` bodies came back or `ms` passed; returns them in order. */
async function drain(broker: SqsBroker, count: number, ms: number): Promise<string[]> {
  const bodies: string[] = [];
  const started = Date.now();
  while (bodies.length < count && Date.now() - started < ms) {
    const { messages } = await reserve(broker);
    bodies.push(...messages.map((m) => m.body));
    if (messages.length > 0) await broker.settle('q', { acks: messages.map((m) => m.token) }, Date.now());
    else await new Promise((r) => setTimeout(r, 100));
  }
  return bodies;
}

describe('sqs FIFO queues (?fifo=1)', () => {
  it('creates <prefix>-<queue>.fifo and hands messages out in the order they were sent', async () => {
    const prefix = uniquePrefix('sqsfifo');
    const broker = open(prefix);
    const client = new SQSClient({ region: 'us-east-1', endpoint: local().endpoint });
    try {
      const sent = Array.from({ length: 25 }, (_, i) => `m${i}`);
      // Three separate sends (one of them a batch of 13) so order spans requests and batches.
      await broker.enqueue(
        'q',
        sent.slice(0, 2).map((body) => ({ body })),
        60_000,
      );
      await broker.enqueue(
        'q',
        sent.slice(2, 15).map((body) => ({ body })),
        60_000,
      );
      await broker.enqueue(
        'q',
        sent.slice(15).map((body) => ({ body })),
        60_000,
      );
      assert.deepEqual(await drain(broker, sent.length, 20_000), sent);
      const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: `${prefix}-q.fifo` }));
      assert.match(QueueUrl ?? '', /\.fifo$/);
    } finally {
      client.destroy();
      await broker.close();
    }
  });

  it('a second send with the same task id within 5 minutes is queued once', async () => {
    const broker = open(uniquePrefix('sqsfifodup'));
    try {
      await broker.enqueue('q', [{ body: 'first', dedupeKey: 'task-1' }], 60_000);
      await broker.enqueue(
        'q',
        [
          { body: 'again', dedupeKey: 'task-1' },
          { body: 'other', dedupeKey: 'task-2' },
        ],
        60_000,
      );
      assert.deepEqual(await drain(broker, 3, 4000), ['first', 'other']);
    } finally {
      await broker.close();
    }
  });

  it('a delayed send waits in the delay queue and reaches the FIFO queue when due', async () => {
    const broker = open(uniquePrefix('sqsfifodelay'));
    try {
      const sentAt = Date.now();
      await broker.enqueue('q', [{ body: 'later', dueAt: sentAt + 2000 }, { body: 'now' }], 60_000);
      assert.equal((await broker.stats('q')).delayed, 1, 'counted as delayed');
      assert.deepEqual(await drain(broker, 1, 5000), ['now']);
      assert.deepEqual(await drain(broker, 1, 15_000), ['later']);
      assert.ok(Date.now() - sentAt >= 1900, `not before it was due (${Date.now() - sentAt} ms)`);
    } finally {
      await broker.close();
    }
  });

  it('a retry with a delay comes back after it, counted as a new message', async () => {
    const broker = open(uniquePrefix('sqsfiforetry'));
    try {
      await broker.enqueue('q', [{ body: 'flaky' }], 60_000);
      const [first] = (await reserve(broker, 1)).messages;
      assert.equal(first?.body, 'flaky');
      const retriedAt = Date.now();
      const settled = await broker.settle(
        'q',
        { retries: [{ token: first!.token, body: 'flaky-2', dueAt: retriedAt + 1500 }] },
        retriedAt,
      );
      assert.deepEqual(settled.lost, []);
      assert.equal((await reserve(broker)).messages.length, 0, 'not before its delay');
      assert.deepEqual(await drain(broker, 1, 15_000), ['flaky-2']);
      assert.ok(Date.now() - retriedAt >= 1400, `not before it was due (${Date.now() - retriedAt} ms)`);
    } finally {
      await broker.close();
    }
  });

  it('an Errand on a FIFO queue runs delayed and retried tasks', async () => {
    const errand = new Errand({ broker: fifoUrl(), backend: 'memory:', prefix: uniquePrefix('sqsfifoapp') });
    try {
      let attempts = 0;
      const runs: number[] = [];
      const flaky = errand.task(
        'flaky',
        async (n: number) => {
          attempts++;
          runs.push(Date.now());
          if (attempts < 2) throw new Error('first attempt fails');
          return n * 2;
        },
        { retries: 2, backoff: { type: 'fixed', delayMs: 1000 } },
      );
      const worker = errand.worker({ concurrency: 2 });
      await worker.start();
      const sentAt = Date.now();
      const handle = await flaky.with({ delayMs: 1000 }).send(21);
      assert.equal(await handle.result({ timeoutMs: 30_000 }), 42);
      assert.equal(attempts, 2);
      assert.ok(runs[0]! - sentAt >= 900, `first run after its delay (${runs[0]! - sentAt} ms)`);
      assert.ok(runs[1]! - runs[0]! >= 900, `retry after its backoff (${runs[1]! - runs[0]!} ms)`);
      await worker.stop();
    } finally {
      await errand.close();
    }
  });

  it('a fifo parameter other than 1/0/true/false names the key and the problem', async () => {
    const errand = new Errand({ broker: `${local().url}&fifo=yes`, backend: 'memory:' });
    await assert.rejects(errand.stats(), /broker: .*fifo must be 1 or 0 \(true or false\), not "yes"/);
    await errand.close();
  });
});
