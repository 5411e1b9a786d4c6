/**
 * Signals: SIGTERM drains running commands (up to shutdown_timeout) and exits 0; a second
 * signal stops at once, kills the commands' process groups and hands their tasks back.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  deleteKeys,
  fixtures,
  type Redis,
  readLines,
  redisClient,
  startWorker,
  tempDir,
  uniqueName,
  waitFor,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_ADDRESS } from './helpers.ts';

/** Running (a zombie left for a non-reaping init does not count). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

void describe('daemon shutdown', () => {
  let redis: Redis;
  const qk = uniqueName('shutdown');
  const dir = tempDir('shutdown');
  let config = '';

  before(async () => {
    redis = await redisClient();
    config = writeConfig(
      dir,
      'gordon.config.toml',
      `redis_address = "${REDIS_ADDRESS}"\nqueue_key = "${qk}"\nshutdown_timeout = "30s"\n` +
        `[tasks.rec]\nscript = "${fixtures}/record.sh"\n`,
    );
  });
  after(async () => {
    await deleteKeys(redis, `${qk}:`, `errand:${qk}:`);
    await redis.close();
  });

  void it('SIGTERM lets the running command finish, then exits 0', async () => {
    const record = join(dir, 'drain.txt');
    const daemon = await startWorker(config, { RECORD_FILE: record });
    await redis.rPush(`${qk}:rec`, JSON.stringify({ args: ['drain'], env: { SLEEP_S: '1' } }));
    await waitFor('the run to start', () => readLines(record).some((l) => l.startsWith('start')));
    const exit = await daemon.stop();
    assert.equal(exit.code, 0);
    assert.deepEqual(readLines(record).at(-1), 'done drain', 'the command finished before the exit');
    assert.ok(daemon.lines().some((l) => l.msg === 'task completed' && l.task === 'rec'));
    assert.equal(await redis.lLen(`${qk}:rec`), 0);
  });

  void it('a second signal stops at once: the process group is killed and the task handed back', async () => {
    const record = join(dir, 'hurry.txt');
    const daemon = await startWorker(config, { RECORD_FILE: record });
    await redis.rPush(`${qk}:rec`, JSON.stringify({ args: ['hurry'], env: { SLEEP_S: '30' } }));
    const start = await waitFor('the run to start', () =>
      readLines(record).find((l) => l.startsWith('start')),
    );
    const shellPid = Number(start.split(' ')[2]);
    assert.ok(alive(shellPid));
    const stoppedAt = Date.now();
    daemon.signal('SIGTERM');
    await daemon.waitForLine('the first signal', (l) => l.msg === 'Stopping');
    daemon.signal('SIGINT');
    const exit = await daemon.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - stoppedAt < 10_000, 'did not wait for the 30 s command');
    await waitFor('the command to be killed', () => !alive(shellPid));
    assert.ok(!readLines(record).includes('done hurry'));
    // Handed back: the entry is waiting in Gordon's list again, still a valid Gordon entry.
    const [entry] = await redis.lRange(`${qk}:rec`, 0, -1);
    assert.ok(entry, 'the task is back in the list');
    const parsed = JSON.parse(entry) as { args: string[]; env: Record<string, string> };
    assert.deepEqual(parsed.args, ['hurry']);
    assert.deepEqual(parsed.env, { SLEEP_S: '30' });
    assert.ok(!daemon.lines().some((l) => l.msg === 'task failed'), 'not counted as a failure');
  });
});
