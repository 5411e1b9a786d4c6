/** The Redis broker's optional operations (QueueControlOperations in port.ts): listing, removal, pause. */
import type { ListableState, ListedMessage } from '../../core/port.ts';
import { checkListing } from '../operation-checks.ts';
import { workerOfToken } from '../worker-identity.ts';
import type { Client } from './connection.ts';
import type { QueueKeys } from './keys.ts';
import { runScript } from './scripts.ts';

/** The paused flag of a queue: a plain key, so any client (or redis-cli) can set it. */
export const pausedKey = (prefix: string, queue: string): string => `${prefix}:{${queue}}:paused`;

export async function listMessages(
  client: Client,
  k: QueueKeys,
  state: ListableState,
  offset: number,
  limit: number,
): Promise<ListedMessage[]> {
  checkListing(state, offset, limit);
  if (state === 'waiting') {
    // Empty bodies are wake-up markers in Errand's own list: read past them.
    const out: ListedMessage[] = [];
    let skipped = 0;
    for (let from = 0; out.length < limit; from += 1000) {
      const page = (await client.sendCommand([
        'LRANGE',
        k.wait,
        String(from),
        String(from + 999),
      ])) as string[];
      for (const body of page) {
        if (body === '' && k.nativeWait) continue;
        if (skipped < offset) skipped++;
        else if (out.length < limit) out.push({ body });
      }
      if (page.length < 1000) break;
    }
    return out;
  }
  const key = state === 'delayed' ? k.delayed : k.leases;
  const range = (await client.sendCommand([
    'ZRANGE',
    key,
    String(offset),
    String(offset + limit - 1),
    'WITHSCORES',
  ])) as string[];
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i + 1 < range.length; i += 2) pairs.push([range[i]!, Number(range[i + 1])]);
  if (state === 'delayed') return pairs.map(([body, at]) => ({ body, at }));
  if (pairs.length === 0) return [];
  // Leases are by token; the bodies are in the in-flight hash (a lease settled meanwhile is left out).
  const bodies = (await client.sendCommand(['HMGET', k.inflight, ...pairs.map(([token]) => token)])) as Array<
    string | null
  >;
  return pairs.flatMap(([token, at], i) => {
    const body = bodies[i];
    if (body == null) return [];
    const worker = workerOfToken(token);
    return [{ body, at, ...(worker !== undefined && { worker }) }];
  });
}

export async function removeWaiting(
  client: Client,
  k: QueueKeys,
  bodies: readonly string[],
): Promise<string[]> {
  if (bodies.length === 0) return [];
  const removed = await runScript<string[]>(client, 'remove-waiting', [k.wait, k.delayed], bodies);
  return removed.map(String);
}

export async function setPaused(client: Client, key: string, paused: boolean): Promise<void> {
  await client.sendCommand(paused ? ['SET', key, '1'] : ['DEL', key]);
}

export async function isPaused(client: Client, key: string): Promise<boolean> {
  return Number(await client.sendCommand(['EXISTS', key])) === 1;
}
