/** Argument checks shared by the brokers' optional operations (QueueControlOperations in port.ts). */
import type { ListableState } from '../core/port.ts';

const STATES: readonly ListableState[] = ['waiting', 'delayed', 'leased'];

/** Refuses a state, offset or limit that cannot be listed, naming the argument. */
export function checkListing(state: ListableState, offset: number, limit: number): void {
  if (!STATES.includes(state))
    throw new Error(`listMessages: state must be one of ${STATES.join(', ')} (got ${String(state)})`);
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new Error(`listMessages: offset must be an integer >= 0 (got ${offset})`);
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new Error(`listMessages: limit must be an integer >= 1 (got ${limit})`);
}
