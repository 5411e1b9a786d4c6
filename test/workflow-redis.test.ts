import { openRedis } from '../src/brokers/redis/index.ts';
import { runGroupContract } from './contract/groups.contract.ts';
import { runWorkflowSuite } from './contract/workflow.suite.ts';
import { REDIS_URL, uniquePrefix } from './helpers.ts';

runWorkflowSuite({ name: 'redis', errandOptions: () => ({ broker: REDIS_URL, prefix: uniquePrefix('wf') }) });

runGroupContract({
  name: 'redis',
  create: async () => {
    const prefix = uniquePrefix('groups');
    const one = openRedis(REDIS_URL, { prefix });
    const two = openRedis(REDIS_URL, { prefix });
    return {
      backend: one.backend,
      peer: two.backend,
      close: async () => {
        await Promise.all([one.broker.close(), one.backend.close(), two.broker.close(), two.backend.close()]);
      },
    };
  },
});
