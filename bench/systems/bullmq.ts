/** BullMQ 6 over node-redis (@redis/client): BullMQ detects the client and adapts to it. */
import { createRequire } from 'node:module';
import { createClient } from '@redis/client';
import { Queue, Worker } from 'bullmq';
import {
  type BenchSystem,
  LEASE_MS,
  type Payload,
  RETRIES,
  reportErrors,
  type SystemConfig,
  type WorkerHooks,
} from './types.ts';

const version = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version;

/** How long finished jobs (and their return values) are kept: the same as Errand's result TTL. */
export const BULLMQ_KEEP_COMPLETED_S = 3600;

export async function createBullmq(config: SystemConfig): Promise<BenchSystem> {
  // BullMQ leaves a connection it was given open (it is the caller's): we close them ourselves.
  const connect = () => createClient({ url: config.url });
  const owned: Array<ReturnType<typeof connect>> = [];
  const newClient = () => {
    const client = connect();
    client.on('error', reportErrors('bullmq'));
    owned.push(client);
    return client;
  };
  const closeOwned = async () => {
    await Promise.all(owned.splice(0).map((c) => (c.isOpen ? c.close() : Promise.resolve())));
  };
  const defaultJobOptions = {
    attempts: RETRIES + 1,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: BULLMQ_KEEP_COMPLETED_S },
    removeOnFail: false,
  };
  const queue = new Queue<Payload>(config.prefix, {
    connection: newClient(),
    prefix: 'bull',
    defaultJobOptions,
  });
  queue.on('error', reportErrors('bullmq'));
  await queue.waitUntilReady();
  return {
    name: 'bullmq',
    version,
    settings:
      `attempts ${RETRIES + 1} (= ${RETRIES} retries), lockDuration ${LEASE_MS} ms, stalledInterval ${LEASE_MS} ms ` +
      `(stalled-job recovery on), removeOnComplete {age: ${BULLMQ_KEEP_COMPLETED_S} s} (return values kept like ` +
      `Errand's results), removeOnFail false; node-redis client`,
    async enqueueOne(payload) {
      await queue.add('noop', payload);
    },
    async enqueueBulk(payloads) {
      await queue.addBulk(payloads.map((data) => ({ name: 'noop', data })));
    },
    async startWorker(concurrency: number, hooks: WorkerHooks) {
      const connection = newClient();
      const worker = new Worker<Payload>(
        config.prefix,
        async (job) => {
          hooks.onStart(job.data);
        },
        {
          connection,
          prefix: 'bull',
          concurrency,
          lockDuration: LEASE_MS,
          stalledInterval: LEASE_MS,
        },
      );
      worker.on('error', reportErrors('bullmq'));
      worker.on('completed', () => hooks.onDone());
      await worker.waitUntilReady();
      return {
        async stop() {
          await worker.close();
          if (connection.isOpen) await connection.close();
        },
      };
    },
    async close() {
      await queue.close();
      await closeOwned();
    },
  };
}
