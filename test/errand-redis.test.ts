import { createClient } from '@redis/client';
import { runErrandSuite } from './contract/errand.suite.ts';
import { REDIS_URL } from './helpers.ts';

runErrandSuite({
  name: 'redis',
  shared: true,
  errandOptions: (tag) => ({ broker: REDIS_URL, prefix: `errandtest-${tag}` }),
  cleanup: async (tag) => {
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    const keys = (await client.sendCommand(['KEYS', `errandtest-${tag}:*`])) as string[];
    if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
    await client.close();
  },
});
