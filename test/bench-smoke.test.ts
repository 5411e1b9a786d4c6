/**
 * A short run of the benchmark (bench/run.ts --smoke: tiny sizes, one run, every scenario and
 * system) so the harness cannot rot. It checks that the JSON lines are well-formed, that every
 * system produced sane numbers in every scenario, and that the report renders from them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadResults, type ResultLine, type Results } from '../bench/lib/aggregate.ts';
import { renderMarkdown, renderSvg } from '../bench/report.ts';
import { deleteByPrefix, freePort, REDIS_URL } from './helpers.ts';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const SYSTEMS = ['errand', 'bullmq', 'beequeue', 'rawlist'];
/** Variants measured only while processing: Errand without results, BullMQ keeping completed jobs. */
const VARIANTS = ['errand-noresults', 'bullmq-keep'];

void describe('benchmark smoke run', () => {
  let dir: string;
  let results: Results;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'errand-bench-smoke-'));
    const out = join(dir, 'smoke.jsonl');
    const started = Date.now();
    await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], {
      cwd: root,
      timeout: 120_000,
      maxBuffer: 10 * 1024 * 1024,
    });
    process.stderr.write(`bench smoke run took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    // Every line must be JSON of a known type (loadResults throws otherwise).
    results = loadResults([out]);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const find = (scenario: string, kase: string, system: string): ResultLine => {
    const hit = results.results.filter(
      (r) => r.scenario === scenario && r.case === kase && r.system === system,
    );
    const errors = results.results
      .filter((r) => r.system === system && r.error)
      .map((r) => `${r.scenario}: ${r.error}`);
    assert.equal(
      hit.length,
      1,
      `${scenario}/${kase}/${system}: expected one result line; errors: ${errors.join('; ')}`,
    );
    return hit[0]!;
  };
  const positive = (r: ResultLine, metric: string): number => {
    const v = r.metrics[metric];
    assert.ok(
      typeof v === 'number' && Number.isFinite(v) && v > 0,
      `${r.scenario}/${r.case}/${r.system}: ${metric} = ${v}`,
    );
    return v;
  };

  void it('writes a meta line with the machine and library versions', () => {
    const meta = results.meta;
    assert.ok(meta, 'no meta line');
    assert.equal(meta.smoke, true);
    assert.ok(Number(meta.machine.cpus) >= 1);
    assert.match(meta.redis, /^\d+\.\d+/);
    for (const lib of ['errand', 'bullmq', 'ioredis', 'bee-queue'])
      assert.match(meta.versions[lib] ?? '', /^\d+\.\d+\.\d+/, lib);
    for (const s of [...SYSTEMS, ...VARIANTS])
      assert.ok(results.systems.get(s)?.settings, `settings of ${s} not recorded`);
    assert.match(results.systems.get('bullmq')!.settings, /removeOnComplete true.*ioredis/);
  });

  void it('reports no errors', () => {
    const errors = results.results.filter((r) => r.error).map((r) => `${r.scenario}/${r.system}: ${r.error}`);
    assert.deepEqual(errors, []);
  });

  void it('measures enqueue throughput of every system, all tasks sent', () => {
    for (const system of SYSTEMS) {
      for (const kase of ['one', 'inflight100', 'bulk']) {
        const r = find('enqueue', kase, system);
        positive(r, 'tasksPerSec');
        positive(r, 'clientCpuUsPerTask');
        assert.equal(r.metrics.tasks, r.detail?.planned, `${kase}/${system} did not send every task`);
      }
    }
  });

  void it('measures processing throughput of every system at concurrency 1, 10 and 100, all tasks done', () => {
    for (const system of [...SYSTEMS, ...VARIANTS]) {
      for (const kase of ['c1', 'c10', 'c100']) {
        const r = find('process', kase, system);
        positive(r, 'tasksPerSec');
        positive(r, 'workerCpuUsPerTask');
        assert.equal(r.metrics.tasks, r.detail?.planned, `${kase}/${system} did not finish every task`);
      }
    }
  });

  void it('runs the variants only where they differ: processing', () => {
    for (const v of VARIANTS)
      assert.deepEqual(
        [...new Set(results.results.filter((r) => r.system === v).map((r) => r.scenario))],
        ['process'],
        v,
      );
  });

  void it('measures ordered latency percentiles of every system at the requested rate', () => {
    for (const system of SYSTEMS) {
      const r = find('latency', '500/s', system);
      const [p50, p95, p99, max] = ['p50Ms', 'p95Ms', 'p99Ms', 'maxMs'].map((m) =>
        positive(r, m),
      ) as number[];
      assert.ok(p50! <= p95! && p95! <= p99! && p99! <= max!, `${system}: percentiles out of order`);
      assert.ok(max! < 8000, `${system}: max latency ${max} ms`);
      assert.equal(r.metrics.tasks, 250, `${system}: every paced task should be measured`);
      const rate = positive(r, 'achievedRate');
      assert.ok(rate > 250 && rate < 750, `${system}: achieved rate ${rate}/s, asked 500/s`);
    }
  });

  void it('measures Redis cost and memory per task of every system', () => {
    for (const system of SYSTEMS) {
      for (const kase of ['per-task', 'per-task-loaded']) {
        const cost = find('cost', kase, system);
        positive(cost, 'commandsPerTask');
        positive(cost, 'roundTripsPerTask');
        positive(cost, 'bytesInPerTask');
        positive(cost, 'bytesOutPerTask');
        const byName = cost.detail?.commandsPerTaskByName as Record<string, number> | undefined;
        assert.ok(byName && Object.keys(byName).length > 0, `${system}: no per-command breakdown`);
      }
      // Sequentially, each send is a request of its own and the worker makes some as well (a
      // delivery may ride on the settle before it, as Errand's prefetch does): over 1 round trip.
      assert.ok(
        find('cost', 'per-task', system).metrics.roundTripsPerTask! > 1.2,
        `${system}: round trips per task`,
      );
      // A waiting task holds at least its 100-byte payload.
      assert.ok(positive(find('cost', 'memory-waiting', system), 'bytesPerWaitingTask') >= 100, system);
    }
  });

  void it('measures the SQLite broker', () => {
    positive(find('sqlite', 'c10', 'errand-sqlite'), 'tasksPerSec');
  });

  void it('measures Errand on every broker at concurrency 10, or says why a broker is unavailable', () => {
    for (const broker of ['memory', 'sqlite', 'redis', 'amqp', 'sqs']) {
      const lines = results.results.filter((r) => r.scenario === 'brokers' && r.case === broker);
      assert.equal(lines.length, 1, `brokers/${broker}: expected one result line`);
      const r = lines[0]!;
      // memory, SQLite and the private Redis are always here; RabbitMQ and fauxqs may not be.
      if (r.unavailable !== undefined && (broker === 'amqp' || broker === 'sqs')) {
        assert.match(r.unavailable, /\S/, `${broker}: unavailable without a reason`);
        continue;
      }
      assert.equal(r.unavailable, undefined, `${broker}: ${r.unavailable}`);
      assert.equal(r.metrics.concurrency, 10, broker);
      positive(r, 'tasksPerSec');
      positive(r, 'workerCpuUsPerTask');
      assert.equal(r.metrics.tasks, r.detail?.planned, `${broker} did not finish every task`);
    }
  });

  void it('measures command tasks in the daemon, or says why not when the daemon is absent', () => {
    const lines = results.results.filter((r) => r.scenario === 'command');
    assert.ok(lines.length > 0, 'no command scenario line');
    if (existsSync(join(root, 'bin/errand.js'))) {
      for (const kase of ['c1', 'c8']) {
        positive(find('command', kase, 'errand-daemon'), 'tasksPerSec');
        positive(find('command', kase, 'spawn-loop'), 'tasksPerSec');
      }
    } else {
      for (const l of lines)
        assert.ok(l.unavailable, 'without bin/errand.js the scenario must say it is unavailable');
    }
  });

  void it('renders the Markdown report and the SVG chart from the lines', () => {
    const md = renderMarkdown(results, 'chart.svg', ['smoke.jsonl']);
    for (const heading of [
      '## Targets',
      '## 1. Enqueue',
      '## 2. Processing',
      '## 3. Latency',
      '## 4. Redis cost',
      '## 9. Every broker at concurrency 10',
      '## Method',
    ]) {
      assert.ok(md.includes(heading), `report lacks ${heading}`);
    }
    assert.doesNotMatch(md.split('## Targets')[1]!.split('##')[0]!, /not measured/);
    const brokers = md.split('## 9. Every broker at concurrency 10')[1]!.split('\n## ')[0]!;
    for (const row of ['`memory:`', '`sqlite:<file>`', '`redis://`']) {
      const line = brokers.split('\n').find((l) => l.startsWith(`| ${row} | `));
      assert.match(
        line ?? '',
        /^\| [^|]+ \| [\d,.]+ .*\| [\d,.]+/,
        `section 9 lacks a measured row for ${row}`,
      );
    }
    const svg = renderSvg(results);
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg.trimEnd(), /<\/svg>$/);
    for (const name of ['Errand', 'BullMQ', 'Bee-Queue', 'raw list loop'])
      assert.ok(svg.includes(name), `chart lacks ${name}`);
    // Twelve bars at least: four systems at three concurrencies.
    assert.ok((svg.match(/<rect [^>]*><title>/g) ?? []).length >= 12);
  });
});

void describe('benchmark brokers scenario without RabbitMQ', () => {
  void it('reports RabbitMQ unavailable with the reason and still measures the other brokers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'errand-bench-brokers-'));
    try {
      const out = join(dir, 'brokers.jsonl');
      // A port nobody listens on: the connection is refused at once.
      const port = await freePort();
      await run(
        process.execPath,
        [
          '--import',
          'tsx',
          'bench/run.ts',
          '--smoke',
          '--scenarios',
          'brokers',
          '--systems',
          'errand',
          '--out',
          out,
        ],
        {
          cwd: root,
          timeout: 60_000,
          maxBuffer: 10 * 1024 * 1024,
          env: { ...process.env, ERRAND_BENCH_AMQP: `amqp://guest:guest@127.0.0.1:${port}` },
        },
      );
      const lines = loadResults([out]).results;
      assert.deepEqual(
        lines.filter((r) => r.error).map((r) => r.error),
        [],
      );
      const amqp = lines.filter((r) => r.case === 'amqp');
      assert.equal(amqp.length, 1);
      assert.match(amqp[0]!.unavailable ?? '', new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
      assert.doesNotMatch(amqp[0]!.unavailable ?? '', /guest/, 'the reason must not carry the credentials');
      for (const broker of ['memory', 'sqlite', 'redis']) {
        const r = lines.find((x) => x.case === broker);
        assert.ok(r && !r.unavailable && (r.metrics.tasksPerSec ?? 0) > 0, `${broker} not measured`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('prefetch side-by-side script (bench/prefetch-ab.ts)', () => {
  it('runs prefetch: 0 and the default in alternating runs and reports both', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/prefetch-ab.ts',
        '--redis',
        REDIS_URL,
        '--concurrency',
        '2',
        '--tasks',
        '200',
        '--pairs',
        '1',
      ],
      { cwd: root, timeout: 60_000 },
    );
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 2, stdout);
    const thread = process.platform === 'linux' ? String.raw` \(main thread [\d.]+\)` : '';
    assert.match(
      lines[0] ?? '',
      new RegExp(`^c2 pair 1 prefetch 0: \\d+ tasks/s, [\\d.]+ µs CPU/task${thread}$`),
    );
    assert.match(
      lines[1] ?? '',
      new RegExp(`^c2 pair 1 prefetch default: \\d+ tasks/s, [\\d.]+ µs CPU/task${thread}$`),
    );
    await deleteByPrefix('bench-prefetch-');
  });
});

void describe('latency stall probe (bench/latency-stalls.ts)', () => {
  it('runs producer and worker at a rate and reports percentiles, event loop stalls and GCs', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/latency-stalls.ts',
        '--redis',
        REDIS_URL,
        '--rate',
        '200',
        '--seconds',
        '1',
        '--warmup',
        '100',
      ],
      { cwd: root, timeout: 60_000 },
    );
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 3, stdout);
    assert.match(lines[0] ?? '', /^200 tasks at 200\/s: p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms$/);
    assert.match(
      lines[1] ?? '',
      /^event loop stalls over 2\.5 ms: [\d.]+\/s, \d+ of \d+ during a GC \(\d+ GCs\); an idle process beside it: [\d.]+\/s$/,
    );
    assert.match(lines[2] ?? '', /^errand: \d+ GCs \([\d.]+ ms\), process CPU \d+ µs per task$/);
    await deleteByPrefix('bench-stalls-');
  });
});
