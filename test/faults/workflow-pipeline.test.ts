/**
 * Issue 13: pipeline state survives a worker crash. A worker is SIGKILLed in the middle of step 1;
 * the run is delivered again to another worker, which resumes at step 1 with the map step 0
 * made (step 0 does not run again).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Errand } from '../../src/index.ts';
import { tempDir } from '../helpers.ts';
import { kill, lines, startFixture, stopGently, waitFor } from './fleet.ts';

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

it('SQLite: a pipeline whose worker is SIGKILLed mid-step resumes at that step elsewhere', async () => {
  const dir = tempDir('pipeline-crash');
  const url = `sqlite:${join(dir, 'errand.db')}`;
  const runFile = join(dir, 'runs');
  const args = [url, runFile, join(dir, 'marker'), 1000];
  const producer = new Errand({ broker: url });
  cleanups.push(() => producer.close());
  const first = await startFixture('workflow-pipeline-worker.ts', args);
  cleanups.push(() => stopGently(first));
  const sent = await producer.send<Record<string, number>>('crashy', [{ start: 0 }], { id: 'crashy-1' });
  await waitFor('step two to start', 60_000, () => lines(runFile).includes('two'));
  await kill(first);
  const second = await startFixture('workflow-pipeline-worker.ts', args);
  cleanups.push(() => stopGently(second));
  assert.deepEqual(await sent.result({ timeoutMs: 60_000 }), { start: 0, one: 1, two: 2, three: 3 });
  assert.deepEqual(lines(runFile), ['one', 'two', 'two', 'three'], 'step 0 ran once; step 1 ran again');
});
