/** Options users write, their defaults, and their validation (errors name the key). */
import { type BackoffSpec, DEFAULT_BACKOFF, validateBackoff } from './backoff.ts';
import { ErrandConfigError } from './errors.ts';
import type { MessageCodec } from './message.ts';
import type { Broker, ResultBackend } from './port.ts';

/** Per call (`send`, `sendBulk`) and, except `id`, as task defaults. */
export interface SendOptions {
  /** Queue to send to; default the task's queue, else `"default"`. */
  readonly queue?: string;
  /** Run no sooner than this many ms from now. */
  readonly delayMs?: number;
  /** Run no sooner than this time (a Date or epoch ms). */
  readonly eta?: Date | number;
  /** Retries after the first attempt fails (default 0). */
  readonly retries?: number;
  readonly backoff?: BackoffSpec;
  /** Time limit of one attempt; its AbortSignal fires when it passes. */
  readonly timeoutMs?: number;
  /** Task id; sending the same id again while it is remembered (`resultTtlMs`) runs the task once. */
  readonly id?: string;
  /** Environment variables for command tasks run by the `errand` daemon (library handlers see them in `this.message.env`). */
  readonly env?: Readonly<Record<string, string>>;
}

export type TaskOptions = Omit<SendOptions, 'id'>;

export interface QueueConfig {
  /** Redis only: consume this LIST instead of Errand's own `<prefix>:{<queue>}:wait`. */
  readonly listKey?: string;
  /** How entries of this queue are decoded and encoded (default: Errand's JSON format). */
  readonly codec?: MessageCodec;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface ErrandOptions {
  /**
   * Where messages live: a URL (`redis://…`, `rediss://…`, `sqlite:path`, `memory:`) or a Broker.
   * Default: `$ERRAND_BROKER`, else the embedded `sqlite:./errand.db`.
   */
  readonly broker?: string | Broker;
  /** Where results live; default the broker's own store (Redis, SQLite or memory). */
  readonly backend?: ResultBackend;
  /** Namespace of every key or table row Errand writes (default `"errand"`). */
  readonly prefix?: string;
  /** How long results and idempotency keys are kept (default 1 hour). */
  readonly resultTtlMs?: number;
  /** A task whose lease expires this many times goes to the dead letters (default 5). */
  readonly maxDeliveries?: number;
  /** Larger messages are refused at send and dead-lettered at receive (default 1 MiB). */
  readonly maxMessageBytes?: number;
  /** Dead letters kept per queue (default 10,000). */
  readonly deadLetterLimit?: number;
  readonly queues?: Readonly<Record<string, QueueConfig>>;
  readonly logger?: Logger;
}

export interface ResolvedOptions {
  readonly prefix: string;
  readonly resultTtlMs: number;
  readonly maxDeliveries: number;
  readonly maxMessageBytes: number;
  readonly deadLetterLimit: number;
  readonly queues: Readonly<Record<string, QueueConfig>>;
  readonly logger: Logger;
}

export const DEFAULT_QUEUE = 'default';

const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => console.warn(`[errand] ${message}`, fields ?? ''),
  error: (message, fields) => console.error(`[errand] ${message}`, fields ?? ''),
};

function positiveInt(key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new ErrandConfigError(key, `must be a positive integer (got ${value})`);
  return value;
}

export function resolveOptions(options: ErrandOptions): ResolvedOptions {
  const prefix = options.prefix ?? 'errand';
  if (!/^[\w.:-]+$/.test(prefix)) {
    throw new ErrandConfigError(
      'prefix',
      `must contain only letters, digits, "_", ".", ":" or "-" (got ${JSON.stringify(prefix)})`,
    );
  }
  return {
    prefix,
    resultTtlMs: positiveInt('resultTtlMs', options.resultTtlMs, 3_600_000),
    maxDeliveries: positiveInt('maxDeliveries', options.maxDeliveries, 5),
    maxMessageBytes: positiveInt('maxMessageBytes', options.maxMessageBytes, 1024 * 1024),
    deadLetterLimit: positiveInt('deadLetterLimit', options.deadLetterLimit, 10_000),
    queues: options.queues ?? {},
    logger: options.logger ?? stderrLogger,
  };
}

/** Checks send/task options; `where` prefixes the key in messages (e.g. `send("add")`). */
export function validateSendOptions(where: string, options: SendOptions): void {
  const bad = (key: string, problem: string): never => {
    throw new ErrandConfigError(`${where}.${key}`, problem);
  };
  const { queue, delayMs, eta, retries, timeoutMs, backoff, id } = options;
  if (queue !== undefined && (typeof queue !== 'string' || queue === '' || /[{}]/.test(queue))) {
    bad('queue', `must be a non-empty string without braces (got ${JSON.stringify(queue)})`);
  }
  if (delayMs !== undefined && !(delayMs >= 0)) bad('delayMs', `must be a number >= 0 (got ${delayMs})`);
  if (eta !== undefined && Number.isNaN(eta instanceof Date ? eta.getTime() : Number(eta))) {
    bad('eta', 'must be a Date or epoch milliseconds');
  }
  if (delayMs !== undefined && eta !== undefined) bad('delayMs', 'give delayMs or eta, not both');
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    bad('retries', `must be an integer >= 0 (got ${retries})`);
  }
  if (timeoutMs !== undefined && !(timeoutMs > 0))
    bad('timeoutMs', `must be a number > 0 (got ${timeoutMs})`);
  if (backoff !== undefined) {
    const problem = validateBackoff(backoff);
    if (problem) bad('backoff', problem);
  }
  if (id !== undefined && (typeof id !== 'string' || id === '')) bad('id', 'must be a non-empty string');
  if (options.env !== undefined && !Object.values(options.env).every((v) => typeof v === 'string')) {
    bad('env', 'must map names to strings');
  }
}

export function dueAtOf(options: SendOptions, now: number): number | undefined {
  if (options.eta !== undefined) return options.eta instanceof Date ? options.eta.getTime() : options.eta;
  if (options.delayMs !== undefined && options.delayMs > 0) return now + options.delayMs;
  return undefined;
}

export { DEFAULT_BACKOFF };
