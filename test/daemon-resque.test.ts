/**
 * errand.toml `[resque]`: the daemon also runs a Resque worker; `[[resque.jobs]]` classes run
 * their commands with the job's args, failures land in `<ns>failed` in Resque's format, the
 * section is validated like the rest of the config, and SIGTERM drains its running jobs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, parseConfig, programProblems } from '../src/daemon/config.ts';
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
import { REDIS_URL } from './helpers.ts';

const run = promisify(execFile);
const noEnv = {};
const file = '/etc/errand/errand.toml';

function problems(text: string, env: NodeJS.ProcessEnv = noEnv): readonly string[] {
  try {
    parseConfig(text, file, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the config was accepted');
}

void describe('[resque] config', () => {
  void it('reads the section in TOML, YAML and JSON alike', () => {
    const toml = parseConfig(
      `broker = "redis://127.0.0.1:6379"
[resque]
namespace = "res:"
queues = "high=2,low=1"
concurrency = 5
interval = "250ms"
[[resque.jobs]]
class = "MyClass"
program = "./scripts/my-class.sh"
args = ["--fixed"]
env = { MODE = "x" }
timeout = "2s"
retries = 1
`,
      file,
      noEnv,
    );
    const yaml = parseConfig(
      `broker: redis://127.0.0.1:6379
resque:
  namespace: "res:"
  queues: high=2,low=1
  concurrency: 5
  interval: 250ms
  jobs:
    - class: MyClass
      program: ./scripts/my-class.sh
      args: ["--fixed"]
      env: { MODE: x }
      timeout: 2s
      retries: 1
`,
      '/etc/errand/errand.yaml',
      noEnv,
    );
    const json = parseConfig(
      JSON.stringify({
        broker: 'redis://127.0.0.1:6379',
        resque: {
          namespace: 'res:',
          queues: 'high=2,low=1',
          concurrency: 5,
          interval: '250ms',
          jobs: [
            {
              class: 'MyClass',
              program: './scripts/my-class.sh',
              args: ['--fixed'],
              env: { MODE: 'x' },
              timeout: '2s',
              retries: 1,
            },
          ],
        },
      }),
      '/etc/errand/errand.json',
      noEnv,
    );
    const r = toml.resque;
    assert.ok(r);
    assert.equal(r.namespace, 'res:');
    assert.equal(r.queues, 'high=2,low=1');
    assert.equal(r.concurrency, 5);
    assert.equal(r.intervalMs, 250);
    assert.equal(r.jobs.length, 1);
    const job = r.jobs[0];
    assert.equal(job?.name, 'MyClass');
    assert.equal(job?.program, '/etc/errand/scripts/my-class.sh');
    assert.deepEqual(job?.args, ['--fixed']);
    assert.deepEqual({ ...job?.env }, { MODE: 'x' });
    assert.equal(job?.timeoutMs, 2000);
    assert.equal(job?.retries, 1);
    assert.equal(job?.programKey, 'resque.jobs[0].program');
    // Compared as JSON: TOML tables have a null prototype.
    const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
    assert.deepEqual(asJson(yaml.resque), asJson(r));
    assert.deepEqual(asJson(json.resque), asJson(r));
    // Defaults: goworker's namespace, concurrency and interval.
    const d = parseConfig('broker = "redis://h:6379"\n[resque]\nqueues = "q"\n', file, noEnv).resque;
    assert.deepEqual(d, { namespace: 'resque:', queues: 'q', concurrency: 25, intervalMs: 5000, jobs: [] });
    assert.equal(parseConfig('broker = "redis://h:6379"\n', file, noEnv).resque, undefined);
  });

  void it('names the key of every problem in the section at once', () => {
    assert.deepEqual(
      problems(`broker = "redis://127.0.0.1:6379"
[[tasks]]
name = "Taken"
program = "sh"
[resque]
queues = "high=0"
concurency = 5
interval = "soon"
[[resque.jobs]]
program = "./a.sh"
[[resque.jobs]]
class = "A"
queue = "x"
[[resque.jobs]]
class = "A"
program = "./a.sh"
[[resque.jobs]]
class = "A"
program = "./a.sh"
[[resque.jobs]]
class = "Taken"
program = "./b.sh"
`),
      [
        'resque.concurency: unknown key (did you mean "concurrency"?)',
        'resque.queues: the weight of "high" must be a whole number >= 1 (got "0")',
        'resque.interval: must be a number of seconds or a duration like "30s" or "500ms" (got "soon")',
        'resque.jobs[0].class: is required (the Resque class it serves)',
        'resque.jobs[1].queue: unknown key',
        'resque.jobs[1]: needs command = ["program", "arg", ...] or program = "..."',
        'resque.jobs[3].class: duplicate class "A"',
        'resque.jobs[4].class: "Taken" is also a [[tasks]] name; that task already serves Resque jobs of this class (remove one of them)',
      ],
    );
  });

  void it('needs queues, and a Redis broker', () => {
    assert.deepEqual(problems('broker = "redis://h:6379"\n[resque]\n'), [
      'resque.queues: is required ("q1,q2", or weighted "high=2,low=1")',
    ]);
    assert.deepEqual(problems('broker = "sqlite:q.db"\n[resque]\nqueues = "q"\n'), [
      'resque: needs a redis:// or rediss:// broker (Resque keeps its queues in Redis) (got "sqlite:/etc/errand/q.db")',
    ]);
    // REDIS_URL overrides the broker, and so satisfies the section.
    assert.ok(parseConfig('broker = "sqlite:q.db"\n[resque]\nqueues = "q"\n', file, { REDIS_URL }).resque);
  });

  void it('-t checks the programs of [[resque.jobs]]', () => {
    const c = parseConfig(
      `broker = "redis://h:6379"\n[resque]\nqueues = "q"\n[[resque.jobs]]\nclass = "A"\nprogram = "no-such-program-xyz"\n[[resque.jobs]]\nclass = "B"\nprogram = "sh"\n`,
      file,
      noEnv,
    );
    assert.deepEqual(programProblems(c, { PATH: '/usr/bin:/bin' }), [
      'resque.jobs[0].program: "no-such-program-xyz" is not found in PATH (or is not executable there)',
    ]);
  });
});

void describe('[resque] in the daemon', () => {
  let redis: Redis;
  const ns = `${uniqueName('resque-daemon')}:`;
  const dir = tempDir('resque-daemon');
  const record = join(dir, 'record.txt');
  let config = '';

  before(async () => {
    redis = await redisClient();
    config = writeConfig(
      dir,
      'errand.toml',
      `broker = "${REDIS_URL}"
prefix = "${ns}errand"
modules = ["${fixtures}/tasks.mjs"]
shutdown_timeout = "30s"
[resque]
namespace = "${ns}"
queues = "high=2,low=1"
concurrency = 2
interval = "100ms"
[[resque.jobs]]
class = "MyClass"
program = "${fixtures}/record.sh"
[[resque.jobs]]
class = "Slow"
program = "${fixtures}/record.sh"
env = { SLEEP_S = "1" }
[[resque.jobs]]
class = "Broken"
program = "${fixtures}/resque-fail.sh"
`,
    );
  });
  after(async () => {
    await deleteKeys(redis, ns);
    await redis.close();
  });

  const rpush = (queue: string, payload: string) =>
    run('redis-cli', ['-u', REDIS_URL, 'RPUSH', `${ns}queue:${queue}`, payload]);

  void it('runs a class with the job args; a failing script lands in <ns>failed in Resque format', async () => {
    const daemon = await startWorker(config, { RECORD_FILE: record });
    try {
      await daemon.waitForLine('the Resque worker', (l) => l.msg === 'Serving Resque jobs');
      await rpush('low', '{"class":"MyClass","args":["a","b"]}');
      await waitFor('the script to run', () => readLines(record).includes('done a b'));
      assert.ok(readLines(record).some((l) => / a b$/.test(l) && l.startsWith('start')));

      await rpush('high', '{"class":"Broken","args":["x",2]}');
      const raw = await waitFor(
        'the failure entry',
        async () => (await redis.lRange(`${ns}failed`, 0, -1))[0],
      );
      const entry = JSON.parse(raw) as Record<string, unknown>;
      assert.equal(entry.exception, 'CommandFailed');
      assert.equal(entry.error, 'exit status 2: cannot frobnicate x 2');
      assert.equal(entry.queue, 'high');
      assert.deepEqual((entry.payload as { class: string; args: unknown[] }).class, 'Broken');
      assert.deepEqual((entry.payload as { class: string; args: unknown[] }).args, ['x', 2]);
      assert.ok(Array.isArray(entry.backtrace));
      assert.match(String(entry.worker), /^[^:]+:\d+-\d+:high,low$/);
      assert.match(String(entry.failed_at), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC$/);

      // A task a module defines is served by its name too.
      await rpush('low', '{"class":"js-fail","args":[]}');
      const second = await waitFor(
        'the module failure',
        async () => (await redis.lRange(`${ns}failed`, 1, 1))[0],
      );
      assert.equal((JSON.parse(second) as { error: string }).error, 'js handler failed');
      await waitFor('the stats', async () => (await redis.get(`${ns}stat:failed`)) === '2');
      assert.equal(await redis.get(`${ns}stat:processed`), '3');
    } finally {
      assert.equal((await daemon.stop()).code, 0);
    }
    assert.equal(await redis.sCard(`${ns}workers`), 0, 'unregistered on stop');
  });

  void it('SIGTERM drains a running Resque job, then exits 0', async () => {
    const daemon = await startWorker(config, { RECORD_FILE: record });
    await daemon.waitForLine('the Resque worker', (l) => l.msg === 'Serving Resque jobs');
    await rpush('high', '{"class":"Slow","args":["drain"]}');
    await waitFor('the run to start', () =>
      readLines(record).some((l) => l.startsWith('start') && l.endsWith(' drain')),
    );
    const exit = await daemon.stop();
    assert.equal(exit.code, 0);
    assert.equal(readLines(record).at(-1), 'done drain', 'the command finished before the exit');
    assert.equal(await redis.lLen(`${ns}queue:high`), 0, 'not handed back: it finished');
    assert.equal(await redis.sCard(`${ns}workers`), 0);
  });
});
