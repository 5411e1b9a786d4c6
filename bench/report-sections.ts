/** The tables of docs/benchmarks.md: targets, one table per scenario, and notes. */
import {
  cases,
  fmt,
  fmtSummary,
  type Results,
  ratio,
  type Summary,
  stat,
  systemsIn,
} from './lib/aggregate.ts';
import { median } from './lib/stats.ts';

export const ORDER = [
  'errand',
  'errand-noresults',
  'bullmq',
  'bullmq-keep',
  'beequeue',
  'rawlist',
  'errand-sqlite',
  'errand-daemon',
  'spawn-loop',
];
const LABEL: Record<string, string> = {
  errand: 'Errand',
  'errand-noresults': 'Errand, results: false',
  bullmq: 'BullMQ',
  'bullmq-keep': 'BullMQ, completed kept 1 h',
  beequeue: 'Bee-Queue',
  rawlist: 'raw list loop',
  'errand-sqlite': 'Errand (SQLite)',
  'errand-daemon': 'Errand daemon',
  'spawn-loop': 'bare spawn loop',
  'errand-resque': 'Errand, Resque mode',
  'node-resque': 'node-resque (10 Workers)',
};
export const label = (s: string) => LABEL[s] ?? s;

interface Target {
  readonly what: string;
  readonly scenario: string;
  readonly case: string;
  readonly metric: string;
  /** The system Errand is compared with (ratio errand ÷ against); absent: Errand's own value. */
  readonly against?: string;
  /** The ratio (or, with no `against`, the value) must be ≥ min or ≤ max. */
  readonly min?: number;
  readonly max?: number;
}

const processVs = (c: number, against: string, min: number): Target => ({
  what: `Processing throughput, concurrency ${c}, vs ${label(against)}`,
  scenario: 'process',
  case: `c${c}`,
  metric: 'tasksPerSec',
  against,
  min,
});

/** The targets of issue 11, with Errand at its defaults (results stored), each peer at its own. */
export const TARGETS: readonly Target[] = [
  processVs(1, 'bullmq', 1.3),
  processVs(10, 'bullmq', 2.5),
  processVs(100, 'bullmq', 2.5),
  processVs(10, 'rawlist', 0.9),
  processVs(100, 'rawlist', 0.9),
  ...[10, 100].map(
    (c): Target => ({
      what: `Worker CPU per task (µs), concurrency ${c}`,
      scenario: 'process',
      case: `c${c}`,
      metric: 'workerCpuUsPerTask',
      max: 20,
    }),
  ),
  {
    what: 'Enqueue, 100 in flight, vs BullMQ',
    scenario: 'enqueue',
    case: 'inflight100',
    metric: 'tasksPerSec',
    against: 'bullmq',
    min: 2,
  },
  {
    what: 'Enqueue, 100 in flight, vs Bee-Queue',
    scenario: 'enqueue',
    case: 'inflight100',
    metric: 'tasksPerSec',
    against: 'beequeue',
    min: 1,
  },
  {
    what: 'Client CPU per enqueue (µs), 100 in flight',
    scenario: 'enqueue',
    case: 'inflight100',
    metric: 'clientCpuUsPerTask',
    max: 10,
  },
  {
    what: 'p99 latency at 500 tasks/s vs BullMQ',
    scenario: 'latency',
    case: '500/s',
    metric: 'p99Ms',
    against: 'bullmq',
    max: 0.5,
  },
  {
    what: 'Redis memory per waiting task vs BullMQ',
    scenario: 'cost',
    case: 'memory-waiting',
    metric: 'bytesPerWaitingTask',
    against: 'bullmq',
    max: 0.3,
  },
  {
    what: 'Redis commands per task vs BullMQ (loaded: 100 sends in flight, worker c10)',
    scenario: 'cost',
    case: 'per-task-loaded',
    metric: 'commandsPerTask',
    against: 'bullmq',
    max: 0.2,
  },
];

export const ratioText = (s: Summary | undefined) => (s ? fmtSummary(s, '×') : '–');

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function targetsSection(r: Results): string {
  const rows = TARGETS.map((t) => {
    const unit = t.against ? '×' : '';
    const s = t.against
      ? ratio(r, t.scenario, t.case, t.metric, 'errand', t.against)
      : stat(r, t.scenario, t.case, 'errand', t.metric);
    const goal = t.min !== undefined ? `≥ ${t.min}${unit}` : `≤ ${t.max}${unit}`;
    const ok = (v: number) => (t.min !== undefined ? v >= t.min : v <= (t.max ?? Number.POSITIVE_INFINITY));
    const verdict = !s
      ? 'not measured'
      : ok(s.median)
        ? ok(s.min) && ok(s.max)
          ? 'yes'
          : 'yes (median)'
        : '**no**';
    return [t.what, goal, s ? fmtSummary(s, unit) : '–', verdict];
  });
  return table(
    ['Target (ratios: Errand ÷ other, same run)', 'Goal', 'Measured: median (min–max)', 'Met'],
    rows,
  );
}

/** A table with one row per case, one column per system, and Errand ratio columns. */
/** One row per case, one column per system, and ratio columns of `subject` against others. */
export function scenarioTable(
  r: Results,
  scenario: string,
  metric: string,
  unit: string,
  caseLabel: (c: string) => string,
  ratiosAgainst: readonly string[],
  subject = 'errand',
): string {
  const systems = systemsIn(r, scenario, ORDER);
  const header = ['', ...systems.map(label), ...ratiosAgainst.map((a) => `${label(subject)} ÷ ${label(a)}`)];
  const rows = cases(r, scenario).map((c) => [
    caseLabel(c),
    ...systems.map((s) => fmtSummary(stat(r, scenario, c, s, metric), unit)),
    ...ratiosAgainst.map((a) => ratioText(ratio(r, scenario, c, metric, subject, a))),
  ]);
  return table(header, rows);
}

export function latencyTable(r: Results): string {
  const systems = systemsIn(r, 'latency', ORDER);
  const kase = cases(r, 'latency')[0] ?? '500/s';
  const metrics: Array<[string, string]> = [
    ['p50Ms', 'p50'],
    ['p95Ms', 'p95'],
    ['p99Ms', 'p99'],
    ['maxMs', 'max'],
    ['achievedRate', 'achieved rate (tasks/s)'],
  ];
  return table(
    [`${kase}`, ...systems.map(label), 'Errand ÷ BullMQ'],
    metrics.map(([m, name]) => [
      name,
      ...systems.map((s) => fmtSummary(stat(r, 'latency', kase, s, m), m.endsWith('Ms') ? ' ms' : '')),
      ratioText(ratio(r, 'latency', kase, m, 'errand', 'bullmq')),
    ]),
  );
}

export function costTable(r: Results): string {
  const systems = systemsIn(r, 'cost', ORDER);
  const rows: Array<[string, string, string]> = [];
  for (const [c, how] of [
    ['per-task', 'sequential'],
    ['per-task-loaded', 'loaded'],
  ] as const) {
    rows.push(
      [c, 'commandsPerTask', `Redis commands per task, ${how}`],
      [c, 'roundTripsPerTask', `client writes (round trips) per task, ${how}`],
      [c, 'bytesInPerTask', `bytes into Redis per task, ${how}`],
      [c, 'bytesOutPerTask', `bytes out of Redis per task, ${how}`],
    );
  }
  rows.push([
    'memory-waiting',
    'bytesPerWaitingTask',
    'Redis memory per waiting task (bytes, 100-byte payload)',
  ]);
  const table1 = table(
    ['', ...systems.map(label), 'Errand ÷ BullMQ'],
    rows
      .filter(([c, m]) => systems.some((s) => stat(r, 'cost', c, s, m)))
      .map(([c, m, name]) => [
        name,
        ...systems.map((s) => fmtSummary(stat(r, 'cost', c, s, m))),
        ratioText(ratio(r, 'cost', c, m, 'errand', 'bullmq')),
      ]),
  );
  // Redis-side load while processing (scenario 2): where the server's time goes per task.
  const psystems = systemsIn(r, 'process', ORDER);
  const prows = cases(r, 'process').flatMap((c) =>
    [
      [
        `Redis CPU µs per task, concurrency ${c.slice(1)}`,
        ...psystems.map((s) => fmtSummary(stat(r, 'process', c, s, 'redisCpuUsPerTask'))),
        ratioText(ratio(r, 'process', c, 'redisCpuUsPerTask', 'errand', 'bullmq')),
      ],
      [
        `Redis commands per task, concurrency ${c.slice(1)}`,
        ...psystems.map((s) => fmtSummary(stat(r, 'process', c, s, 'redisCommandsPerTask'))),
        ratioText(ratio(r, 'process', c, 'redisCommandsPerTask', 'errand', 'bullmq')),
      ],
    ].filter((row) => row.slice(1, -1).some((cell) => cell !== '–')),
  );
  const table2 = prows.length
    ? table(
        ['While processing pre-enqueued tasks (scenario 2)', ...psystems.map(label), 'Errand ÷ BullMQ'],
        prows,
      )
    : '';
  return `${table1}\n\n${table2}`;
}

/** Median per-task count of each command, per system. */
export function commandBreakdown(r: Results, kase: string): string {
  const systems = systemsIn(r, 'cost', ORDER);
  const lines: string[] = [];
  for (const s of systems) {
    const perName = new Map<string, number[]>();
    for (const x of r.results) {
      if (x.scenario !== 'cost' || x.case !== kase || x.system !== s) continue;
      const by = (x.detail?.commandsPerTaskByName ?? {}) as Record<string, number>;
      for (const [k, v] of Object.entries(by)) perName.set(k, [...(perName.get(k) ?? []), v]);
    }
    const parts = [...perName]
      .map(([k, v]) => [k, median(v)] as const)
      .filter(([, v]) => v >= 0.005)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${fmt(v)}`);
    if (parts.length) lines.push(`- **${label(s)}**: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}

export function unavailableNotes(r: Results, scenario: string): string {
  const notes = new Set(
    r.results
      .filter((x) => x.scenario === scenario && (x.unavailable || x.error))
      .map(
        (x) =>
          `- ${label(x.system)}${x.case !== '*' ? ` ${x.case}` : ''}: ${x.unavailable ? 'unavailable' : 'error'} — ${x.unavailable ?? x.error}`,
      ),
  );
  return [...notes].join('\n');
}

const BROKER_LABEL: Record<string, string> = {
  memory: '`memory:`',
  sqlite: '`sqlite:<file>`',
  redis: '`redis://`',
  amqp: '`amqp://` (RabbitMQ)',
  sqs: '`sqs://` (fauxqs)',
};

/** Scenario 9: one row per broker (the case), Errand's tasks/s and worker CPU per task. */
export function brokersTable(r: Results): string {
  const rows = cases(r, 'brokers')
    .filter((c) => stat(r, 'brokers', c, 'errand', 'tasksPerSec'))
    .map((c) => [
      BROKER_LABEL[c] ?? c,
      fmtSummary(stat(r, 'brokers', c, 'errand', 'tasksPerSec')),
      fmtSummary(stat(r, 'brokers', c, 'errand', 'workerCpuUsPerTask')),
    ]);
  return rows.length ? table(['broker', 'tasks/s', 'worker CPU µs per task'], rows) : '';
}
