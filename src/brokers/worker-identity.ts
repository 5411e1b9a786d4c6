/**
 * Who holds a lease. Each broker instance (one per Errand, so one per worker process in practice)
 * names itself `<host>:<pid>:<random>` and builds its fencing tokens as `<that>/<n>`, so a listing of
 * leased messages can say which worker runs each one. The random part keeps two instances in one
 * process (or a reused pid) apart, and `n` keeps every delivery's token unique: fencing is unchanged.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Separates the worker identity from the delivery number in a token (never in the identity). */
const SEPARATOR = '/';

/** A new identity for one broker instance; the host name is reduced to characters safe in a token. */
export function newWorkerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-') || 'host';
  return `${host}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** The prefix a broker puts before a delivery number to make a token. */
export const tokenPrefixOf = (workerId: string): string => `${workerId}${SEPARATOR}`;

/** The worker identity inside a token made by tokenPrefixOf; undefined for a token in another form. */
export function workerOfToken(token: string): string | undefined {
  const end = token.lastIndexOf(SEPARATOR);
  return end > 0 ? token.slice(0, end) : undefined;
}
