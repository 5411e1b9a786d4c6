/** Options users write, their defaults, and their validation (errors name the key). */

import { type Links, linksProblem } from '../workflow/wire.ts';
import { type BackoffSpec, DEFAULT_BACKOFF, show, validateBackoff } from './backoff.ts';
import { ErrandConfigError } from './errors.ts';
import { MAX_TIMEOUT_MS, type MessageCodec } from './message.ts';
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
  /** Workflow follow-ups on the wire (docs/protocol.md, "Workflow links"), for a task sent by name; `task.s()` builds them for you. */
  readonly links?: Links;
}

export type TaskOptions = Omit<SendOptions, 'id' | 'links'>;

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
  /**
   * Where results live: a URL (`redis://…`, `sqlite:path`, `memory:`, or any scheme a module
   * registered) or a ResultBackend. Default: the broker's own store; a broker without one
   * (`amqp://`) needs it.
   */
  readonly backend?: string | ResultBackend;
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

function positiveInt(key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) <= 0)
    throw new ErrandConfigError(key, `must be a positive integer (got ${show(value)})`);
  return value as number;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkQueues(queues: unknown): Readonly<Record<string, QueueConfig>> {
  if (queues === undefined) return {};
  if (!isObject(queues)) throw new ErrandConfigError('queues', `must be an object (got ${show(queues)})`);
  for (const [name, config] of Object.entries(queues)) {
    const key = `queues.${name}`;
    if (name === '' || /[{}]/.test(name))
      throw new ErrandConfigError(key, 'a queue name must be non-empty, without braces');
    if (!isObject(config)) throw new ErrandConfigError(key, `must be an object (got ${show(config)})`);
    if (config.listKey !== undefined && (typeof config.listKey !== 'string' || config.listKey === '')) {
      throw new ErrandConfigError(
        `${key}.listKey`,
        `must be a non-empty string (got ${show(config.listKey)})`,
      );
    }
    const codec = config.codec;
    if (
      codec !== undefined &&
      !(isObject(codec) && typeof codec.decode === 'function' && typeof codec.encode === 'function')
    ) {
      throw new ErrandConfigError(`${key}.codec`, 'must be an object with decode() and encode() methods');
    }
  }
  return queues as Readonly<Record<string, QueueConfig>>;
}

function checkLogger(logger: unknown): Logger | undefined {
  if (logger === undefined) return undefined;
  const levels = ['debug', 'info', 'warn', 'error'] as const;
  if (!isObject(logger) || !levels.every((level) => typeof logger[level] === 'function')) {
    throw new ErrandConfigError('logger', 'must have debug(), info(), warn() and error() methods');
  }
  return logger as unknown as Logger;
}

export function resolveOptions(options: ErrandOptions): ResolvedOptions {
  if (!isObject(options)) throw new ErrandConfigError('options', `must be an object (got ${show(options)})`);
  const prefix = options.prefix ?? 'errand';
  if (typeof prefix !== 'string' || !/^[\w.:-]+$/.test(prefix)) {
    throw new ErrandConfigError(
      'prefix',
      `must contain only letters, digits, "_", ".", ":" or "-" (got ${show(prefix)})`,
    );
  }
  return {
    prefix,
    resultTtlMs: positiveInt('resultTtlMs', options.resultTtlMs, 3_600_000),
    maxDeliveries: positiveInt('maxDeliveries', options.maxDeliveries, 5),
    maxMessageBytes: positiveInt('maxMessageBytes', options.maxMessageBytes, 1024 * 1024),
    deadLetterLimit: positiveInt('deadLetterLimit', options.deadLetterLimit, 10_000),
    queues: checkQueues(options.queues),
    logger: checkLogger(options.logger) ?? stderrLogger,
  };
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks send/task options; `where` prefixes the key in messages (e.g. `send("add")`). */
export function validateSendOptions(where: string, options: SendOptions): void {
  const bad = (key: string, problem: string): never => {
    throw new ErrandConfigError(`${where}.${key}`, problem);
  };
  if (!isObject(options))
    throw new ErrandConfigError(where, `options must be an object (got ${show(options)})`);
  const { queue, delayMs, eta, retries, timeoutMs, backoff, id, env, links } = options as SendOptions;
  if (links !== undefined) {
    const problem = linksProblem(links);
    if (problem) bad('links', problem);
  }
  if (queue !== undefined && (typeof queue !== 'string' || queue === '' || /[{}]/.test(queue))) {
    bad('queue', `must be a non-empty string without braces (got ${show(queue)})`);
  }
  if (delayMs !== undefined && !(isFiniteNumber(delayMs) && delayMs >= 0)) {
    bad('delayMs', `must be a finite number >= 0 (got ${show(delayMs)})`);
  }
  if (eta !== undefined) {
    const at = eta instanceof Date ? eta.getTime() : eta;
    // 8.64e15 ms is the last time a Date can hold.
    if (!(isFiniteNumber(at) && Math.abs(at) <= 8.64e15)) {
      bad(
        'eta',
        `must be a valid Date or finite epoch milliseconds (got ${eta instanceof Date ? 'an invalid Date' : show(eta)})`,
      );
    }
  }
  if (delayMs !== undefined && eta !== undefined) bad('delayMs', 'give delayMs or eta, not both');
  if (retries !== undefined && !(Number.isSafeInteger(retries) && retries >= 0)) {
    bad('retries', `must be an integer >= 0 (got ${show(retries)})`);
  }
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) {
    bad('timeoutMs', `must be a number > 0 (got ${show(timeoutMs)})`);
  }
  if (timeoutMs !== undefined && timeoutMs > MAX_TIMEOUT_MS) {
    bad(
      'timeoutMs',
      `must be at most ${MAX_TIMEOUT_MS} ms (about 24.8 days: Node timers cannot wait longer), got ${show(timeoutMs)}`,
    );
  }
  if (backoff !== undefined) {
    const problem = validateBackoff(backoff);
    if (problem) bad('backoff', problem);
  }
  if (id !== undefined && (typeof id !== 'string' || id === ''))
    bad('id', `must be a non-empty string (got ${show(id)})`);
  if (env !== undefined && !(isObject(env) && Object.values(env).every((v) => typeof v === 'string'))) {
    bad('env', 'must be an object mapping names to strings');
  }
}

export function dueAtOf(options: SendOptions, now: number): number | undefined {
  if (options.eta !== undefined) return options.eta instanceof Date ? options.eta.getTime() : options.eta;
  if (options.delayMs !== undefined && options.delayMs > 0) return now + options.delayMs;
  return undefined;
}

export { DEFAULT_BACKOFF };
