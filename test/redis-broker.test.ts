import { RedisBroker, RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import { runBrokerContract } from './contract/broker.contract.ts';
import { REDIS_URL, uniquePrefix } from './helpers.ts';

runBrokerContract({
  name: 'redis',
  create: async () => {
    const prefix = uniquePrefix('contract');
    const connections: RedisConnection[] = [];
    const open = () => {
      const connection = new RedisConnection({ url: REDIS_URL }).retain().retain();
      connections.push(connection);
      return {
        broker: new RedisBroker(connection, { prefix }),
        backend: new RedisResultBackend(connection, prefix),
      };
    };
    const first = open();
    const peers: Array<ReturnType<typeof open>> = [];
    return {
      ...first,
      peer: async () => {
        const p = open();
        peers.push(p);
        return p;
      },
      close: async () => {
        for (const s of [first, ...peers]) await Promise.all([s.broker.close(), s.backend.close()]);
        const client = await new RedisConnection({ url: REDIS_URL }).ready();
        const keys = (await client.sendCommand(['KEYS', `${prefix}:*`])) as string[];
        if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
        await client.close();
      },
    };
  },
});
