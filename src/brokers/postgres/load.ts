/**
 * Loads the PostgreSQL result backend on first use. Its client, pg, is an optional peer
 * dependency: without it a postgres:// backend fails with an error that says what to install.
 */
import { ErrandConfigError } from '../../core/errors.ts';
import { isMissingPackage } from '../../core/redis-loader.ts';

export const MISSING_PG_CLIENT =
  'a postgres:// backend needs the PostgreSQL client, an optional peer dependency of errand: npm install pg';

export async function importPostgresBackend(): Promise<unknown> {
  try {
    return await import('./index.ts');
  } catch (err) {
    if (isMissingPackage(err, 'pg')) throw new ErrandConfigError('backend', MISSING_PG_CLIENT);
    throw err;
  }
}
