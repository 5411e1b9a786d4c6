/**
 * SQS under faults (issue 12): worker processes SIGKILLed mid-run against the fauxqs emulator.
 * A killed worker's messages come back when their visibility timeout (the lease, 2 s here) ends:
 * nothing lost, duplicates within what was in flight.
 */
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Errand } from '../../src/index.ts';
import { REDIS_URL, tempDir, uniquePrefix } from '../helpers.ts';
import { startLocalSqs } from '../sqs-helpers.ts';
import { checkKillLoop, killLoop, lines, startFixture, stopGently, waitFor } from './fleet.ts';

describe('SQS faults', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('3 worker processes, 4 SIGKILLs mid-run: nothing lost, duplicates within what was in flight', async () => {
    const started = Date.now();
    const sqs = await startLocalSqs();
    cleanups.push(() => sqs.stop());
    const prefix = uniquePrefix('sqskill');
    const dir = tempDir('sqskill');
    const total = 1500;
    const concurrency = 10;
    const leaseMs = 2000;
    const producer = new Errand({ broker: sqs.url, backend: REDIS_URL, prefix });
    cleanups.push(() => producer.close());
    const work = producer.task('work', async (n: number) => n);
    const ids: string[] = [];
    for (let i = 0; i < total; i += 500) {
      const sent = await work.sendBulk(Array.from({ length: 500 }, (_, j) => [i + j] as [number]));
      ids.push(...sent.map((s) => s.id));
    }
    const files: string[] = [];
    const fleet = await killLoop({
      workers: 3,
      kills: 4,
      total,
      done: () => new Set(lines(...files)).size,
      leased: async () => (await producer.stats()).leased,
      start: async (n) => {
        const file = join(dir, `w${n}.txt`);
        files.push(file);
        const proc = await startFixture('queue-worker.ts', [
          sqs.url,
          REDIS_URL,
          prefix,
          file,
          concurrency,
          5,
          leaseMs,
          // Tasks of 20 ms keep each worker's receives in flight most of the time: kills land
          // while messages are held (with 2 ms tasks a CI run once read none held at all 4 kills).
          20,
        ]);
        cleanups.push(() => stopGently(proc, 5000));
        return proc;
      },
    });
    await waitFor('every task to finish', 120_000, () => new Set(lines(...files)).size >= total);
    await Promise.all(fleet.alive.map((p) => stopGently(p)));
    checkKillLoop('sqs-sigkill-loop', {
      expected: ids,
      runs: lines(...files),
      fleet,
      maxLeases: concurrency,
      started,
    });
    await waitFor('the queue to empty', 30_000, async () => {
      const s = await producer.stats();
      return s.waiting + s.leased + s.dead === 0;
    });
  });
});
