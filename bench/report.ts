/**
 * Turns benchmark JSON lines into docs/benchmarks.md and docs/benchmarks.svg.
 * `npx tsx bench/report.ts <results.jsonl>... [--md path] [--svg path]`
 */
import { writeFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cases, fmtSummary, loadResults, type Results, stat, systemsIn } from './lib/aggregate.ts';
import { barChartSvg } from './lib/chart.ts';
import { METHOD } from './report-method.ts';
import {
  brokersTable,
  commandBreakdown,
  costTable,
  label,
  latencyTable,
  ORDER,
  scenarioTable,
  table,
  targetsSection,
  unavailableNotes,
} from './report-sections.ts';
import { SHORTFALLS } from './report-shortfalls.ts';

export function renderMarkdown(r: Results, svgName: string, sources: readonly string[]): string {
  const m = r.meta;
  const out: string[] = ['# Benchmarks', ''];
  out.push(
    'Errand against BullMQ, Bee-Queue and a raw reliable-list loop on the same private Redis, in the same run.',
    `Every figure is the median of ${m?.runs ?? '?'} run${m?.runs === 1 ? '' : 's'} with the min–max in brackets; ratios are taken inside each run`,
    'and then summarised the same way. This file is generated: do not edit it by hand.',
    '',
    ...(m?.smoke
      ? [
          '**These are smoke-run figures (tiny sizes, one run): they check the harness, they measure nothing.**',
          '',
        ]
      : []),
    'Regenerate (full run, a few minutes on 2 cores):',
    '',
    '```sh',
    'npm run bench -- --runs 3 --report   # runs everything: writes bench/results/<time>.jsonl, this file and the chart',
    'npx tsx bench/report.ts <file.jsonl>  # this file and the chart again from saved results',
    '```',
    '',
    `Generated from ${sources.map((f) => `\`${f}\``).join(', ')} (bench/results/ is not committed).`,
    '',
  );
  if (m) {
    out.push(
      '## Machine and versions',
      '',
      table(
        ['', ''],
        [
          ['date', m.startedAt],
          ['CPU', `${m.machine.cpuModel} × ${m.machine.cpus}`],
          ['memory', `${m.machine.memoryGiB} GiB`],
          ['OS', String(m.machine.os)],
          ['Node.js', String(m.machine.node)],
          ['Redis', `${m.redis} (private server per run: \`--save '' --appendonly no\`)`],
          ...Object.entries(m.versions).map(([k, v]) => [k, v]),
          ['runs', String(m.runs)],
          ['sizes', `\`${JSON.stringify(m.sizes)}\``],
        ],
      ),
      '',
    );
  }
  out.push('## Targets', '', targetsSection(r), '');
  out.push('## Settings of each system (fairness)', '');
  for (const s of ORDER) {
    const line = r.systems.get(s);
    if (line) out.push(`- **${label(s)}** ${line.version}: ${line.settings}`);
  }
  out.push('');
  out.push(
    '## 1. Enqueue throughput (tasks/s)',
    '',
    scenarioTable(
      r,
      'enqueue',
      'tasksPerSec',
      '',
      (c) => ({ one: 'one at a time', inflight100: '100 in flight', bulk: 'bulk (1,000 per call)' })[c] ?? c,
      ['bullmq', 'beequeue', 'rawlist'],
    ),
    '',
    'Producer CPU per enqueued task (µs, user + system of the benchmark process; no worker runs):',
    '',
    scenarioTable(
      r,
      'enqueue',
      'clientCpuUsPerTask',
      '',
      (c) => ({ one: 'one at a time', inflight100: '100 in flight', bulk: 'bulk (1,000 per call)' })[c] ?? c,
      ['bullmq', 'beequeue', 'rawlist'],
    ),
    unavailableNotes(r, 'enqueue'),
    '',
  );
  out.push(
    '## 2. Processing throughput (tasks/s), one worker process',
    '',
    `![Throughput by concurrency](${svgName})`,
    '',
    scenarioTable(r, 'process', 'tasksPerSec', '', (c) => `concurrency ${c.slice(1)}`, [
      'bullmq',
      'bullmq-keep',
      'rawlist',
    ]),
    '',
    'Worker CPU per task (µs, user + system of the process while the worker drains the queue): the figure',
    'that explains throughput, since one Node.js process runs the handlers on one thread.',
    '',
    scenarioTable(r, 'process', 'workerCpuUsPerTask', '', (c) => `concurrency ${c.slice(1)}`, [
      'bullmq',
      'rawlist',
    ]),
    unavailableNotes(r, 'process'),
    '',
  );
  out.push(
    '## 3. Latency from enqueue to handler start',
    '',
    latencyTable(r),
    unavailableNotes(r, 'latency'),
    '',
  );
  out.push(
    '## 4. Redis cost per task',
    '',
    costTable(r),
    '',
    'Commands per task by name, sequential (median over runs; a script counts as its EVALSHA plus the commands inside):',
    '',
    commandBreakdown(r, 'per-task'),
    '',
    'Commands per task by name, loaded:',
    '',
    commandBreakdown(r, 'per-task-loaded'),
    unavailableNotes(r, 'cost'),
    '',
  );
  out.push(
    '## 5. Command tasks in the daemon (`/bin/true`)',
    '',
    cases(r, 'command').length
      ? scenarioTable(
          r,
          'command',
          'tasksPerSec',
          '',
          (c) => `concurrency ${c.slice(1)}`,
          ['spawn-loop'],
          'errand-daemon',
        )
      : '',
    unavailableNotes(r, 'command') || '',
    '',
  );
  const sqliteRows = cases(r, 'sqlite').map((c) => [
    `concurrency ${c.slice(1)}`,
    fmtSummary(stat(r, 'process', c, 'errand', 'tasksPerSec')),
    fmtSummary(stat(r, 'sqlite', c, 'errand-sqlite', 'tasksPerSec')),
    fmtSummary(stat(r, 'sqlite', c, 'errand-sqlite', 'enqueuePerSec')),
    fmtSummary(stat(r, 'sqlite', c, 'errand-sqlite', 'enqueueOneByOnePerSec')),
    fmtSummary(stat(r, 'sqlite', c, 'errand-sqlite', 'endToEndPerSec')),
  ]);
  out.push(
    '## 6. Embedded SQLite broker beside Redis',
    '',
    sqliteRows.length
      ? table(
          [
            'tasks/s',
            'Errand on Redis, processing',
            'Errand on SQLite, processing',
            'SQLite sendBulk',
            'SQLite send one by one',
            'SQLite send and process together',
          ],
          sqliteRows,
        )
      : '',
    unavailableNotes(r, 'sqlite'),
    '',
  );
  const scalingRows = cases(r, 'scaling').map((c) => [
    c.slice(1),
    fmtSummary(stat(r, 'scaling', c, 'errand', 'tasksPerSec')),
    fmtSummary(stat(r, 'scaling', c, 'errand', 'redisCpuUsPerTask')),
    fmtSummary(stat(r, 'scaling', c, 'errand', 'workerCpuUsPerTask')),
  ]);
  if (scalingRows.length > 0) {
    out.push(
      '## 7. Scaling past one process',
      '',
      'Worker processes of concurrency 100 each (Errand defaults, results stored) draining the same queue on one',
      'Redis (`npx tsx bench/scaling.ts --out <file>`, then pass that file to `bench/report.ts` too). Redis CPU per',
      'task decides where one Redis saturates: one Redis core serves about 1,000,000 / (that figure) tasks/s.',
      '',
      table(['processes', 'tasks/s', 'Redis CPU µs per task', 'worker CPU µs per task'], scalingRows),
      '',
    );
  }
  out.push(
    '## 8. Resque mode beside node-resque (jobs/s, concurrency 10)',
    '',
    cases(r, 'resque').length
      ? scenarioTable(
          r,
          'resque',
          'tasksPerSec',
          '',
          (c) => `concurrency ${c.slice(1)}`,
          ['node-resque'],
          'errand-resque',
        )
      : '',
    unavailableNotes(r, 'resque'),
    '',
  );
  out.push(
    '## 9. Every broker at concurrency 10',
    '',
    'Errand (defaults, results stored) draining pre-enqueued no-op tasks with one worker at concurrency 10 on',
    "each broker. Results are kept in the broker's own store; RabbitMQ and SQS have none, so theirs go to the",
    'private Redis. Worker CPU counts everything in the benchmark process: for memory and SQLite that includes',
    'the broker itself, for SQS the in-process fauxqs emulator (so it is not what a real SQS costs the worker).',
    '',
    [brokersTable(r), unavailableNotes(r, 'brokers')].filter(Boolean).join('\n\n'),
    '',
  );
  out.push(SHORTFALLS);
  out.push(METHOD);
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

export function renderSvg(r: Results): string {
  const groups = cases(r, 'process');
  const systems = systemsIn(r, 'process', ORDER);
  const series = systems.map((s) => ({
    name: label(s),
    bars: groups.map((g) => {
      const st = stat(r, 'process', g, s, 'tasksPerSec');
      return st ? { value: st.median, min: st.min, max: st.max } : undefined;
    }),
  }));
  const sqlite = cases(r, 'sqlite');
  if (sqlite.length) {
    series.push({
      name: label('errand-sqlite'),
      bars: groups.map((g) => {
        const st = stat(r, 'sqlite', g, 'errand-sqlite', 'tasksPerSec');
        return st ? { value: st.median, min: st.min, max: st.max } : undefined;
      }),
    });
  }
  return barChartSvg({
    title: 'Processing throughput by concurrency (no-op tasks, one worker process)',
    yLabel: 'tasks/s (median; line = min–max)',
    groups: groups.map((g) => `concurrency ${g.slice(1)}`),
    series,
  });
}

export function writeReport(
  files: readonly string[],
  mdPath = 'docs/benchmarks.md',
  svgPath = mdPath.replace(/\.md$/, '.svg'),
): void {
  const r = loadResults(files);
  writeFileSync(svgPath, renderSvg(r));
  writeFileSync(
    mdPath,
    renderMarkdown(
      r,
      basename(svgPath),
      files.map((f) => relative(process.cwd(), f)),
    ),
  );
  process.stderr.write(`wrote ${mdPath} and ${svgPath}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { md: { type: 'string' }, svg: { type: 'string' } },
  });
  if (positionals.length === 0) {
    process.stderr.write(
      'usage: tsx bench/report.ts <results.jsonl>... [--md docs/benchmarks.md] [--svg file.svg]\n',
    );
    process.exit(2);
  }
  writeReport(positionals, values.md, values.svg);
}
