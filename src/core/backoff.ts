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

/**
 * No retry is ever scheduled further out than this (one year), whatever the spec says: an
 * exponential backoff overflows to Infinity after ~1,000 retries, and a due time must stay finite.
 */
export const MAX_BACKOFF_MS = 365 * 24 * 3_600_000;

const BACKOFF_TYPES: readonly string[] = ['fixed', 'exponential', 'fibonacci'];

/** Machinery's sequence: each value is the next Fibonacci number strictly greater than the last. */
function fibonacci(n: number): number {
  let a = 1;
  let b = 2;
  // Past ~1,500 terms the values are Infinity anyway: stop early rather than loop a million times.
  for (let i = 1; i < n && Number.isFinite(a); i++) [a, b] = [b, a + b];
  return a;
}

/**
 * Delay before retry number `retry` (1 for the first retry): always a finite integer in
 * [0, MAX_BACKOFF_MS]. A spec that fails `validateBackoff` (it can come from a stored message)
 * yields DEFAULT_BACKOFF's delay, never NaN.
 */
export function backoffDelay(spec: BackoffSpec, retry: number, random: () => number = Math.random): number {
  if (validateBackoff(spec) !== undefined) spec = DEFAULT_BACKOFF;
  const n = Number.isFinite(retry) ? Math.max(1, Math.floor(retry)) : 1;
  const raw =
    spec.type === 'fixed'
      ? spec.delayMs
      : spec.type === 'exponential'
        ? spec.delayMs * 2 ** (n - 1)
        : spec.delayMs * fibonacci(n);
  const jitter = spec.jitter ?? 0;
  const r = random();
  const spread = jitter > 0 && Number.isFinite(raw) && r >= 0 && r <= 1 ? raw * jitter * (2 * r - 1) : 0;
  const max = Math.min(spec.maxDelayMs ?? MAX_BACKOFF_MS, MAX_BACKOFF_MS);
  // 0 × Infinity (delayMs 0, huge retry) is NaN: a zero base means no delay at all.
  const delay = Number.isNaN(raw) ? 0 : Math.min(max, raw + spread);
  return Math.max(0, Math.round(delay));
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A value as a reader would write it (JSON.stringify prints NaN and Infinity as null). */
export function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  try {
    return JSON.stringify(v)?.slice(0, 80) ?? typeof v;
  } catch {
    return typeof v;
  }
}

/** The problem with a backoff spec (which may come from a stored message of any shape), or undefined. */
export function validateBackoff(spec: unknown): string | undefined {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return `backoff must be an object, got ${Array.isArray(spec) ? 'an array' : show(spec)}`;
  }
  const { type, delayMs, maxDelayMs, jitter } = spec as Record<string, unknown>;
  if (typeof type !== 'string' || !BACKOFF_TYPES.includes(type)) {
    return `backoff.type must be "fixed", "exponential" or "fibonacci", got ${show(type)}`;
  }
  if (!isFiniteNumber(delayMs) || delayMs < 0) {
    return `backoff.delayMs must be a finite number >= 0, got ${show(delayMs)}`;
  }
  if (maxDelayMs !== undefined && !(isFiniteNumber(maxDelayMs) && maxDelayMs >= 0)) {
    return `backoff.maxDelayMs must be a finite number >= 0, got ${show(maxDelayMs)}`;
  }
  if (jitter !== undefined && !(isFiniteNumber(jitter) && jitter >= 0 && jitter <= 1)) {
    return `backoff.jitter must be a number in [0, 1], got ${show(jitter)}`;
  }
  return undefined;
}

/**
 * Delay of a retry a handler asked for (`RetryLater(delayMs)`), else the backoff's: a missing,
 * negative or non-numeric request uses the backoff, and no delay exceeds MAX_BACKOFF_MS.
 */
export function retryDelay(requested: unknown, spec: BackoffSpec, retry: number): number {
  if (typeof requested === 'number' && requested >= 0) return Math.round(Math.min(requested, MAX_BACKOFF_MS));
  return backoffDelay(spec, retry);
}
