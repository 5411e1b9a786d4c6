/**
 * Sending at a due time on SQS. DelaySeconds caps at 15 minutes: a longer delay carries its due
 * time in a message attribute and is sent on again, 15 minutes at a time, each time it comes back
 * early. FIFO queues refuse per-message delays: there a message due later waits in the standard
 * delay queue until it is forwarded (delay-queue.ts).
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { EnqueueEntry } from '../../core/port.ts';
import type { SqsContext } from './client.ts';
import { DEDUPE_ATTRIBUTE, deduplicationId, fifoEntry } from './fifo.ts';
import { bodyOf, dueAtOf, sendAll, sendEntry } from './messages.ts';
import type { QueueUrls } from './queues.ts';
import { deleteAll } from './visibility.ts';

/**
 * Sends to a queue, each message due at its `dueAt`. On FIFO queues a message due now goes to the
 * FIFO queue (deduplicated by its key, else a fresh id) and a later one to the delay queue.
 */
export async function sendTimed(
  sqs: SqsContext,
  queue: string,
  { url, delay }: QueueUrls,
  items: readonly EnqueueEntry[],
): Promise<void> {
  if (!delay) {
    await sendAll(
      sqs,
      url,
      items.map((e, i) => sendEntry(i, e.body, e.dueAt)),
    );
    return;
  }
  const now = Date.now();
  const later = items.filter((e) => e.dueAt !== undefined && e.dueAt > now);
  const due = items.filter((e) => !later.includes(e));
  await sendAll(
    sqs,
    url,
    due.map((e, i) => fifoEntry(sendEntry(i, e.body, undefined), queue, deduplicationId(e.dedupeKey))),
  );
  await sendAll(
    sqs,
    delay,
    later.map((e, i) => {
      const entry = sendEntry(i, e.body, e.dueAt);
      if (e.dedupeKey === undefined) return entry;
      return {
        ...entry,
        MessageAttributes: {
          ...entry.MessageAttributes,
          [DEDUPE_ATTRIBUTE]: { DataType: 'String', StringValue: e.dedupeKey },
        },
      };
    }),
  );
}

/** Messages back early from a delay over 15 minutes: sent on for the rest, then deleted. */
export async function delayAgain(sqs: SqsContext, url: string, messages: readonly Message[]): Promise<void> {
  await sendAll(
    sqs,
    url,
    messages.map((m, i) => sendEntry(i, bodyOf(m), dueAtOf(m))),
  );
  await deleteAll(
    sqs,
    url,
    messages.map((m) => m.ReceiptHandle!),
  );
}
