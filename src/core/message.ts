/**
 * The open wire format (version 1). Any language can enqueue a task with one plain
 * Redis command, e.g. `RPUSH errand:{default}:wait '{"task":"add","args":[2,3]}'`.
 * See docs/protocol.md and schema/message.v1.json.
 */
import type { BackoffSpec } from './backoff.ts';

export const WIRE_VERSION = 1;

export interface TaskMessage {
  /** Format version; absent means 1. */
  readonly v: 1;
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

const isNonNegativeInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

function checkOptional(
  obj: Record<string, unknown>,
  key: string,
  test: (v: unknown) => boolean,
  what: string,
): string | undefined {
  return obj[key] === undefined || test(obj[key]) ? undefined : `"${key}" must be ${what}`;
}

/** Validates a decoded JSON value as a version-1 message. Returns the problem, or the message. */
export function toMessage(value: unknown, newId: () => string): DecodeResult {
  if (!isPlainObject(value)) return { ok: false, reason: 'message is not a JSON object' };
  if (value.v !== undefined && value.v !== WIRE_VERSION) {
    return {
      ok: false,
      reason: `unsupported message format version ${JSON.stringify(value.v)} (this worker reads 1)`,
    };
  }
  if (typeof value.task !== 'string' || value.task === '') {
    return { ok: false, reason: 'message has no task name ("task" must be a non-empty string)' };
  }
  if (value.args !== undefined && !Array.isArray(value.args)) {
    return { ok: false, reason: `"args" must be an array, got ${typeof value.args}` };
  }
  const problem =
    checkOptional(value, 'id', (v) => typeof v === 'string' && v !== '', 'a non-empty string') ??
    checkOptional(value, 'attempt', isNonNegativeInt, 'a non-negative integer') ??
    checkOptional(value, 'retries', isNonNegativeInt, 'a non-negative integer') ??
    checkOptional(value, 'timeoutMs', (v) => typeof v === 'number' && v > 0, 'a positive number') ??
    checkOptional(value, 'createdAt', (v) => typeof v === 'number', 'a number') ??
    checkOptional(value, 'backoff', isPlainObject, 'an object') ??
    checkOptional(
      value,
      'env',
      (v) => isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string'),
      'an object of strings',
    );
  if (problem) return { ok: false, reason: problem };
  const assignedId = value.id === undefined;
  const message = {
    ...value,
    v: WIRE_VERSION,
    id: assignedId ? newId() : value.id,
    args: value.args ?? [],
    attempt: value.attempt ?? 0,
  } as unknown as TaskMessage;
  return { ok: true, message, assignedId };
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
    return toMessage(value, newId);
  },
  encode(message) {
    // "attempt" is left out while it is 0 (its default): fewer bytes per waiting task.
    if (message.attempt !== 0) return JSON.stringify(message);
    const { attempt: _, ...rest } = message;
    return JSON.stringify(rest);
  },
};
