import { createClient } from '@redis/client';
import { runErrandSuite } from './contract/errand.suite.ts';
import { REDIS_URL, trackPrefix } from './helpers.ts';

runErrandSuite({
  name: 'redis',
  shared: true,
  errandOptions: (tag) => ({ broker: REDIS_URL, prefix: trackPrefix(`errandtest-${tag}`) }),
  cleanup: async (tag) => {
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    const keys = (await client.sendCommand(['KEYS', `errandtest-${tag}:*`])) as string[];
    if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
    await client.close();
  },
});
