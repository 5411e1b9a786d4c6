/**
 * Several processes on one SQLite file, through the public API: a producer process and two
 * worker processes. Every task runs exactly once; after a SIGKILL of one worker, every task
 * still completes, and only what the killed worker had in flight runs twice.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PREFETCH_MAX } from '../src/core/worker/handlers.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'errand-sqlite-proc-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Proc {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function start(script: string, args: readonly (string | number)[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture(script), ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Polls `check` every 20 ms until it is true; fails after `ms` with `what`. */
async function until(what: string, ms: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await delay(20);
  }
}

interface Run {
  readonly n: number;
  readonly delivery: number;
  readonly pid: number;
}

function runsIn(log: string): Run[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [n, delivery, pid] = line.split(' ').map(Number);
      return { n: n!, delivery: delivery!, pid: pid! };
    });
}

async function startWorker(db: string, prefix: string, log: string, leaseMs: number, handlerMs: number) {
  const worker = start('sqlite-worker.ts', [db, prefix, log, 10, leaseMs, handlerMs]);
  await until(`worker ready (output: ${worker.output()})`, 20_000, () => worker.output().includes('ready'));
  return worker;
}

async function stop(proc: Proc): Promise<void> {
  proc.child.kill('SIGTERM');
  const code = await Promise.race([proc.exited, delay(15_000, 'timeout' as const, { ref: false })]);
  assert.equal(code, 0, `worker should exit cleanly on SIGTERM; output:\n${proc.output()}`);
}

void test('a producer and two worker processes on one file run every task exactly once', async () => {
  const db = join(dir, 'once.db');
  const [logA, logB] = [join(dir, 'once-a.log'), join(dir, 'once-b.log')];
  const count = 2000;
  const [a, b] = await Promise.all([
    startWorker(db, 'once', logA, 30_000, 0),
    startWorker(db, 'once', logB, 30_000, 0),
  ]);
  const producer = start('sqlite-producer.ts', [db, 'once', count]);
  await until('all tasks to run', 60_000, () => runsIn(logA).length + runsIn(logB).length >= count);
  assert.equal(await producer.exited, 0, producer.output());
  assert.match(producer.output(), /sent 2000/);
  await delay(200); // a duplicate, if any, would show up now
  await Promise.all([stop(a), stop(b)]);
  const runsA = runsIn(logA);
  const runsB = runsIn(logB);
  const seen = [...runsA, ...runsB].map((r) => r.n).sort((x, y) => x - y);
  assert.deepEqual(
    seen,
    Array.from({ length: count }, (_, i) => i),
    'every task exactly once',
  );
  assert.ok(
    runsA.length > 0 && runsB.length > 0,
    `both workers share the queue (${runsA.length}/${runsB.length})`,
  );
  assert.ok(
    [...runsA, ...runsB].every((r) => r.delivery === 1),
    'no task was delivered twice',
  );
});

void test('a worker killed mid-run: every task completes, only its in-flight tasks run twice', async () => {
  const db = join(dir, 'kill.db');
  const [logA, logB] = [join(dir, 'kill-a.log'), join(dir, 'kill-b.log')];
  const count = 3000;
  const concurrency = 10;
  // Everything is queued first, so A is surely busy (holding leases) when it is killed.
  const producer = start('sqlite-producer.ts', [db, 'kill', count]);
  assert.equal(await producer.exited, 0, producer.output());
  // Short leases so the killed worker's tasks come back quickly; 5-20 ms handlers so it dies mid-task.
  const [a, b] = await Promise.all([
    startWorker(db, 'kill', logA, 1000, 10),
    startWorker(db, 'kill', logB, 1000, 10),
  ]);
  await until('worker A to run 100 tasks', 60_000, () => runsIn(logA).length >= 100);
  a.child.kill('SIGKILL');
  await a.exited;
  const ranInA = runsIn(logA);
  await until('every task to run at least once', 60_000, () => {
    const done = new Set([...ranInA, ...runsIn(logB)].map((r) => r.n));
    return done.size >= count;
  });
  await delay(200);
  await stop(b);
  assert.ok(ranInA.length < count, 'A was killed before the end');
  const runsB = runsIn(logB);
  const times = new Map<number, number>();
  for (const r of [...ranInA, ...runsB]) times.set(r.n, (times.get(r.n) ?? 0) + 1);
  assert.deepEqual(
    [...times.keys()].sort((x, y) => x - y),
    Array.from({ length: count }, (_, i) => i),
  );
  // What A held when it died: tasks it finished but had not acknowledged (they run twice), and
  // tasks it had started but not finished (they run once, in B). Both come back to B after
  // their lease expires, as redeliveries.
  const doneInA = new Set(ranInA.map((r) => r.n));
  const unfinishedInA = runsIn(`${logA}.started`)
    .map((r) => r.n)
    .filter((n) => !doneInA.has(n));
  const duplicates = [...times].filter(([, t]) => t > 1).map(([n]) => n);
  const heldByA = [...duplicates, ...unfinishedInA];
  assert.ok(heldByA.length > 0, 'A was killed while holding leases');
  // A worker holds at most concurrency + prefetch leases (its default prefetch here): a handler
  // that finished hands its slot to the next message while its settle is in flight.
  const maxLeases = concurrency + PREFETCH_MAX;
  assert.ok(
    heldByA.length <= maxLeases,
    `A held at most ${maxLeases} leases: ${duplicates.length} finished-unacknowledged + ${unfinishedInA.length} unfinished`,
  );
  for (const n of duplicates) {
    assert.ok(doneInA.has(n), `duplicate ${n} is one A had finished`);
    assert.equal(times.get(n), 2, `task ${n} ran at most twice`);
  }
  for (const n of heldByA) {
    const rerun = runsB.find((r) => r.n === n);
    assert.ok(rerun, `task ${n} held by A was run by B`);
    assert.ok(rerun.delivery >= 2, `B's run of ${n} is counted as a redelivery (delivery ${rerun.delivery})`);
  }
  // Redelivered: what A held, leased ahead and never started included.
  const redelivered = runsB.filter((r) => r.delivery >= 2).length;
  assert.ok(redelivered <= maxLeases, `only A's leases were redelivered (${redelivered})`);
});
