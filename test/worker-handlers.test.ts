/**
 * What a handler may return, on the worker's promise-free success path (executor.ts, execution.ts):
 * a value, a promise, a foreign thenable (even one that calls back at once), or a synchronous
 * throw. Each ends its run exactly once, after the call stack that started it (a chain of
 * prefetched tasks never recurses).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errand } from '../src/index.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

void describe('worker: what a handler returns', () => {
  it('values, promises and foreign thenables succeed once each; throws fail', async () => {
    const errand = new Errand({ broker: 'memory:', logger: quiet });
    const sync = errand.task('sync', (n: number) => n * 2);
    const promised = errand.task('promised', async (n: number) => n * 3);
    // A thenable that calls back synchronously, inside then() itself.
    // Typed as a promise: a handler written in JavaScript may return any thenable.
    const eager = errand.task(
      'eager',
      (n: number) =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is what this test is about
          then(resolve: (v: number) => void) {
            resolve(n * 4);
          },
        }) as unknown as Promise<number>,
    );
    const eagerReject = errand.task(
      'eager-reject',
      () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is what this test is about
          then(_: unknown, reject: (e: Error) => void) {
            reject(new Error('no thanks'));
          },
        }) as unknown as Promise<void>,
      { retries: 0 },
    );
    const throws = errand.task(
      'throws',
      (): number => {
        throw new Error('at once');
      },
      { retries: 0 },
    );
    const worker = errand.worker({ concurrency: 2, handleSignals: false });
    const completed: string[] = [];
    worker.on('completed', (e) => completed.push(`${e.task}:${String(e.result)}`));
    await worker.start();
    try {
      assert.equal(await (await sync.send(1)).result({ timeoutMs: 5000 }), 2);
      assert.equal(await (await promised.send(1)).result({ timeoutMs: 5000 }), 3);
      assert.equal(await (await eager.send(1)).result({ timeoutMs: 5000 }), 4);
      await assert.rejects((await eagerReject.send()).result({ timeoutMs: 5000 }), /no thanks/);
      await assert.rejects((await throws.send()).result({ timeoutMs: 5000 }), /at once/);
      assert.deepEqual(completed.sort(), ['eager:4', 'promised:3', 'sync:2']);
    } finally {
      await worker.stop();
      await errand.close();
    }
  });

  it('a chain of tasks leased ahead runs each after the stack that ran the one before (no recursion)', async () => {
    const errand = new Errand({ broker: 'memory:', logger: quiet });
    const depths: number[] = [];
    // A slow task holds the only handler while the next ones wait (leased ahead); when it ends,
    // the waiting ones run one after the other, each calling back at once.
    const depth = errand.task('depth', (slowMs: number) => {
      if (slowMs > 0) return new Promise<null>((resolve) => setTimeout(() => resolve(null), slowMs));
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = Number.POSITIVE_INFINITY;
      depths.push(new Error().stack?.split('\n').length ?? 0);
      Error.stackTraceLimit = limit;
      // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is what this test is about
      return { then: (resolve: (v: null) => void) => resolve(null) } as unknown as Promise<null>;
    });
    const worker = errand.worker({ concurrency: 1, prefetch: 30, handleSignals: false });
    await worker.start();
    try {
      // First a short one: the worker learns its tasks are short, so it leases ahead.
      await (await depth.send(0)).result({ timeoutMs: 5000 });
      const quick = Array.from({ length: 29 }, () => [0] as [number]);
      const sent = await depth.sendBulk([[20], ...quick, [20], ...quick]);
      await Promise.all(sent.map((s) => s.result({ timeoutMs: 10_000 })));
      const shallowest = Math.min(...depths);
      assert.equal(depths.length, 59);
      assert.ok(
        Math.max(...depths) <= shallowest + 15,
        `stack depths grew along the chain: ${depths.join(',')}`,
      );
    } finally {
      await worker.stop();
      await errand.close();
    }
  });
});
