/**
 * The CLI on a broker that lacks optional capabilities (RabbitMQ, results in Redis, from
 * errand.toml's `broker` and `backend`): `status` and `failed` say what is missing and why. And
 * the daemon and `send --wait` with both URLs from the environment (ERRAND_BROKER, ERRAND_BACKEND).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AMQP_URL, deleteAmqpQueues } from './amqp-helpers.ts';
import {
  deleteKeys,
  type ErrandProcess,
  redisClient,
  runErrand,
  startWorker,
  tempDir,
  uniqueName,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_URL } from './helpers.ts';

const prefix = uniqueName('clicap');
const dir = tempDir('cli-capabilities');
const config = writeConfig(
  dir,
  'errand.toml',
  `broker = "${AMQP_URL}"
backend = "${REDIS_URL}"
prefix = "${prefix}"

[[tasks]]
name = "boom"
command = ["sh", "-c", "exit 4"]
`,
);
const errand = (...args: string[]) => runErrand([...args, '-c', config]);

describe('errand status / failed on RabbitMQ', () => {
  after(() => deleteAmqpQueues(prefix));

  it('failed list and retry say the broker cannot browse dead letters, and why', async () => {
    for (const action of ['list', 'retry']) {
      const r = await errand('failed', action, 'boom');
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        new RegExp(
          `failed ${action}: this broker cannot browse its dead letters \\(dead letters are messages in the queue`,
        ),
      );
    }
  });

  it('failed purge of all still works', async () => {
    const r = await errand('failed', 'purge', 'boom');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "0 failed task(s) purged: every dead letter of queue boom (this broker cannot select boom's)\n",
    );
  });

  it('status notes approximate and missing counts', async () => {
    const r = await errand('status');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /counts are approximate: RabbitMQ reports/);
    assert.match(
      r.stdout,
      /DELAYED and RUNNING are not counted \(shown as 0\): delayed messages sit in per-delay queues/,
    );
  });

  it('a backend with an unknown scheme is a config problem naming the key', async () => {
    const bad = writeConfig(dir, 'bad.toml', `broker = "${AMQP_URL}"\nbackend = "mongodb://127.0.0.1"\n`);
    const r = await runErrand(['status', '-c', bad]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /backend: must be a URL with a known scheme \(memcached:, memory:, postgres:, postgresql:, redis:, rediss:, sqlite:\)/,
    );
  });
});

describe('broker and backend from the environment', () => {
  const envPrefix = uniqueName('clienv');
  // No broker, no backend: both come from ERRAND_BROKER and ERRAND_BACKEND.
  const envConfig = writeConfig(
    dir,
    'env.toml',
    `prefix = "${envPrefix}"

[[tasks]]
name = "join"
command = ["printf", "%s-%s"]
`,
  );
  const fromEnv = { ERRAND_BROKER: AMQP_URL, ERRAND_BACKEND: REDIS_URL };
  let daemon: ErrandProcess | undefined;
  after(async () => {
    const exit = await daemon?.stop();
    await deleteAmqpQueues(envPrefix);
    const redis = await redisClient();
    await deleteKeys(redis, `${envPrefix}:`);
    await redis.close();
    assert.equal(exit?.code, 0);
  });

  it('errand worker and send --wait run on RabbitMQ with results in Redis (ERRAND_BROKER, ERRAND_BACKEND)', async () => {
    // Without ERRAND_BACKEND, RabbitMQ keeps no results: --wait cannot work, and says why.
    const noBackend = await runErrand(['send', 'join', 'a', 'b', '--wait', '-c', envConfig], {
      env: { ERRAND_BROKER: AMQP_URL, ERRAND_BACKEND: '' },
    });
    assert.equal(noBackend.code, 1);
    assert.match(noBackend.stderr, /backend: the amqp: broker has no store for results/);
    daemon = await startWorker(envConfig, fromEnv);
    const sent = await runErrand(
      ['send', 'join', 'a', 'b', '--wait', '--timeout', '10000', '-c', envConfig],
      {
        env: fromEnv,
      },
    );
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.stdout, 'a-b\n');
  });
});
