/**
 * Embedded SQLite broker and result backend (`sqlite:<file>` URLs): no server needed,
 * shared by the processes of one machine through one database file. See docs/sqlite.md.
 */
import type { Broker, ResultBackend } from '../../core/port.ts';
import { registerBackend, registerBroker } from '../../core/registry.ts';
import { SqliteResultBackend } from './backend.ts';
import { SqliteBroker } from './broker.ts';
import { acquireConnection } from './connection.ts';

export { SqliteResultBackend } from './backend.ts';
export { SqliteBroker } from './broker.ts';

export interface SqliteOptions {
  /** Namespace of this Errand instance inside the file (Errand's `prefix`). */
  readonly prefix: string;
  /** Dead letters kept per queue; the oldest beyond it are deleted (default 10,000). */
  readonly deadLetterLimit?: number;
  /**
   * Open a connection of its own instead of sharing the process's connection to the file.
   * It then sees this process's other connections exactly as another process would (tests).
   */
  readonly separateConnection?: boolean;
}

/**
 * Opens a broker and a result backend on `location`: a file path, or `:memory:` for a
 * private in-memory database. Both share this process's one connection to the file;
 * it closes when both are closed.
 */
export function openSqlite(
  location: string,
  options: SqliteOptions,
): { broker: Broker; backend: ResultBackend } {
  const connection = acquireConnection(location, options.separateConnection ?? false);
  connection.acquire(); // one reference each for the broker and the backend
  return {
    broker: new SqliteBroker(connection, options.prefix, options.deadLetterLimit),
    backend: new SqliteResultBackend(connection, options.prefix),
  };
}

const locationOf = (url: string): string => url.slice('sqlite:'.length) || './errand.db';

registerBroker(['sqlite'], (url, options) =>
  openSqlite(locationOf(url), { prefix: options.prefix, deadLetterLimit: options.deadLetterLimit }),
);

registerBackend(['sqlite'], (url, options) => {
  const connection = acquireConnection(locationOf(url), false);
  return new SqliteResultBackend(connection, options.prefix);
});
