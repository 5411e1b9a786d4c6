/**
 * Loads the RabbitMQ broker on first use. Its client, amqplib, is an optional peer dependency:
 * without it an amqp:// broker fails with an error that says what to install.
 */
import { ErrandConfigError } from '../../core/errors.ts';
import { isMissingPackage } from '../../core/redis-loader.ts';

export const MISSING_AMQP_CLIENT =
  'an amqp:// or amqps:// broker needs the AMQP client, an optional peer dependency of errand: npm install amqplib';

export async function importAmqpBroker(): Promise<unknown> {
  try {
    return await import('./index.ts');
  } catch (err) {
    if (isMissingPackage(err, 'amqplib')) throw new ErrandConfigError('broker', MISSING_AMQP_CLIENT);
    throw err;
  }
}
