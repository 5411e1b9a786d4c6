/**
 * The daemon's life: it is "up" only once the broker answers, stops on SIGHUP (Gordon config), stops with npm
 * (`npx errand worker`) instead of lingering as an orphan, loads TypeScript modules, and counts
 * module tasks in its stats.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findTsx, typeScriptProblem } from '../src/daemon/modules.ts';
import {
  bin,
  ErrandProcess,
  fixtures,
  freePort,
  repoRoot,
  runErrand,
  startWorker,
  tempDir,
  uniqueName,
  waitFor,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { type PrivateRedis, REDIS_URL, startPrivateRedis } from './helpers.ts';

/** Running (a zombie left for a non-reaping init does not count). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

const gordonConfig = (dir: string, port: number): string =>
  writeConfig(
    dir,
    'gordon.config.toml',
    `redis_address = "127.0.0.1:${port}"\nqueue_key = "${uniqueName('life')}"\n[tasks.a]\nscript = "/bin/true"\n`,
  );

void describe('daemon start-up and signals', () => {
  let server: PrivateRedis | undefined;
  after(async () => server?.stop());

  void it('says "Up and waiting for tasks" only once the broker has answered', async () => {
    server = await startPrivateRedis();
    await server.stop();
    const config = gordonConfig(tempDir('life-up'), server.port);
    const p = new ErrandProcess(['worker', '-c', config, '--log-format', 'json', '-v']);
    try {
      await p.waitForLine('the workers to be created', (l) => l.msg === 'Created queue worker', 20_000);
      await sleep(2000);
      assert.equal(
        p.lines().filter((l) => l.msg === 'Up and waiting for tasks').length,
        0,
        'not up while Redis is down',
      );
      await server.start();
      await p.waitForLine('the daemon to be up', (l) => l.msg === 'Up and waiting for tasks', 30_000);
    } finally {
      assert.equal((await p.stop()).code, 0);
    }
  });

  void it('a SIGTERM while the broker is still out of reach stops the daemon (exit 0, never "up")', async () => {
    const config = gordonConfig(tempDir('life-down'), await freePort());
    const p = new ErrandProcess(['worker', '-c', config, '--log-format', 'json', '-v']);
    await p.waitForLine('the workers to be created', (l) => l.msg === 'Created queue worker', 20_000);
    const exit = await p.stop();
    assert.equal(exit.code, 0);
    assert.ok(p.lines().some((l) => l.msg === 'Stopped'));
    assert.ok(!p.lines().some((l) => l.msg === 'Up and waiting for tasks'));
  });

  // An Errand-format config reloads on SIGHUP instead (test/ops-reload.test.ts).
  void it('SIGHUP stops a Gordon-config daemon gracefully, like SIGTERM', async () => {
    const config = gordonConfig(tempDir('life-hup'), Number(new URL(REDIS_URL).port || 6379));
    const p = await startWorker(config);
    p.signal('SIGHUP');
    const exit = await p.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(p.lines().some((l) => l.msg === 'Received signal' && l.signal === 'SIGHUP'));
    assert.ok(p.lines().some((l) => l.msg === 'Stopped'));
  });
});

void describe('started by npm', () => {
  /** Starts the daemon under a stand-in for npm; returns the stand-in and the daemon's pid. */
  async function underParent(env: NodeJS.ProcessEnv) {
    const dir = tempDir('life-npm');
    const log = join(dir, 'daemon.log');
    const config = writeConfig(
      dir,
      'errand.toml',
      `broker = "sqlite:${join(dir, 'q.db')}"\n[[tasks]]\nname = "a"\nprogram = "/bin/true"\n`,
    );
    const parent = spawn(
      process.execPath,
      [join(fixtures, 'parent-exits.mjs'), bin, log, 'worker', '-c', config, '--log-format', 'json'],
      { cwd: repoRoot, env: { ...env, ERRAND_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    parent.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const pid = await waitFor('the daemon pid', () =>
      /^(\d+)\n/.exec(out) ? Number(out.trim()) : undefined,
    );
    await waitFor(
      'the daemon to be up',
      () => existsSync(log) && readFileSync(log, 'utf8').includes('Up and waiting for tasks'),
      20_000,
    );
    const exited = new Promise((r) => parent.once('exit', r));
    parent.kill('SIGTERM');
    await exited;
    return { pid, log };
  }

  void it('the daemon stops when npm exits (no orphan keeps running)', async () => {
    const { pid, log } = await underParent({ ...process.env, npm_command: 'exec' });
    await waitFor('the daemon to exit after its parent', () => !alive(pid), 15_000);
    const text = readFileSync(log, 'utf8');
    assert.match(text, /"msg":"Received signal","signal":"parent exited"/);
    assert.match(text, /"msg":"Stopped"/);
  });

  void it('started otherwise (nohup, a shell), it keeps running when its parent exits', async () => {
    const env = { ...process.env };
    delete env.npm_command;
    const { pid } = await underParent(env);
    try {
      await sleep(3000);
      assert.ok(alive(pid), 'still running');
    } finally {
      process.kill(pid, 'SIGTERM');
      await waitFor('the daemon to stop', () => !alive(pid), 15_000);
    }
  });
});

void describe('modules', () => {
  void it('loads .ts modules (ESM and CommonJS packages); their tasks run and count in the stats task_count', async () => {
    const dir = tempDir('life-ts');
    const port = await freePort();
    const config = writeConfig(
      dir,
      'errand.toml',
      `broker = "sqlite:${join(dir, 'q.db')}"
modules = ["${fixtures}/handlers.ts", "${fixtures}/tasks.mjs", "${fixtures}/cjs-app/handlers.ts"]
[stats]
listen = "127.0.0.1:${port}"
[[tasks]]
name = "cmd"
program = "/bin/true"
`,
    );
    const p = await startWorker(config);
    try {
      const stats = async () =>
        (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { task_count: Record<string, number> };
      assert.deepEqual((await stats()).task_count, {
        'cjs-greet': 0,
        cmd: 0,
        'js-add': 0,
        'js-fail': 0,
        'ts-greet': 0,
      });
      // A .ts module of a CommonJS package loads too.
      const cjs = await runErrand([
        'send',
        'cjs-greet',
        'there',
        '--wait',
        '--timeout',
        '20000',
        '-c',
        config,
      ]);
      assert.match(cjs.stdout, /^hi there\n?$/);
      const sent = await runErrand(['send', 'ts-greet', 'you', '--wait', '--timeout', '20000', '-c', config]);
      // (A trailing newline after a string result is i10's change to `send`.)
      assert.match(sent.stdout, /^hello you\n?$/);
      assert.equal(sent.code, 0);
      await runErrand(['send', 'cmd', '-c', config]);
      await waitFor('both counted', async () => (await stats()).task_count.cmd === 1);
      assert.deepEqual((await stats()).task_count, {
        'cjs-greet': 1,
        cmd: 1,
        'js-add': 0,
        'js-fail': 0,
        'ts-greet': 1,
      });
    } finally {
      assert.equal((await p.stop()).code, 0);
    }
  });

  void it('without a TypeScript loader, a .ts module is refused with the fix in the message', () => {
    const nowhere = tempDir('life-no-tsx');
    assert.equal(findTsx([nowhere]), undefined);
    const found = findTsx([nowhere, repoRoot]);
    assert.match(found?.esm ?? '', /^file:\/\/.*\/tsx\/dist\/esm\/api\/index\.mjs$/);
    assert.match(found?.cjs ?? '', /^file:\/\/.*\/tsx\/dist\/cjs\/api\/index\.mjs$/);
    assert.equal(
      typeScriptProblem(nowhere, { present: false, dirs: [nowhere] }),
      `is TypeScript, which Node ${process.version} cannot load by itself: install tsx where the config is (npm install --save-dev tsx), or compile the module to .js`,
    );
    assert.equal(typeScriptProblem(nowhere, { present: false, dirs: [repoRoot] }), undefined);
  });
});
