/**
 * The registry of brokers and backends by URL scheme, and the `backend` option: unknown schemes
 * list the known ones, modules register their own schemes, the core imports no broker module.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MemoryBroker, MemoryResultBackend } from '../src/brokers/memory/index.ts';
import { Errand, knownBackendSchemes, knownBrokerSchemes, registerBroker } from '../src/index.ts';
import { AMQP_URL } from './amqp-helpers.ts';
import { tempDir } from './helpers.ts';

describe('broker and backend registry', () => {
  it('an unknown scheme lists the known ones', async () => {
    const errand = new Errand({ broker: 'kafka://127.0.0.1:9092' });
    await assert.rejects(
      errand.stats(),
      /broker: unsupported URL "kafka:\/\/127.0.0.1:9092": known schemes are amqp:, amqps:, memory:, redis:, rediss:, sqlite:, sqs:/,
    );
    await errand.close();
    assert.deepEqual(knownBackendSchemes(), [
      'memcached',
      'memory',
      'postgres',
      'postgresql',
      'redis',
      'rediss',
      'sqlite',
    ]);
  });

  it('a module registers a scheme of its own, and Errand opens it by URL', async () => {
    registerBroker(['mine'], () => ({ broker: new MemoryBroker(), backend: new MemoryResultBackend() }));
    assert.ok(knownBrokerSchemes().includes('mine'));
    const errand = new Errand({ broker: 'mine://anything' });
    const add = errand.task('add', async (a: number, b: number) => a + b);
    const worker = errand.worker({ handleSignals: false });
    await worker.start();
    assert.equal(await (await add.send(2, 3)).result({ timeoutMs: 5000 }), 5);
    await worker.stop();
    await errand.close();
  });

  it('a broker without a store of its own and no backend is a clear error', async () => {
    const errand = new Errand({ broker: AMQP_URL });
    await assert.rejects(
      errand.stats(),
      /backend: the amqp: broker has no store for results; give a result backend URL/,
    );
    await errand.close();
  });

  it('results go to the backend URL, not the broker: another client of that backend reads them', async () => {
    const db = join(tempDir('registry-backend'), 'results.db');
    const errand = new Errand({ broker: 'memory:', backend: `sqlite:${db}` });
    const add = errand.task('add', async (a: number, b: number) => a + b);
    const worker = errand.worker({ handleSignals: false });
    await worker.start();
    const sent = await add.send(20, 22);
    assert.equal(await sent.result({ timeoutMs: 5000 }), 42);
    await worker.stop();
    const reader = new Errand({ broker: 'memory:', backend: `sqlite:${db}` });
    assert.equal(await reader.result(sent.id, { timeoutMs: 5000 }), 42);
    await Promise.all([errand.close(), reader.close()]);
  });

  it('the core imports no broker module statically', () => {
    const core = fileURLToPath(new URL('../src/core/', import.meta.url));
    const files = readdirSync(core, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const offending = files.filter((f) =>
      /^import\s+(?!type\b)[^;]*from\s+'\.\.\/(\.\.\/)?brokers\//m.test(readFileSync(join(core, f), 'utf8')),
    );
    assert.deepEqual(offending, []);
  });
});
