/**
 * Resque's payloads and the strings Resque readers parse: the job codec (`{"class","args"}` ⇄ an
 * Errand message), the failure entry, and Ruby's time formats.
 */
import { newTaskId } from '../core/ids.ts';
import { type MessageCodec, type TaskMessage, toMessage } from '../core/message.ts';
import type { TaskErrorInfo } from '../core/port.ts';

/** Ids the codec makes up for jobs that carry none (foreign clients): their results are not stored. */
export const FOREIGN_ID_PREFIX = 'resque-';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Ruby's `Time#utc.iso8601`: `2025-01-02T03:04:05Z` (run_at, heartbeats). */
export function isoSeconds(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** Resque's `failed_at`: `strftime("%Y/%m/%d %H:%M:%S %Z")` in UTC. */
export function failedAt(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** Ruby's `Time#to_s` in UTC: `2025-01-02 03:04:05 +0000` (`worker:<id>:started`). */
export function rubyTime(ms: number): string {
  return `${isoSeconds(ms).slice(0, 19).replace('T', ' ')} +0000`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Errand fields a Resque payload may carry beside class and args (Resque readers ignore extra keys). */
const ERRAND_FIELDS = ['id', 'attempt', 'retries', 'backoff', 'timeoutMs', 'createdAt'] as const;

/** `{"class":"C","args":[…]}` (plus Errand's optional fields) ⇄ a TaskMessage whose task is the class. */
export const resqueCodec: MessageCodec = {
  decode(body) {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (err) {
      return { ok: false, reason: `Resque payload is not valid JSON: ${(err as Error).message}` };
    }
    if (!isPlainObject(value)) return { ok: false, reason: 'Resque payload is not a JSON object' };
    if (typeof value.class !== 'string' || value.class === '')
      return { ok: false, reason: 'Resque payload has no class ("class" must be a non-empty string)' };
    const fields: Record<string, unknown> = { task: value.class, args: value.args ?? [] };
    for (const key of ERRAND_FIELDS) if (value[key] !== undefined) fields[key] = value[key];
    return toMessage(fields, () => FOREIGN_ID_PREFIX + newTaskId());
  },
  encode(message) {
    return JSON.stringify(encodeJob(message));
  },
};

/** The Resque job object of a message: class, args, then Errand's fields that differ from defaults. */
export function encodeJob(message: TaskMessage, queue?: string): Record<string, unknown> {
  return {
    class: message.task,
    ...(queue !== undefined && { queue }),
    args: message.args,
    // Kept even when made up here (FOREIGN_ID_PREFIX): a failure is matched to its error by id.
    id: message.id,
    ...(message.attempt > 0 && { attempt: message.attempt }),
    ...(message.retries !== undefined && { retries: message.retries }),
    ...(message.backoff !== undefined && { backoff: message.backoff }),
    ...(message.timeoutMs !== undefined && { timeoutMs: message.timeoutMs }),
    ...(message.createdAt !== undefined && { createdAt: message.createdAt }),
  };
}

/** The payload as readers see it: the parsed job, or the raw string when it is not JSON. */
export function parsedPayload(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

export interface FailureFields {
  readonly body: string;
  readonly error: TaskErrorInfo;
  readonly worker: string;
  readonly queue: string;
  readonly now: number;
}

/**
 * A `<ns>failed` entry, Ruby's field order and formats; `backtrace` is always an array (node-resque's
 * retryStuckJobs reads `backtrace[1]`). Serialised with JSON.stringify so node-resque's removeFailed
 * (an LREM of `JSON.stringify(JSON.parse(entry))`) finds it byte for byte.
 */
export function failureEntry(f: FailureFields): string {
  return JSON.stringify({
    failed_at: failedAt(f.now),
    payload: parsedPayload(f.body),
    exception: f.error.name,
    error: f.error.message,
    backtrace: backtraceOf(f.error.stack),
    worker: f.worker,
    queue: f.queue,
  });
}

/** Stack frames after the message line, trimmed (Ruby's backtrace is an array of frames). */
export function backtraceOf(stack: string | undefined): string[] {
  if (!stack) return [];
  return stack
    .split('\n')
    .filter((line) => /^\s*at /.test(line))
    .map((line) => line.trim());
}
