/**
 * `errand worker -c gordon.config.toml` end to end: the real binary, real Redis, and a plain
 * Redis client as the producer (RPUSH of Gordon's JSON), checked against Gordon 1.6's behaviour.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  deleteKeys,
  type ErrandProcess,
  fixtures,
  freePort,
  type Redis,
  redisClient,
  runErrand,
  startWorker,
  tempDir,
  uniqueName,
  waitFor,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_ADDRESS } from './helpers.ts';

const qk = uniqueName('gordon');
const dir = tempDir('gordon');
const errOut = tempDir('gordon-err');
const notifyTmp = tempDir('gordon-notify');
const recordFile = join(dir, 'record.txt');
let statsPort = 0;
let redis: Redis;
let daemon: ErrandProcess;
let config = '';

const failedList = async (type: string): Promise<unknown[]> =>
  (await redis.lRange(`${qk}:${type}:failed`, 0, -1)).map((e) => JSON.parse(e) as unknown);

const waitFailed = (type: string, n: number) =>
  waitFor(`${n} entries in ${qk}:${type}:failed`, async () => {
    const list = await failedList(type);
    return list.length >= n ? list : undefined;
  });

const completed = (type: string) =>
  daemon.waitForLine(`a completed ${type} task`, (l) => l.msg === 'task completed' && l.task === type);

void describe('Gordon config, end to end', () => {
  before(async () => {
    redis = await redisClient();
    statsPort = await freePort();
    config = writeConfig(
      dir,
      'gordon.config.toml',
      `# Gordon 1.6 keys only (plus an Errand "lease", which Gordon would ignore)
redis_network = "tcp"
redis_address = "${REDIS_ADDRESS}"
queue_key = "${qk}"
error_script = "${fixtures}/copy-arg.sh"
failed_tasks_ttl = 100
temp_dir = "${notifyTmp}"
interval_min = 250
interval_max = 30000
interval_factor = 2.0
backoff_enabled = false

[stats]
interface = "127.0.0.1:${statsPort}"

[tasks.empty]
script = "/usr/bin/printf"

[tasks.out]
script = "/usr/bin/printf"

[tasks.env]
script = "${fixtures}/echoenv.sh"

[tasks.stderr]
script = "${fixtures}/stderr-only.sh"

[tasks.exit3]
script = "${fixtures}/exit3.sh"
failed_tasks_ttl = 50

[tasks.serial]
script = "${fixtures}/record.sh"
workers = 1

[tasks.parallel]
script = "${fixtures}/record.sh"
workers = 3
`,
    );
    daemon = await startWorker(config, { RECORD_FILE: recordFile, ERR_OUT_DIR: errOut });
  });

  after(async () => {
    const exit = await daemon?.stop();
    assert.equal(exit?.code, 0, `the daemon exits 0 on SIGTERM\n${daemon?.stderr}`);
    await deleteKeys(redis, `${qk}:`, `errand:${qk}:`);
    await redis.close();
  });

  void it('printf "" succeeds: nothing in the failed list', async () => {
    await redis.rPush(`${qk}:empty`, '{"args":[""]}');
    await completed('empty');
    assert.deepEqual(await failedList('empty'), []);
  });

  void it('printf "test output" fails with exactly that message', async () => {
    await redis.rPush(`${qk}:out`, '{"args":["test output"]}');
    const [entry] = await waitFailed('out', 1);
    assert.deepEqual(entry, { args: ['test output'], env: {}, error_message: 'test output' });
  });

  void it('passes env: echoenv.sh prints TEST_ENV_VAR, which becomes the error', async () => {
    await redis.rPush(`${qk}:env`, '{"args":[],"env":{"TEST_ENV_VAR":"test output"}}');
    const [entry] = await waitFailed('env', 1);
    assert.deepEqual(entry, { args: [], env: { TEST_ENV_VAR: 'test output' }, error_message: 'test output' });
  });

  void it('a stderr-only script succeeds', async () => {
    await redis.rPush(`${qk}:stderr`, '{"args":[]}');
    await completed('stderr');
    assert.deepEqual(await failedList('stderr'), []);
  });

  void it('exit 3 with output gives "exit status 3"; the per-type TTL applies', async () => {
    await redis.rPush(`${qk}:exit3`, '{"args":["a"]}');
    const [entry] = await waitFailed('exit3', 1);
    assert.deepEqual(entry, { args: ['a'], env: {}, error_message: 'exit status 3' });
    const ttl = await redis.ttl(`${qk}:exit3:failed`);
    assert.ok(ttl > 40 && ttl <= 50, `per-type failed_tasks_ttl 50 (ttl ${ttl})`);
    const globalTtl = await redis.ttl(`${qk}:out:failed`);
    assert.ok(globalTtl > 90 && globalTtl <= 100, `global failed_tasks_ttl 100 (ttl ${globalTtl})`);
  });

  void it('[] is rejected into the failed list with a clear error_message; capitalised "Args" still parses', async () => {
    await redis.rPush(`${qk}:stderr`, '[]');
    await redis.rPush(`${qk}:stderr`, '{"args":[1]}');
    const entries = (await waitFailed('stderr', 2)) as Array<Record<string, unknown>>;
    assert.deepEqual(entries[0], {
      args: [],
      env: {},
      error_message: 'task entry must be a JSON object like {"args":[...]}, got an array',
      payload: '[]',
    });
    assert.equal(entries[1]?.error_message, '"args"[0] must be a string, got number');
    await redis.rPush(`${qk}:out`, '{"Args":["capital"]}');
    const list = (await waitFailed('out', 2)) as Array<Record<string, unknown>>;
    assert.equal(list[1]?.error_message, 'capital');
  });

  void it('runs error_script with a temp file (in temp_dir) holding the notification, then removes it', async () => {
    const files = await waitFor('an error-script call for the "out" failure', () => {
      const found = readdirSync(errOut).filter((f) => f.startsWith('file-'));
      const texts = found.map((f) => readFileSync(join(errOut, f), 'utf8'));
      return texts.some((t) => t.includes('"args":["test output"]')) ? found : undefined;
    });
    const texts = files.map((f) => readFileSync(join(errOut, f), 'utf8'));
    assert.ok(
      texts.includes(
        'Failed executing task for type "out"\nPayload:\n{"args":["test output"],"env":{}}\n\ntest output\n',
      ),
      texts.join('\n----\n'),
    );
    const paths = readdirSync(errOut)
      .filter((f) => f.startsWith('path-'))
      .map((f) => readFileSync(join(errOut, f), 'utf8').trim());
    assert.ok(paths.length > 0);
    for (const p of paths) {
      assert.match(p, new RegExp(`^${notifyTmp}/gordon\\d+$`));
      await waitFor(`${p} to be removed`, () => !existsSync(p));
    }
  });

  void it('runs each type with its own workers: 3 in parallel, 1 serially in FIFO order', async () => {
    const slow = (n: number) => JSON.stringify({ args: [`n${n}`], env: { SLEEP_S: '0.6' } });
    await redis.rPush(`${qk}:parallel`, [slow(1), slow(2), slow(3)]);
    await redis.rPush(`${qk}:serial`, [slow(4), slow(5), slow(6)]);
    const lines = await waitFor(
      '6 finished runs',
      () => {
        const text = existsSync(recordFile) ? readFileSync(recordFile, 'utf8').trim().split('\n') : [];
        return text.filter((l) => l.startsWith('done')).length === 6 ? text : undefined;
      },
      15_000,
    );
    const index = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    // Parallel: all three started before the first of them finished.
    const firstDone = Math.min(index('done n1'), index('done n2'), index('done n3'));
    for (const n of [1, 2, 3])
      assert.ok(lines.findIndex((l) => l.startsWith('start') && l.endsWith(` n${n}`)) < firstDone);
    // Serial: each run starts after the previous one finished, in push order.
    const starts = lines
      .filter((l) => l.startsWith('start') && /n[456]$/.test(l))
      .map((l) => l.split(' ').at(-1));
    assert.deepEqual(starts, ['n4', 'n5', 'n6']);
    for (const [prev, next] of [
      ['n4', 'n5'],
      ['n5', 'n6'],
    ]) {
      assert.ok(
        index(`done ${prev}`) < lines.findIndex((l) => l.startsWith('start') && l.endsWith(` ${next}`)),
      );
    }
  });

  void it('serves Gordon stats JSON on any path and method', async () => {
    for (const path of ['/', '/anything/else']) {
      const res = await fetch(`http://127.0.0.1:${statsPort}${path}`, {
        method: path === '/' ? 'GET' : 'POST',
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf8');
      const body = (await res.json()) as {
        runtime: number;
        task_count: Record<string, number>;
        version: string;
      };
      assert.deepEqual(Object.keys(body), ['runtime', 'task_count', 'version']);
      assert.ok(Number.isInteger(body.runtime) && body.runtime >= 0);
      assert.deepEqual(Object.keys(body.task_count), [
        'empty',
        'env',
        'exit3',
        'out',
        'parallel',
        'serial',
        'stderr',
      ]);
      assert.ok((body.task_count.out ?? 0) >= 2, 'failures count too');
      assert.equal(body.task_count.parallel, 3);
      assert.match(body.version, /^\d+\.\d+\.\d+/);
    }
  });

  void it('errand status and errand failed work on the Gordon types', async () => {
    const status = await runErrand(['status', '--json', '-c', config]);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as {
      queues: Array<{ queue: string; failed: number; failedList?: number }>;
    };
    const out = s.queues.find((q) => q.queue === 'out');
    assert.equal(out?.failed, 2);
    assert.equal(out?.failedList, 2);

    const list = await runErrand(['failed', 'list', 'stderr', '--json', '-c', config]);
    const entries = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string; body: string });
    assert.deepEqual(entries.map((e) => e.body).sort(), ['[]', '{"args":[1]}']);
    const purge = await runErrand(['failed', 'purge', 'stderr', '-c', config]);
    assert.equal(purge.stdout, `2 failed task(s) of stderr purged and list ${qk}:stderr:failed deleted\n`);
    assert.equal(await redis.exists(`${qk}:stderr:failed`), 0);
  });
});
