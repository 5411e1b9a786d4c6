/**
 * The shared broker contract and the public-API suite on RabbitMQ (amqp://), results in Redis.
 * Tests that need a capability RabbitMQ lacks are skipped with the broker's declared reason.
 */
import { after } from 'node:test';
import { openAmqp } from '../src/brokers/amqp/index.ts';
import { RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import { AMQP_URL, deleteAmqpQueues } from './amqp-helpers.ts';
import { runBrokerContract, withPeers } from './contract/broker.contract.ts';
import { runErrandSuite } from './contract/errand.suite.ts';
import { deleteByPrefix, REDIS_URL, uniquePrefix } from './helpers.ts';

const prefixes: string[] = [];
after(async () => {
  for (const prefix of prefixes) await deleteAmqpQueues(prefix);
  // The result records in the shared Redis.
  await deleteByPrefix(...prefixes.map((prefix) => `${prefix}:`));
});

const stores = (prefix: string) => ({
  broker: openAmqp(AMQP_URL, { prefix, maxDeliveries: 5 }),
  backend: new RedisResultBackend(new RedisConnection({ url: REDIS_URL }).retain(), prefix),
});

runBrokerContract({
  name: 'amqp',
  create: async () => {
    const prefix = uniquePrefix('amqpc');
    prefixes.push(prefix);
    return withPeers(stores(prefix), () => stores(prefix));
  },
});

runErrandSuite({
  name: 'amqp',
  shared: true,
  errandOptions: (tag) => {
    const prefix = `amqps-${tag}`;
    if (!prefixes.includes(prefix)) prefixes.push(prefix);
    return { broker: AMQP_URL, backend: REDIS_URL, prefix };
  },
});
