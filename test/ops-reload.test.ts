/**
 * `errand worker` reloads an Errand-format config on SIGHUP: a task type added and a concurrency
 * changed take effect while tasks run, none is dropped; an invalid config is refused with the
 * reasons and the old one keeps running.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Errand } from '../src/index.ts';
import {
  freePort,
  runErrand,
  startWorker,
  tempDir,
  uniqueName,
  waitFor,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_URL } from './helpers.ts';

const prefix = uniqueName('reload');
const dir = tempDir('ops-reload');
const marks = join(dir, 'marks');

const configText = (slowConcurrency: number, extra = ''): string => `broker = "${REDIS_URL}"
prefix = "${prefix}"
queues = ["none"]
lease = "5s"
shutdown_timeout = "10s"

[[tasks]]
name = "slow"
command = ["sh", "-c", "touch '${marks}'-start-$1; sleep 1.5; touch '${marks}'-end-$1", "sh"]
concurrency = ${slowConcurrency}
${extra}`;

describe('SIGHUP reload', () => {
  const errand = new Errand({ broker: REDIS_URL, prefix });
  after(() => errand.close());

  it('adds a task type and changes concurrency while tasks run; refuses an invalid config', async () => {
    const config = writeConfig(dir, 'errand.toml', configText(1));
    const daemon = await startWorker(config);
    try {
      // Concurrency 1: of three slow tasks only one runs at a time.
      const first = await Promise.all(
        ['a', 'b', 'c'].map((n) => errand.send('slow', [n], { queue: 'slow' })),
      );
      await waitFor('a slow task to start', async () => (await errand.stats('slow')).leased === 1);

      writeFileSync(config, configText(3, `\n[[tasks]]\nname = "echo"\ncommand = ["printf", "%s"]\n`));
      daemon.signal('SIGHUP');
      await daemon.waitForLine('the reload', (l) => l.msg === 'Reloaded config');
      const reloaded = daemon.lines().find((l) => l.msg === 'Reloaded config')!;
      assert.equal(reloaded.added, 'echo');
      assert.equal(reloaded.concurrency, 'slow:1->3');
      // The new type runs without a restart.
      const echoed = await errand.send('echo', ['hi'], { queue: 'echo' });
      assert.equal(await echoed.result({ timeoutMs: 10_000 }), 'hi');
      // Concurrency 3 now: the two waiting tasks run together, while the first one (old worker) finishes.
      const more = await Promise.all(['d', 'e', 'f'].map((n) => errand.send('slow', [n], { queue: 'slow' })));
      await waitFor('three slow tasks at once', async () => (await errand.stats('slow')).leased >= 3, 10_000);
      // Nothing dropped: every task finishes once.
      for (const sent of [...first, ...more]) await sent.result({ timeoutMs: 30_000 });
      assert.ok(
        !daemon.lines().some((l) => /released|handed back/i.test(l.msg)),
        'no task was aborted by the reload',
      );

      // An invalid config is refused with its reasons; the running one stays.
      writeFileSync(
        config,
        configText(3, `\n[[tasks]]\nname = "echo"\ncommand = ["printf", "%s"]\nconcurrency = "lots"\n`),
      );
      daemon.signal('SIGHUP');
      const refused = await daemon.waitForLine('the refusal', (l) =>
        l.msg.startsWith('Config reload refused'),
      );
      assert.match(String(refused.problems), /concurrency/);
      // A change that needs a restart is refused too, naming it.
      writeFileSync(config, configText(3, `\n[[tasks]]\nname = "echo"\ncommand = ["printf", "<%s>"]\n`));
      daemon.signal('SIGHUP');
      await daemon.waitForLine(
        'the second refusal',
        (l) =>
          l.msg.startsWith('Config reload refused') &&
          /tasks\.echo: only its concurrency/.test(String(l.problems)),
      );
      const still = await errand.send('echo', ['same'], { queue: 'echo' });
      assert.equal(await still.result({ timeoutMs: 10_000 }), 'same');
    } finally {
      const exit = await daemon.stop();
      assert.equal(exit.code, 0, daemon.stderr);
    }
  });
});

describe('daemon metrics and dashboard', () => {
  it('serves /metrics ([metrics] listen) and the dashboard ([dashboard] listen)', async () => {
    const metricsPort = await freePort();
    const dashboardPort = await freePort();
    const p = uniqueName('opsd');
    const config = writeConfig(
      dir,
      'served.toml',
      `broker = "${REDIS_URL}"
prefix = "${p}"
queues = ["none"]
[metrics]
listen = "127.0.0.1:${metricsPort}"
[dashboard]
listen = "127.0.0.1:${dashboardPort}"
[[tasks]]
name = "hello"
command = ["printf", "hi"]
`,
    );
    const daemon = await startWorker(config);
    const client = new Errand({ broker: REDIS_URL, prefix: p });
    try {
      await (await client.send('hello', [], { queue: 'hello' })).result({ timeoutMs: 10_000 });
      await waitFor('the completion to be counted', async () =>
        (await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).includes(
          'errand_tasks_completed_total{queue="hello",task="hello"} 1',
        ),
      );
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(text, /^errand_queue_waiting\{queue="hello"\} 0$/m);
      const page = await (await fetch(`http://127.0.0.1:${dashboardPort}/`)).text();
      assert.match(page, /data-queue="hello"/);
    } finally {
      await client.close();
      assert.equal((await daemon.stop()).code, 0, daemon.stderr);
    }
  });

  it('refuses a dashboard off loopback without a token (config check)', async () => {
    const config = writeConfig(
      dir,
      'open.toml',
      `broker = "${REDIS_URL}"\n[dashboard]\nlisten = "0.0.0.0:8080"\n[metrics]\nlisten = "nowhere"\n`,
    );
    const r = await runErrand(['worker', '-c', config, '--test']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /dashboard\.token: is required when dashboard\.listen is not a loopback address/);
    assert.match(r.stdout, /metrics\.listen: .*host:port/);
  });
});
