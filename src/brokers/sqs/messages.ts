/**
 * Message bodies and sends of the SQS broker: how a body travels (SQS accepts only some
 * characters; any other body goes as base64, marked), the attributes Errand sets, and batched
 * sends within SQS's limits.
 */
import {
  type Message,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { BATCH, call, type SqsContext, unavailable } from './client.ts';

/** SQS's longest DelaySeconds (15 minutes): a longer delay is sent on again when it comes back early. */
export const MAX_DELAY_S = 900;
/** Message attribute with the due time of a message delayed longer than SQS can. */
export const DUE_ATTRIBUTE = 'errand-due-at';
/** Message attribute with a dead letter's reason. */
export const REASON_ATTRIBUTE = 'errand-reason';
/** Message attribute marking a body sent as base64. */
export const ENCODING_ATTRIBUTE = 'errand-encoding';
/** Characters every SQS accepts in a body (some emulators refuse those beyond U+FFFD, so they go as base64 too). */
const SQS_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD]*$/;
/** SQS's limit on one message and on one batch request (AWS since 2025; 256 KiB before). */
const MAX_REQUEST_BYTES = 1024 * 1024;

/** A send entry for `body`, delayed until `dueAt` (at most 15 minutes at a time; the due time travels with it). */
export function sendEntry(i: number, body: string, dueAt: number | undefined): SendMessageBatchRequestEntry {
  const delayMs = dueAt === undefined ? 0 : dueAt - Date.now();
  // SQS accepts only some characters in a body: any other body travels as base64, marked.
  const plain = SQS_TEXT.test(body);
  const attributes: NonNullable<SendMessageBatchRequestEntry['MessageAttributes']> = {};
  if (!plain) attributes[ENCODING_ATTRIBUTE] = { DataType: 'String', StringValue: 'base64' };
  if (delayMs > 0) attributes[DUE_ATTRIBUTE] = { DataType: 'Number', StringValue: String(dueAt) };
  return {
    Id: String(i),
    MessageBody: plain ? body : Buffer.from(body).toString('base64'),
    ...(delayMs > 0 && { DelaySeconds: Math.min(MAX_DELAY_S, Math.ceil(delayMs / 1000)) }),
    ...(Object.keys(attributes).length > 0 && { MessageAttributes: attributes }),
  };
}

/** The body of a received message, as it was sent. */
export function bodyOf(message: Message): string {
  const body = message.Body ?? '';
  return message.MessageAttributes?.[ENCODING_ATTRIBUTE]?.StringValue === 'base64'
    ? Buffer.from(body, 'base64').toString()
    : body;
}

/** The due time a received message carries (NaN when it carries none). */
export const dueAtOf = (message: Message): number =>
  Number(message.MessageAttributes?.[DUE_ATTRIBUTE]?.StringValue);

export async function sendAll(
  sqs: SqsContext,
  url: string,
  entries: SendMessageBatchRequestEntry[],
): Promise<void> {
  // Batches of at most 10 entries and MAX_REQUEST_BYTES; one entry over the limit is refused.
  const batches: SendMessageBatchRequestEntry[][] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.MessageBody ?? '') + 200;
    if (size > MAX_REQUEST_BYTES) {
      throw new RangeError(
        `sqs: a message of ${size - 200} bytes is over SQS's limit of ${MAX_REQUEST_BYTES} bytes per message`,
      );
    }
    const last = batches.at(-1);
    if (last && last.length < BATCH && bytes + size <= MAX_REQUEST_BYTES) {
      last.push({ ...entry, Id: String(last.length) });
      bytes += size;
    } else {
      batches.push([{ ...entry, Id: '0' }]);
      bytes = size;
    }
  }
  for (const chunk of batches) {
    const result = await call(sqs, 'send', () =>
      sqs.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: chunk })),
    );
    const failed = result.Failed ?? [];
    if (failed.length > 0) {
      throw unavailable(
        sqs,
        `${failed.length} message(s) not sent: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`,
      );
    }
  }
}
