/** Turns a broker URL into a broker and result backend. Client libraries load only when used. */
import { ErrandConfigError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';
import type { Broker, ResultBackend } from './port.ts';
import { importRedisBroker } from './redis-loader.ts';

export interface Stores {
  readonly broker: Broker;
  readonly backend: ResultBackend;
}

export const DEFAULT_BROKER_URL = 'sqlite:./errand.db';

export async function openStores(url: string, options: ResolvedOptions): Promise<Stores> {
  const scheme = url.slice(0, url.indexOf(':') + 1);
  switch (scheme) {
    case 'redis:':
    case 'rediss:': {
      const { openRedis } = await importRedisBroker();
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
    }
    case 'sqlite:': {
      const { openSqlite } = await import('../brokers/sqlite/index.ts');
      return openSqlite(url.slice('sqlite:'.length) || './errand.db', {
        prefix: options.prefix,
        deadLetterLimit: options.deadLetterLimit,
      });
    }
    case 'memory:': {
      const { MemoryBroker, MemoryResultBackend } = await import('../brokers/memory/index.ts');
      return { broker: new MemoryBroker(), backend: new MemoryResultBackend() };
    }
    default:
      throw new ErrandConfigError(
        'broker',
        `unsupported URL ${JSON.stringify(url)}: use redis://host:port, rediss://…, sqlite:path or memory:`,
      );
  }
}
