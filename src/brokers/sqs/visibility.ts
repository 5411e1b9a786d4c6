/**
 * Leases of the SQS broker: a lease is the visibility timeout of a receive (whole seconds, rounded
 * up); `extend` and `release` change it, acknowledging deletes the message. Each takes receipt
 * handles, the broker's tokens, in batches.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { BATCH, call, chunks, type SqsContext } from './client.ts';
import { DUE_ATTRIBUTE, ENCODING_ATTRIBUTE } from './messages.ts';

/** SQS's longest long poll, in seconds. */
export const LONG_POLL_S = 20;

/** A lease in whole seconds, rounded up (SQS's visibility timeout), at least 1. */
export const leaseSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** Receives up to `max` (at most 10) messages of `url`, each leased for `leaseMs`, waiting up to `waitS`. */
export async function receive(
  sqs: SqsContext,
  url: string,
  max: number,
  leaseMs: number,
  waitS: number,
  signal?: AbortSignal,
): Promise<Message[]> {
  const result = await call(sqs, 'receive', () =>
    sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(BATCH, max),
        VisibilityTimeout: leaseSeconds(leaseMs),
        WaitTimeSeconds: waitS,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        MessageAttributeNames: [DUE_ATTRIBUTE, ENCODING_ATTRIBUTE],
      }),
      signal ? { abortSignal: signal } : {},
    ),
  );
  return result.Messages ?? [];
}

/** Deletes by receipt handle; returns the handles SQS refused (no longer valid). */
export async function deleteAll(sqs: SqsContext, url: string, tokens: readonly string[]): Promise<string[]> {
  const refused: string[] = [];
  for (const chunk of chunks(tokens, BATCH)) {
    const result = await call(sqs, 'delete', () =>
      sqs.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: chunk.map((token, i) => ({ Id: String(i), ReceiptHandle: token })),
        }),
      ),
    );
    for (const failed of result.Failed ?? []) refused.push(chunk[Number(failed.Id)]!);
  }
  return refused;
}

/** Sets the visibility of these receipt handles to `seconds`; returns the handles SQS refused. */
export async function changeVisibility(
  sqs: SqsContext,
  url: string,
  tokens: readonly string[],
  seconds: number,
): Promise<string[]> {
  const refused: string[] = [];
  for (const chunk of chunks(tokens, BATCH)) {
    const result = await call(sqs, 'change visibility', () =>
      sqs.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: chunk.map((token, i) => ({
            Id: String(i),
            ReceiptHandle: token,
            VisibilityTimeout: seconds,
          })),
        }),
      ),
    );
    for (const failed of result.Failed ?? []) refused.push(chunk[Number(failed.Id)]!);
  }
  return refused;
}
