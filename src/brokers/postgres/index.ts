/**
 * PostgreSQL result backend for Errand (`postgres://` or `postgresql://` URLs), on `pg` (an
 * optional peer). A result backend only: queues stay on the broker. See docs/brokers.md.
 */
import { registerBackend } from '../../core/registry.ts';
import { PostgresResultBackend } from './backend.ts';

export { PostgresResultBackend } from './backend.ts';

registerBackend(['postgres', 'postgresql'], (url, options) => new PostgresResultBackend(url, options.prefix));
