/** The optional broker operations (listing, removal, pause) on every broker that has them. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { MemoryBroker, MemoryResultBackend } from '../src/brokers/memory/index.ts';
import { RedisBroker, RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import { openSqlite } from '../src/brokers/sqlite/index.ts';
import { withPeers } from './contract/broker.contract.ts';
import { runOperationsContract } from './contract/operations.contract.ts';
import { deleteByPrefix, REDIS_URL, uniquePrefix } from './helpers.ts';

runOperationsContract({
  name: 'memory',
  create: async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    return {
      broker,
      backend,
      close: async () => Promise.all([broker.close(), backend.close()]).then(() => {}),
    };
  },
});

runOperationsContract({
  name: 'redis',
  create: async () => {
    const prefix = uniquePrefix('ops');
    const open = () => {
      const connection = new RedisConnection({ url: REDIS_URL }).retain().retain();
      return {
        broker: new RedisBroker(connection, { prefix }),
        backend: new RedisResultBackend(connection, prefix),
      };
    };
    const fixture = withPeers(open(), open);
    return {
      ...fixture,
      close: async () => {
        await fixture.close();
        await deleteByPrefix(prefix);
      },
    };
  },
});

const dir = mkdtempSync(join(tmpdir(), 'errand-ops-contract-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
runOperationsContract({
  name: 'sqlite',
  create: async () => {
    const file = join(dir, `ops-${++files}.db`);
    return withPeers(openSqlite(file, { prefix: 'ops' }), () =>
      openSqlite(file, { prefix: 'ops', separateConnection: true }),
    );
  },
});
