/** `errand` usage: help, exit statuses, Go flag spellings, `worker --test`, logfile and log formats. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Io } from '../src/cli/args.ts';
import { normaliseGoFlags } from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { workerOptions } from '../src/cli/worker.ts';
import {
  ErrandProcess,
  fixtures,
  runErrand,
  tempDir,
  uniqueName,
  waitFor,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_ADDRESS } from './helpers.ts';

/** Runs the CLI in-process (same dispatcher as the binary), capturing its output. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
    env: {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

void describe('errand command line', () => {
  void it('every command has help (exit 0); no or an unknown command is a usage error (exit 2)', async () => {
    for (const args of [
      ['--help'],
      ['worker', '--help'],
      ['send', '-h'],
      ['status', '--help'],
      ['failed', '--help'],
      ['help', 'send'],
    ]) {
      const r = await inProcess(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: errand/, args.join(' '));
    }
    const none = await runErrand([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: errand <command>/);
    const unknown = await inProcess(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  void it('an unknown flag or a bad value is a usage error with the command help', async () => {
    const r = await inProcess(['worker', '--frob']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^errand worker: Unknown option '--frob'/);
    assert.match(r.stderr, /Usage: errand worker/);
    const bad = await inProcess(['send', 'x', '--delay', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--delay must be a whole number of milliseconds >= 0 \(got "soon"\)/);
  });

  void it('accepts Go single-dash long flags', async () => {
    assert.deepEqual(
      normaliseGoFlags(
        ['-conf', 'a.toml', '-logfile=', '-test', '-verbose', '-c=b.toml', '-v', '--', '-conf'],
        workerOptions,
      ),
      ['--conf', 'a.toml', '--logfile=', '--test', '--verbose', '--conf=b.toml', '-v', '--', '-conf'],
    );
    const spawned = await runErrand(['worker', '-version']);
    assert.equal(spawned.code, 0);
    assert.match(spawned.stdout, /^errand version \d+\.\d+\.\d+\n$/);
    for (const flag of ['--version', '-V']) {
      const r = await inProcess(['worker', flag]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^errand version \d+\.\d+\.\d+\n$/);
    }
  });

  void it('worker -test: "Configuration is valid" (exit 0) for Gordon and Goophry examples whose programs exist', async () => {
    const dir = tempDir('cli-valid');
    for (const file of ['gordon.config.toml', 'goophry.config.json']) {
      // The examples name /path/to/... scripts: point them at a program that exists.
      const text = readFileSync(join(fixtures, file), 'utf8').replaceAll(/\/path\/to\/[\w.]+/g, '/bin/true');
      const config = writeConfig(dir, file, text);
      const r = await (file.endsWith('toml') ? runErrand : inProcess)(['worker', '-test', '-conf', config]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Configuration is valid\n/);
    }
  });

  void it('worker -test flags programs that do not exist or are not executable (exit 1)', async () => {
    const gordon = join(fixtures, 'gordon.config.toml');
    const r = await runErrand(['worker', '-test', '-conf', gordon]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      `Configuration is invalid (${gordon}):\n` +
        '  tasks.something.script: /path/to/something.sh does not exist\n' +
        '  tasks.another_thing.script: /path/to/another_thing.sh does not exist\n' +
        '  error_script: /path/to/error_script.sh does not exist\n',
    );
    const dir = tempDir('cli-noexec');
    writeConfig(dir, 'job.sh', '#!/bin/sh\n');
    const errand = writeConfig(
      dir,
      'errand.toml',
      '[[tasks]]\nname = "a"\ncommand = ["./job.sh"]\n[[tasks]]\nname = "b"\nprogram = "no-such-program-xyz"\n',
    );
    const e = await runErrand(['worker', '-t', '-c', errand]);
    assert.equal(e.code, 1);
    assert.equal(
      e.stdout,
      `Configuration is invalid (${errand}):\n` +
        `  tasks[0].command: ${dir}/job.sh is not executable (chmod +x ${dir}/job.sh)\n` +
        '  tasks[1].program: "no-such-program-xyz" is not found in PATH (or is not executable there)\n',
    );
  });

  void it('worker -t on a config with mistakes names each key (exit 1)', async () => {
    const dir = tempDir('cli-bad');
    const gordon = writeConfig(
      dir,
      'gordon.config.toml',
      'redis_address = "127.0.0.1:6379"\nfailed_tasks_ttl = "two days"\n[tasks.a]\nworkers = 2\n[tasks.b]\nscript = 7\n',
    );
    const r = await runErrand(['worker', '-t', '-c', gordon]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      `Configuration is invalid (${gordon}):\n` +
        '  failed_tasks_ttl: must be a number (got "two days")\n' +
        '  tasks.a.script: is required (the program to run for this task type)\n' +
        '  tasks.b.script: must be a string (got 7)\n' +
        '  tasks.b.script: is required (the program to run for this task type)\n',
    );
    const errand = writeConfig(
      dir,
      'errand.toml',
      '[[tasks]]\nname = "a"\ncommand = ["/bin/true"]\ntimeout = "abc"\nretires = 3\n',
    );
    const e = await inProcess(['worker', '--test', '--conf', errand]);
    assert.equal(e.code, 1);
    assert.match(e.stdout, /tasks\[0\]\.retires: unknown key/);
    assert.match(
      e.stdout,
      /tasks\[0\]\.timeout: must be a positive number of seconds or a duration like "30s" or "500ms" \(got "abc"\)/,
    );
    // Without -t the daemon refuses to start, on stderr.
    const run = await runErrand(['worker', '-c', errand]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^errand: configuration is invalid .*\n {2}tasks\[0\]\.retires: unknown key/);
    const missing = await inProcess(['worker', '-c', join(dir, 'nope.toml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read config file .*nope\.toml: file not found/);
  });

  void it('-logfile writes the log there; plain text lines by default for an Errand config', async () => {
    const dir = tempDir('cli-log');
    const logfile = join(dir, 'errand.log');
    const config = writeConfig(
      dir,
      'errand.toml',
      `broker = "sqlite:${join(dir, 'q.db')}"\n[[tasks]]\nname = "a"\nprogram = "/bin/true"\n`,
    );
    const p = new ErrandProcess(['worker', '-conf', config, '-logfile', logfile]);
    await waitFor(
      'the log file to show the start',
      () => {
        try {
          return readFileSync(logfile, 'utf8').includes('Up and waiting for tasks');
        } catch {
          return false;
        }
      },
      20_000,
    );
    assert.equal((await p.stop()).code, 0);
    assert.equal(p.stdout, '', 'nothing on stdout');
    const lines = readFileSync(logfile, 'utf8').trim().split('\n');
    for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARN|ERROR) \S/);
    assert.ok(lines.some((l) => l.includes('INFO Stopped')));
    assert.ok(!lines.some((l) => l.includes('DEBUG')), 'no debug lines without -v');
  });

  void it("a Gordon config logs in Gordon's format by default; --log-format text gives Errand's", async () => {
    const dir = tempDir('cli-log-gordon');
    const qk = uniqueName('cli-log');
    const config = writeConfig(
      dir,
      'g.toml',
      `redis_address = "${REDIS_ADDRESS}"\nqueue_key = "${qk}"\n[tasks.a]\nscript = "/bin/true"\n`,
    );
    const verbose = new ErrandProcess(['worker', '-conf', config, '-v']);
    await waitFor('the start line', () => verbose.stdout.includes('Up and waiting for tasks'), 20_000);
    assert.equal((await verbose.stop()).code, 0);
    const lines = verbose.stdout.trim().split('\n');
    assert.ok(lines.length > 2);
    for (const l of lines)
      assert.match(l, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[(DEBUG|INFO|WARN|ERROR)\] \S/, l);
    assert.ok(lines.some((l) => / \[INFO\] Up and waiting for tasks /.test(l)));
    // Without -v, Gordon's format writes errors (and warnings) only: a clean start and stop write nothing.
    const quiet = new ErrandProcess(['worker', '-conf', config, '-l', join(dir, 'quiet.log')]);
    await sleep(3000);
    assert.equal((await quiet.stop()).code, 0);
    assert.equal(readFileSync(join(dir, 'quiet.log'), 'utf8'), '');
    const text = new ErrandProcess(['worker', '-conf', config, '--log-format', 'text']);
    await waitFor('the start line', () => text.stdout.includes('INFO Up and waiting for tasks'), 20_000);
    assert.equal((await text.stop()).code, 0);
  });
});
