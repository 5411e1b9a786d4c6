/** Turns the broker and backend URLs into stores, through the registry (registry.ts). */
import { ErrandConfigError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';
import type { Broker, ResultBackend } from './port.ts';
import { openBackend, openBroker, schemeOf } from './registry.ts';

export interface Stores {
  readonly broker: Broker;
  readonly backend: ResultBackend;
}

export const DEFAULT_BROKER_URL = 'sqlite:./errand.db';

/**
 * Opens the broker at `url` and the result backend: `backendSource` (a URL or an instance) when given, else the
 * broker's own store. A broker without one (amqp:, sqs:) and no backend URL is a clear error.
 */
export async function openStores(
  url: string,
  options: ResolvedOptions,
  backendSource?: string | ResultBackend,
): Promise<Stores> {
  const opened = await openBroker(url, options);
  if (backendSource !== undefined) {
    try {
      const backend =
        typeof backendSource === 'string' ? await openBackend(backendSource, options) : backendSource;
      await opened.backend?.close();
      return { broker: opened.broker, backend };
    } catch (err) {
      await Promise.all([opened.broker.close(), opened.backend?.close()]);
      throw err;
    }
  }
  if (!opened.backend) {
    await opened.broker.close();
    throw new ErrandConfigError(
      'backend',
      `the ${schemeOf(url) ?? url}: broker has no store for results; give a result backend URL, e.g. new Errand({ broker, backend: 'redis://127.0.0.1:6379' })`,
    );
  }
  return { broker: opened.broker, backend: opened.backend };
}
