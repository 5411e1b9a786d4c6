/**
 * result() waits by notification (src/core/results.ts). A task that becomes final after the
 * waiter's first read but before its subscription takes effect is announced to nobody: the
 * waiter must read again once subscribed, not only at the slow safety re-read (5 s).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import type { ResultBackend, TaskRecord } from '../src/core/port.ts';
import { ResultWaiter } from '../src/core/results.ts';
import { deleteByPrefix, REDIS_URL, trackPrefix, uniquePrefix } from './helpers.ts';

void describe('result waiter', () => {
  const prefix = trackPrefix(uniquePrefix('waiter'));
  const backend = new RedisResultBackend(new RedisConnection({ url: REDIS_URL }).retain(), prefix);
  after(async () => {
    await backend.close();
    await deleteByPrefix(prefix);
  });

  it('a task that became final while the subscription was being set up is found at once', async () => {
    // The subscriber connection is already up (a worker listening for cancels made it), so no
    // 'ready' event comes to trigger a re-read when the final-state subscription is added.
    await backend.onCancelled(() => {});
    // The real backend, with its subscription taking effect 300 ms late.
    const slowToSubscribe: ResultBackend = Object.assign(Object.create(backend) as ResultBackend, {
      onFinal: async (listener: (ids: readonly string[]) => void) => {
        await delay(300);
        return backend.onFinal(listener);
      },
    });
    const waiter = new ResultWaiter(async () => slowToSubscribe);
    const id = 'raced-1';
    const started = Date.now();
    const waiting = waiter.waitFinal(id, { timeoutMs: 3000 });
    await delay(100); // the first read found nothing; nobody is subscribed yet
    const record: TaskRecord = {
      id,
      task: 't',
      queue: 'default',
      state: 'SUCCESS',
      attempt: 1,
      createdAt: started,
      updatedAt: Date.now(),
      result: 7,
    };
    await backend.write([record], 60_000); // its notification reaches no one
    const found = await waiting;
    assert.equal(found.result, 7);
    const took = Date.now() - started;
    assert.ok(took < 2000, `found after ${took} ms (the safety re-read is at 5 s)`);
  });
});
