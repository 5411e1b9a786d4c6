/**
 * The wait that leases (the port's optional waitAndLease; docs/redis.md): BLMOVE takes the head
 * of the queue into a claim list named after the token it will be leased under, and claim.lua,
 * sent the moment it arrives, leases it while the worker already runs it.
 */
import type { ClaimedLease } from '../../core/port.ts';
import type { BlockingWaits } from './blocking.ts';
import type { RedisConnection } from './connection.ts';
import type { QueueKeys } from './keys.ts';
import { evalScript } from './scripts.ts';

export const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/**
 * Waits up to `ms` for a message of the queue `k` and hands it over under `token`. The commands
 * behind the BLMOVE run as soon as it is served (Redis executes what a blocked client queued
 * before it reads that socket again): ZADD registers the claim, so a worker killed the next
 * instant leaves a list recover.lua returns after the deadline (the wait's end plus a lease),
 * counted as a delivery; EXISTS tells whether any delivery count is kept (if none, the message
 * is a first delivery and is handed over at once; if some, only once claim.lua has counted it);
 * LLEN whether more messages wait behind it.
 */
export async function claimNext(
  connection: RedisConnection,
  waits: BlockingWaits,
  k: QueueKeys,
  token: string,
  ms: number,
  leaseMs: number,
  signal: AbortSignal,
): Promise<ClaimedLease | undefined> {
  const claim = k.claim(token);
  const replies = await waits.run(
    [
      ['BLMOVE', k.wait, claim, 'LEFT', 'RIGHT', seconds(ms)],
      ['ZADD', k.claims, String(Date.now() + ms + leaseMs), claim],
      ['EXISTS', k.expired],
      ['LLEN', k.wait],
    ],
    ms,
    signal,
  );
  const run = (mode: 'lease' | 'return') => runClaim(connection, k, claim, token, leaseMs, mode);
  if (!replies) {
    // Aborted (a worker stopping), or failed: the BLMOVE may have taken a message whose reply
    // never came. It goes back now if Redis answers; if not, the claim lapses and recover does it.
    await run('return');
    return undefined;
  }
  const body = replies[0];
  if (typeof body !== 'string') {
    // Nothing came: the registration goes (should this fail, it lapses and recover drops it).
    await connection
      .command()
      .sendCommand(['ZREM', k.claims, claim])
      .catch(() => undefined);
    return undefined;
  }
  // Sent now, before the caller sees the message: its settles and extends come after.
  const leasing = run('lease');
  if (body === '' && k.nativeWait) {
    await leasing; // a wake-up marker: dropped, and the caller reserves (a delayed message came due)
    return undefined;
  }
  const more = Number(replies[3]) > 0;
  if (Number(replies[2]) === 0)
    return { message: { token, body, delivery: 1 }, leased: leasing.then((d) => d > 0), more };
  const delivery = await leasing;
  return delivery > 0
    ? { message: { token, body, delivery }, leased: Promise.resolve(true), more }
    : undefined;
}

/**
 * claim.lua, sent on the command connection at once, with EVAL: an EVALSHA refused with
 * NOSCRIPT would be re-sent behind the commands sent meanwhile. Resolves 0 if it fails.
 */
function runClaim(
  connection: RedisConnection,
  k: QueueKeys,
  claim: string,
  token: string,
  leaseMs: number,
  mode: 'lease' | 'return',
): Promise<number> {
  return evalScript<number>(
    connection.command(),
    'claim',
    [k.claims, claim, k.leases, k.inflight, k.wait, k.expired],
    [token, Date.now(), leaseMs, k.nativeWait ? 1 : 0, mode],
  ).then(Number, () => 0);
}
