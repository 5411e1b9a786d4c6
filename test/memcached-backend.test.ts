/**
 * Results in memcached (memcached://, meta text protocol): the public-API suite with results
 * there (queues in Redis), a result read by another process, expiry, awkward ids, bad URLs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openMemcached } from '../src/brokers/memcached/index.ts';
import { Errand, ErrandConfigError } from '../src/index.ts';
import { runErrandSuite } from './contract/errand.suite.ts';
import { REDIS_URL, trackPrefix, uniquePrefix } from './helpers.ts';

const MEMCACHED_URL = process.env.ERRAND_TEST_MEMCACHED ?? 'memcached://127.0.0.1:11211';
const run = promisify(execFile);

runErrandSuite({
  name: 'redis queues, memcached results',
  shared: true,
  errandOptions: (tag) => ({
    broker: REDIS_URL,
    backend: MEMCACHED_URL,
    prefix: trackPrefix(`mcsuite-${tag}`),
  }),
});

describe('memcached result backend', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const o of open) await o.close();
  });

  it('a result is read by another process, soon after the task finishes', async () => {
    const prefix = uniquePrefix('mcproc');
    const errand = new Errand({ broker: REDIS_URL, backend: MEMCACHED_URL, prefix });
    open.push(errand);
    const slow = errand.task('slow', async (n: number) => {
      await new Promise((r) => setTimeout(r, 1500));
      return n * 2;
    });
    const sent = await slow.send(21);
    const reader = run(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/result-reader.ts', import.meta.url)),
        REDIS_URL,
        MEMCACHED_URL,
        prefix,
        sent.id,
        '20000',
      ],
      { timeout: 30_000 },
    );
    const worker = errand.worker({ concurrency: 1, handleSignals: false });
    await worker.start();
    open.push({ close: () => worker.stop() });
    assert.equal(await sent.result({ timeoutMs: 10_000 }), 42);
    const finishedAt = Date.now();
    const { stdout } = await reader;
    const answeredAfter = Date.now() - finishedAt;
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), { value: 42 });
    // The reader re-reads on a backoff capped at 1 s, plus its process exit: well under 5 s.
    assert.ok(
      answeredAfter < 5000,
      `the other process saw the result ${answeredAfter} ms after it was written`,
    );
  });

  it('records expire with their TTL; long ids and ids with spaces work', async () => {
    const backend = openMemcached(MEMCACHED_URL, uniquePrefix('mcttl'));
    open.push(backend);
    const now = Date.now();
    const record = (id: string) => ({
      id,
      task: 't',
      queue: 'q',
      state: 'SUCCESS' as const,
      attempt: 1,
      result: { id },
      createdAt: now,
      updatedAt: now,
    });
    const ids = ['plain', 'with spaces\r\nand newline', 'x'.repeat(1000), 'ünïcødé'];
    await backend.write(ids.map(record), 60_000);
    for (const id of ids) assert.deepEqual((await backend.read(id))?.result, { id });
    await backend.write([record('short')], 1000);
    assert.ok(await backend.read('short'));
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal(await backend.read('short'), undefined, 'expired after its TTL');
    assert.equal(await backend.read('never written'), undefined);
  });

  it('a final state written in this process wakes listeners at once', async () => {
    const backend = openMemcached(MEMCACHED_URL, uniquePrefix('mcnotify'));
    open.push(backend);
    const seen: string[] = [];
    const stop = await backend.onFinal((ids) => seen.push(...ids));
    const now = Date.now();
    await backend.write(
      [{ id: 'a', task: 't', queue: 'q', state: 'STARTED', attempt: 1, createdAt: now, updatedAt: now }],
      60_000,
    );
    await backend.write(
      [
        {
          id: 'b',
          task: 't',
          queue: 'q',
          state: 'FAILURE',
          attempt: 1,
          error: { name: 'E', message: 'm' },
          createdAt: now,
          updatedAt: now,
        },
      ],
      60_000,
    );
    assert.deepEqual(seen, ['b']);
    await stop();
  });

  it('an unreachable memcached fails with BrokerUnavailableError, and a bad URL names the key', async () => {
    const backend = openMemcached('memcached://127.0.0.1:1', 'x');
    await assert.rejects(backend.read('a'), { name: 'BrokerUnavailableError' });
    await backend.close();
    assert.throws(() => openMemcached('memcached://', 'x'), ErrandConfigError);
    const errand = new Errand({ broker: 'memory:', backend: 'memcache://127.0.0.1:11211' });
    await assert.rejects(
      errand.result('x', { timeoutMs: 100 }),
      /backend: unsupported URL "memcache:\/\/127.0.0.1:11211": known schemes are memcached:, memory:, postgres:, postgresql:, redis:, rediss:, sqlite:/,
    );
    await errand.close();
  });
});
