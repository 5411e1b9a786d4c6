/** Argument parsing for the `errand` commands: node:util.parseArgs plus Go-style flag spelling. */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Wrong use of the command line: exit status 2, with the command's help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Go's flag package accepts `-name` as well as `--name`, and `-x=value`: Gordon and Goophry users
 * type `-conf`, `-logfile`, `-test`, `-verbose`, `-version`. Rewrites those to the
 * parseArgs spelling (`--name`, `--name=value`). Stops at `--`.
 */
export function normaliseGoFlags(argv: readonly string[], options: Options): string[] {
  const out: string[] = [];
  const longOf = new Map<string, string>();
  for (const [long, o] of Object.entries(options)) if (o.short) longOf.set(o.short, long);
  let passthrough = false;
  for (const arg of argv) {
    if (passthrough || arg === '--') {
      passthrough = true;
      out.push(arg);
      continue;
    }
    const m = /^-([A-Za-z][\w-]*)(=.*)?$/.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    const name = m[1] ?? '';
    const inline = m[2] ?? '';
    if (name.length > 1 && name in options) out.push(`--${name}${inline}`);
    else if (name.length === 1 && inline !== '' && longOf.has(name))
      out.push(`--${longOf.get(name)}${inline}`);
    else out.push(arg);
  }
  return out;
}

export interface Parsed {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

export function parse(argv: readonly string[], options: Options, allowPositionals: boolean): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: normaliseGoFlags(argv, options),
      options,
      allowPositionals,
      strict: true,
    });
    return { values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const strs = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** A whole number of milliseconds >= 0 from a flag, or a UsageError naming the flag. */
export function millis(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw new UsageError(`${flag} must be a whole number of milliseconds >= 0 (got ${JSON.stringify(v)})`);
  }
  return n;
}

/** What a command prints and returns; kept apart from process.* so tests can run commands in-process. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
}
