/**
 * `errand send a x --then b --then c`: command tasks chained from the CLI (issue 13). Each link
 * gets the previous command's output as its argument; --wait prints the last one's; a failed
 * link stops the chain; Gordon-format configs refuse --then (their format cannot carry links).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  deleteKeys,
  type ErrandProcess,
  type Redis,
  redisClient,
  runErrand,
  startWorker,
  tempDir,
  uniqueName,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_ADDRESS, REDIS_URL } from './helpers.ts';

const prefix = uniqueName('cli-then');
const dir = tempDir('cli-then');
let config = '';
let redis: Redis;
let daemon: ErrandProcess;

const errand = (...args: string[]) => runErrand([...args, '-c', config]);

void describe('errand send --then', () => {
  before(async () => {
    redis = await redisClient();
    config = writeConfig(
      dir,
      'errand.toml',
      `broker = "${REDIS_URL}"
prefix = "${prefix}"
lease = "2s"
shutdown_timeout = "5s"

[[tasks]]
name = "join"
command = ["printf", "%s-%s"]

[[tasks]]
name = "upper"
command = ["sh", "-c", "printf '%s' \\"$1\\" | tr a-z A-Z", "sh"]

[[tasks]]
name = "wrap"
command = ["sh", "-c", "printf '[%s]' \\"$1\\"", "sh"]

[[tasks]]
name = "boom"
command = ["sh", "-c", "echo boom >&2; exit 4"]
`,
    );
    daemon = await startWorker(config);
  });

  after(async () => {
    const exit = await daemon?.stop();
    assert.equal(exit?.code, 0);
    await deleteKeys(redis, `${prefix}:`);
    await redis.close();
  });

  void it('each link gets the previous output; --wait prints the last result', async () => {
    const r = await errand(
      'send',
      'join',
      'a',
      'b',
      '--then',
      'upper',
      '--then',
      'wrap',
      '--wait',
      '--timeout',
      '15000',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '[A-B]\n');
  });

  void it('a failed link stops the chain: --wait reports its error, the next link never runs', async () => {
    const r = await errand('send', 'boom', '--then', 'upper', '--wait', '--timeout', '15000');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exit status 4/);
    const sent = await errand('send', 'boom', '--then', 'upper');
    const id = sent.stdout.trim();
    const record = async () =>
      JSON.parse((await redis.get(`${prefix}:result:${id}.next`)) ?? 'null') as {
        state: string;
        error?: { message: string };
      } | null;
    for (let i = 0; i < 200 && (await record())?.state !== 'FAILURE'; i++)
      await new Promise((res) => setTimeout(res, 50));
    const upper = await record();
    assert.equal(upper?.state, 'FAILURE', 'marked failed, not run (a run of upper would succeed)');
    assert.match(upper?.error?.message ?? '', /exit status 4/);
  });

  void it('a Gordon config refuses --then with the reason', async () => {
    const gordon = writeConfig(
      dir,
      'gordon.toml',
      `redis_address = "${REDIS_ADDRESS}"
queue_key = "${prefix}-gordon"

[tasks.x]
script = "/bin/true"
`,
    );
    const r = await runErrand(['send', 'x', '--then', 'x', '-c', gordon]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /--then needs an errand\.toml config: the gordon message format cannot carry follow-up tasks/,
    );
  });
});
