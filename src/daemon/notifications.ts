/** The texts handed to the error script, worded as Gordon and Goophry worded them. */
import type { Flavour } from './config-types.ts';

/** Gordon: `Failed executing task for type "t"\nPayload:\n<json>\n\n<error>\n`; Goophry: `<script> "a" "b"\n\n<error>`. */
export function taskFailedText(
  flavour: Flavour,
  type: string,
  program: string,
  payload: string,
  args: readonly string[],
  error: string,
): string {
  if (flavour === 'goophry')
    return `${program} ${args.map((a) => JSON.stringify(a)).join(' ')}\n\n${error}`.trimEnd();
  return `Failed executing task for type "${type}"\nPayload:\n${payload}\n\n${error}\n`;
}

export function malformedText(flavour: Flavour, queue: string, body: string, reason: string): string {
  if (flavour === 'goophry') return `parseQueueTask(): ${reason}\nPayload:\n${body}`;
  return `Failed parsing task for type "${queue}"\nPayload:\n${body}\n\n${reason}\n`;
}

export function internalErrorText(error: string): string {
  return `${error}\n`;
}
