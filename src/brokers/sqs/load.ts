/**
 * Loads the SQS broker on first use. Its client, @aws-sdk/client-sqs, is an optional peer
 * dependency: without it an sqs:// broker fails with an error that says what to install.
 */
import { ErrandConfigError } from '../../core/errors.ts';
import { isMissingPackage } from '../../core/redis-loader.ts';

export const MISSING_SQS_CLIENT =
  'an sqs:// broker needs the AWS SQS client, an optional peer dependency of errand: npm install @aws-sdk/client-sqs';

export async function importSqsBroker(): Promise<unknown> {
  try {
    return await import('./index.ts');
  } catch (err) {
    if (isMissingPackage(err, '@aws-sdk/client-sqs'))
      throw new ErrandConfigError('broker', MISSING_SQS_CLIENT);
    throw err;
  }
}
