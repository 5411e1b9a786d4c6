/**
 * Inspection and control from another process (the `errand` CLI in a child process): list tasks,
 * cancel waiting, delayed and running tasks (a JS handler here, a command task in a daemon),
 * pause and resume a queue within the documented bound. Real Redis.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Errand, TaskCancelledError } from '../src/index.ts';
import {
  type ErrandProcess,
  runErrand,
  startWorker,
  tempDir,
  uniqueName,
  waitFor,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_URL } from './helpers.ts';

const prefix = uniqueName('ops');
const dir = tempDir('ops-control');
const pidFile = join(dir, 'sleeper.pid');
const config = writeConfig(
  dir,
  'errand.toml',
  `broker = "${REDIS_URL}"
prefix = "${prefix}"
queues = ["none"]
lease = "5s"
shutdown_timeout = "5s"

[[tasks]]
name = "sleeper"
command = ["sh", "-c", "echo $$ > '${pidFile}'; exec sleep 60"]
kill_grace = "1s"
`,
);
const cli = (...args: string[]) => runErrand([...args, '-c', config]);
/** `errand cancel`: ids are random base64url and may start with "-", so they follow "--". */
const cancel = (id: string, ...flags: string[]) => runErrand(['cancel', '-c', config, ...flags, '--', id]);
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('inspection and control from another process', () => {
  const errand = new Errand({ broker: REDIS_URL, prefix });
  let aborted: unknown;
  const hold = errand.task(
    'hold',
    function (this: { signal: AbortSignal }) {
      const { signal } = this;
      return new Promise<string>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
          resolve('saw the abort');
        });
      });
    },
    { queue: 'busy' },
  );
  const quick = errand.task('quick', (n: number) => n, { queue: 'paused' });
  const later = errand.task('later', () => 'never', { queue: 'idle' });
  after(() => errand.close());

  it('lists waiting and delayed tasks, and cancels them (removed, result rejects, state CANCELLED)', async () => {
    const waiting = await later.send();
    const delayed = await later.with({ delayMs: 60_000 }).send();
    const listed = await cli('tasks', 'list', 'idle', '--state', 'waiting', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
      [waiting.id],
    );
    const due = JSON.parse((await cli('tasks', 'list', 'idle', '--state', 'delayed', '--json')).stdout);
    assert.equal(due.id, delayed.id);
    assert.ok(Date.parse(due.at) > Date.now() + 50_000, 'a delayed task lists its due time');

    for (const sent of [waiting, delayed]) {
      const r = await cancel(sent.id, '--queue', 'idle');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /cancelled \(removed from the queue\)/);
      await assert.rejects(sent.result({ timeoutMs: 5000 }), TaskCancelledError);
      assert.equal((await errand.status(sent.id))?.state, 'CANCELLED');
    }
    const stats = await errand.stats('idle');
    assert.deepEqual([stats.delayed], [0]);
    assert.deepEqual(await errand.tasks('idle', { state: 'waiting' }), []);
    const again = await cancel(waiting.id, '--queue', 'idle');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already finished \(CANCELLED\)/);
  });

  it('cancels a running JS handler: its signal aborts with TaskCancelledError, and it does not run again', async () => {
    const worker = errand.worker({ queues: ['busy'], handleSignals: false, concurrency: 2 });
    await worker.start();
    try {
      const sent = await hold.send();
      await waitFor('the task to start', async () => (await errand.status(sent.id))?.state === 'STARTED');
      const running = await errand.tasks('busy', { state: 'running' });
      assert.deepEqual(
        running.map((t) => t.message?.id),
        [sent.id],
      );
      // Another process sees which worker runs it: this process's host and pid.
      const workerId = new RegExp(
        `^${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}:${process.pid}:[0-9a-f]{6}$`,
      );
      assert.match(running[0]?.worker ?? '', workerId);
      const listed = await cli('tasks', 'list', 'busy', '--state', 'running', '--json');
      assert.equal(listed.code, 0, listed.stderr);
      const line = JSON.parse(listed.stdout);
      assert.equal(line.id, sent.id);
      assert.equal(line.worker, running[0]?.worker);
      assert.ok(Date.parse(line.at) > Date.now(), 'a running task lists its lease expiry');
      const plain = await cli('tasks', 'list', 'busy', '--state', 'running');
      assert.ok(plain.stdout.includes(`worker=${running[0]?.worker}`), plain.stdout);
      const r = await cancel(sent.id);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /told to stop/);
      await assert.rejects(sent.result({ timeoutMs: 10_000 }), TaskCancelledError);
      await waitFor('the handler to see the abort', () => aborted instanceof TaskCancelledError);
      await waitFor('the lease to be settled', async () => (await errand.stats('busy')).leased === 0);
      assert.equal((await errand.stats('busy')).waiting, 0);
      assert.equal((await errand.status(sent.id))?.state, 'CANCELLED');
    } finally {
      await worker.stop();
    }
  });

  it('cancels a running command task in a daemon: its process gets SIGTERM', async () => {
    const daemon: ErrandProcess = await startWorker(config);
    try {
      const sent = await errand.send('sleeper', [], { queue: 'sleeper' });
      const pid = await waitFor('the command to start', () =>
        existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== ''
          ? Number(readFileSync(pidFile, 'utf8'))
          : undefined,
      );
      assert.ok(alive(pid));
      const r = await cancel(sent.id);
      assert.equal(r.code, 0, r.stderr);
      await assert.rejects(sent.result({ timeoutMs: 10_000 }), TaskCancelledError);
      await waitFor('the command process to end', () => !alive(pid), 5000);
    } finally {
      const exit = await daemon.stop();
      assert.equal(exit.code, 0, daemon.stderr);
    }
  });

  it('pause stops workers taking within a second; resume starts them again', async () => {
    const worker = errand.worker({ queues: ['paused'], handleSignals: false });
    let completed = 0;
    worker.on('completed', () => completed++);
    await worker.start();
    try {
      const paused = await cli('pause', 'paused');
      assert.equal(paused.code, 0, paused.stderr);
      assert.equal(await errand.isPaused('paused'), true);
      // The bound: one second after the pause, nothing more is taken.
      await new Promise((r) => setTimeout(r, 1000));
      const sent = await Promise.all([1, 2, 3].map((n) => quick.send(n)));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(completed, 0, 'a paused queue runs nothing');
      const listed = await cli('tasks', 'list', 'paused', '--json');
      assert.equal(listed.stdout.trim().split('\n').length, 3);
      const resumed = await cli('resume', 'paused');
      assert.equal(resumed.code, 0, resumed.stderr);
      const started = Date.now();
      assert.deepEqual(await Promise.all(sent.map((s) => s.result({ timeoutMs: 10_000 }))), [1, 2, 3]);
      assert.ok(Date.now() - started < 5000, 'resumed within the bound (generous on a loaded machine)');
    } finally {
      await worker.stop();
    }
  });

  it('says clearly when a broker lacks an operation', async () => {
    const { MemoryBroker, MemoryResultBackend } = await import('../src/brokers/memory/index.ts');
    const broker = new MemoryBroker();
    const bare = new Errand({
      broker: Object.assign(Object.create(broker) as typeof broker, {
        listMessages: undefined,
        setPaused: undefined,
      }),
      backend: new MemoryResultBackend(),
    });
    try {
      await assert.rejects(
        bare.tasks('q'),
        /the memory broker cannot list the tasks of a queue \(it has no listMessages operation\)/,
      );
      await assert.rejects(
        bare.pause('q'),
        /the memory broker cannot pause a queue \(it has no setPaused operation\)/,
      );
    } finally {
      await bare.close();
    }
  });
});
