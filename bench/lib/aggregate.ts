/** Reading JSON-lines result files and summarising them: median and min–max over runs, ratios. */
import { readFileSync } from 'node:fs';
import { median } from './stats.ts';

export interface MetaLine {
  readonly type: 'meta';
  readonly startedAt: string;
  readonly smoke: boolean;
  readonly runs: number;
  readonly sizes: Record<string, unknown>;
  readonly systems: readonly string[];
  readonly machine: Record<string, string | number>;
  readonly redis: string;
  readonly versions: Record<string, string>;
}

export interface SystemLine {
  readonly type: 'system';
  readonly name: string;
  readonly version: string;
  readonly settings: string;
}

export interface ResultLine {
  readonly type: 'result';
  readonly run: number;
  readonly scenario: string;
  readonly case: string;
  readonly system: string;
  readonly metrics: Record<string, number>;
  readonly detail?: Record<string, unknown>;
  readonly unavailable?: string;
  readonly error?: string;
}

export interface Results {
  readonly meta: MetaLine | undefined;
  readonly systems: Map<string, SystemLine>;
  readonly results: ResultLine[];
}

export function loadResults(files: readonly string[]): Results {
  let meta: MetaLine | undefined;
  const systems = new Map<string, SystemLine>();
  const results: ResultLine[] = [];
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let obj: { type?: string };
      try {
        obj = JSON.parse(line) as { type?: string };
      } catch (err) {
        throw new Error(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
      }
      if (obj.type === 'meta') meta ??= obj as MetaLine;
      else if (obj.type === 'system') systems.set((obj as SystemLine).name, obj as SystemLine);
      else if (obj.type === 'result') results.push(obj as ResultLine);
      else throw new Error(`${file}:${i + 1}: unknown line type ${JSON.stringify(obj.type)}`);
    });
  }
  return { meta, systems, results };
}

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function summarise(values: readonly number[]): Summary | undefined {
  const ok = values.filter((v) => Number.isFinite(v));
  if (ok.length === 0) return undefined;
  return { median: median(ok), min: Math.min(...ok), max: Math.max(...ok), n: ok.length };
}

/** Values of one metric over runs, for a scenario/case/system. */
export function values(r: Results, scenario: string, kase: string, system: string, metric: string): number[] {
  return r.results
    .filter(
      (x) => x.scenario === scenario && x.case === kase && x.system === system && !x.error && !x.unavailable,
    )
    .map((x) => x.metrics[metric])
    .filter((v): v is number => typeof v === 'number');
}

export function stat(r: Results, scenario: string, kase: string, system: string, metric: string) {
  return summarise(values(r, scenario, kase, system, metric));
}

/** Per-run ratio a/b of one metric (same run only), summarised over runs. */
export function ratio(
  r: Results,
  scenario: string,
  kase: string,
  metric: string,
  a: string,
  b: string,
): Summary | undefined {
  const byRun = (system: string) =>
    new Map(
      r.results
        .filter((x) => x.scenario === scenario && x.case === kase && x.system === system && !x.error)
        .map((x) => [x.run, x.metrics[metric]] as const),
    );
  const ra = byRun(a);
  const rb = byRun(b);
  const out: number[] = [];
  for (const [run, va] of ra) {
    const vb = rb.get(run);
    if (typeof va === 'number' && typeof vb === 'number' && vb !== 0) out.push(va / vb);
  }
  return summarise(out);
}

/** Cases of a scenario in first-seen order. */
export function cases(r: Results, scenario: string): string[] {
  return [...new Set(r.results.filter((x) => x.scenario === scenario && x.case !== '*').map((x) => x.case))];
}

/** Systems that reported in a scenario, in the preferred order. */
export function systemsIn(r: Results, scenario: string, order: readonly string[]): string[] {
  const seen = new Set(r.results.filter((x) => x.scenario === scenario).map((x) => x.system));
  return [...order.filter((s) => seen.has(s)), ...[...seen].filter((s) => !order.includes(s))];
}

/** Formats a number for a table: 3 significant digits, thousands grouped. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}

export function fmtSummary(s: Summary | undefined, unit = ''): string {
  if (!s) return '–';
  if (s.n === 1 || s.min === s.max) return `${fmt(s.median)}${unit}`;
  return `${fmt(s.median)}${unit} (${fmt(s.min)}–${fmt(s.max)})`;
}
