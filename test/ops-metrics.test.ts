/** Prometheus metrics after a known workload: exact counts, histogram counts, promtool's check. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { after, describe, it } from 'node:test';
import { Errand } from '../src/index.ts';
import { REDIS_URL, uniquePrefix } from './helpers.ts';

const promtool = spawnSync('promtool', ['--version']).status === 0;

describe('metrics', () => {
  const errand = new Errand({ broker: REDIS_URL, prefix: uniquePrefix('metrics') });
  after(() => errand.close());
  let text = '';

  it('counts a known workload exactly', async () => {
    const seen = new Set<string>();
    const ok = errand.task('ok', (n: number) => n * 2, { queue: 'mq' });
    const flaky = errand.task(
      'flaky',
      (key: string) => {
        if (seen.has(key)) return key;
        seen.add(key);
        throw new Error('first attempt fails');
      },
      { queue: 'mq', retries: 2, backoff: { type: 'fixed', delayMs: 10 } },
    );
    const bad = errand.task(
      'bad',
      (): number => {
        throw new Error('always');
      },
      { queue: 'mq' },
    );
    const worker = errand.worker({ concurrency: 4, handleSignals: false });
    await worker.start();
    const sent = [
      ...(await Promise.all([1, 2, 3].map((n) => ok.send(n)))),
      ...(await Promise.all(['a', 'b'].map((k) => flaky.send(k)))),
    ];
    const failing = await bad.send();
    await Promise.all(sent.map((s) => s.result({ timeoutMs: 30_000 })));
    await assert.rejects(failing.result({ timeoutMs: 30_000 }), /always/);
    // Events fire after the outcome is settled; results may arrive a moment before.
    const deadline = Date.now() + 10_000;
    while (!(await errand.metrics()).includes('errand_tasks_failed_total{queue="mq",task="bad"} 1')) {
      assert.ok(Date.now() < deadline, 'the failure is counted');
      await new Promise((r) => setTimeout(r, 20));
    }
    text = await errand.metrics();
    const lines = new Set(text.split('\n'));
    for (const expected of [
      'errand_tasks_completed_total{queue="mq",task="ok"} 3',
      'errand_tasks_completed_total{queue="mq",task="flaky"} 2',
      'errand_tasks_retried_total{queue="mq",task="flaky"} 2',
      'errand_tasks_failed_total{queue="mq",task="bad"} 1',
      'errand_tasks_dead_lettered_total{queue="mq",task="bad"} 1',
      // One run-time observation per attempt: 3 + 4 + 1.
      'errand_task_run_seconds_count{queue="mq",task="ok"} 3',
      'errand_task_run_seconds_count{queue="mq",task="flaky"} 4',
      'errand_task_run_seconds_count{queue="mq",task="bad"} 1',
      // Wait time: first attempts only.
      'errand_task_wait_seconds_count{queue="mq",task="flaky"} 2',
      'task_execution_stats_count{queue_name="mq",job_name="ok",status="success"} 3',
      'task_execution_stats_count{queue_name="mq",job_name="bad",status="fail"} 1',
      'errand_queue_dead{queue="mq"} 1',
      'errand_queue_waiting{queue="mq"} 0',
      'task_queue_stats{queue_name="mq"} 0',
      'errand_queue_paused{queue="mq"} 0',
      'errand_broker_up 1',
    ]) {
      assert.ok(lines.has(expected), `metrics have "${expected}":\n${text}`);
    }
    assert.match(text, /^errand_task_run_seconds_bucket\{queue="mq",task="ok",le="\+Inf"\} 3$/m);
    // Buckets are cumulative: the three quick runs are counted in every bucket from the first
    // one they fit in up to 10 s, so the counts never go down and the 10 s bucket has all three.
    const okBuckets = [
      ...text.matchAll(/^errand_task_run_seconds_bucket\{queue="mq",task="ok",le="[^"]+"\} (\d+)$/gm),
    ].map((m) => Number(m[1]));
    assert.equal(okBuckets.length, 12, 'eleven bounds and +Inf');
    assert.ok(
      okBuckets.every((n, i) => i === 0 || n >= okBuckets[i - 1]!),
      `cumulative: ${okBuckets.join(' ')}`,
    );
    assert.match(text, /^errand_task_run_seconds_bucket\{queue="mq",task="ok",le="10"\} 3$/m);
    await worker.stop();
  });

  it('passes promtool check metrics', {
    skip: promtool ? false : 'promtool is not installed (Debian package prometheus; .ci/run installs it)',
  }, () => {
    assert.ok(text.length > 0, 'the workload test ran first');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  });

  it('serves the exposition through the request handler', async () => {
    const server = createServer(errand.metricsHandler({ queues: ['mq'] }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(await res.text(), /^errand_queue_dead\{queue="mq"\} 1$/m);
      const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' });
      assert.equal(post.status, 405);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
