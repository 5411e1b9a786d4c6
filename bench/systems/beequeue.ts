/** Bee-Queue 2 (its own bundled node_redis 3 client). */
import { createRequire } from 'node:module';
import BeeQueue from 'bee-queue';
import {
  type BenchSystem,
  LEASE_MS,
  type Payload,
  RETRIES,
  reportErrors,
  type SystemConfig,
  type WorkerHooks,
} from './types.ts';

const version = (createRequire(import.meta.url)('bee-queue/package.json') as { version: string }).version;

export async function createBeequeue(config: SystemConfig): Promise<BenchSystem> {
  const common = {
    prefix: 'bq',
    redis: { url: config.url },
    stallInterval: LEASE_MS,
    storeJobs: true,
    removeOnSuccess: false,
    removeOnFailure: false,
    sendEvents: true,
  };
  // The producer does not process and does not subscribe to events (like Errand's sender).
  const producer = new BeeQueue<Payload>(config.prefix, { ...common, isWorker: false, getEvents: false });
  producer.on('error', reportErrors('beequeue'));
  await producer.ready();
  const newJob = (p: Payload) => producer.createJob(p).retries(RETRIES);
  return {
    name: 'beequeue',
    version,
    settings:
      `retries ${RETRIES}, stallInterval ${LEASE_MS} ms (stalled-job recovery on), storeJobs true, ` +
      'removeOnSuccess false (results kept; Bee-Queue has no expiry), sendEvents true',
    async enqueueOne(payload) {
      await newJob(payload).save();
    },
    async enqueueBulk(payloads) {
      const errors = await producer.saveAll(payloads.map(newJob));
      if (errors.size > 0) throw new Error(`bee-queue saveAll: ${errors.size} jobs failed`);
    },
    async startWorker(concurrency: number, hooks: WorkerHooks) {
      const worker = new BeeQueue<Payload>(config.prefix, { ...common, isWorker: true, getEvents: false });
      worker.on('error', reportErrors('beequeue'));
      worker.on('succeeded', () => hooks.onDone());
      await worker.ready();
      worker.process(concurrency, async (job) => {
        hooks.onStart(job.data);
      });
      return {
        async stop() {
          await worker.close(5000);
        },
      };
    },
    async close() {
      await producer.close(5000);
    },
  };
}
