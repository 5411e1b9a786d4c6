/**
 * `errand worker` as a drop-in for Gordon: the differences a side-by-side run with Gordon 1.6.5
 * showed (issue 8), each pinned with the values Gordon produced. One private redis-server; the
 * daemon runs with a Gordon config and Gordon's default log format, no -v.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ErrandProcess,
  fixtures,
  type Redis,
  redisClient,
  runErrand,
  tempDir,
  waitFor,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { type PrivateRedis, startPrivateRedis } from './helpers.ts';

const qk = 'dropin';
const dir = tempDir('dropin');
const errOut = tempDir('dropin-err');
const logfile = join(dir, 'gordon.log');
let server: PrivateRedis;
let redis: Redis;
let daemon: ErrandProcess;

const failedList = async (type: string): Promise<string[]> => redis.lRange(`${qk}:${type}:failed`, 0, -1);
const waitFailed = (type: string, n: number) =>
  waitFor(
    `${n} entries in ${qk}:${type}:failed`,
    async () => {
      const list = await failedList(type);
      return list.length >= n ? list : undefined;
    },
    20_000,
  );
const log = (): string => readFileSync(logfile, 'utf8');
/** The log without its `YYYY/MM/DD hh:mm:ss ` timestamps. */
const logLines = (): string[] =>
  log()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '<time> '));
const notifications = (): string[] =>
  readdirSync(errOut)
    .filter((n) => n.startsWith('file-'))
    .map((n) => readFileSync(join(errOut, n), 'utf8'));

before(async () => {
  server = await startPrivateRedis();
  redis = await redisClient(server.url);
});

after(async () => {
  await redis?.close();
  await server?.stop();
});

void describe('Gordon drop-in: the differences found side by side with Gordon 1.6.5', () => {
  before(async () => {
    const config = writeConfig(
      dir,
      'gordon.config.toml',
      `redis_address = "127.0.0.1:${server.port}"
queue_key = "${qk}"
error_script = "${fixtures}/copy-arg.sh"
failed_tasks_ttl = 100
temp_dir = "${tempDir('dropin-tmp')}"

[tasks.devfd]
script = "${fixtures}/dev-fd.sh"

[tasks.off]
script = "${fixtures}/exit3.sh"
failed_tasks_ttl = -1

[tasks.big]
script = "${fixtures}/big-output.sh"

[tasks.echo]
script = "/bin/echo"

[tasks.short]
script = "${fixtures}/exit3.sh"
failed_tasks_ttl = 2
`,
    );
    daemon = new ErrandProcess(['worker', '-c', config, '-l', logfile], { env: { ERR_OUT_DIR: errOut } });
    // Without -v Gordon's format shows errors only: wait for the workers to consume instead.
    await redis.rPush(`${qk}:devfd`, '{"args":["out"]}');
    await waitFailed('devfd', 1);
  });

  after(async () => {
    const exit = await daemon?.stop();
    assert.equal(exit?.code, 0, `the daemon exits 0 on SIGTERM\n${daemon?.stderr}`);
  });

  void it('1: a script may write to /dev/stderr (ignored) and /dev/stdout (the error is its output)', async () => {
    await redis.rPush(`${qk}:devfd`, ['{"args":[]}', '{"args":["out"]}']);
    const list = await waitFailed('devfd', 2);
    // The first entry ran fine (no failed entry of its own): only the two "out" runs failed.
    assert.deepEqual(list, [
      '{"args":["out"],"env":{},"error_message":"x\\n"}',
      '{"args":["out"],"env":{},"error_message":"x\\n"}',
    ]);
  });

  void it('2: an empty entry leaves a trace: NewQueueTask(): EOF in the log, the error script and the failed list', async () => {
    await redis.rPush(`${qk}:echo`, '');
    const [entry] = await waitFailed('echo', 1);
    assert.equal(entry, '{"args":[],"env":{},"error_message":"EOF (the entry is empty)","payload":""}');
    await waitFor('the log line', () => log().includes('[ERROR] NewQueueTask(): EOF'));
    assert.ok(
      logLines()
        .join('\n')
        .includes('<time> [ERROR] NewQueueTask(): EOF (the entry is empty)\n\tType: echo\n\tPayload:'),
    );
    const text = await waitFor('the error-script call', () =>
      notifications().find((n) => n.startsWith('NewQueueTask(): EOF')),
    );
    assert.equal(text, 'NewQueueTask(): EOF (the entry is empty)\nType: echo\nPayload:\n\n');
    assert.equal(await redis.lLen(`${qk}:echo:failed`), 1);
    await redis.del(`${qk}:echo:failed`);
  });

  void it("3: a type's failed_tasks_ttl = -1 writes no failed list (the failure is still logged)", async () => {
    await redis.rPush(`${qk}:off`, '{"args":["a"]}');
    await waitFor('the failure in the log', () => log().includes('Failed executing task for type "off"'));
    assert.equal(await redis.exists(`${qk}:off:failed`), 0);
  });

  void it('4: trailing bytes after the JSON value are ignored, as Gordon reads the first value', async () => {
    await redis.rPush(`${qk}:devfd`, '{"args":["out","<&>"]} garbage');
    const list = await waitFailed('devfd', 3);
    // Minor difference settled too: Go's HTML-safe escapes, byte for byte.
    assert.equal(list[2], '{"args":["out","\\u003c\\u0026\\u003e"],"env":{},"error_message":"x\\n"}');
  });

  void it("5: stdout over 64 KiB is kept whole in error_message (Gordon's rule)", async () => {
    await redis.rPush(`${qk}:big`, '{"args":["100000"]}');
    const [entry] = await waitFailed('big', 1);
    const parsed = JSON.parse(entry ?? '{}') as { error_message: string };
    assert.equal(parsed.error_message, 'a'.repeat(100_000));
  });

  void it("6: E2BIG and a NUL byte give Gordon's fork/exec texts", async () => {
    await redis.rPush(`${qk}:echo`, [
      JSON.stringify({ args: ['a'.repeat(200_000)] }),
      '{"args":["nul\\u0000x"]}',
    ]);
    const list = await waitFailed('echo', 2);
    assert.equal(JSON.parse(list[0] ?? '{}').error_message, 'fork/exec /bin/echo: argument list too long');
    assert.equal(
      list[1],
      '{"args":["nul\\u0000x"],"env":{},"error_message":"fork/exec /bin/echo: invalid argument"}',
    );
  });

  void it("8: the log is Gordon's: [ERROR] lines with tab-indented continuation, nothing per success", async () => {
    const lines = logLines();
    const at = lines.indexOf('<time> [ERROR] Failed executing task for type "off"');
    assert.ok(at >= 0, lines.join('\n'));
    assert.deepEqual(lines.slice(at, at + 5), [
      '<time> [ERROR] Failed executing task for type "off"',
      '\tPayload:',
      '\t{"args":["a"],"env":{}}',
      '\t',
      '\texit status 3',
    ]);
    for (const l of lines) assert.match(l, /^(<time> \[(ERROR|WARN)\] |\t)/, l);
    assert.ok(!lines.some((l) => /completed|Finished|Executing/.test(l)), 'no line per successful task');
  });

  void it('9: no result keys; dead letters go once older than failed_tasks_ttl', async () => {
    await redis.rPush(`${qk}:short`, '{"args":["x"]}');
    await waitFailed('short', 1);
    const deadKey = `errand:${qk}:{short}:dead`;
    assert.equal(await redis.hLen(deadKey), 1, 'the dead letter is kept while the failed list lives');
    await waitFor(
      'the dead letter to be deleted after 2 s',
      async () => (await redis.hLen(deadKey)) === 0,
      15_000,
    );
    const results: string[] = [];
    for await (const keys of redis.scanIterator({ MATCH: `errand:${qk}:result:*` })) results.push(...keys);
    assert.deepEqual(results, [], 'Gordon kept no results, neither does Errand with its config');
  });
});

void describe('errand send --wait with a Gordon config', () => {
  void it('is refused up front (no result would ever come), naming the fix; nothing is sent', async () => {
    const d = tempDir('dropin-send');
    const config = writeConfig(
      d,
      'gordon.config.toml',
      `redis_address = "127.0.0.1:${server.port}"\nqueue_key = "sendq"\n[tasks.a]\nscript = "/bin/true"\n`,
    );
    const r = await runErrand(['send', 'a', 'x', '--wait', '-c', config]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `errand send: --wait needs the task's result, and the daemon of this gordon config stores none: add results = true to ${config}\n`,
    );
    assert.equal(await redis.lLen('sendq:a'), 0);
  });
});

void describe('Goophry drop-in', () => {
  const gq = 'goophry-dropin';
  const out = tempDir('dropin-goophry-err');
  const goophryLog = join(dir, 'goophry.log');
  let goophry: ErrandProcess;
  const argvCalls = (): string[] =>
    readdirSync(out)
      .filter((n) => n.startsWith('argv-'))
      .map((n) => readFileSync(join(out, n), 'utf8'));

  before(() => {
    const config = writeConfig(
      dir,
      'goophry.config.json',
      JSON.stringify({
        RedisAddress: `127.0.0.1:${server.port}`,
        RedisQueueKey: gq,
        Tasks: [{ Type: 'p', Script: '/usr/bin/printf' }],
        ErrorScript: `${fixtures}/copy-arg.sh`,
        FailedTasksTTL: 100,
      }),
    );
    goophry = new ErrandProcess(['worker', '-c', config, '-l', goophryLog], { env: { ERR_OUT_DIR: out } });
  });

  after(async () => {
    assert.equal((await goophry?.stop())?.code, 0);
  });

  void it('7: the error script gets the arguments joined raw, and the error with its newline', async () => {
    await redis.rPush(`${gq}:p`, ['{"Args":["%s\\n","a \\"b\\""]}', '{"Args":[]}']);
    const failed = await waitFor(
      'two failed entries',
      async () => {
        const l = await redis.lRange(`${gq}:p:failed`, 0, -1);
        return l.length === 2 ? l : undefined;
      },
      20_000,
    );
    assert.deepEqual(failed, [
      '{"Args":["%s\\n","a \\"b\\""],"ErrorMessage":"a \\"b\\"\\n"}',
      '{"Args":[],"ErrorMessage":"exit status 1"}',
    ]);
    const calls = await waitFor('two error-script calls', () => {
      const c = argvCalls();
      return c.length === 2 ? c.sort() : undefined;
    });
    assert.deepEqual(calls, [
      '/usr/bin/printf ""\n\nexit status 1',
      '/usr/bin/printf "%s\n" "a "b""\n\na "b"\n',
    ]);
  });

  void it('8: logs nothing without -v, as Goophry', () => {
    assert.equal(readFileSync(goophryLog, 'utf8'), '');
  });
});

void describe('10: the config file when no -c is given', () => {
  void it('reads gordon.config.toml (or goophry.config.json) from the working directory', async () => {
    const cwd = tempDir('dropin-default');
    writeConfig(
      cwd,
      'gordon.config.toml',
      'redis_address = "127.0.0.1:1"\n[tasks.a]\nscript = "/bin/true"\n',
    );
    const r = await runErrand(['worker', '-t'], { cwd });
    assert.equal(r.stdout, 'Configuration is valid\n');
    assert.equal(r.code, 0);
    const goophry = tempDir('dropin-default');
    writeConfig(
      goophry,
      'goophry.config.json',
      '{"RedisAddress":"127.0.0.1:1","Tasks":[{"Type":"a","Script":"/bin/true"}]}',
    );
    assert.equal((await runErrand(['worker', '-t'], { cwd: goophry })).code, 0);
  });

  void it('says which names it looked for when none is there', async () => {
    const cwd = tempDir('dropin-none');
    const r = await runErrand(['worker', '-t'], { cwd });
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      `Configuration is invalid (${join(cwd, 'errand.toml')}):\n` +
        '  no config file: none of errand.toml, errand.yaml, errand.yml, errand.json, gordon.config.toml, goophry.config.json is here; use -c PATH\n',
    );
  });
});
