/** Redis broker and result backend for Errand (`redis://` and `rediss://` URLs). */
import type { Broker, ResultBackend } from '../../core/port.ts';
import { RedisResultBackend } from './backend.ts';
import { RedisBroker, type RedisBrokerOptions } from './broker.ts';
import { RedisConnection } from './connection.ts';

export { RedisResultBackend } from './backend.ts';
export { RedisBroker, type RedisBrokerOptions } from './broker.ts';
export { RedisConnection } from './connection.ts';

export interface OpenRedisOptions extends RedisBrokerOptions {
  readonly onError?: (err: Error) => void;
}

/** A broker and a result backend sharing one connection. */
export function openRedis(
  url: string,
  options: OpenRedisOptions,
): { broker: Broker; backend: ResultBackend } {
  const connection = new RedisConnection(options.onError ? { url, onError: options.onError } : { url });
  connection.retain().retain();
  return {
    broker: new RedisBroker(connection, options),
    backend: new RedisResultBackend(connection, options.prefix),
  };
}
