/** Retry delays: fixed, exponential, or Fibonacci as in Machinery (1, 2, 3, 5, 8 … times the base). */

export type BackoffType = 'fixed' | 'exponential' | 'fibonacci';

export interface BackoffSpec {
  readonly type: BackoffType;
  /** Base delay in ms (the first retry's delay before jitter). */
  readonly delayMs: number;
  /** Upper bound of any delay, in ms. */
  readonly maxDelayMs?: number;
  /** Random spread as a fraction of the delay: 0.2 means ±20 %. */
  readonly jitter?: number;
}

export const DEFAULT_BACKOFF: BackoffSpec = {
  type: 'exponential',
  delayMs: 1000,
  maxDelayMs: 3_600_000,
  jitter: 0.1,
};

/** Machinery's sequence: each value is the next Fibonacci number strictly greater than the last. */
function fibonacci(n: number): number {
  let a = 1;
  let b = 2;
  for (let i = 1; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/** Delay before retry number `retry` (1 for the first retry). */
export function backoffDelay(spec: BackoffSpec, retry: number, random: () => number = Math.random): number {
  const n = Math.max(1, retry);
  const raw =
    spec.type === 'fixed'
      ? spec.delayMs
      : spec.type === 'exponential'
        ? spec.delayMs * 2 ** (n - 1)
        : spec.delayMs * fibonacci(n);
  const jitter = spec.jitter ?? 0;
  const spread = jitter > 0 ? raw * jitter * (2 * random() - 1) : 0;
  const max = spec.maxDelayMs ?? Number.POSITIVE_INFINITY;
  return Math.max(0, Math.round(Math.min(max, raw + spread)));
}

export function validateBackoff(spec: BackoffSpec): string | undefined {
  if (!['fixed', 'exponential', 'fibonacci'].includes(spec.type)) {
    return `backoff.type must be "fixed", "exponential" or "fibonacci", got ${JSON.stringify(spec.type)}`;
  }
  if (!(spec.delayMs >= 0)) return 'backoff.delayMs must be a number >= 0';
  if (spec.maxDelayMs !== undefined && !(spec.maxDelayMs >= 0)) return 'backoff.maxDelayMs must be >= 0';
  if (spec.jitter !== undefined && !(spec.jitter >= 0 && spec.jitter <= 1))
    return 'backoff.jitter must be in [0, 1]';
  return undefined;
}
