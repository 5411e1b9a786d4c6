/**
 * Bounds of stop(), close(), send() and result() (issue 9 items 4-8, issue 10 item 11):
 * stop({ timeoutMs: 0 }) with a task running; a GC before the shutdown deadline; a process
 * that awaited result() exits at once; stop/close/send with the broker dead (SIGKILL) and
 * hung (SIGSTOP), on a redis-server of the test's own. Scenarios that used to hang the event
 * loop run in child processes, killed if they overrun.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import { MemoryBroker, MemoryResultBackend } from '../../src/brokers/memory/index.ts';
import { COMMAND_TIMEOUT_MS } from '../../src/brokers/redis/connection.ts';
import { HAND_BACK_MS } from '../../src/core/worker/shutdown.ts';
import { BrokerUnavailableError, Errand, type Logger, type WorkerEvents } from '../../src/index.ts';
import { eventually, freePort, uniquePrefix } from '../helpers.ts';

const INDEX = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
/** Slack for a loaded machine (2 cores, several test runs at once). */
const SLACK_MS = 2500;

interface ChildRun {
  readonly lines: string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** When each line arrived, ms after spawn. */
  readonly at: number[];
  readonly exitAt: number;
}

/** Runs a JavaScript module (it may import the TypeScript sources) in a child Node, killed after `limitMs`. */
function runChild(code: string, limitMs: number, nodeArgs: string[] = []): Promise<ChildRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const at: number[] = [];
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      lines.push(buffered.slice(0, nl));
      at.push(Date.now() - started);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  });
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, limitMs);
  return new Promise((resolve) => {
    child.on('exit', (exitCode, signal) => {
      clearTimeout(killer);
      resolve({ lines, at, code: exitCode, signal, timedOut, exitAt: Date.now() - started });
    });
  });
}

const lineOf = (run: ChildRun, prefix: string): { text: string; at: number } => {
  const i = run.lines.findIndex((line) => line.startsWith(prefix));
  assert.ok(i >= 0, `the child printed "${prefix}…" (it printed: ${JSON.stringify(run.lines)})`);
  return { text: run.lines[i]!.slice(prefix.length), at: run.at[i]! };
};

describe('worker shutdown bounds (child processes)', () => {
  it('stop({ timeoutMs: 0 }) with a task running returns at once, hands the task back, marks it PENDING', async () => {
    const run = await runChild(
      `
      import { Errand } from ${JSON.stringify(INDEX)};
      const warnings = [];
      const logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
      const errand = new Errand({ broker: 'memory:', logger });
      let started;
      const startedP = new Promise((r) => (started = r));
      errand.task('slow', async () => { started(); await new Promise((r) => setTimeout(r, 20000)); });
      const worker = errand.worker({ handleSignals: false });
      const released = [];
      worker.on('released', (e) => released.push({ id: e.id, task: e.task, handedBack: e.handedBack }));
      await worker.start();
      const sent = await errand.send('slow', []);
      await startedP;
      const t0 = Date.now();
      await worker.stop({ timeoutMs: 0 });
      console.log('stopped ' + (Date.now() - t0));
      console.log('released ' + JSON.stringify(released));
      console.log('state ' + (await errand.status(sent.id))?.state);
      console.log('stats ' + JSON.stringify(await errand.stats()));
      console.log('id ' + sent.id);
      console.log('log ' + JSON.stringify(warnings));
      await errand.close();
      process.exit(0);
      `,
      30_000,
    );
    assert.equal(run.timedOut, false, 'the child did not hang (killed after 30 s)');
    const stoppedMs = Number(lineOf(run, 'stopped ').text);
    assert.ok(stoppedMs < SLACK_MS, `stop({ timeoutMs: 0 }) returned in ${stoppedMs} ms`);
    console.log(`# stop({ timeoutMs: 0 }) with a task running: ${stoppedMs} ms`);
    const id = lineOf(run, 'id ').text;
    assert.deepEqual(JSON.parse(lineOf(run, 'released ').text), [{ id, task: 'slow', handedBack: true }]);
    assert.equal(lineOf(run, 'state ').text, 'PENDING', 'a handed-back task no longer reads STARTED');
    assert.deepEqual(JSON.parse(lineOf(run, 'stats ').text), { waiting: 1, delayed: 0, leased: 0, dead: 0 });
    const log = JSON.parse(lineOf(run, 'log ').text) as string[];
    assert.ok(
      log.some((line) => line.includes('handed them back') && line.includes(`slow#${id}`)),
      `the shutdown log names the task: ${JSON.stringify(log)}`,
    );
  });

  it('keeps the shutdown deadline after a garbage collection (--expose-gc)', async () => {
    const run = await runChild(
      `
      import { Errand } from ${JSON.stringify(INDEX)};
      const logger = { debug() {}, info() {}, warn() {}, error() {} };
      const errand = new Errand({ broker: 'memory:', logger });
      let started;
      const startedP = new Promise((r) => (started = r));
      // Ignores its signal: only the worker's own deadline can end the wait.
      errand.task('slow', () => { started(); return new Promise((r) => setTimeout(r, 8000)); });
      const worker = errand.worker({ handleSignals: false, shutdownMs: 1000 });
      await worker.start();
      await errand.send('slow', []);
      await startedP;
      const t0 = Date.now();
      const stopping = worker.stop();
      await new Promise((r) => setTimeout(r, 100));
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 100));
      globalThis.gc();
      await stopping;
      console.log('stopped ' + (Date.now() - t0));
      await errand.close();
      process.exit(0);
      `,
      30_000,
      ['--expose-gc'],
    );
    assert.equal(run.timedOut, false, 'the child did not hang');
    const stoppedMs = Number(lineOf(run, 'stopped ').text);
    assert.ok(stoppedMs >= 900, `stop() waited for the deadline (${stoppedMs} ms)`);
    assert.ok(stoppedMs < 1000 + SLACK_MS, `stop() kept its 1000 ms deadline after a GC (${stoppedMs} ms)`);
    console.log(`# shutdownMs 1000, 8 s task, GC while draining: stop() took ${stoppedMs} ms`);
  });

  for (const broker of ['memory:', 'sqlite']) {
    it(`a process that awaited result({ timeoutMs }) and closed Errand exits at once (${broker})`, async () => {
      const url =
        broker === 'sqlite' ? `sqlite:${join(mkdtempSync(join(tmpdir(), 'errand-exit-')), 'e.db')}` : broker;
      const run = await runChild(
        `
      import { Errand } from ${JSON.stringify(INDEX)};
      const errand = new Errand({ broker: ${JSON.stringify(url)}, logger: { debug() {}, info() {}, warn() {}, error() {} } });
      const add = errand.task('add', (a, b) => a + b);
      await errand.worker({ handleSignals: false }).start();
      const sent = await add.send(2, 3);
      console.log('result ' + (await sent.result({ timeoutMs: 3_600_000 })));
      await errand.close();
      console.log('closed');
      `,
        20_000,
      );
      assert.equal(run.timedOut, false, 'the process exited by itself (killed after 20 s otherwise)');
      assert.equal(lineOf(run, 'result ').text, '5');
      const closedAt = lineOf(run, 'closed').at;
      assert.ok(run.exitAt - closedAt < SLACK_MS, `exited ${run.exitAt - closedAt} ms after close()`);
      console.log(
        `# ${broker}: result({ timeoutMs: 3_600_000 }) then close(): exited ${run.exitAt - closedAt} ms later`,
      );
      assert.equal(run.code, 0);
    });
  }
});

describe('worker drain', () => {
  it('keeps renewing the leases of draining tasks (a drain longer than the lease runs nothing twice)', async () => {
    const broker = new MemoryBroker();
    const quiet = recordingLogger().logger;
    const draining = new Errand({ broker, backend: new MemoryResultBackend(), logger: quiet });
    const other = new Errand({ broker, backend: new MemoryResultBackend(), logger: quiet });
    let runs = 0;
    let started = (): void => {};
    const running = new Promise<void>((r) => (started = r));
    const slow = async (): Promise<void> => {
      runs++;
      started();
      await new Promise((r) => setTimeout(r, 1500));
    };
    draining.task('slow', slow);
    other.task('slow', slow);
    const first = draining.worker({ handleSignals: false, leaseMs: 300, shutdownMs: 5000 });
    const completed: string[] = [];
    first.on('completed', (e) => completed.push(e.id));
    await first.start();
    const sent = await draining.send('slow', []);
    await running;
    // Another worker on the same broker would take the task over once its lease expired.
    const second = other.worker({ handleSignals: false, leaseMs: 300 });
    await second.start();
    await first.stop();
    await second.stop({ timeoutMs: 0 });
    await Promise.all([draining.close(), other.close()]);
    assert.equal(runs, 1, 'the draining task ran once (its lease was renewed while it drained)');
    assert.deepEqual(completed, [sent.id]);
  });
});

/** A redis-server of this test's own, so it can be killed and stopped (SIGSTOP) freely. */
async function ownRedis(): Promise<{ url: string; proc: ChildProcess; kill(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'errand-bounds-'));
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const probe = createClient({ url, socket: { reconnectStrategy: false } });
  probe.on('error', () => {});
  await eventually(
    async () => {
      try {
        if (!probe.isOpen) await probe.connect();
        return true;
      } catch {
        return false;
      }
    },
    10_000,
    `redis-server on port ${port}`,
  );
  const info = (await probe.sendCommand(['INFO', 'server'])) as string;
  assert.equal(Number(/process_id:(\d+)/.exec(info)?.[1]), proc.pid, 'the server answering is ours');
  probe.destroy();
  return {
    url,
    proc,
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => lines.push(m);
  return { lines, logger: { debug: () => {}, info: push, warn: push, error: push } };
}

for (const fault of ['dead (SIGKILL)', 'hung (SIGSTOP)'] as const) {
  describe(`with the Redis broker ${fault}`, () => {
    it('stop() and close() keep their bounds, send() rejects in time naming the broker', async () => {
      const redis = await ownRedis();
      const { logger, lines } = recordingLogger();
      const errand = new Errand({ broker: redis.url, prefix: uniquePrefix('bounds'), logger });
      try {
        let started = (): void => {};
        const running = new Promise<void>((r) => (started = r));
        errand.task('slow', (): Promise<void> => {
          started();
          return new Promise((r) => setTimeout(r, 30_000).unref());
        });
        const worker = errand.worker({ handleSignals: false, leaseMs: 3000, concurrency: 2 });
        const released: WorkerEvents['released'][] = [];
        worker.on('released', (e) => released.push(e));
        worker.on('error', () => {});
        await worker.start();
        const sent = await errand.send('slow', []);
        await running;

        if (fault === 'dead (SIGKILL)') await redis.kill();
        else redis.proc.kill('SIGSTOP');

        // send(): rejects within the command timeout, saying which broker did not answer.
        let t0 = Date.now();
        const err = await errand.send('slow', []).then(
          () => undefined,
          (e: unknown) => e,
        );
        const sendMs = Date.now() - t0;
        assert.ok(
          err instanceof BrokerUnavailableError,
          `send() rejects with BrokerUnavailableError: ${err}`,
        );
        assert.match(err.message, /^Redis at 127\.0\.0\.1:\d+: RPUSH .*(no answer|could not be reached)/);
        assert.ok(sendMs < COMMAND_TIMEOUT_MS + SLACK_MS, `send() rejected after ${sendMs} ms`);

        // stop(): the drain deadline, then at most HAND_BACK_MS for the hand-back.
        t0 = Date.now();
        await worker.stop({ timeoutMs: 1000 });
        const stopMs = Date.now() - t0;
        assert.ok(
          stopMs < 1000 + HAND_BACK_MS + SLACK_MS,
          `stop({ timeoutMs: 1000 }) returned after ${stopMs} ms`,
        );
        assert.deepEqual(
          released.map((e) => [e.id, e.handedBack]),
          [[sent.id, false]],
          'the aborted task is reported as not handed back',
        );
        assert.ok(
          lines.some((l) => l.includes('could not hand them back') && l.includes(`slow#${sent.id}`)),
          `the log says the task could not be handed back: ${JSON.stringify(lines)}`,
        );

        t0 = Date.now();
        await errand.close();
        const closeMs = Date.now() - t0;
        assert.ok(closeMs < 1000 + SLACK_MS, `close() returned after ${closeMs} ms`);
        console.log(`# ${fault}: send ${sendMs} ms, stop ${stopMs} ms, close ${closeMs} ms`);
      } finally {
        await errand.close();
        await redis.kill();
      }
    });
  });
}
