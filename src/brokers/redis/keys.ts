/**
 * Key names. Every key of one queue shares the hash tag `{queue}` so that each script touches
 * a single Redis Cluster slot. Result keys are per task id, outside any queue.
 */
export interface QueueKeys {
  readonly wait: string;
  readonly delayed: string;
  readonly leases: string;
  readonly inflight: string;
  readonly expired: string;
  readonly dead: string;
  readonly deadIndex: string;
  /** When a reserve or extend last reached the queue (the lease grace after a silence). */
  readonly clock: string;
  /** Claim lists of idle workers' waits (claim.lua), by deadline: recover.lua empties late ones. */
  readonly claims: string;
  /** True when `wait` is Errand's own list (not a foreign list such as Gordon's). */
  readonly nativeWait: boolean;
  dedupe(key: string): string;
  /** The list one blocking wait moves a message into, named after the token it will be leased under. */
  claim(token: string): string;
}

export function queueKeys(prefix: string, queue: string, listKey?: string): QueueKeys {
  const base = `${prefix}:{${queue}}`;
  return {
    wait: listKey ?? `${base}:wait`,
    delayed: `${base}:delayed`,
    leases: `${base}:leases`,
    inflight: `${base}:inflight`,
    expired: `${base}:expired`,
    dead: `${base}:dead`,
    deadIndex: `${base}:dead-index`,
    clock: `${base}:clock`,
    claims: `${base}:claims`,
    nativeWait: listKey === undefined,
    dedupe: (key) => `${base}:dedupe:${key}`,
    claim: (token) => `${base}:claim:${token}`,
  };
}

export const resultKey = (prefix: string, id: string): string => `${prefix}:result:${id}`;
export const finalChannel = (prefix: string): string => `${prefix}:final`;
/** Ids of records written CANCELLED, for the workers' cancel watch (errand.cancel). */
export const cancelledChannel = (prefix: string): string => `${prefix}:cancelled`;
/** A workflow group's member results and failure mark (scripts/group-report.lua). */
export const groupKey = (prefix: string, group: string): string => `${prefix}:group:${group}`;
