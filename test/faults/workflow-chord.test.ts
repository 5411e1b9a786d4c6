/**
 * Issue 13: a 1,000-member chord run by 3 worker processes, one SIGKILLed mid-run (its leased
 * members are delivered again, some members fail once and are retried): the callback runs
 * exactly once, with all 1,000 results in order. On Redis and on SQLite (one file, 3 processes).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Errand } from '../../src/index.ts';
import { startPrivateRedis, tempDir, uniquePrefix } from '../helpers.ts';
import { kill, lines, startFixture, stopGently, type WorkerProc, waitFor } from './fleet.ts';

const MEMBERS = 1000;

describe('chord under SIGKILL', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  const run = async (url: string, prefix: string, dir: string) => {
    const runFile = join(dir, 'runs');
    const callbackFile = join(dir, 'callbacks');
    const producer = new Errand({ broker: url, prefix });
    cleanups.push(() => producer.close());
    // Defined here for their types only: the worker processes run them.
    const member = producer.task('member', async (i: number) => i);
    const total = producer.task('total', async (xs: number[]) => xs.reduce((s, x) => s + x, 0));
    const procs: WorkerProc[] = [];
    for (let w = 0; w < 3; w++) {
      const proc = await startFixture('workflow-worker.ts', [url, prefix, runFile, callbackFile, 10, 2000]);
      procs.push(proc);
      cleanups.push(() => stopGently(proc));
    }
    const chord = await producer
      .chord(
        Array.from({ length: MEMBERS }, (_, i) => member.s(i)),
        total.s(),
      )
      .send();
    await waitFor('300 members to have run', 120_000, () => lines(runFile).length >= 300);
    await kill(procs[0]!);
    const sum = await chord.result({ timeoutMs: 180_000 });
    assert.equal(sum, (MEMBERS * (MEMBERS - 1)) / 2);
    // Give a late duplicate (from a redelivered last member) time to show up before counting.
    await new Promise((r) => setTimeout(r, 3000));
    const callbacks = lines(callbackFile).map(
      (l) => JSON.parse(l) as { count: number; sum: number; ordered: boolean },
    );
    assert.deepEqual(
      callbacks,
      [{ count: MEMBERS, sum, ordered: true }],
      'the callback ran exactly once, with every result',
    );
    const ran = new Set(lines(runFile).map(Number));
    assert.equal(ran.size, MEMBERS, 'every member ran');
    const state = await producer.workflow(chord.id);
    assert.equal(state?.state, 'SUCCESS');
  };

  it('Redis: 3 worker processes, one SIGKILLed: the callback runs exactly once with all 1,000 results', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    await run(redis.url, uniquePrefix('chordkill'), tempDir('chordkill'));
  });

  it('SQLite: 3 worker processes on one file, one SIGKILLed: the callback runs exactly once', async () => {
    const dir = tempDir('chordkill-sqlite');
    await run(`sqlite:${join(dir, 'errand.db')}`, 'chordkill', dir);
  });
});
