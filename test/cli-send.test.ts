/**
 * `errand send`, `status` and `failed` against a daemon running Errand's own config: command
 * tasks (argv, env, timeout, retries) and JS handlers from a module, in one daemon.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  deleteKeys,
  type ErrandProcess,
  fixtures,
  type Redis,
  redisClient,
  runErrand,
  startWorker,
  tempDir,
  uniqueName,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_URL } from './helpers.ts';

const prefix = uniqueName('cli');
const dir = tempDir('cli-send');
let config = '';
// A module handler on a queue of its own: `status` must show it.
const mailModule = writeConfig(
  dir,
  'mail.mjs',
  "export default (errand) => { errand.task('js-mail', async (to) => 'sent to ' + to, { queue: 'mail' }); };\n",
);
let redis: Redis;
let daemon: ErrandProcess;

const errand = (...args: string[]) => runErrand([...args, '-c', config]);

void describe('errand send / status / failed with an errand.toml daemon', () => {
  before(async () => {
    redis = await redisClient();
    config = writeConfig(
      dir,
      'errand.toml',
      `broker = "${REDIS_URL}"
prefix = "${prefix}"
modules = ["${fixtures}/tasks.mjs", "${mailModule}"]
lease = "2s"
shutdown_timeout = "5s"

[[tasks]]
name = "join"
command = ["printf", "%s-%s"]

[[tasks]]
name = "greet"
command = ["sh", "-c", "printf '%s %s' \\"$GREETING\\" \\"$1\\"", "sh"]
env = { GREETING = "hello" }

[[tasks]]
name = "boom"
command = ["sh", "-c", "echo boom >&2; exit 4"]
retries = 1
backoff = { type = "fixed", delay = "100ms" }

[[tasks]]
name = "slow"
command = ["sleep", "10"]
timeout = "300ms"
kill_grace = "1s"
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

  void it('send --wait prints a command result (stdout); args are argv', async () => {
    const r = await errand('send', 'join', 'a b', '$HOME', '--wait', '--timeout', '10000');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'a b-$HOME\n', 'a string result ends with a newline');
  });

  void it('--env is merged over the task env and the daemon environment', async () => {
    const plain = await errand('send', 'greet', 'world', '--wait');
    assert.equal(plain.stdout, 'hello world\n');
    const r = await errand('send', 'greet', 'world', '--env', 'GREETING=hi', '--wait');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi world\n');
  });

  void it('a JS handler from modules runs in the same daemon; --json parses arguments', async () => {
    const r = await errand('send', 'js-add', '2', '3', '--json', '--wait', '--timeout', '10000');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '5\n');
  });

  void it('--delay holds the task back, then it runs', async () => {
    const started = Date.now();
    const r = await errand('send', 'join', 'x', 'y', '--delay', '1500', '--wait');
    assert.equal(r.stdout, 'x-y\n');
    assert.ok(Date.now() - started >= 1500, 'not before the delay');
  });

  void it('a failing command retries per config, then --wait prints the error and exits 1', async () => {
    const r = await errand('send', 'boom', '--wait');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed: exit status 4: boom\n$/);
    const retried = daemon.lines().filter((l) => l.task === 'boom' && l.msg === 'task failed, will retry');
    assert.equal(retried.length, 1);
  });

  void it('a timeout kills the command', async () => {
    const started = Date.now();
    const r = await errand('send', 'slow', '--wait');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /timed out after 300 ms/);
    assert.ok(Date.now() - started < 8000);
  });

  void it('failed list / retry / purge act on the failed tasks of a type', async () => {
    const list = await errand('failed', 'list', 'boom', '--json');
    assert.equal(list.code, 0, list.stderr);
    const entries = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; reason: string });
    assert.equal(entries.length, 1);
    assert.match(entries[0]?.reason ?? '', /failed after 2 attempts: CommandFailed: exit status 4: boom/);

    const retry = await errand('failed', 'retry', 'boom');
    assert.equal(retry.stdout, '1 failed task(s) of boom sent back to queue boom\n');
    // It fails again (twice: the attempts were reset) and is back in the failed tasks.
    await daemon.waitForLine(
      'the retried task to fail again',
      (l) =>
        l.msg === 'task failed' &&
        l.task === 'boom' &&
        daemon.lines().filter((x) => x.msg === 'task failed' && x.task === 'boom').length === 2,
      15_000,
    );
    const purge = await errand('failed', 'purge', 'boom');
    assert.equal(purge.stdout, '1 failed task(s) of boom purged\n');
    const empty = await errand('failed', 'list', 'boom', '--json');
    assert.equal(empty.stdout, '');
  });

  void it('status shows queues with counts and the live daemon', async () => {
    const r = await errand('status', '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as {
      queues: Array<Record<string, unknown>>;
      daemons: Array<{ pid: number; queues: string[] }>;
    };
    assert.deepEqual(s.queues.map((q) => q.queue).sort(), [
      'boom',
      'default',
      'greet',
      'join',
      'mail',
      'slow',
    ]);
    // One vocabulary with the table: running and failed, not leased and dead.
    assert.deepEqual(Object.keys(s.queues[0] ?? {}), ['queue', 'waiting', 'delayed', 'running', 'failed']);
    assert.equal(s.queues.find((q) => q.queue === 'slow')?.failed, 1);
    assert.equal(s.daemons.length, 1);
    assert.equal(s.daemons[0]?.pid, daemon.child.pid);
    const text = await errand('status');
    assert.match(text.stdout, /QUEUE\s+WAITING\s+DELAYED\s+RUNNING\s+FAILED/);
    assert.match(text.stdout, /live daemons: 1\n/);
  });

  void it('failed retry with an unknown key fails (exit 1) with a clear message, not a usage dump', async () => {
    const r = await errand('failed', 'retry', 'boom', 'no-such-key');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^errand failed: no failed task of boom in queue boom with key no-such-key/);
    assert.doesNotMatch(r.stderr, /Usage:/);
  });

  void it('send --wait on a queue no daemon consumes says where the task waits and that nobody consumes it', async () => {
    const ghost = `ghost-${prefix}`;
    const r = await errand('send', 'join', 'a', '-q', ghost, '--wait', '--timeout', '6000');
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    // First the hint while waiting (after WAIT_HINT_MS), then the same facts with the timeout.
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^errand send: task \\S+ is still waiting in queue "${ghost}" \\(1 waiting, 0 delayed there\\); no live errand daemon consumes queue "${ghost}" \\(live daemons consume: .*join.*\\); workers started by your own code are not tracked$`,
      ),
    );
    assert.match(
      lines[1] ?? '',
      new RegExp(
        `^errand send: no result within 6000 ms: task \\S+ is still waiting in queue "${ghost}".*no live errand daemon consumes queue "${ghost}"`,
      ),
    );
  });

  void it('send and status need no config file when --broker or $ERRAND_BROKER names the broker', async () => {
    const empty = tempDir('cli-noconf');
    const queue = `noconf-${prefix}`;
    try {
      const sent = await runErrand(['send', 'anything', 'x', '-q', queue, '--broker', REDIS_URL], {
        cwd: empty,
      });
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, /^\S{22}\n$/);
      const status = await runErrand(['status', '-q', queue, '--json'], {
        cwd: empty,
        env: { ERRAND_BROKER: REDIS_URL },
      });
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout) as { queues: Array<{ queue: string; waiting: number }> };
      assert.deepEqual(s.queues.find((q) => q.queue === queue)?.waiting, 1);
      const none = await runErrand(['status'], { cwd: empty, env: { ERRAND_BROKER: '', REDIS_URL: '' } });
      assert.equal(none.code, 1);
      assert.match(
        none.stderr,
        /no config file \(none of errand\.toml, errand\.yaml, errand\.yml, errand\.json, gordon\.config\.toml, goophry\.config\.json is here\): pass --conf FILE, or name the broker with --broker URL or \$ERRAND_BROKER/,
      );
    } finally {
      await deleteKeys(redis, `errand:{${queue}}:`);
    }
  });
});

void describe('errand send with a Gordon config', () => {
  void it('pushes a Gordon entry (args, env) to <queue_key>:<type> that Gordon could read', async () => {
    const r2 = await redisClient();
    const qk = uniqueName('cli-gordon');
    const cfg = writeConfig(
      dir,
      'gordon.config.toml',
      `redis_address = "${new URL(REDIS_URL).host}"\nqueue_key = "${qk}"\n[tasks.t]\nscript = "/bin/true"\n`,
    );
    try {
      const r = await runErrand(['send', 't', 'one', 'two', '--env', 'A=1', '-c', cfg]);
      assert.equal(r.code, 0, r.stderr);
      const [entry] = await r2.lRange(`${qk}:t`, 0, -1);
      const parsed = JSON.parse(entry ?? '{}') as {
        args: string[];
        env: Record<string, string>;
        errand: { id: string };
      };
      assert.deepEqual(parsed.args, ['one', 'two']);
      assert.deepEqual(parsed.env, { A: '1' });
      assert.equal(parsed.errand.id, r.stdout.trim());
    } finally {
      await deleteKeys(r2, `${qk}:`, `errand:${qk}:`);
      await r2.close();
    }
  });
});
