/** Redis broker and result backend for Errand (`redis://` and `rediss://` URLs). */
import type { Broker, ResultBackend } from '../../core/port.ts';
import { registerBackend, registerBroker } from '../../core/registry.ts';
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

registerBroker(['redis', 'rediss'], (url, options) => {
  const listKeys: Record<string, string> = {};
  for (const [queue, config] of Object.entries(options.queues)) {
    if (config.listKey !== undefined) listKeys[queue] = config.listKey;
  }
  return openRedis(url, {
    prefix: options.prefix,
    listKeys,
    deadLetterLimit: options.deadLetterLimit,
    onError: (err) => options.logger.debug(`redis connection: ${err.message}`),
  });
});

registerBackend(['redis', 'rediss'], (url, options) => {
  const onError = (err: Error) => options.logger.debug(`redis connection: ${err.message}`);
  return new RedisResultBackend(new RedisConnection({ url, onError }).retain(), options.prefix);
});
