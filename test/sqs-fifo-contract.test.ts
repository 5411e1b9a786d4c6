/**
 * The shared broker contract and the public-API suite on SQS FIFO queues (`sqs://…?fifo=1`,
 * against the fauxqs emulator with the real AWS client), results in Redis. Tests that need a
 * capability FIFO queues lack (several messages of one queue leased at once, among others) are
 * skipped with the broker's declared reason.
 */
import { after, before } from 'node:test';
import { RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import { openSqs } from '../src/brokers/sqs/index.ts';
import { runBrokerContract, withPeers } from './contract/broker.contract.ts';
import { runErrandSuite } from './contract/errand.suite.ts';
import { REDIS_URL, trackPrefix, uniquePrefix } from './helpers.ts';
import { type LocalSqs, startLocalSqs } from './sqs-helpers.ts';

let sqs: LocalSqs | undefined;
const fifoUrl = (): string => {
  if (!sqs) throw new Error('the local SQS has not started');
  return `${sqs.url}&fifo=1`;
};
before(async () => {
  sqs = await startLocalSqs();
});
after(async () => {
  await sqs?.stop();
});

const stores = (prefix: string) => ({
  broker: openSqs(fifoUrl(), { prefix, maxDeliveries: 5 }),
  backend: new RedisResultBackend(new RedisConnection({ url: REDIS_URL }).retain(), trackPrefix(prefix)),
});

runBrokerContract({
  name: 'sqs fifo',
  create: async () => {
    const prefix = uniquePrefix('sqsfc');
    return withPeers(stores(prefix), () => stores(prefix));
  },
});

runErrandSuite({
  name: 'sqs fifo',
  shared: true,
  errandOptions: (tag) => ({ broker: fifoUrl(), backend: REDIS_URL, prefix: trackPrefix(`sqsfs-${tag}`) }),
});
