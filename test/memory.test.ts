import { MemoryBroker, MemoryResultBackend } from '../src/brokers/memory/index.ts';
import { runBrokerContract } from './contract/broker.contract.ts';

runBrokerContract({
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
