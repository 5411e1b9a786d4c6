/**
 * What Gordon lost and Errand must not: a task held by a daemon killed with SIGKILL runs on the
 * next daemon, and a Redis restart (private server, AOF) is survived without restarting the daemon.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  deleteKeys,
  fixtures,
  PrivateRedis,
  readLines,
  redisClient,
  startWorker,
  tempDir,
  uniqueName,
  waitFor,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_ADDRESS } from './helpers.ts';

void describe('daemon resilience', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  void it('a task taken by a daemon killed with SIGKILL is run by the next daemon', async () => {
    const redis = await redisClient();
    const qk = uniqueName('sigkill');
    cleanups.push(async () => {
      await deleteKeys(redis, `${qk}:`, `errand:${qk}:`);
      await redis.close();
    });
    const dir = tempDir('sigkill');
    const record = join(dir, 'record.txt');
    const config = writeConfig(
      dir,
      'gordon.config.toml',
      `redis_address = "${REDIS_ADDRESS}"\nqueue_key = "${qk}"\nlease = "1s"\n[tasks.slow]\nscript = "${fixtures}/record.sh"\n`,
    );
    const first = await startWorker(config, { RECORD_FILE: record });
    await redis.rPush(`${qk}:slow`, JSON.stringify({ args: ['job1'], env: { SLEEP_S: '1' } }));
    await waitFor('the first run to start', () => readLines(record).some((l) => l.startsWith('start')));
    first.signal('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    assert.equal(await redis.lLen(`${qk}:slow`), 0, 'the task is not waiting: it was taken');

    const second = await startWorker(config, { RECORD_FILE: record });
    try {
      await second.waitForLine(
        'the task to complete on the second daemon',
        (l) => l.msg === 'task completed' && l.task === 'slow',
        15_000,
      );
      const starts = readLines(record).filter((l) => l.startsWith('start') && l.endsWith(' job1'));
      assert.equal(starts.length, 2, 'run once by each daemon');
      assert.equal(await redis.lLen(`${qk}:slow`), 0);
      assert.equal(await redis.exists(`${qk}:slow:failed`), 0);
    } finally {
      assert.equal((await second.stop()).code, 0);
    }
  });

  void it('survives a Redis restart without restarting', async () => {
    const server = await PrivateRedis.start();
    cleanups.push(() => server.stop());
    const qk = uniqueName('restart');
    const dir = tempDir('restart');
    const record = join(dir, 'record.txt');
    const config = writeConfig(
      dir,
      'gordon.config.toml',
      `redis_address = "127.0.0.1:${server.port}"\nqueue_key = "${qk}"\nfailed_tasks_ttl = 600\n` +
        `[tasks.rec]\nscript = "${fixtures}/record.sh"\n[tasks.out]\nscript = "/usr/bin/printf"\n`,
    );
    const daemon = await startWorker(config, { RECORD_FILE: record });
    try {
      let redis = await redisClient(server.url);
      await redis.rPush(`${qk}:rec`, '{"args":["before"]}');
      await waitFor('the task before the restart', () => readLines(record).includes('done before'));
      redis.destroy();

      const outage = (l: { msg: string }) => /redis connection|Redis connection|broker error/.test(l.msg);
      assert.equal(daemon.lines().filter(outage).length, 0);
      await server.stop();
      await daemon.waitForLine('the daemon to notice the outage', outage);
      await sleep(1000); // stay down a while: the daemon keeps retrying
      await server.launch();

      redis = await redisClient(server.url);
      await redis.rPush(`${qk}:rec`, '{"args":["after"]}');
      await redis.rPush(`${qk}:out`, '{"args":["failed after restart"]}');
      await waitFor('the task after the restart', () => readLines(record).includes('done after'), 20_000);
      const failed = await waitFor(
        'the failed entry after the restart',
        () => redis.lRange(`${qk}:out:failed`, 0, -1).then((l) => l[0]),
        20_000,
      );
      assert.deepEqual(JSON.parse(failed), {
        args: ['failed after restart'],
        env: {},
        error_message: 'failed after restart',
      });
      assert.equal(daemon.child.exitCode, null, 'the daemon kept running');
      redis.destroy();
    } finally {
      assert.equal((await daemon.stop()).code, 0);
    }
  });
});
