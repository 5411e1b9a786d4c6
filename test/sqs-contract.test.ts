/**
 * The shared broker contract and the public-API suite on SQS (sqs://, against the fauxqs
 * emulator with the real AWS client), results in Redis. Tests that need a capability SQS lacks
 * are skipped with the broker's declared reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import { openSqs } from '../src/brokers/sqs/index.ts';
import { Errand } from '../src/index.ts';
import { runBrokerContract, withPeers } from './contract/broker.contract.ts';
import { runErrandSuite } from './contract/errand.suite.ts';
import { REDIS_URL, trackPrefix, uniquePrefix } from './helpers.ts';
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

const stores = (prefix: string) => ({
  broker: openSqs(local().url, { prefix, maxDeliveries: 5 }),
  backend: new RedisResultBackend(new RedisConnection({ url: REDIS_URL }).retain(), trackPrefix(prefix)),
});

runBrokerContract({
  name: 'sqs',
  create: async () => {
    const prefix = uniquePrefix('sqsc');
    return withPeers(stores(prefix), () => stores(prefix));
  },
});

runErrandSuite({
  name: 'sqs',
  shared: true,
  errandOptions: (tag) => ({ broker: local().url, backend: REDIS_URL, prefix: trackPrefix(`sqss-${tag}`) }),
});

describe('sqs specifics', () => {
  it('a lease is the visibility timeout: an unsettled message comes back with its receive counted', async () => {
    const { broker, backend } = stores(uniquePrefix('sqslease'));
    try {
      await broker.enqueue('q', [{ body: 'x' }], 60_000);
      const [first] = (
        await broker.reserve('q', { max: 1, leaseMs: 1000, maxDeliveries: 5, now: Date.now() })
      ).messages;
      assert.equal(first?.delivery, 1);
      const held = Date.now();
      let again: Awaited<ReturnType<typeof broker.reserve>>['messages'] = [];
      while (again.length === 0 && Date.now() - held < 10_000) {
        again = (await broker.reserve('q', { max: 1, leaseMs: 1000, maxDeliveries: 5, now: Date.now() }))
          .messages;
        if (again.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(Date.now() - held >= 900, `not before its lease ended (${Date.now() - held} ms)`);
      assert.deepEqual(
        again.map((m) => [m.body, m.delivery]),
        [['x', 2]],
      );
      assert.deepEqual(await broker.extend('q', [again[0]!.token], 5000, Date.now()), []);
      assert.deepEqual((await broker.settle('q', { acks: [again[0]!.token] }, Date.now())).lost, []);
    } finally {
      await Promise.all([broker.close(), backend.close()]);
    }
  });

  it('a message received maxDeliveries times without finishing goes to the dead letters (redrive policy)', async () => {
    const broker = openSqs(local().url, { prefix: uniquePrefix('sqspoison'), maxDeliveries: 2 });
    try {
      await broker.enqueue('q', [{ body: 'poison' }], 60_000);
      const deliveries: number[] = [];
      const started = Date.now();
      while ((await broker.stats('q')).dead === 0 && Date.now() - started < 15_000) {
        const got = await broker.reserve('q', { max: 1, leaseMs: 1000, maxDeliveries: 2, now: Date.now() });
        deliveries.push(...got.messages.map((m) => m.delivery));
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(deliveries, [1, 2], 'delivered maxDeliveries times, then dead-lettered');
      assert.equal((await broker.stats('q')).dead, 1);
    } finally {
      await broker.close();
    }
  });

  it('a delay over 15 minutes is kept: the message carries its due time and is sent on', async () => {
    const broker = openSqs(local().url, { prefix: uniquePrefix('sqslong'), maxDeliveries: 5 });
    try {
      await broker.enqueue('q', [{ body: 'later', dueAt: Date.now() + 3_600_000 }], 60_000);
      const stats = await broker.stats('q');
      assert.equal(stats.delayed, 1, 'waits in SQS as a delayed message (15 minutes at a time)');
      assert.equal(
        (await broker.reserve('q', { max: 1, leaseMs: 1000, maxDeliveries: 5, now: Date.now() })).messages
          .length,
        0,
      );
    } finally {
      await broker.close();
    }
  });

  it('a base64 body back early from a long delay is sent on with its body intact', async () => {
    // SQS hands a message over 15 minutes back early; simulated here with a due time 2.5 s ahead.
    const prefix = uniquePrefix('sqsearly');
    const broker = openSqs(local().url, { prefix, maxDeliveries: 5 });
    const client = new SQSClient({ region: 'us-east-1', endpoint: local().endpoint });
    try {
      await broker.stats('q'); // creates the queues
      const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: `${prefix}-q` }));
      const body = 'control \u0001 character';
      await client.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: Buffer.from(body).toString('base64'),
          MessageAttributes: {
            'errand-encoding': { DataType: 'String', StringValue: 'base64' },
            'errand-due-at': { DataType: 'Number', StringValue: String(Date.now() + 2500) },
          },
        }),
      );
      const request = () => ({ max: 1, leaseMs: 30_000, maxDeliveries: 5, now: Date.now() });
      assert.equal((await broker.reserve('q', request())).messages.length, 0, 'early: sent on');
      const started = Date.now();
      let got: string[] = [];
      while (got.length === 0 && Date.now() - started < 15_000) {
        got = (await broker.reserve('q', request())).messages.map((m) => m.body);
        if (got.length === 0) await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(got, [body]);
    } finally {
      client.destroy();
      await broker.close();
    }
  });

  it('a bad sqs:// URL names the key and the problem', async () => {
    const errand = new Errand({ broker: 'sqs://not-a-region/1', backend: 'memory:' });
    await assert.rejects(errand.stats(), /broker: "sqs:\/\/not-a-region\/1": the host must be an AWS region/);
    await errand.close();
    const noBackend = new Errand({ broker: local().url });
    await assert.rejects(noBackend.stats(), /backend: the sqs: broker has no store for results/);
    await noBackend.close();
  });
});
