/**
 * Loads the Redis broker on first use. Its client, @redis/client, is an optional peer dependency:
 * without it a redis:// broker fails with an error that says what to install, not with Node's
 * "Cannot find package".
 */
import { ErrandConfigError } from './errors.ts';

type RedisBrokerModule = typeof import('../brokers/redis/index.ts');

export const MISSING_REDIS_CLIENT =
  'a redis:// or rediss:// broker needs the Redis client, an optional peer dependency of errand: npm install @redis/client';

export function isMissingPackage(err: unknown, name: string): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return (
    e?.code === 'ERR_MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes(`'${name}'`)
  );
}

export async function importRedisBroker(): Promise<RedisBrokerModule> {
  try {
    return await import('../brokers/redis/index.ts');
  } catch (err) {
    if (isMissingPackage(err, '@redis/client')) throw new ErrandConfigError('broker', MISSING_REDIS_CLIENT);
    throw err;
  }
}
