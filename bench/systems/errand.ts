/** Errand itself, through its public API, with its reliability on: leases, retries, results. */
import { readFileSync } from 'node:fs';
import { Errand } from '../lib/errand-dist.ts';
import {
  type BenchSystem,
  LEASE_MS,
  type Payload,
  RETRIES,
  reportErrors,
  type SystemConfig,
  type WorkerHooks,
} from './types.ts';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface ErrandVariant {
  /** Store each task's result record (Errand's default); `false` is the worker's `results: false`. */
  readonly results: boolean;
}

/**
 * `config.url` may be any Errand broker URL (the SQLite scenario passes `sqlite:<file>`);
 * `config.backend` is a result backend URL, for brokers with no store of their own (amqp, sqs).
 */
export async function createErrand(
  config: SystemConfig & { readonly backend?: string },
  variant: ErrandVariant = { results: true },
): Promise<BenchSystem> {
  const errand = new Errand({
    broker: config.url,
    prefix: config.prefix,
    ...(config.backend === undefined ? {} : { backend: config.backend }),
  });
  let hooks: WorkerHooks | undefined;
  const noop = errand.task(
    'noop',
    async (payload: Payload) => {
      hooks?.onStart(payload);
    },
    { retries: RETRIES },
  );
  return {
    name: variant.results ? 'errand' : 'errand-noresults',
    version,
    settings:
      `retries ${RETRIES}, leaseMs ${LEASE_MS} (an expired lease redelivers the task, dead letter after ` +
      `${errand.options.maxDeliveries} deliveries), prefetch at its default (up to 200 leased ahead while tasks average under ` +
      '50 ms, as many as the handlers run in 20 ms), ' +
      (variant.results
        ? `results stored in the broker's result backend (default; kept ${errand.options.resultTtlMs / 1000} s, the resultTtlMs default)`
        : 'worker({ results: false }): no result records'),
    async enqueueOne(payload) {
      await noop.send(payload);
    },
    async enqueueBulk(payloads) {
      await noop.sendBulk(payloads.map((p) => [p] as [Payload]));
    },
    async startWorker(concurrency: number, workerHooks: WorkerHooks) {
      hooks = workerHooks;
      const worker = errand.worker({
        concurrency,
        leaseMs: LEASE_MS,
        handleSignals: false,
        results: variant.results,
      });
      worker.on('error', reportErrors('errand'));
      worker.on('completed', () => workerHooks.onDone());
      await worker.start();
      return {
        async stop() {
          await worker.stop();
          hooks = undefined;
        },
      };
    },
    async close() {
      await errand.close();
    },
  };
}
