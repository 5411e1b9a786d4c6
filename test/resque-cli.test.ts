/**
 * `errand resque` as a process: goworker's flags, -exit-on-complete, and no job lost when the
 * process is killed with SIGKILL mid-run (real Redis, real redis-cli, real node-resque).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createClient } from '@redis/client';
import { Queue } from 'node-resque';
import { redisUriFrom } from '../src/cli/resque.ts';
import { ErrandProcess, readLines, tempDir } from './fixtures/daemon/harness.ts';
import { eventually, REDIS_URL, uniquePrefix } from './helpers.ts';

const jobs = join(import.meta.dirname, 'fixtures/resque/jobs.mjs');
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures/resque/ruby-payloads.json'), 'utf8'),
) as { payload: string; expectedArgs: unknown[] };

const redis = createClient({ url: REDIS_URL });
redis.on('error', () => {});
const ready = redis.connect();
const namespaces: string[] = [];

after(async () => {
  await ready;
  for (const ns of namespaces) {
    const keys = await redis.keys(`${ns}*`);
    if (keys.length > 0) await redis.del(keys);
  }
  await redis.close();
});

function newNs(tag: string): string {
  const ns = `${uniquePrefix(`resque-${tag}`)}:`;
  namespaces.push(ns);
  return ns;
}

interface LogEntry {
  event: string;
  class: string;
  queue: string;
  args: unknown[];
  pid: number;
}
const entries = (file: string): LogEntry[] => readLines(file).map((l) => JSON.parse(l) as LogEntry);

function startResque(ns: string, log: string, flags: string[]): ErrandProcess {
  return new ErrandProcess(['resque', `-uri=${REDIS_URL}`, `-namespace=${ns}`, '--modules', jobs, ...flags], {
    env: { JOBS_LOG: log },
  });
}

/** RPUSH with the real redis-cli, as a shell producer would. */
function redisCliPush(ns: string, queue: string, payload: string): void {
  const u = new URL(REDIS_URL);
  execFileSync('redis-cli', [
    '-h',
    u.hostname,
    '-p',
    u.port || '6379',
    'RPUSH',
    `${ns}queue:${queue}`,
    payload,
  ]);
}

void describe('errand resque (process)', () => {
  void it('runs redis-cli-pushed Ruby payloads and exits 0 with -exit-on-complete', async () => {
    await ready;
    const ns = newNs('exit');
    const log = join(tempDir('resque'), 'jobs.log');
    for (let i = 0; i < 3; i++) redisCliPush(ns, 'low', fixture.payload);
    redisCliPush(ns, 'high', JSON.stringify({ class: 'Echo', args: ['high'] }));
    const p = startResque(ns, log, [
      '-queues=high,low',
      '-concurrency=2',
      '-interval=0.1',
      '-exit-on-complete',
    ]);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 60_000);
    const { code } = await p.exited;
    clearTimeout(timer);
    assert.equal(code, 0, p.stderr);
    const done = entries(log);
    assert.equal(done.length, 4);
    assert.deepEqual(
      done.filter((e) => e.queue === 'low').map((e) => e.args),
      Array(3).fill(fixture.expectedArgs),
    );
    assert.deepEqual(done.find((e) => e.queue === 'high')?.args, ['high']);
    assert.equal(await redis.sCard(`${ns}workers`), 0, 'unregistered on exit');
    assert.equal(await redis.get(`${ns}stat:processed`), '4');
  });

  void it('the docs/resque.md example runs as written (its own namespace, the test Redis)', async () => {
    const docs = readFileSync(join(import.meta.dirname, '../docs/resque.md'), 'utf8');
    const example = /```ts fragment\n([\s\S]*?)```/.exec(docs)?.[1];
    assert.ok(example, 'the usage example');
    const ns = newNs('docs');
    const src = join(import.meta.dirname, '../src');
    const program = example
      .replace("from 'errand/resque'", `from '${join(src, 'resque/index.ts')}'`)
      .replace("from 'errand'", `from '${join(src, 'index.ts')}'`)
      .replace('redis://127.0.0.1:6379', REDIS_URL)
      .replace("namespace: 'resque:'", `namespace: '${ns}'`);
    const file = join(tempDir('resque-docs'), 'example.mts');
    writeFileSync(file, `${program}\nexport {};\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const started = Date.now();
    const code = await new Promise((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, out);
    assert.equal(out, 'hi there (from high)\n');
    // The default idle interval is 5 s: the in-process enqueue woke the worker instead.
    assert.ok(Date.now() - started < 30_000);
  });

  void it('wrong flags are usage errors (exit 2) naming the flag', async () => {
    const ns = newNs('usage');
    const none = startResque(ns, '/dev/null', []);
    assert.equal((await none.exited).code, 2);
    assert.match(none.stderr, /at least one queue/);
    const weight = startResque(ns, '/dev/null', ['-queues=high=x']);
    assert.equal((await weight.exited).code, 2);
    assert.match(weight.stderr, /weight of "high"/);
    const interval = startResque(ns, '/dev/null', ['-queues=a', '-interval=soon']);
    assert.equal((await interval.exited).code, 2);
    assert.match(interval.stderr, /-interval must be a number of seconds/);
  });

  void it('reads the Redis URL as goworker does: $REDIS_PROVIDER, then $REDIS_URL', () => {
    assert.equal(redisUriFrom({}), 'redis://localhost:6379/');
    assert.equal(redisUriFrom({ REDIS_URL: 'redis://a:1' }), 'redis://a:1');
    assert.equal(
      redisUriFrom({ REDIS_PROVIDER: 'MY_REDIS', MY_REDIS: 'redis://b:2', REDIS_URL: 'redis://a:1' }),
      'redis://b:2',
    );
  });

  void it('SIGTERM lets the running job finish, unregisters and exits 0', async () => {
    await ready;
    const ns = newNs('term');
    const log = join(tempDir('resque'), 'jobs.log');
    redisCliPush(ns, 'work', JSON.stringify({ class: 'Slow', args: [1500, 'x'] }));
    const p = startResque(ns, log, ['-queues=work', '-concurrency=1', '-interval=0.1']);
    await eventually(() => entries(log).some((e) => e.event === 'start'), 30_000, 'the job to start');
    p.signal('SIGTERM');
    // Not p.stop(): it would send a second signal, which hands the job back at once.
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
    const { code } = await p.exited;
    clearTimeout(timer);
    assert.equal(code, 0, p.stderr);
    assert.deepEqual(
      entries(log)
        .filter((e) => e.event === 'done')
        .map((e) => e.args),
      [[1500, 'x']],
    );
    assert.equal(await redis.sCard(`${ns}workers`), 0);
    assert.equal(await redis.get(`${ns}stat:processed`), '1');
  });

  void it('a second signal hands the running job back to the head of its queue at once', async () => {
    await ready;
    const ns = newNs('term2');
    const log = join(tempDir('resque'), 'jobs.log');
    redisCliPush(ns, 'work', JSON.stringify({ class: 'Slow', args: [20_000, 'y'] }));
    const p = startResque(ns, log, ['-queues=work', '-concurrency=1', '-interval=0.1']);
    await eventually(() => entries(log).some((e) => e.event === 'start'), 30_000, 'the job to start');
    p.signal('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    p.signal('SIGINT');
    const secondAt = Date.now();
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
    const { code } = await p.exited;
    clearTimeout(timer);
    assert.equal(code, 0, p.stderr);
    // Well before the 10 s drain a single signal allows.
    assert.ok(Date.now() - secondAt < 6000, `exited ${Date.now() - secondAt} ms after the second signal`);
    assert.equal(entries(log).filter((e) => e.event === 'done').length, 0);
    assert.deepEqual(await redis.lRange(`${ns}queue:work`, 0, -1), [
      JSON.stringify({ class: 'Slow', args: [20_000, 'y'] }),
    ]);
    assert.equal(await redis.sCard(`${ns}workers`), 0);
    assert.equal(await redis.lLen(`${ns}failed`), 0);
  });

  void it('a worker killed with SIGKILL mid-run loses no job: the next one requeues and runs them', async () => {
    await ready;
    const ns = newNs('kill');
    const log = join(tempDir('resque'), 'jobs.log');
    const tags = ['a', 'b', 'c', 'd'];
    for (const tag of tags) redisCliPush(ns, 'work', JSON.stringify({ class: 'Slow', args: [3000, tag] }));
    const first = startResque(ns, log, ['-queues=work', '-concurrency=2', '-interval=0.1']);
    try {
      await eventually(
        () => entries(log).filter((e) => e.event === 'start').length === 2,
        30_000,
        'two jobs to start',
      );
      // resque-web sees them as working.
      const ids = await redis.sMembers(`${ns}workers`);
      const working = (await Promise.all(ids.map((id) => redis.get(`${ns}worker:${id}`)))).filter(Boolean);
      assert.equal(working.length, 2);
    } finally {
      first.child.kill('SIGKILL');
    }
    await first.exited;
    assert.equal(entries(log).filter((e) => e.event === 'done').length, 0, 'killed before any job finished');
    assert.equal(await redis.lLen(`${ns}queue:work`), 2, 'two jobs still waiting, two were in flight');

    const second = startResque(ns, log, [
      '-queues=work',
      '-concurrency=2',
      '-interval=0.1',
      '-exit-on-complete',
    ]);
    const timer = setTimeout(() => second.child.kill('SIGKILL'), 60_000);
    const { code } = await second.exited;
    clearTimeout(timer);
    assert.equal(code, 0, second.stderr);
    assert.match(second.stderr, /is dead; its job went back to the head of queue "work"/);
    const done = entries(log).filter((e) => e.event === 'done' && e.pid === second.child.pid);
    assert.deepEqual(done.map((e) => e.args[1]).sort(), tags);
    assert.equal(await redis.sCard(`${ns}workers`), 0);
    assert.deepEqual(await redis.keys(`${ns}errand:inflight:*`), []);
    assert.equal(await redis.lLen(`${ns}failed`), 0);
  });

  void it("node-resque's cleanOldWorkers() on a dead Errand worker fails its job once; not requeued as well", async () => {
    await ready;
    const ns = newNs('clean');
    const log = join(tempDir('resque'), 'jobs.log');
    redisCliPush(ns, 'work', JSON.stringify({ class: 'Slow', args: [3000, 'stuck'] }));
    const first = startResque(ns, log, ['-queues=work', '-concurrency=1', '-interval=0.1']);
    try {
      await eventually(() => entries(log).some((e) => e.event === 'start'), 30_000, 'the job to start');
    } finally {
      first.child.kill('SIGKILL');
    }
    await first.exited;
    const u = new URL(REDIS_URL);
    const queue = new Queue({
      connection: { host: u.hostname, port: Number(u.port || 6379), namespace: ns.slice(0, -1) },
    });
    queue.on('error', () => {});
    await queue.connect();
    try {
      const cleaned = await queue.cleanOldWorkers(0);
      const names = Object.keys(cleaned);
      assert.equal(names.length, 1);
      assert.match(names[0]!, new RegExp(`:${first.child.pid}-0$`));
      const [failed] = await queue.failed(0, -1);
      assert.equal(failed?.backtrace[1], 'queue#forceCleanWorker');
      assert.deepEqual(failed?.payload.args, [3000, 'stuck']);
      // The next Errand worker prunes what is left of the dead one, without requeueing the job
      // node-resque already failed.
      const second = startResque(ns, log, ['-queues=work', '-interval=0.1', '-exit-on-complete']);
      assert.equal((await second.exited).code, 0, second.stderr);
      assert.equal(await redis.lLen(`${ns}queue:work`), 0);
      assert.deepEqual(await redis.keys(`${ns}errand:inflight:*`), []);
      assert.equal(entries(log).filter((e) => e.event === 'done').length, 0);
      // retryStuckJobs (node-resque) puts it back; an Errand worker runs it once.
      await queue.retryStuckJobs();
      const third = startResque(ns, log, ['-queues=work', '-interval=0.1', '-exit-on-complete']);
      assert.equal((await third.exited).code, 0, third.stderr);
      assert.deepEqual(
        entries(log)
          .filter((e) => e.event === 'done')
          .map((e) => e.args),
        [[3000, 'stuck']],
      );
      assert.equal(await queue.failedCount(), 0);
    } finally {
      await queue.end();
    }
  });
});
