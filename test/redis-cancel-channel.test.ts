/**
 * The Redis result backend tells cancel watchers only about cancelled ids, so a worker's cancel
 * watch is not woken by every finished task of the fleet (one message per settle batch before).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { RedisConnection, RedisResultBackend } from '../src/brokers/redis/index.ts';
import type { TaskRecord, TaskState } from '../src/core/port.ts';
import { eventually, REDIS_URL, uniquePrefix } from './helpers.ts';

const record = (id: string, state: TaskState): TaskRecord => ({
  id,
  task: 't',
  queue: 'q',
  state,
  attempt: 1,
  createdAt: Date.now(),
  updatedAt: Date.now(),
});

const prefix = uniquePrefix('cancel-channel');
const connection = new RedisConnection({ url: REDIS_URL }).retain();
const backend = new RedisResultBackend(connection, prefix);
after(async () => {
  await backend.close();
});

test('onCancelled hears cancelled ids only; onFinal still hears every final id', async () => {
  const cancelled: string[] = [];
  const finals: string[] = [];
  const stopCancelled = await backend.onCancelled((ids) => cancelled.push(...ids));
  const stopFinal = await backend.onFinal((ids) => finals.push(...ids));
  await backend.write(
    [record('done', 'SUCCESS'), record('failed', 'FAILURE'), record('run', 'STARTED')],
    60_000,
  );
  await backend.write([record('gone', 'CANCELLED')], 60_000);
  await eventually(() => finals.includes('gone') && cancelled.includes('gone'), 5000, 'notifications');
  // A later ordinary completion must not reach the cancel listener either.
  await backend.write([record('later', 'SUCCESS')], 60_000);
  await eventually(() => finals.includes('later'), 5000, 'the later final');
  assert.deepEqual(cancelled, ['gone']);
  assert.deepEqual(finals.sort(), ['done', 'failed', 'gone', 'later']);
  assert.equal((await backend.read('gone'))?.state, 'CANCELLED');
  await Promise.all([stopCancelled(), stopFinal()]);
});
