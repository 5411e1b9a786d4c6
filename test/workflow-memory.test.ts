import { MemoryResultBackend } from '../src/brokers/memory/index.ts';
import { runGroupContract } from './contract/groups.contract.ts';
import { runWorkflowSuite } from './contract/workflow.suite.ts';

runWorkflowSuite({ name: 'memory', errandOptions: () => ({ broker: 'memory:' }) });

runGroupContract({
  name: 'memory',
  create: async () => {
    const backend = new MemoryResultBackend();
    return { backend, close: () => backend.close() };
  },
});
