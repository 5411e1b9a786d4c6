/**
 * Conformance of the GroupCounter capability (src/core/port.ts), run on every result backend
 * that declares it: idempotent per member, exactly one "complete" transition observed by the
 * counting, results in order, failure is sticky, complete is sticky.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { ResultBackend } from '../../src/index.ts';

export interface GroupContractOptions {
  readonly name: string;
  /** A backend; `peer` (when given) is a second client of the same store, as another process would be. */
  readonly create: () => Promise<{
    backend: ResultBackend;
    peer?: ResultBackend;
    close: () => Promise<void>;
  }>;
}

const TTL = 60_000;

export function runGroupContract(options: GroupContractOptions): void {
  describe(`group counter contract: ${options.name}`, () => {
    const closers: Array<() => Promise<void>> = [];
    after(async () => {
      for (const close of closers) await close();
    });
    const open = async () => {
      const made = await options.create();
      closers.push(made.close);
      assert.ok(made.backend.groups, `${options.name} declares the group counter`);
      return { groups: made.backend.groups, peer: (made.peer ?? made.backend).groups! };
    };

    it('counts each member once and returns the results in order when complete', async () => {
      const { groups } = await open();
      const g = `g-${randomUUID()}`;
      assert.deepEqual(await groups.succeed(g, 3, 2, 'c', TTL), { state: 'open' });
      assert.deepEqual(
        await groups.succeed(g, 3, 2, 'c-again', TTL),
        { state: 'open' },
        'a redelivery is not counted',
      );
      assert.deepEqual(await groups.succeed(g, 3, 0, { a: [1] }, TTL), { state: 'open' });
      assert.deepEqual(await groups.succeed(g, 3, 1, null, TTL), {
        state: 'complete',
        results: [{ a: [1] }, null, 'c'],
      });
      assert.deepEqual(
        await groups.succeed(g, 3, 1, 'late', TTL),
        { state: 'complete', results: [{ a: [1] }, null, 'c'] },
        'complete is reported again (a caller that crashed can finish), the first value kept',
      );
      assert.deepEqual(
        await groups.fail(g, 3, 1, TTL),
        { state: 'complete', results: [{ a: [1] }, null, 'c'] },
        'complete is sticky',
      );
    });

    it('a failed group never completes', async () => {
      const { groups } = await open();
      const g = `g-${randomUUID()}`;
      assert.deepEqual(await groups.succeed(g, 2, 0, 1, TTL), { state: 'open' });
      assert.deepEqual(await groups.fail(g, 2, 1, TTL), { state: 'failed' });
      assert.deepEqual(await groups.succeed(g, 2, 1, 2, TTL), { state: 'failed' });
      assert.deepEqual(await groups.fail(g, 2, 1, TTL), { state: 'failed' });
    });

    it('concurrent members from two clients: every member counted, completion seen', async () => {
      const { groups, peer } = await open();
      const g = `g-${randomUUID()}`;
      const size = 200;
      const statuses = await Promise.all(
        Array.from({ length: size }, (_, i) => (i % 2 === 0 ? groups : peer).succeed(g, size, i, i * 2, TTL)),
      );
      const complete = statuses.filter((s) => s.state === 'complete');
      assert.equal(complete.length, 1, 'exactly one call saw the group complete');
      assert.deepEqual(complete[0], {
        state: 'complete',
        results: Array.from({ length: size }, (_, i) => i * 2),
      });
    });

    it('refuses bad arguments with an error naming them, changing nothing', async () => {
      const { groups } = await open();
      const g = `g-${randomUUID()}`;
      await assert.rejects(groups.succeed(g, 2, 2, 1, TTL), /index/);
      await assert.rejects(groups.succeed(g, 0, 0, 1, TTL), /size/);
      await assert.rejects(groups.succeed('', 2, 0, 1, TTL), /group id/);
      await assert.rejects(groups.fail(g, 2, 0, Number.NaN), /ttlMs/);
      assert.deepEqual(await groups.succeed(g, 1, 0, 'only', TTL), { state: 'complete', results: ['only'] });
    });

    it('state expires after its time to live', async () => {
      const { groups } = await open();
      const g = `g-${randomUUID()}`;
      assert.deepEqual(await groups.fail(g, 2, 0, 50), { state: 'failed' });
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        await groups.succeed(g, 2, 1, 'x', TTL),
        { state: 'open' },
        'a fresh group after expiry',
      );
    });
  });
}
