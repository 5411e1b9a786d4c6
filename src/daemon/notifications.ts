/** The texts handed to the error script (and logged), worded as Gordon and Goophry worded them. */
import type { Flavour } from './config-types.ts';

/**
 * Gordon: `Failed executing task for type "t"\nPayload:\n<json>\n\n<error>\n`.
 * Goophry: `<script> "a" "b"\n\n<error>`, the arguments joined raw (not escaped) and the error's
 * own trailing newline kept; with no arguments `<script> ""`.
 */
export function taskFailedText(
  flavour: Flavour,
  type: string,
  program: string,
  payload: string,
  args: readonly string[],
  error: string,
): string {
  if (flavour === 'goophry') return `${program} "${args.join('" "')}"\n\n${error}`;
  return `Failed executing task for type "${type}"\nPayload:\n${payload}\n\n${error}\n`;
}

/**
 * An entry that cannot be read. The first line is Gordon's (`NewQueueTask(): <reason>`) or
 * Goophry's (`parseQueueTask(): <reason>`); Errand adds the type and the entry itself, which
 * Gordon left out.
 */
export function malformedText(flavour: Flavour, queue: string, body: string, reason: string): string {
  const fn = flavour === 'goophry' ? 'parseQueueTask()' : 'NewQueueTask()';
  return `${fn}: ${reason}\nType: ${queue}\nPayload:\n${body}\n`;
}

export function internalErrorText(error: string): string {
  return `${error}\n`;
}

/**
 * JSON as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped, so the
 * failed-list bytes match Gordon's byte for byte.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
