/** Config loading: the three formats, env overrides, and messages that name the key. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig, programProblems } from '../src/daemon/config.ts';
import { planReload } from '../src/daemon/reload.ts';

const fixtures = join(import.meta.dirname, 'fixtures/daemon');
const noEnv = {};

function problems(
  text: string,
  file = '/etc/errand/errand.toml',
  env: NodeJS.ProcessEnv = noEnv,
): readonly string[] {
  try {
    parseConfig(text, file, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the config was accepted');
}

void describe('Gordon config', () => {
  void it('reads the example config key by key', () => {
    const c = loadConfig(join(fixtures, 'gordon.config.toml'), noEnv);
    assert.equal(c.flavour, 'gordon');
    assert.equal(c.broker, 'redis://127.0.0.1:6379');
    assert.equal(c.queueKey, 'myqueue');
    assert.equal(c.prefix, 'errand:myqueue');
    assert.deepEqual(c.errorScript, { program: '/path/to/error_script.sh', mode: 'file' });
    assert.equal(c.tempDir, '/tmp');
    assert.deepEqual(c.stats, { listen: '127.0.0.1:3333', path: undefined, tls: undefined });
    const byName = Object.fromEntries(c.tasks.map((t) => [t.name, t]));
    assert.equal(byName.something?.program, '/path/to/something.sh');
    assert.equal(byName.something?.concurrency, 1);
    assert.equal(byName.something?.failedTtlSec, 172800, 'inherits the global TTL');
    assert.equal(byName.another_thing?.concurrency, 2);
    assert.equal(byName.another_thing?.failedTtlSec, 50, 'per-type override');
    assert.equal(byName.something?.retries, 0, 'Gordon never re-runs a failed task');
    assert.equal(byName.something?.failure, 'gordon');
    assert.ok(c.warnings.some((w) => w.startsWith('interval_min: accepted but superseded')));
    assert.ok(c.warnings.some((w) => w.startsWith('backoff_enabled: accepted but superseded')));
  });

  void it('matches keys case-insensitively, resolves scripts against the config dir, raises workers < 1 to 1', () => {
    const c = parseConfig(
      'Redis_Address = "h:1"\n[tasks.a]\nScript = "./a.sh"\nworkers = 0\n',
      '/srv/gordon/gordon.config.toml',
      noEnv,
    );
    assert.equal(c.broker, 'redis://h:1');
    assert.equal(c.tasks[0]?.program, '/srv/gordon/a.sh');
    assert.equal(c.tasks[0]?.concurrency, 1);
  });

  void it('ERRAND_BROKER, then REDIS_URL, override the address', () => {
    const text = 'redis_address = "h:1"\n[tasks.a]\nscript = "/a"\n';
    assert.equal(parseConfig(text, 'g.toml', { REDIS_URL: 'redis://r:2' }).broker, 'redis://r:2');
    assert.equal(
      parseConfig(text, 'g.toml', { REDIS_URL: 'redis://r:2', ERRAND_BROKER: 'redis://e:3' }).broker,
      'redis://e:3',
    );
  });

  void it('names the key of every mistake', () => {
    const found = problems(
      'redis_address = 5\nfailed_tasks_ttl = "x"\n[tasks.a]\nworkers = "two"\n',
      'g.toml',
    );
    assert.deepEqual(found, [
      'redis_address: must be a string (got 5)',
      'failed_tasks_ttl: must be a number (got "x")',
      'tasks.a.script: is required (the program to run for this task type)',
      'tasks.a.workers: must be a number (got "two")',
      'redis_address: is required (host:port of Redis), or set ERRAND_BROKER / REDIS_URL',
    ]);
  });

  void it('reports a TOML syntax error with its position', () => {
    const [p] = problems('redis_address = \n', 'g.toml');
    assert.equal(p, 'invalid TOML at line 1, column 17: Invalid TOML document: invalid value');
  });
});

void describe('Gordon config: what Gordon kept, and no more', () => {
  void it("failed_tasks_ttl: a type's -1 disables its failed list, 0 or unset inherits the global TTL", () => {
    const c = parseConfig(
      `redis_address = "h:1"
failed_tasks_ttl = 100
[tasks.inherit]
script = "/bin/true"
[tasks.zero]
script = "/bin/true"
failed_tasks_ttl = 0
[tasks.off]
script = "/bin/true"
failed_tasks_ttl = -1
[tasks.own]
script = "/bin/true"
failed_tasks_ttl = 7
`,
      'g.toml',
      noEnv,
    );
    const ttl = Object.fromEntries(c.tasks.map((t) => [t.name, [t.failedTtlSec, t.deadLetterTtlMs]]));
    // Dead letters live as long as the failed list; without a failed list, one day.
    assert.deepEqual(ttl, {
      inherit: [100, 100_000],
      zero: [100, 100_000],
      off: [0, 86_400_000],
      own: [7, 7000],
    });
    const noGlobal = parseConfig(
      'redis_address = "h:1"\nfailed_tasks_ttl = -1\n[tasks.a]\nscript = "/bin/true"\n',
      'g.toml',
      noEnv,
    );
    assert.equal(noGlobal.tasks[0]?.failedTtlSec, 0);
  });

  void it('keeps 16 MiB of output by default, stores no results unless results = true', () => {
    const c = parseConfig('redis_address = "h:1"\n[tasks.a]\nscript = "/bin/true"\n', 'g.toml', noEnv);
    assert.equal(c.tasks[0]?.maxOutputBytes, 16 * 1024 * 1024);
    assert.equal(c.storeResults, false);
    const asked = parseConfig(
      'redis_address = "h:1"\nresults = true\n[tasks.a]\nscript = "/bin/true"\nmax_output = 10\n',
      'g.toml',
      noEnv,
    );
    assert.equal(asked.storeResults, true);
    assert.equal(asked.tasks[0]?.maxOutputBytes, 10);
    const goophry = parseConfig(
      '{"RedisAddress":"h:1","Tasks":[{"Type":"a","Script":"/bin/true"}]}',
      'c.json',
      noEnv,
    );
    assert.equal(goophry.storeResults, false);
    assert.equal(goophry.tasks[0]?.maxOutputBytes, 16 * 1024 * 1024);
    const errand = parseConfig('[[tasks]]\nname = "a"\nprogram = "/bin/true"\n', 'e.toml', noEnv);
    assert.equal(errand.storeResults, true);
    assert.equal(errand.tasks[0]?.maxOutputBytes, 65536);
    assert.equal(errand.tasks[0]?.deadLetterTtlMs, undefined);
  });
});

void describe('Goophry config', () => {
  void it('reads the example config', () => {
    const c = loadConfig(join(fixtures, 'goophry.config.json'), noEnv);
    assert.equal(c.flavour, 'goophry');
    assert.equal(c.broker, 'redis://127.0.0.1:6379');
    assert.equal(c.queueKey, 'myqueue');
    assert.deepEqual(c.errorScript, { program: '/path/to/error_script.sh', mode: 'argv' });
    assert.deepEqual(c.stats, { listen: '127.0.0.1:4000', path: '/stats', tls: undefined });
    assert.equal(c.tasks[0]?.name, 'update_something');
    assert.equal(c.tasks[0]?.concurrency, 2);
    assert.equal(c.tasks[0]?.failedTtlSec, 3600);
  });

  void it('names the key of every mistake', () => {
    const found = problems(
      JSON.stringify({ RedisAddress: 'h:1', Tasks: [{ Type: 'a' }, { Script: '/b', Workers: 'x' }] }),
      'g.json',
    );
    assert.deepEqual(found, [
      'Tasks[0].Script: is required (the program to run for this task type)',
      'Tasks[1].Type: is required (the task type)',
      'Tasks[1].Workers: must be a number (got "x")',
    ]);
  });
});

void describe('Errand config', () => {
  void it('reads commands, modules and options, in TOML, YAML and JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'errand-conf-'));
    const toml = `
broker = "redis://127.0.0.1:6379"
prefix = "p1"
modules = ["./tasks.js"]
lease = "2s"

[[tasks]]
name = "resize"
command = ["convert", "-resize", "10x10"]
cwd = "work"
env = { A = "1" }
timeout = "1.5s"
concurrency = 3
retries = 2
backoff = { type = "fixed", delay = "250ms" }
`;
    writeFileSync(join(dir, 'errand.toml'), toml);
    writeFileSync(join(dir, 'tasks.js'), 'export default () => {};\n');
    const c = loadConfig(join(dir, 'errand.toml'), noEnv);
    assert.equal(c.flavour, 'errand');
    assert.equal(c.prefix, 'p1');
    assert.deepEqual(c.modules, [join(dir, 'tasks.js')]);
    assert.equal(c.leaseMs, 2000);
    const t = c.tasks[0];
    assert.equal(t?.program, 'convert');
    assert.deepEqual(t?.args, ['-resize', '10x10']);
    assert.equal(t?.cwd, join(dir, 'work'));
    assert.equal(t?.timeoutMs, 1500);
    assert.equal(t?.queue, 'resize');
    assert.deepEqual(t?.backoff, { type: 'fixed', delayMs: 250 });

    writeFileSync(join(dir, 'errand.yaml'), 'tasks:\n  - name: a\n    program: /bin/true\n    timeout: 5\n');
    assert.equal(loadConfig(join(dir, 'errand.yaml'), noEnv).tasks[0]?.timeoutMs, 5000);
    writeFileSync(
      join(dir, 'errand.json'),
      JSON.stringify({ tasks: [{ name: 'a', command: ['/bin/true'] }] }),
    );
    assert.equal(loadConfig(join(dir, 'errand.json'), noEnv).tasks[0]?.program, '/bin/true');
  });

  void it('names the key and the problem', () => {
    const found = problems(`
brokr = "redis://x"
[[tasks]]
name = "a"
program = "/bin/true"
[[tasks]]
name = "b"
command = ["/bin/true"]
timeout = "abc"
concurrency = 0
failure = "sometimes"
[[tasks]]
program = "/bin/true"
`);
    assert.deepEqual(found, [
      'brokr: unknown key (did you mean "broker"?)',
      'tasks[1].failure: must be one of "exit-code", "gordon" (got "sometimes")',
      'tasks[1].timeout: must be a positive number of seconds or a duration like "30s" or "500ms" (got "abc")',
      'tasks[1].concurrency: must be a number >= 1 (got 0)',
      'tasks[2].name: is required (the task type messages carry)',
    ]);
  });

  void it('a missing module is an error; a program that cannot run is a problem of its own', () => {
    assert.deepEqual(problems('modules = ["./nope.js"]\n', '/tmp/errand.toml'), [
      'modules[0]: file not found: /tmp/nope.js',
    ]);
    const c = parseConfig('[[tasks]]\nname = "a"\nprogram = "/nonexistent/run.sh"\n', 'e.toml', noEnv);
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(programProblems(c, noEnv), ['tasks[0].program: /nonexistent/run.sh does not exist']);
  });

  void it('reports every problem of a task at once, even when its command is missing', () => {
    assert.deepEqual(problems('[[tasks]]\nname = "a"\ntimeout = "abc"\n'), [
      'tasks[0]: needs command = ["program", "arg", ...] or program = "..."',
      'tasks[0].timeout: must be a positive number of seconds or a duration like "30s" or "500ms" (got "abc")',
    ]);
    assert.deepEqual(problems('shutdown_timout = 3\nconcurency = 2\nzzz = 1\n'), [
      'shutdown_timout: unknown key (did you mean "shutdown_timeout"?)',
      'concurency: unknown key (did you mean "concurrency"?)',
      'zzz: unknown key',
    ]);
    // Gordon configs ignore unknown keys, as Gordon did, but say what was probably meant.
    const g = parseConfig(
      'redis_address = "h:1"\nfailed_task_ttl = 5\n[tasks.a]\nscript = "/bin/true"\nworkerz = 2\n',
      'g.toml',
      noEnv,
    );
    assert.deepEqual(g.warnings, [
      'failed_task_ttl: unknown key (did you mean "failed_tasks_ttl"?) (ignored)',
      'tasks.a.workerz: unknown key (did you mean "workers"?) (ignored)',
    ]);
  });

  void it('-t checks: a program must exist and be executable, or be found in PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'errand-prog-'));
    writeFileSync(join(dir, 'plain.sh'), '#!/bin/sh\n', { mode: 0o644 });
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    const c = parseConfig(
      `error_script = "no-such-notifier"
[[tasks]]
name = "a"
program = "./plain.sh"
[[tasks]]
name = "b"
command = ["./run.sh"]
[[tasks]]
name = "c"
program = "sh"
[[tasks]]
name = "d"
program = "no-such-program-xyz"
`,
      join(dir, 'errand.toml'),
      noEnv,
    );
    assert.deepEqual(programProblems(c, { PATH: '/usr/bin:/bin' }), [
      `tasks[0].program: ${dir}/plain.sh is not executable (chmod +x ${dir}/plain.sh)`,
      'tasks[3].program: "no-such-program-xyz" is not found in PATH (or is not executable there)',
      'error_script: "no-such-notifier" is not found in PATH (or is not executable there)',
    ]);
  });

  void it('a missing file is an error naming it', () => {
    assert.throws(
      () => loadConfig('/nonexistent/errand.toml', noEnv),
      /cannot read config file .*file not found/,
    );
  });

  void it('rejects a broker that is not a URL, naming the variable it came from', () => {
    assert.deepEqual(
      problems('[[tasks]]\nname="a"\nprogram="/x"\n', 'e.toml', { ERRAND_BROKER: 'localhost:6379' }),
      [
        'ERRAND_BROKER: must be a URL with a known scheme (amqp:, amqps:, memory:, redis:, rediss:, sqlite:, sqs:) (got "localhost:6379")',
      ],
    );
  });

  void it('ERRAND_BACKEND overrides the result backend URL of any config', () => {
    const withBackend = 'broker = "amqp://h:5672"\nbackend = "sqlite:/var/results.db"\n';
    assert.equal(parseConfig(withBackend, '/etc/e.toml', noEnv).backend, 'sqlite:/var/results.db');
    assert.equal(
      parseConfig(withBackend, '/etc/e.toml', { ERRAND_BACKEND: 'redis://r:1' }).backend,
      'redis://r:1',
    );
    // Also where the config names none (the broker's own store), and with the broker from the env too.
    const c = parseConfig('', 'e.toml', { ERRAND_BROKER: 'amqp://h:5672', ERRAND_BACKEND: 'redis://r:1' });
    assert.deepEqual([c.broker, c.backend], ['amqp://h:5672', 'redis://r:1']);
    assert.equal(parseConfig('', 'e.toml', noEnv).backend, undefined);
    // An empty variable is unset, as for ERRAND_BROKER.
    assert.equal(
      parseConfig(withBackend, '/etc/e.toml', { ERRAND_BACKEND: '' }).backend,
      'sqlite:/var/results.db',
    );
    // Gordon and Goophry configs have no backend key: the variable gives them one.
    const gordon = 'redis_address = "h:1"\n[tasks.a]\nscript = "/a"\n';
    assert.equal(parseConfig(gordon, 'g.toml', noEnv).backend, undefined);
    assert.equal(parseConfig(gordon, 'g.toml', { ERRAND_BACKEND: 'redis://r:1' }).backend, 'redis://r:1');
  });

  void it('a reload that changes the result backend is refused: it takes a restart', () => {
    const before = parseConfig('backend = "redis://r:1"\n', 'e.toml', noEnv);
    const after = parseConfig('backend = "redis://r:2"\n', 'e.toml', noEnv);
    assert.deepEqual(planReload(before, after), {
      ok: false,
      problems: ['backend changed: it takes a restart'],
    });
    assert.equal(planReload(before, before).ok, true);
  });

  void it('rejects a backend that is not a URL, naming the variable or the key it came from', () => {
    const schemes = 'memcached:, memory:, postgres:, postgresql:, redis:, rediss:, sqlite:';
    assert.deepEqual(
      problems('[[tasks]]\nname="a"\nprogram="/x"\n', 'e.toml', { ERRAND_BACKEND: 'r:6379' }),
      [`ERRAND_BACKEND: must be a URL with a known scheme (${schemes}) (got "r:6379")`],
    );
    // A bad variable over a good key names the variable; a bad key under no variable names the key.
    assert.deepEqual(problems('backend = "redis://r:1"\n', 'e.toml', { ERRAND_BACKEND: 'mongodb://m' }), [
      `ERRAND_BACKEND: must be a URL with a known scheme (${schemes}) (got "mongodb://m")`,
    ]);
    assert.deepEqual(problems('backend = "mongodb://m"\n', 'e.toml', noEnv), [
      `backend: must be a URL with a known scheme (${schemes}) (got "mongodb://m")`,
    ]);
    // A good variable over a bad key: the variable is what is used, so the config is accepted.
    assert.equal(
      parseConfig('backend = "mongodb://m"\n', 'e.toml', { ERRAND_BACKEND: 'redis://r:1' }).backend,
      'redis://r:1',
    );
  });
});
