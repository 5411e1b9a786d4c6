/**
 * BullMQ 6, configured as its documentation shows: connection options (BullMQ then creates its
 * default client, ioredis, with the settings it wants, e.g. `maxRetriesPerRequest: null` for
 * workers), `removeOnComplete: true`, a bounded failed set, stalled-job recovery on (its defaults).
 * The `bullmq-keep` variant keeps completed jobs and their return values an hour, like Errand's
 * results: a labelled second row, never the one a target is measured against.
 */
import { createRequire } from 'node:module';
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

const require = createRequire(import.meta.url);
const version = (require('bullmq/package.json') as { version: string }).version;
const ioredisVersion = (require('ioredis/package.json') as { version: string }).version;

/** How long the `bullmq-keep` variant keeps finished jobs: the same as Errand's result TTL. */
export const BULLMQ_KEEP_COMPLETED_S = 3600;

export interface BullmqVariant {
  /** Keep completed jobs (and return values) an hour instead of removing them at once. */
  readonly keepCompleted: boolean;
}

/** Host and port of a redis:// URL, as BullMQ's `connection` options take them. */
function connectionOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

export async function createBullmq(config: SystemConfig, variant: BullmqVariant): Promise<BenchSystem> {
  const connection = connectionOf(config.url);
  const removeOnComplete = variant.keepCompleted ? { age: BULLMQ_KEEP_COMPLETED_S } : true;
  const defaultJobOptions = {
    attempts: RETRIES + 1,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete,
    removeOnFail: { count: 1000 },
  };
  const queue = new Queue<Payload>(config.prefix, { connection, prefix: 'bull', defaultJobOptions });
  queue.on('error', reportErrors('bullmq'));
  await queue.waitUntilReady();
  return {
    name: variant.keepCompleted ? 'bullmq-keep' : 'bullmq',
    version,
    settings:
      `attempts ${RETRIES + 1} (= ${RETRIES} retries), lockDuration ${LEASE_MS} ms, stalledInterval ${LEASE_MS} ms ` +
      `(stalled-job recovery on), removeOnComplete ${
        variant.keepCompleted
          ? `{age: ${BULLMQ_KEEP_COMPLETED_S}} (return values kept an hour, like Errand's results)`
          : 'true'
      }, removeOnFail {count: 1000}; connection options, so BullMQ uses its default client ioredis ${ioredisVersion}`,
    async enqueueOne(payload) {
      await queue.add('noop', payload);
    },
    async enqueueBulk(payloads) {
      await queue.addBulk(payloads.map((data) => ({ name: 'noop', data })));
    },
    async startWorker(concurrency: number, hooks: WorkerHooks) {
      const worker = new Worker<Payload>(
        config.prefix,
        async (job) => {
          hooks.onStart(job.data);
        },
        { connection, prefix: 'bull', concurrency, lockDuration: LEASE_MS, stalledInterval: LEASE_MS },
      );
      worker.on('error', reportErrors('bullmq'));
      worker.on('completed', () => hooks.onDone());
      await worker.waitUntilReady();
      return {
        async stop() {
          await worker.close();
        },
      };
    },
    async close() {
      await queue.close();
    },
  };
}
