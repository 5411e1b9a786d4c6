/** The command runner: Gordon's failure rule, env, process groups, timeouts, output bounds. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RunRequest, runCommand } from '../src/daemon/command-runner.ts';
import { FifoPool } from '../src/daemon/fifo-pool.ts';

const fixtures = join(import.meta.dirname, 'fixtures/daemon');

const run = (program: string, args: string[], extra: Partial<RunRequest> = {}) =>
  runCommand({
    program,
    args,
    env: process.env,
    maxOutputBytes: 64 * 1024,
    killGraceMs: 500,
    failure: 'gordon',
    ...extra,
  });

/** Running (a zombie left for a non-reaping init does not count). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

void describe('runCommand, Gordon failure rule', () => {
  void it('printf "" succeeds', async () => {
    const out = await run('printf', ['']);
    assert.equal(out.error, undefined);
    assert.equal(out.exitCode, 0);
  });

  void it('printf "test output" fails with exactly that output', async () => {
    const out = await run('printf', ['test output']);
    assert.equal(out.error, 'test output');
  });

  void it('a lone newline on stdout is a failure too', async () => {
    const out = await run('printf', ['\\n']);
    assert.equal(out.error, '\n');
  });

  void it('passes the environment (echoenv.sh prints TEST_ENV_VAR)', async () => {
    const out = await run(join(fixtures, 'echoenv.sh'), [], {
      env: { ...process.env, TEST_ENV_VAR: 'test output' },
    });
    assert.equal(out.error, 'test output');
  });

  void it('stderr output alone does not fail the task; it goes to /dev/null, as under Gordon', async () => {
    const out = await run(join(fixtures, 'stderr-only.sh'), []);
    assert.equal(out.error, undefined);
    assert.equal(out.stderr, '');
  });

  void it('a script may write to /dev/stderr and /dev/stdout (real pipes, as under Gordon)', async () => {
    const pipes = new FifoPool();
    try {
      const ok = await run(join(fixtures, 'dev-fd.sh'), [], { pipes });
      assert.equal(ok.error, undefined);
      const out = await run(join(fixtures, 'dev-fd.sh'), ['out'], { pipes });
      assert.equal(out.error, 'x\n');
      // The exit-code rule keeps stderr, through a pipe too.
      const kept = await run(join(fixtures, 'dev-fd.sh'), [], { pipes, failure: 'exit-code' });
      assert.equal(kept.error, undefined);
      assert.equal(kept.stderr, 'warn\n');
      // Pipes are reused: many runs, few FIFOs.
      for (let i = 0; i < 20; i++) assert.equal((await run('printf', [`${i}`], { pipes })).error, `${i}`);
    } finally {
      pipes.close();
    }
  });

  void it("E2BIG and a NUL byte in an argument give Go's fork/exec wording", async () => {
    const huge = await run('/bin/echo', ['a'.repeat(200_000)]);
    assert.equal(huge.error, 'fork/exec /bin/echo: argument list too long');
    const nul = await run('/bin/echo', ['nul\u0000x']);
    assert.equal(nul.error, 'fork/exec /bin/echo: invalid argument');
  });

  void it('exit 3 with output gives "exit status 3"', async () => {
    const out = await run(join(fixtures, 'exit3.sh'), []);
    assert.equal(out.error, 'exit status 3');
    assert.equal(out.exitCode, 3);
  });

  void it("a missing program gives Go's fork/exec wording", async () => {
    const out = await run('/nonexistent/program', []);
    assert.equal(out.error, 'fork/exec /nonexistent/program: no such file or directory');
  });

  void it('passes arguments as argv without a shell', async () => {
    const out = await run('printf', ['%s|%s', '$HOME; echo hi', 'a b']);
    assert.equal(out.error, '$HOME; echo hi|a b');
  });
});

void describe('runCommand, exit-code rule', () => {
  void it('stdout is the result and exit 0 succeeds', async () => {
    const out = await run('printf', ['hello'], { failure: 'exit-code' });
    assert.equal(out.error, undefined);
    assert.equal(out.stdout, 'hello');
  });

  void it('a non-zero exit carries the tail of stderr', async () => {
    const out = await run('sh', ['-c', 'echo bad thing >&2; exit 4'], { failure: 'exit-code' });
    assert.equal(out.error, 'exit status 4: bad thing');
  });

  void it('runs in the configured working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'errand-cwd-'));
    const out = await run('pwd', [], { failure: 'exit-code', cwd: dir });
    assert.equal(out.stdout.trim(), dir);
  });
});

void describe('runCommand, bounds and process groups', () => {
  void it('bounds captured output and says how much was dropped', async () => {
    const out = await run('sh', ['-c', 'head -c 100000 /dev/zero | tr "\\0" x'], {
      failure: 'exit-code',
      maxOutputBytes: 1000,
    });
    assert.ok(out.stdout.startsWith('x'.repeat(1000)));
    assert.match(out.stdout, /\[output truncated: 99000 more bytes\]$/);
  });

  void it('abort sends SIGTERM to the whole process group', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const pending = run('sh', ['-c', 'sleep 30 & wait'], { signal: ac.signal });
    await sleep(200);
    ac.abort();
    const out = await pending;
    assert.equal(out.aborted, true);
    assert.equal(out.error, 'signal: terminated');
    assert.ok(Date.now() - started < 5000, 'stopped long before the sleep would end');
  });

  void it('a child ignoring SIGTERM is killed with SIGKILL after the grace period, grandchildren too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'errand-trap-'));
    const pidFile = join(dir, 'pids');
    const ac = new AbortController();
    let groupId = 0;
    const pending = run(join(fixtures, 'trap-term.sh'), [], {
      env: { ...process.env, PID_FILE: pidFile },
      signal: ac.signal,
      killGraceMs: 300,
      onSpawn: (pid) => {
        groupId = pid;
      },
    });
    let pids: number[] = [];
    for (let i = 0; i < 50 && pids.length < 2; i++) {
      await sleep(50);
      try {
        pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
      } catch {
        // not written yet
      }
    }
    assert.equal(pids.length, 2, 'the script wrote its pid and its grandchild pid');
    assert.equal(pids[0], groupId);
    const abortedAt = Date.now();
    ac.abort();
    const out = await pending;
    assert.ok(Date.now() - abortedAt >= 250, 'SIGKILL waited for the grace period');
    assert.equal(out.error, 'signal: killed');
    await sleep(100);
    assert.equal(alive(pids[1] ?? 0), false, 'the grandchild sleep is gone too');
  });
});
