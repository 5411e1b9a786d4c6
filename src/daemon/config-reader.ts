/**
 * A small hand-written validator for parsed config files: reads typed values at a key
 * path and collects every problem as `path: problem (got …)`, so one run of
 * `errand worker --test` lists all mistakes at once.
 */

export type Plain = Record<string, unknown>;

export const isPlainObject = (v: unknown): v is Plain =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Every problem found in a config file; the message lists them one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(problems.length === 1 ? (problems[0] ?? '') : problems.join('\n'));
  }
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (isPlainObject(v)) return 'a table';
  return String(v);
};

/** Parses "500ms", "30s", "5m", "1h" or a plain number of seconds into milliseconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export class Reader {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];

  /**
   * @param caseInsensitive Gordon and Goophry matched keys case-insensitively (Go's
   *   decoders do); Errand's own format does not.
   */
  constructor(readonly caseInsensitive: boolean) {}

  private find(obj: Plain, key: string): unknown {
    if (key in obj) return obj[key];
    if (!this.caseInsensitive) return undefined;
    const lower = key.toLowerCase();
    for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
    return undefined;
  }

  has(obj: Plain, key: string): boolean {
    return this.find(obj, key) !== undefined;
  }

  /** Records a problem; returns undefined so readers can `return this.problem(...)`. */
  problem(path: string, text: string, ...got: [unknown?]): undefined {
    this.problems.push(got.length > 0 ? `${path}: ${text} (got ${show(got[0])})` : `${path}: ${text}`);
    return undefined;
  }

  /** Reports keys of `obj` that are not in `known` (an error in Errand's format, a warning otherwise). */
  unknownKeys(obj: Plain, base: string, known: readonly string[], asWarning: boolean): void {
    const set = new Set(known.map((k) => (this.caseInsensitive ? k.toLowerCase() : k)));
    for (const k of Object.keys(obj)) {
      if (set.has(this.caseInsensitive ? k.toLowerCase() : k)) continue;
      const near = closest(k, known);
      const text = `${join(base, k)}: unknown key${near ? ` (did you mean "${near}"?)` : ''}`;
      if (asWarning) this.warnings.push(`${text} (ignored)`);
      else this.problems.push(text);
    }
  }

  string(obj: Plain, base: string, key: string): string | undefined {
    const v = this.find(obj, key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') return this.problem(join(base, key), 'must be a string', v);
    return v;
  }

  bool(obj: Plain, base: string, key: string): boolean | undefined {
    const v = this.find(obj, key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return this.problem(join(base, key), 'must be true or false', v);
    return v;
  }

  number(
    obj: Plain,
    base: string,
    key: string,
    opts: { int?: boolean; min?: number } = {},
  ): number | undefined {
    const v = this.find(obj, key);
    if (v === undefined) return undefined;
    const path = join(base, key);
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.problem(path, 'must be a number', v);
    if (opts.int && !Number.isInteger(v)) return this.problem(path, 'must be a whole number', v);
    if (opts.min !== undefined && v < opts.min) {
      return this.problem(path, `must be a number >= ${opts.min}`, v);
    }
    return v;
  }

  /** A duration in ms: a number of seconds or a string like "500ms", "30s", "5m". */
  duration(obj: Plain, base: string, key: string, positive: boolean): number | undefined {
    const v = this.find(obj, key);
    if (v === undefined) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined || (positive && ms <= 0)) {
      const what = positive ? 'a positive' : 'a';
      this.problem(
        join(base, key),
        `must be ${what} number of seconds or a duration like "30s" or "500ms"`,
        v,
      );
      return undefined;
    }
    return ms;
  }

  stringArray(obj: Plain, base: string, key: string): string[] | undefined {
    const v = this.find(obj, key);
    if (v === undefined) return undefined;
    const path = join(base, key);
    if (!Array.isArray(v)) return this.problem(path, 'must be an array of strings', v);
    const bad = v.findIndex((x) => typeof x !== 'string');
    if (bad >= 0) return this.problem(`${path}[${bad}]`, 'must be a string', v[bad]);
    return v as string[];
  }

  stringMap(obj: Plain, base: string, key: string): Record<string, string> | undefined {
    const v = this.find(obj, key);
    if (v === undefined) return undefined;
    const path = join(base, key);
    if (!isPlainObject(v)) return this.problem(path, 'must be a table of strings', v);
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'string') return this.problem(join(path, k), 'must be a string', x);
    }
    return v as Record<string, string>;
  }

  table(obj: Plain, base: string, key: string): Plain | undefined {
    const v = this.find(obj, key);
    if (v === undefined) return undefined;
    if (!isPlainObject(v)) return this.problem(join(base, key), 'must be a table', v);
    return v;
  }

  oneOf<T extends string>(obj: Plain, base: string, key: string, allowed: readonly T[]): T | undefined {
    const v = this.string(obj, base, key);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problem(join(base, key), `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, v);
      return undefined;
    }
    return v as T;
  }
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[x.length] as number[])[y.length] as number;
}

/** The known key a mistyped `key` most likely meant: within 2 edits (1 for short keys), else undefined. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const dist = editDistance(key, k);
    if (dist < bestDistance) {
      best = k;
      bestDistance = dist;
    }
  }
  const allowed = key.length <= 4 ? 1 : 2;
  return bestDistance > 0 && bestDistance <= allowed ? best : undefined;
}

export const join = (base: string, key: string): string => {
  const k = /^[A-Za-z_][\w-]*$/.test(key) ? key : JSON.stringify(key);
  return base === '' ? k : `${base}.${k}`;
};
