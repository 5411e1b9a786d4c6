/** The command watchdog: one timer bounds every pending command of a Redis client. */
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { RedisConnection } from '../src/brokers/redis/connection.ts';
import { BUCKET_MS, CommandWatchdog } from '../src/brokers/redis/watchdog.ts';
import { BrokerUnavailableError } from '../src/core/errors.ts';
import { eventually, startPrivateRedis } from './helpers.ts';

const never = <T>(): Promise<T> => new Promise<T>(() => {});
const later = <T>(ms: number, value: T): Promise<T> =>
  new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

test('a command answered in time settles with its answer', async () => {
  const watchdog = new CommandWatchdog(1000);
  assert.equal(
    await watchdog.watch(
      () => later(10, 'ok'),
      () => new Error('timed out'),
    ),
    'ok',
  );
  await assert.rejects(
    watchdog.watch(
      () => Promise.reject(new Error('refused')),
      () => new Error('timed out'),
    ),
    /refused/,
  );
  watchdog.dispose();
});

test('every command left unanswered fails after the limit, each measured from when it was sent', async () => {
  const watchdog = new CommandWatchdog(150);
  const started = performance.now();
  const first = watchdog.watch(
    () => never(),
    () => new Error('first timed out'),
  );
  await later(100, null);
  const second = watchdog.watch(
    () => never(),
    () => new Error('second timed out'),
  );
  const answered = watchdog.watch(
    () => later(20, 'fine'),
    () => new Error('answered timed out'),
  );
  await assert.rejects(first, /first timed out/);
  const firstMs = performance.now() - started;
  assert.ok(firstMs >= 145, `the first failed after ${firstMs} ms, before its limit`);
  assert.equal(await answered, 'fine');
  await assert.rejects(second, /second timed out/);
  const secondMs = performance.now() - started;
  // Sent 100 ms after the first: it must not expire with the first (at 150 ms) but at ~250 ms.
  assert.ok(secondMs >= 245, `the second failed after ${secondMs} ms, before its own limit`);
  // Generous: the machine is shared.
  assert.ok(secondMs < 2000, `the second failed only after ${secondMs} ms`);
  watchdog.dispose();
});

test('a command sent after an idle spell is still bounded', async () => {
  const watchdog = new CommandWatchdog(100);
  assert.equal(
    await watchdog.watch(
      () => later(5, 1),
      () => new Error('x'),
    ),
    1,
  );
  await later(250, null);
  const started = performance.now();
  await assert.rejects(
    watchdog.watch(
      () => never(),
      () => new Error('late timed out'),
    ),
    /late timed out/,
  );
  const ms = performance.now() - started;
  assert.ok(ms >= 95 && ms < 2000, `failed after ${ms} ms`);
  watchdog.dispose();
});

describe('a command that timed out while Redis was away', () => {
  it('is never sent once Redis is back (it left the offline queue)', async () => {
    const redis = await startPrivateRedis();
    const connection = new RedisConnection({ url: redis.url, commandTimeoutMs: 300 }).retain();
    try {
      const client = await connection.ready();
      assert.equal(await client.sendCommand(['PING']), 'PONG');
      await redis.stop();
      await eventually(() => !client.isReady, 5000);
      const started = performance.now();
      await assert.rejects(client.sendCommand(['SET', 'late', '1']), BrokerUnavailableError);
      const ms = performance.now() - started;
      // The limit, plus up to one shared-signal bucket, plus a loaded machine.
      assert.ok(ms >= 290 && ms < 300 + BUCKET_MS + 2000, `rejected after ${ms} ms`);
      await redis.start();
      await eventually(() => client.isReady, 15_000);
      assert.equal(await client.sendCommand(['EXISTS', 'late']), 0, 'the failed SET must not run later');
    } finally {
      await connection.release();
      await redis.stop();
    }
  });
});

test('many commands sharing one bucket signal raise no listener-leak warning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const watchdog = new CommandWatchdog(1000);
  try {
    // node-redis adds an abort listener per command to the signal it is given.
    await Promise.all(
      Array.from({ length: 50 }, () =>
        watchdog.watch(
          (signal) => {
            signal.addEventListener('abort', () => {}, { once: true });
            return later(5, 'ok');
          },
          () => new Error('timed out'),
        ),
      ),
    );
    await later(20, null); // warnings are emitted on the next tick
    assert.deepEqual(
      warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
      [],
    );
  } finally {
    process.off('warning', onWarning);
    watchdog.dispose();
  }
});
