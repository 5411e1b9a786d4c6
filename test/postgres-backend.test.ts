/**
 * Results in PostgreSQL (postgres://, LISTEN/NOTIFY for final states): the public-API suite with
 * results there (queues in Redis), a result awaited by another process, expiry.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { PostgresResultBackend } from '../src/brokers/postgres/index.ts';
import { Errand } from '../src/index.ts';
import { runErrandSuite } from './contract/errand.suite.ts';
import { REDIS_URL, trackPrefix, uniquePrefix } from './helpers.ts';

const POSTGRES_URL = process.env.ERRAND_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = promisify(execFile);
const prefixes: string[] = [];
const tracked = (prefix: string): string => {
  prefixes.push(prefix);
  return prefix;
};

after(async () => {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query('DELETE FROM errand_results WHERE prefix = ANY($1::text[])', [prefixes]);
  await client.end();
});

runErrandSuite({
  name: 'redis queues, postgres results',
  shared: true,
  errandOptions: (tag) => ({
    broker: REDIS_URL,
    backend: POSTGRES_URL,
    prefix: tracked(trackPrefix(`pgsuite-${tag}`)),
  }),
});

describe('postgres result backend', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const o of open) await o.close();
  });

  it('a result is awaited by another process and arrives by notification', async () => {
    const prefix = tracked(uniquePrefix('pgproc'));
    const errand = new Errand({ broker: REDIS_URL, backend: POSTGRES_URL, prefix });
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
        POSTGRES_URL,
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
    const { stdout } = await reader;
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), { value: 42 });
  });

  it('a final state written by one backend wakes the listeners of another at once; records expire', async () => {
    const prefix = tracked(uniquePrefix('pgnotify'));
    const writer = new PostgresResultBackend(POSTGRES_URL, prefix);
    const reader = new PostgresResultBackend(POSTGRES_URL, prefix);
    open.push(writer, reader);
    const seen: string[] = [];
    const stop = await reader.onFinal((ids) => seen.push(...ids));
    // LISTEN starts on its own connection: give it a moment before writing.
    await new Promise((r) => setTimeout(r, 500));
    const now = Date.now();
    const record = (id: string, state: 'STARTED' | 'SUCCESS') => ({
      id,
      task: 't',
      queue: 'q',
      state,
      attempt: 1,
      createdAt: now,
      updatedAt: now,
    });
    await writer.write([record('a', 'STARTED'), record('b', 'SUCCESS')], 60_000);
    const t0 = Date.now();
    while (!seen.includes('b') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ['b'], 'only the final state is announced');
    assert.equal((await reader.read('a'))?.state, 'STARTED');
    await writer.write([record('short', 'SUCCESS')], 300);
    assert.ok(await reader.read('short'));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(await reader.read('short'), undefined, 'expired');
    await stop();
  });

  it('an unreachable PostgreSQL fails with BrokerUnavailableError naming it', async () => {
    const backend = new PostgresResultBackend('postgres://postgres@127.0.0.1:1/test', 'x');
    await assert.rejects(backend.read('a'), /PostgreSQL at postgres:\/\/postgres@127.0.0.1:1\/test/);
    await backend.close();
  });
});
