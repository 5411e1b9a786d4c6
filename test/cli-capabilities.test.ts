/**
 * The CLI on a broker that lacks optional capabilities (RabbitMQ, results in Redis, from
 * errand.toml's `broker` and `backend`): `status` and `failed` say what is missing and why.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AMQP_URL, deleteAmqpQueues } from './amqp-helpers.ts';
import { runErrand, tempDir, uniqueName, writeConfig } from './fixtures/daemon/harness.ts';
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
