/**
 * FIFO-queue details of the SQS broker (`?fifo=1`): every message sent to a `.fifo` queue needs a
 * MessageGroupId (ordering is per group) and a MessageDeduplicationId (SQS drops a second message
 * with the same id sent within 5 minutes). Per-message DelaySeconds is refused on FIFO queues, so
 * delayed messages wait in a companion standard queue and are forwarded when due (delay-queue.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';

/** Message attribute carrying a delayed message's idempotency key to its forward. */
export const DEDUPE_ATTRIBUTE = 'errand-dedupe';

/** SQS takes 1–128 characters of printable ASCII as a deduplication id; other keys are hashed. */
export function deduplicationId(key: string | undefined): string {
  if (key === undefined) return randomUUID();
  return /^[\x21-\x7e]{1,128}$/.test(key) ? key : createHash('sha256').update(key).digest('hex');
}

/** A send entry for a FIFO queue: in `group`, deduplicated by `dedupeId`, never with a delay. */
export function fifoEntry(
  entry: SendMessageBatchRequestEntry,
  group: string,
  dedupeId: string,
): SendMessageBatchRequestEntry {
  const { DelaySeconds: _delay, ...rest } = entry;
  return { ...rest, MessageGroupId: group, MessageDeduplicationId: dedupeId };
}
