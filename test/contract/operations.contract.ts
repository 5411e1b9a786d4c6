/**
 * The contract of the optional broker operations (QueueControlOperations in src/core/port.ts):
 * listing by state, removal of waiting/delayed messages, the paused flag. A broker that has
 * the operations must pass every test here; one that lacks them is not run through it.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, describe, it } from 'node:test';
import type { Broker } from '../../src/core/port.ts';
import type { ContractFixture } from './broker.contract.ts';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const request = (max = 10) => ({ max, leaseMs: 5000, maxDeliveries: 5, now: Date.now() });

export function runOperationsContract(options: {
  readonly name: string;
  readonly create: () => Promise<ContractFixture>;
}): void {
  describe(`broker operations contract: ${options.name}`, () => {
    const open: ContractFixture[] = [];
    after(async () => {
      await Promise.all(open.map((f) => f.close()));
    });
    const test = (title: string, fn: (broker: Broker, f: ContractFixture) => Promise<void>): void => {
      it(title, async () => {
        const f = await options.create();
        open.push(f);
        await fn(f.broker, f);
      });
    };
    const ops = (broker: Broker) => {
      const { listMessages, removeWaiting, setPaused, isPaused } = broker;
      assert.ok(
        listMessages && removeWaiting && setPaused && isPaused,
        `${broker.name} declares every operation`,
      );
      return broker as Required<Broker>;
    };

    test('lists waiting, delayed and leased messages in order, paged', async (broker) => {
      const b = ops(broker);
      const due = Date.now() + 60_000;
      await b.enqueue(
        'q',
        ['a', 'b', 'c', 'd'].map((body) => ({ body })),
        60_000,
      );
      // Reserved before anything is delayed: a broker may wake workers with a marker that a reserve eats.
      const reserved = await b.reserve('q', request(1));
      assert.deepEqual(
        reserved.messages.map((m) => m.body),
        ['a'],
      );
      await b.enqueue(
        'q',
        [
          { body: 'late', dueAt: due + 1000 },
          { body: 'soon', dueAt: due },
        ],
        60_000,
      );
      assert.deepEqual(await b.listMessages('q', 'waiting', 0, 10), [
        { body: 'b' },
        { body: 'c' },
        { body: 'd' },
      ]);
      assert.deepEqual(await b.listMessages('q', 'waiting', 1, 1), [{ body: 'c' }]);
      assert.deepEqual(await b.listMessages('q', 'delayed', 0, 10), [
        { body: 'soon', at: due },
        { body: 'late', at: due + 1000 },
      ]);
      const leased = await b.listMessages('q', 'leased', 0, 10);
      assert.equal(leased.length, 1);
      assert.equal(leased[0]!.body, 'a');
      assert.ok(leased[0]!.at! > Date.now(), 'a lease lists its deadline');
      assert.deepEqual(await b.listMessages('other', 'waiting', 0, 10), []);
    });

    test('a leased message names the worker holding it (<host>:<pid>:<random>), per broker instance', async (broker, f) => {
      const b = ops(broker);
      await b.enqueue('q', [{ body: 'mine' }, { body: 'theirs' }], 60_000);
      assert.equal((await b.reserve('q', request(1))).messages[0]?.body, 'mine');
      const [mine] = await b.listMessages('q', 'leased', 0, 10);
      const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-');
      assert.equal(mine?.body, 'mine');
      assert.match(mine?.worker ?? '', new RegExp(`^${escapeRegExp(host)}:${process.pid}:[0-9a-f]{6}$`));
      if (!f.peer) return;
      // A second broker instance (another worker) is told apart, and either one's listing shows both.
      const peer = ops((await f.peer()).broker);
      assert.equal((await peer.reserve('q', request(1))).messages[0]?.body, 'theirs');
      const seen = new Map((await peer.listMessages('q', 'leased', 0, 10)).map((m) => [m.body, m.worker]));
      assert.equal(seen.get('mine'), mine?.worker);
      assert.match(
        seen.get('theirs') ?? '',
        new RegExp(`^${escapeRegExp(host)}:${process.pid}:[0-9a-f]{6}$`),
      );
      assert.notEqual(seen.get('theirs'), mine?.worker);
    });

    test('refuses a bad state, offset or limit, naming it', async (broker) => {
      const b = ops(broker);
      await assert.rejects(b.listMessages('q', 'dead' as 'waiting', 0, 1), /state must be one of/);
      await assert.rejects(b.listMessages('q', 'waiting', -1, 1), /offset must be an integer >= 0/);
      await assert.rejects(b.listMessages('q', 'waiting', 0, 0), /limit must be an integer >= 1/);
    });

    test('removes waiting and delayed bodies, not leased ones, and reports which', async (broker) => {
      const b = ops(broker);
      await b.enqueue('q', [{ body: 'run' }, { body: 'w1' }, { body: 'w2' }], 60_000);
      assert.equal((await b.reserve('q', request(1))).messages[0]?.body, 'run');
      await b.enqueue('q', [{ body: 'd1', dueAt: Date.now() + 60_000 }], 60_000);
      assert.deepEqual(await b.removeWaiting('q', ['w2', 'd1', 'run', 'nowhere']), ['w2', 'd1']);
      const stats = await b.stats('q');
      assert.deepEqual([stats.delayed, stats.leased], [0, 1]);
      assert.deepEqual(await b.removeWaiting('q', ['w2']), []);
      assert.deepEqual(await b.listMessages('q', 'waiting', 0, 10), [{ body: 'w1' }]);
    });

    test('the paused flag is per queue and seen by a second client', async (broker, f) => {
      const b = ops(broker);
      assert.equal(await b.isPaused('q'), false);
      await b.setPaused('q', true);
      assert.equal(await b.isPaused('q'), true);
      assert.equal(await b.isPaused('other'), false);
      if (f.peer) {
        const peer = ops((await f.peer()).broker);
        assert.equal(await peer.isPaused('q'), true);
        await peer.setPaused('q', false);
      } else {
        await b.setPaused('q', false);
      }
      assert.equal(await b.isPaused('q'), false);
    });
  });
}
