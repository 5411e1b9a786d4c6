/**
 * The wait that leases (the port's optional waitAndLease; docs/redis.md): BLMOVE takes the head
 * of the queue into a claim list named after the first token it will be leased under, LMOVEs
 * behind it take what already waits after it, and claim.lua, sent the moment they arrive, leases
 * them while the worker already runs them.
 */
import type { ClaimedLease, ClaimedLeases } from '../../core/port.ts';
import type { BlockingWaits } from './blocking.ts';
import type { RedisConnection } from './connection.ts';
import type { QueueKeys } from './keys.ts';
import { evalScript } from './scripts.ts';

export const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/** The tokens a wait's messages are leased under: prefix + first, prefix + (first + 1), ... */
export interface ClaimTokens {
  readonly prefix: string;
  readonly first: number;
  /** Most messages the wait takes (one BLMOVE, then max - 1 LMOVEs). */
  readonly max: number;
}

/**
 * Waits up to `ms` for messages of the queue `k` and hands them over under `tokens`. The
 * commands behind the BLMOVE run as soon as it is served (Redis executes what a blocked client
 * queued before it reads that socket again): the LMOVEs take messages already waiting behind
 * the first (several sent at once start at once, not one now and the rest a reserve later);
 * ZADD registers the claim, so a worker killed the next instant leaves a list recover.lua
 * returns after the deadline (the wait's end plus a lease), counted as a delivery; EXISTS tells
 * whether any delivery count is kept (if none, the messages are first deliveries and are handed
 * over at once; if some, only once claim.lua has counted them); LLEN whether more wait behind.
 */
export async function claimNext(
  connection: RedisConnection,
  waits: BlockingWaits,
  k: QueueKeys,
  tokens: ClaimTokens,
  ms: number,
  leaseMs: number,
  signal: AbortSignal,
): Promise<ClaimedLeases | undefined> {
  const claim = k.claim(tokens.prefix + tokens.first);
  const commands = [['BLMOVE', k.wait, claim, 'LEFT', 'RIGHT', seconds(ms)]];
  for (let i = 1; i < tokens.max; i++) commands.push(['LMOVE', k.wait, claim, 'LEFT', 'RIGHT']);
  commands.push(
    ['ZADD', k.claims, String(Date.now() + ms + leaseMs), claim],
    ['EXISTS', k.expired],
    ['LLEN', k.wait],
  );
  const replies = await waits.run(commands, ms, signal);
  const run = (mode: 'lease' | 'return') => runClaim(connection, k, claim, tokens, leaseMs, mode);
  if (!replies) {
    // Aborted (a worker stopping), or failed: the BLMOVE may have taken a message whose reply
    // never came. It goes back now if Redis answers; if not, the claim lapses and recover does it.
    await run('return');
    return undefined;
  }
  // What the claim list holds, in order (an LMOVE may find a message the timed-out BLMOVE missed).
  const bodies = replies.slice(0, tokens.max).filter((b): b is string => typeof b === 'string');
  if (bodies.length === 0) {
    // Nothing came: the registration goes (should this fail, it lapses and recover drops it).
    await connection
      .command()
      .sendCommand(['ZREM', k.claims, claim])
      .catch(() => undefined);
    return undefined;
  }
  // Sent now, before the caller sees the messages: their settles and extends come after.
  const leasing = run('lease');
  // Wake-up markers (a delayed message came due) are dropped, and the caller reserves next.
  const messages = k.nativeWait ? bodies.filter((b) => b !== '') : bodies;
  if (messages.length === 0) {
    await leasing;
    return undefined;
  }
  const more = messages.length < bodies.length || Number(replies[tokens.max + 2]) > 0;
  const token = (i: number) => tokens.prefix + (tokens.first + i);
  if (Number(replies[tokens.max + 1]) === 0) {
    const claimed = messages.map(
      (body, i): ClaimedLease => ({
        message: { token: token(i), body, delivery: 1 },
        leased: leasing.then((d) => d.length > i),
      }),
    );
    return { claimed, more };
  }
  const deliveries = await leasing;
  if (deliveries.length === 0) return undefined;
  const claimed = messages.map(
    (body, i): ClaimedLease => ({
      message: { token: token(i), body, delivery: deliveries[i] ?? 1 },
      leased: Promise.resolve(true),
    }),
  );
  return { claimed, more };
}

/**
 * claim.lua, sent on the command connection at once, with EVAL: an EVALSHA refused with
 * NOSCRIPT would be re-sent behind the commands sent meanwhile. Resolves the delivery count of
 * each message leased, none if it fails.
 */
function runClaim(
  connection: RedisConnection,
  k: QueueKeys,
  claim: string,
  tokens: ClaimTokens,
  leaseMs: number,
  mode: 'lease' | 'return',
): Promise<number[]> {
  return evalScript<unknown[]>(
    connection.command(),
    'claim',
    [k.claims, claim, k.leases, k.inflight, k.wait, k.expired],
    [tokens.prefix, tokens.first, Date.now(), leaseMs, k.nativeWait ? 1 : 0, mode],
  ).then(
    (out) => out.map(Number),
    () => [],
  );
}
