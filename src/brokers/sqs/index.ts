/**
 * Amazon SQS broker for Errand (`sqs://REGION/ACCOUNT_ID`, `?endpoint=http://host:port` for a
 * local SQS; `?fifo=1` for FIFO queues), on @aws-sdk/client-sqs (an optional peer). Credentials come from the AWS default
 * chain. SQS keeps no results: give Errand a `backend` URL. See docs/brokers.md.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { ErrandConfigError } from '../../core/errors.ts';
import { registerBroker } from '../../core/registry.ts';
import { SqsBroker } from './broker.ts';

export { SqsBroker, type SqsBrokerOptions } from './broker.ts';

export interface OpenSqsOptions {
  readonly prefix: string;
  readonly maxDeliveries: number;
}

export function openSqs(url: string, options: OpenSqsOptions): SqsBroker {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ErrandConfigError('broker', `${JSON.stringify(url)} is not a URL: use sqs://REGION/ACCOUNT_ID`);
  }
  const region = parsed.hostname;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new ErrandConfigError(
      'broker',
      `${JSON.stringify(url)}: the host must be an AWS region such as us-east-1 (sqs://REGION/ACCOUNT_ID)`,
    );
  }
  const endpoint = parsed.searchParams.get('endpoint') ?? undefined;
  const fifoParam = parsed.searchParams.get('fifo');
  if (fifoParam !== null && !['1', 'true', '0', 'false'].includes(fifoParam)) {
    throw new ErrandConfigError(
      'broker',
      `${JSON.stringify(url)}: fifo must be 1 or 0 (true or false), not ${JSON.stringify(fifoParam)}`,
    );
  }
  const fifo = fifoParam === '1' || fifoParam === 'true';
  const client = new SQSClient({ region, ...(endpoint ? { endpoint } : {}) });
  return new SqsBroker(client, { ...options, where: endpoint ?? region, fifo });
}

registerBroker(['sqs'], (url, options) => ({
  broker: openSqs(url, { prefix: options.prefix, maxDeliveries: options.maxDeliveries }),
}));
