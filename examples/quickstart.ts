/**
 * Errand's quick start: a producer sends tasks, a worker runs them, the results print.
 * With no broker configured Errand uses its embedded SQLite store (./errand.db): no server needed.
 * Set ERRAND_BROKER=redis://127.0.0.1:6379 to run the same code on Redis.
 *
 *   npm install && npm run demo
 */
import { Errand, RetryLater } from '../src/index.ts';

const errand = new Errand({ prefix: `demo-${process.pid}` });

// Define tasks: argument and result types flow from the handler to send() and result().
const add = errand.task('add', async (a: number, b: number) => a + b, { retries: 3 });
let flakyCalls = 0;
const flaky = errand.task(
  'flaky',
  async (word: string) => {
    if (++flakyCalls < 3) throw new RetryLater(100, 'not ready yet');
    return word.toUpperCase();
  },
  { retries: 5 },
);

// Run a worker (in this process here; usually a separate one).
const worker = errand.worker({ concurrency: 10 });
await worker.start();

// Send tasks: one, a delayed one, a bulk, and one that retries.
const sent = await add.send(2, 3);
const delayed = await add.with({ delayMs: 500 }).send(40, 2);
const bulk = await add.sendBulk([
  [1, 1],
  [2, 2],
  [3, 3],
]);
const retried = await flaky.send('errand');

console.log(`add(2, 3)            = ${await sent.result({ timeoutMs: 5000 })}`);
console.log(`add(40, 2) after 0.5s = ${await delayed.result({ timeoutMs: 5000 })}`);
console.log(
  `bulk                 = ${(await Promise.all(bulk.map((s) => s.result({ timeoutMs: 5000 })))).join(', ')}`,
);
console.log(
  `flaky('errand')      = ${await retried.result({ timeoutMs: 5000 })} (after ${flakyCalls} attempts)`,
);
console.log(`status of add(2, 3): ${(await sent.status()).state}`);

await worker.stop();
await errand.close();
