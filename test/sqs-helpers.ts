/**
 * SQS for tests: the fauxqs emulator (1.9.x, the AWS JSON protocol) started in-process on a free
 * port, used through the real AWS SDK client. Credentials are dummies the emulator accepts.
 */
import { startFauxqs } from 'fauxqs';
import { freePort } from './helpers.ts';

export interface LocalSqs {
  /** An Errand broker URL for it: sqs://REGION/ACCOUNT?endpoint=… */
  readonly url: string;
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startLocalSqs(): Promise<LocalSqs> {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  const port = await freePort();
  const server = await startFauxqs({ port, host: '127.0.0.1', logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  return {
    url: `sqs://us-east-1/000000000000?endpoint=${encodeURIComponent(endpoint)}`,
    endpoint,
    stop: () => server.stop(),
  };
}
