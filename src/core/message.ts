/**
 * The open wire format (version 1). Any language can enqueue a task with one plain
 * Redis command, e.g. `RPUSH errand:{default}:wait '{"task":"add","args":[2,3]}'`.
 * See docs/protocol.md and schema/message.v1.json.
 */
import type { Links } from '../workflow/wire.ts';
import { linksProblem } from '../workflow/wire.ts';
import { type BackoffSpec, show, validateBackoff } from './backoff.ts';

export const WIRE_VERSION = 1;
/**
 * Version of a message that carries workflow `links`: a worker that predates them dead-letters it
 * as unsupported (a trace) instead of running it and silently dropping its follow-ups.
 */
export const LINKS_WIRE_VERSION = 2;

export interface TaskMessage {
  /** Format version; absent means 1. 2: the message carries `links` (otherwise the same format). */
  readonly v: 1 | 2;
  /** Task id; a worker assigns one to a message that has none. */
  readonly id: string;
  /** Registered task name. */
  readonly task: string;
  /** Positional arguments (JSON values). */
  readonly args: readonly unknown[];
  /** Attempts already made (0 for a new task). */
  readonly attempt: number;
  /** Retries allowed after the first attempt; absent means the task's default. */
  readonly retries?: number;
  readonly backoff?: BackoffSpec;
  /** Per-attempt time limit; absent means the task's default. */
  readonly timeoutMs?: number;
  /** When the task was first sent (epoch ms). */
  readonly createdAt?: number;
  /** Environment for command tasks (the daemon); ignored by library handlers. */
  readonly env?: Readonly<Record<string, string>>;
  /** Workflow follow-ups (chains, callbacks, group membership): src/workflow/wire.ts, docs/protocol.md. */
  readonly links?: Links;
  /** Trace context of the sender (W3C `traceparent`/`tracestate`), written by an errand:enqueue subscriber. */
  readonly trace?: Readonly<Record<string, string>>;
}

export type DecodeResult =
  | { readonly ok: true; readonly message: TaskMessage; readonly assignedId: boolean }
  | { readonly ok: false; readonly reason: string };

/** Turns stored strings into messages and back. The daemon plugs in Gordon's format here. */
export interface MessageCodec {
  decode(body: string, newId: () => string): DecodeResult;
  encode(message: TaskMessage): string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Longest `timeoutMs`: Node's timers cannot wait longer (2^31 - 1 ms, about 24.8 days) and
 * fire at once instead, so a longer limit would fail every attempt after 1 ms.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Deepest nesting of arrays and objects in a message. JSON.stringify recurses, and past a few
 * thousand levels it throws on every attempt to re-encode the message (for a retry or a dead
 * letter); such a message is refused up front, with this reason, instead.
 */
export const MAX_NESTING = 1000;

/** Nesting depth of a JSON value, stopping as soon as it passes `limit` (iterative: no recursion). */
export function nestingDepth(value: unknown, limit = MAX_NESTING): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

type Check = readonly [key: string, test: (v: unknown) => boolean, what: string];

/** Optional fields: absent is fine, present must pass its test. Numbers must be finite. */
const OPTIONAL_FIELDS: readonly Check[] = [
  ['id', (v) => typeof v === 'string' && v !== '', 'a non-empty string'],
  ['attempt', isCount, 'a non-negative integer'],
  ['retries', isCount, 'a non-negative integer'],
  [
    'timeoutMs',
    (v) => typeof v === 'number' && v > 0 && v <= MAX_TIMEOUT_MS,
    `a number of ms in (0, ${MAX_TIMEOUT_MS}] (Node timers cannot wait longer)`,
  ],
  ['createdAt', (v) => typeof v === 'number' && Number.isFinite(v), 'a finite number (epoch ms)'],
  [
    'env',
    (v) => isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string'),
    'an object of strings',
  ],
  [
    'trace',
    (v) => isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string'),
    'an object of strings',
  ],
];

/** How toMessage may treat a value it was given by a decoder. */
interface Provenance {
  /** Parsed from JSON of this many characters: depth d needs 2d of them, so a short one is shallow. */
  readonly jsonLength?: number;
  /** A fresh object nobody else holds: completed in place rather than copied. */
  readonly owned?: boolean;
}

/** Validates a decoded JSON value as a version-1 message. Returns the problem, or the message. */
export function toMessage(value: unknown, newId: () => string, from: Provenance = {}): DecodeResult {
  if (!isPlainObject(value)) return { ok: false, reason: 'message is not a JSON object' };
  if (value.v !== undefined && value.v !== WIRE_VERSION && value.v !== LINKS_WIRE_VERSION) {
    return {
      ok: false,
      reason: `unsupported message format version ${show(value.v)} (this worker reads 1 and 2)`,
    };
  }
  if (typeof value.task !== 'string' || value.task === '') {
    return { ok: false, reason: 'message has no task name ("task" must be a non-empty string)' };
  }
  if (value.args !== undefined && !Array.isArray(value.args)) {
    return {
      ok: false,
      reason: `"args" must be an array, got ${value.args === null ? 'null' : typeof value.args}`,
    };
  }
  for (const [key, test, what] of OPTIONAL_FIELDS) {
    if (value[key] !== undefined && !test(value[key])) {
      return { ok: false, reason: `"${key}" must be ${what}, got ${show(value[key])}` };
    }
  }
  if (value.backoff !== undefined) {
    const problem = validateBackoff(value.backoff);
    if (problem) return { ok: false, reason: `"backoff" is invalid: ${problem}` };
  }
  if (value.links !== undefined) {
    const problem = linksProblem(value.links);
    if (problem) return { ok: false, reason: `"links" is invalid: ${problem}` };
  }
  const shallow = from.jsonLength !== undefined && from.jsonLength <= 2 * MAX_NESTING;
  if (!shallow && nestingDepth(value) > MAX_NESTING) {
    return {
      ok: false,
      reason: `message is nested more than ${MAX_NESTING} levels deep (it could not be re-encoded for a retry or a dead letter)`,
    };
  }
  const assignedId = value.id === undefined;
  if (from.owned) {
    value.v = value.links !== undefined ? LINKS_WIRE_VERSION : WIRE_VERSION;
    if (assignedId) value.id = newId();
    value.args ??= [];
    value.attempt ??= 0;
    return { ok: true, message: value as unknown as TaskMessage, assignedId };
  }
  const message = {
    ...value,
    v: value.links !== undefined ? LINKS_WIRE_VERSION : WIRE_VERSION,
    id: assignedId ? newId() : value.id,
    args: value.args ?? [],
    attempt: value.attempt ?? 0,
  } as unknown as TaskMessage;
  return { ok: true, message, assignedId };
}

function tooDeep(): RangeError {
  return new RangeError(`message is nested more than ${MAX_NESTING} levels deep (the limit of a message)`);
}

function withoutAttempt(message: TaskMessage): Omit<TaskMessage, 'attempt'> {
  const { attempt: _, ...rest } = message;
  return rest;
}

/** Errand's own format: one JSON object per message. */
export const jsonCodec: MessageCodec = {
  decode(body, newId) {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (err) {
      return { ok: false, reason: `message is not valid JSON: ${(err as Error).message}` };
    }
    return toMessage(value, newId, { jsonLength: body.length, owned: true });
  },
  encode(message) {
    let body: string;
    try {
      // "attempt" is left out while it is 0 (its default): fewer bytes per waiting task.
      body = JSON.stringify(message.attempt !== 0 ? message : withoutAttempt(message));
    } catch (err) {
      throw err instanceof RangeError && nestingDepth(message) > MAX_NESTING ? tooDeep() : err;
    }
    // Depth d needs at least 2d characters: only a long body can be too deep for the decoder.
    if (body.length > 2 * MAX_NESTING && nestingDepth(message) > MAX_NESTING) throw tooDeep();
    return body;
  },
};
