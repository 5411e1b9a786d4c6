/**
 * Memcached result backend for Errand (`memcached://host:port`), over the meta text protocol
 * with Node's own sockets (no client library). A result backend only: memcached keeps no queues.
 */
import { ErrandConfigError } from '../../core/errors.ts';
import { registerBackend } from '../../core/registry.ts';
import { MemcachedResultBackend } from './backend.ts';
import { MemcachedConnection } from './connection.ts';

export { MemcachedResultBackend } from './backend.ts';
export { MemcachedConnection } from './connection.ts';

export function openMemcached(url: string, prefix: string): MemcachedResultBackend {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ErrandConfigError('backend', `${JSON.stringify(url)} is not a URL: use memcached://host:port`);
  }
  const port = parsed.port === '' ? 11211 : Number(parsed.port);
  if (parsed.hostname === '')
    throw new ErrandConfigError('backend', `${JSON.stringify(url)} has no host: use memcached://host:port`);
  return new MemcachedResultBackend(new MemcachedConnection(parsed.hostname, port), prefix);
}

registerBackend(['memcached'], (url, options) => openMemcached(url, options.prefix));
