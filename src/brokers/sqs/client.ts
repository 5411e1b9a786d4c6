/** What every call of the SQS broker shares: the client, which SQS it reaches, errors and batches. */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { BrokerUnavailableError } from '../../core/errors.ts';

/** SQS takes at most 10 entries per batch request (send, receive, delete, change visibility). */
export const BATCH = 10;

export interface SqsContext {
  readonly client: SQSClient;
  /** For messages: which SQS (region, endpoint). */
  readonly where: string;
}

export function unavailable(sqs: SqsContext, what: string, err?: unknown): BrokerUnavailableError {
  if (err === undefined) return new BrokerUnavailableError(`SQS ${sqs.where}`, what);
  return new BrokerUnavailableError(`SQS ${sqs.where}`, `${what}: ${(err as Error).message}`, {
    cause: err,
  });
}

/** Runs one SQS request; a failure becomes a BrokerUnavailableError saying what was attempted. */
export async function call<T>(sqs: SqsContext, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw unavailable(sqs, what, err);
  }
}

export const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};
