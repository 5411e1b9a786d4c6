/**
 * Reads and writes the entries of Gordon's lists `<queue_key>:<type>`:
 * `{"args":["…"],"env":{"K":"V"}}` (Goophry: `{"Args":["…"]}`). Keys match
 * case-insensitively, as Go's decoder does; unknown fields are ignored. Errand's own
 * state (id, attempt, retry settings) rides in an extra `"errand"` field that Gordon
 * and Goophry ignore, so a retried task is still a valid Gordon entry.
 */
import { type DecodeResult, type MessageCodec, type TaskMessage, WIRE_VERSION } from '../core/message.ts';
import { isPlainObject, type Plain } from './config-reader.ts';
import { goJson } from './notifications.ts';

export type ListFlavour = 'gordon' | 'goophry';

/** Errand fields carried in the `errand` extension object. */
const CARRIED = ['id', 'attempt', 'retries', 'backoff', 'timeoutMs', 'createdAt'] as const;

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** Go's decoder assigns every key that matches case-insensitively, in order: the last one wins. */
function field(obj: Plain, key: string): unknown {
  let value: unknown;
  for (const k of Object.keys(obj)) if (k.toLowerCase() === key) value = obj[k];
  return value;
}

/**
 * The first JSON value of `body` and what follows it. Gordon reads entries with a streaming
 * decoder, which stops after the first value: `{"args":["x"]} garbage` runs as `{"args":["x"]}`.
 * An empty entry is Go's `EOF`.
 */
export function firstJsonValue(body: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  const start = body.search(/\S/);
  if (start < 0) return { ok: false, reason: 'EOF (the entry is empty)' };
  const end = body[start] === '{' || body[start] === '[' ? closingBracket(body, start) : body.length;
  try {
    return { ok: true, value: JSON.parse(body.slice(0, end)) };
  } catch (err) {
    return { ok: false, reason: `task entry is not valid JSON: ${(err as Error).message}` };
  }
}

/** Index just past the bracket closing the one at `start` (strings skipped), or the body's length. */
function closingBracket(body: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
  }
  return body.length;
}

/** Validates a parsed Gordon entry; returns the problem or its args and env. */
export function readEntry(
  value: unknown,
): { ok: true; args: string[]; env: Record<string, string>; extra: Plain } | { ok: false; reason: string } {
  if (!isPlainObject(value)) {
    return {
      ok: false,
      reason: `task entry must be a JSON object like {"args":[...]}, got ${describe(value)}`,
    };
  }
  const args = field(value, 'args') ?? [];
  if (!Array.isArray(args))
    return { ok: false, reason: `"args" must be an array of strings, got ${describe(args)}` };
  const bad = args.findIndex((a) => typeof a !== 'string');
  if (bad >= 0) return { ok: false, reason: `"args"[${bad}] must be a string, got ${describe(args[bad])}` };
  const env = field(value, 'env') ?? {};
  if (!isPlainObject(env))
    return { ok: false, reason: `"env" must be an object of strings, got ${describe(env)}` };
  for (const [k, v] of Object.entries(env)) {
    if (typeof v !== 'string')
      return { ok: false, reason: `"env".${k} must be a string, got ${describe(v)}` };
  }
  const extra = value.errand;
  return { ok: true, args, env: env as Record<string, string>, extra: isPlainObject(extra) ? extra : {} };
}

const toArg = (a: unknown): string => (typeof a === 'string' ? a : (JSON.stringify(a) ?? String(a)));

export function gordonCodec(type: string, flavour: ListFlavour): MessageCodec {
  return {
    decode(body: string, newId: () => string): DecodeResult {
      const parsed = firstJsonValue(body);
      if (!parsed.ok) return parsed;
      const entry = readEntry(parsed.value);
      if (!entry.ok) return entry;
      const { extra } = entry;
      const id = typeof extra.id === 'string' && extra.id !== '' ? extra.id : undefined;
      const attempt =
        Number.isInteger(extra.attempt) && (extra.attempt as number) >= 0 ? (extra.attempt as number) : 0;
      const carried: Record<string, unknown> = {};
      for (const k of ['retries', 'backoff', 'timeoutMs', 'createdAt'] as const) {
        if (extra[k] !== undefined) carried[k] = extra[k];
      }
      const message = {
        ...carried,
        v: WIRE_VERSION,
        id: id ?? newId(),
        task: type,
        args: entry.args,
        attempt,
        env: entry.env,
      } as TaskMessage;
      return { ok: true, message, assignedId: id === undefined };
    },

    encode(message: TaskMessage): string {
      const args = message.args.map(toArg);
      const errand: Record<string, unknown> = {};
      for (const k of CARRIED) if (message[k] !== undefined) errand[k] = message[k];
      const env = message.env ?? {};
      if (flavour === 'goophry') {
        return JSON.stringify({ Args: args, ...(Object.keys(env).length > 0 ? { Env: env } : {}), errand });
      }
      return JSON.stringify({ args, env, errand });
    },
  };
}

/** The failed-list entry: Gordon `{"args","env","error_message"}`, Goophry `{"Args","ErrorMessage"}`. */
export function failedEntry(
  flavour: ListFlavour,
  args: readonly unknown[],
  env: Readonly<Record<string, string>>,
  error: string,
  rawPayload?: string,
): string {
  const payload = rawPayload === undefined ? {} : { payload: rawPayload };
  return flavour === 'goophry'
    ? goJson({ Args: args.map(toArg), ErrorMessage: error, ...payload })
    : goJson({ args: args.map(toArg), env, error_message: error, ...payload });
}
