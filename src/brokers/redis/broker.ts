/** The Redis broker: each state transition of the port is one Lua script (see scripts/*.lua). */
import { createHash } from 'node:crypto';
import type {
  Broker,
  ClaimedLeases,
  DeadLetter,
  EnqueueEntry,
  EnqueueOutcome,
  LeasedMessage,
  ListableState,
  QueueStats,
  ReserveRequest,
  ReserveResult,
  SettleBatch,
  SettleResult,
} from '../../core/port.ts';
import { checkDedupeTtl, checkEntries, checkedBatch, checkLease, checkReserve, waitMs } from '../checks.ts';
import { SILENCE_FRACTION } from '../lease-grace.ts';
import { newWorkerId, tokenPrefixOf } from '../worker-identity.ts';
import { BlockingWaits } from './blocking.ts';
import { claimNext, seconds } from './claims.ts';
import type { Client, RedisConnection } from './connection.ts';
import { type QueueKeys, queueKeys } from './keys.ts';
import * as ops from './operations.ts';
import type { RecordBatch, TakenRecords } from './result-rider.ts';
import { runScript } from './scripts.ts';

export interface RedisBrokerOptions {
  readonly prefix: string;
  /** Per queue, a foreign LIST to consume instead of Errand's own (e.g. Gordon's `<queue_key>:<type>`). */
  readonly listKeys?: Readonly<Record<string, string>>;
  /** Dead letters kept per queue; older ones are dropped. */
  readonly deadLetterLimit?: number;
}

/** How long one blocking wait lasts at most, so a foreign delayed message is noticed in time. */
const MAX_BLOCK_MS = 2000;
/**
 * Most messages one wait takes (waitAndLease): its BLMOVE, and an LMOVE each for the rest, sent
 * with every wait (an LMOVE of an empty list costs Redis about a microsecond). Messages sent
 * together beyond these come by the reserve that follows.
 */
const MAX_CLAIMED_PER_WAIT = 4;

export const sha1 = (body: string): string => createHash('sha1').update(body).digest('hex');

export class RedisBroker implements Broker {
  readonly name = 'redis';
  readonly capabilities = { shared: true, durable: true };
  private readonly keyCache = new Map<string, QueueKeys>();
  /** Tokens are `<host>:<pid>:<random>/<n>`: listings show the holder (src/brokers/worker-identity.ts). */
  private readonly tokenPrefix = tokenPrefixOf(newWorkerId());
  private tokenSeq = 0;
  private readonly waits: BlockingWaits;
  private readonly recoveredAt = new Map<string, number>();
  private readonly deadLetterLimit: number;

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: RedisBrokerOptions,
  ) {
    this.deadLetterLimit = options.deadLetterLimit ?? 10_000;
    this.waits = new BlockingWaits(connection);
  }

  private keys(queue: string): QueueKeys {
    let keys = this.keyCache.get(queue);
    if (!keys) {
      keys = queueKeys(this.options.prefix, queue, this.options.listKeys?.[queue]);
      this.keyCache.set(queue, keys);
    }
    return keys;
  }

  private client(): Promise<Client> {
    return this.connection.ready();
  }

  async enqueue(
    queue: string,
    entries: readonly EnqueueEntry[],
    dedupeTtlMs: number,
  ): Promise<EnqueueOutcome[]> {
    checkEntries(entries);
    if (entries.some((e) => e.dedupeKey !== undefined)) checkDedupeTtl(dedupeTtlMs);
    if (entries.length === 0) return [];
    const k = this.keys(queue);
    if (entries.every((e) => e.dueAt === undefined && e.dedupeKey === undefined)) {
      // Nothing delayed, nothing deduplicated: all enqueue.lua would do is this RPUSH (no Lua).
      const command = ['RPUSH', k.wait];
      for (const entry of entries) command.push(entry.body);
      await this.connection.command().sendCommand(command);
      return entries.map(() => 'queued');
    }
    const keys = [k.wait, k.delayed];
    const args: (string | number)[] = [Date.now(), dedupeTtlMs, k.nativeWait ? 1 : 0];
    for (const entry of entries) {
      args.push(entry.body, entry.dueAt ?? '', entry.dedupeKey === undefined ? 0 : 1);
      if (entry.dedupeKey !== undefined) keys.push(k.dedupe(entry.dedupeKey));
    }
    const out = await runScript<number[]>(this.connection.command(), 'enqueue', keys, args);
    return out.map((n) => (n === 1 ? 'queued' : 'duplicate'));
  }

  async reserve(queue: string, request: ReserveRequest): Promise<ReserveResult> {
    checkReserve(request);
    const client = await this.client();
    const k = this.keys(queue);
    const deadLettered = await this.recoverIfDue(client, queue, k, request);
    const out = await runScript<string[]>(
      client,
      'reserve',
      [k.wait, k.delayed, k.leases, k.inflight, k.expired],
      [request.now, request.max, request.leaseMs, ...this.takeTokens(request.max), k.nativeWait ? 1 : 0],
    );
    return { ...parseReserved(out, 0), deadLettered };
  }

  /** Token prefix and first number for up to `max` new leases (unique per delivery: fencing). */
  private takeTokens(max: number): [string, number] {
    // A count below 1 would rewind the counter and hand out a token twice.
    if (!Number.isSafeInteger(max) || max < 1)
      throw new RangeError(`reserve: max must be a positive integer (got ${max})`);
    const first = this.tokenSeq;
    this.tokenSeq += max;
    return [this.tokenPrefix, first];
  }

  /** Expired leases are looked for at most every 250 ms per queue and process, not on every reserve. */
  private async recoverIfDue(
    client: Client,
    queue: string,
    k: QueueKeys,
    request: ReserveRequest,
  ): Promise<DeadLetter[]> {
    const last = this.recoveredAt.get(queue) ?? 0;
    if (request.now - last < 250) return [];
    this.recoveredAt.set(queue, request.now);
    const out = await runScript<(string | number)[]>(
      client,
      'recover',
      [k.wait, k.leases, k.inflight, k.expired, k.dead, k.deadIndex, k.clock, k.claims],
      [
        request.now,
        request.maxDeliveries,
        this.deadLetterLimit,
        request.leaseMs,
        SILENCE_FRACTION,
        k.nativeWait ? 1 : 0,
      ],
    );
    const buried: DeadLetter[] = [];
    for (let i = 1; i + 2 < out.length; i += 3) {
      buried.push({
        key: String(out[i]),
        body: String(out[i + 1]),
        reason: String(out[i + 2]),
        failedAt: request.now,
      });
    }
    return buried;
  }

  async settle(queue: string, batch: SettleBatch, now: number): Promise<SettleResult> {
    const checked = checkedBatch(batch, now);
    // Before the first await: result records written in this same step ride along.
    const records = this.takeRecords(checked);
    const out = await this.runSettle(queue, checked, now, [], records);
    return { lost: out.slice(1, 1 + Number(out[0])) };
  }

  async settleAndReserve(queue: string, input: SettleBatch, request: ReserveRequest) {
    checkReserve(request);
    const batch = checkedBatch(input, request.now);
    const records = this.connection.results.take();
    let deadLettered: DeadLetter[];
    const client = await this.client();
    const k = this.keys(queue);
    try {
      deadLettered = await this.recoverIfDue(client, queue, k, request);
    } catch (err) {
      records?.done(err);
      throw err;
    }
    const markers = k.nativeWait ? 1 : 0;
    const reserveArgs = [request.max, request.leaseMs, ...this.takeTokens(request.max), markers];
    const out = await this.runSettle(queue, batch, request.now, reserveArgs, records);
    const lostCount = Number(out[0]);
    return {
      lost: out.slice(1, 1 + lostCount),
      reserved: { ...parseReserved(out, 1 + lostCount), deadLettered },
    };
  }

  /** Result records waiting to be written, when this settle has outcomes to carry them with. */
  private takeRecords(batch: SettleBatch): TakenRecords | undefined {
    const outcomes =
      (batch.acks?.length ?? 0) +
      (batch.retries?.length ?? 0) +
      (batch.deadLetters?.length ?? 0) +
      (batch.releases?.length ?? 0);
    return outcomes > 0 ? this.connection.results.take() : undefined;
  }

  private async runSettle(
    queue: string,
    batch: SettleBatch,
    now: number,
    reserveArgs: (string | number)[],
    records: TakenRecords | undefined,
  ): Promise<string[]> {
    if (!records) return this.runSettleScript(queue, batch, now, reserveArgs, undefined);
    try {
      const out = await this.runSettleScript(queue, batch, now, reserveArgs, records.batch);
      records.done();
      return out;
    } catch (err) {
      records.done(err);
      throw err;
    }
  }

  private async runSettleScript(
    queue: string,
    batch: SettleBatch,
    now: number,
    reserveArgs: (string | number)[],
    records: RecordBatch | undefined,
  ): Promise<string[]> {
    const k = this.keys(queue);
    const acks = batch.acks ?? [];
    const retries = batch.retries ?? [];
    const deadLetters = batch.deadLetters ?? [];
    const releases = batch.releases ?? [];
    // Messages delivered before: the broker forgets their expired-delivery count (keyed by sha1).
    const shas = [...(batch.redelivered?.values() ?? [])].map(sha1);
    const count = acks.length + retries.length + deadLetters.length + releases.length;
    if (count === 0 && reserveArgs.length === 0) return ['0'];
    const args: (string | number)[] = [now, this.deadLetterLimit, acks.length, retries.length];
    args.push(deadLetters.length, releases.length, shas.length, ...acks);
    for (const r of retries) args.push(r.token, r.body, r.dueAt);
    for (const d of deadLetters) args.push(d.token, d.body ?? '', d.reason);
    args.push(...releases, ...shas, ...reserveArgs);
    const keys = [k.wait, k.delayed, k.leases, k.inflight, k.expired, k.dead, k.deadIndex];
    if (records) {
      keys.push(...records.keys);
      args.push(records.ttlMs, records.channel, records.finals, ...records.values);
    }
    return runScript<string[]>(await this.client(), 'settle', keys, args);
  }

  async extend(queue: string, tokens: readonly string[], leaseMs: number, now: number): Promise<string[]> {
    checkLease('extend', leaseMs, now);
    if (tokens.length === 0) return [];
    const k = this.keys(queue);
    return runScript<string[]>(
      await this.client(),
      'extend',
      [k.leases, k.clock],
      [now, leaseMs, SILENCE_FRACTION, ...tokens],
    );
  }

  async waitForWork(queue: string, until: number, signal: AbortSignal): Promise<void> {
    const ms = waitMs(until, Date.now(), MAX_BLOCK_MS);
    if (ms <= 0 || signal.aborted) return;
    const wait = this.keys(queue).wait;
    // Moving the tail to the tail leaves the list unchanged: this only waits until it is non-empty.
    await this.waits.run([['BLMOVE', wait, wait, 'RIGHT', 'RIGHT', seconds(ms)]], ms, signal);
  }

  /** The wait that leases: claims.ts. */
  async waitAndLease(
    queue: string,
    until: number,
    lease: { readonly leaseMs: number; readonly max?: number },
    signal: AbortSignal,
  ): Promise<ClaimedLeases | undefined> {
    checkLease('waitAndLease', lease.leaseMs, Date.now());
    const ms = waitMs(until, Date.now(), MAX_BLOCK_MS);
    if (ms <= 0 || signal.aborted) return undefined;
    const wanted = lease.max ?? 1;
    if (!Number.isSafeInteger(wanted) || wanted < 1)
      throw new RangeError(`waitAndLease: max must be a positive integer (got ${wanted})`);
    const max = Math.min(wanted, MAX_CLAIMED_PER_WAIT);
    const [prefix, first] = this.takeTokens(max);
    const tokens = { prefix, first, max };
    return claimNext(this.connection, this.waits, this.keys(queue), tokens, ms, lease.leaseMs, signal);
  }

  async listDead(queue: string, offset: number, limit: number): Promise<DeadLetter[]> {
    const client = await this.client();
    const k = this.keys(queue);
    const keys = (await client.sendCommand([
      'ZRANGE',
      k.deadIndex,
      String(offset),
      String(offset + limit - 1),
      'REV',
    ])) as string[];
    if (keys.length === 0) return [];
    const entries = (await client.sendCommand(['HMGET', k.dead, ...keys])) as (string | null)[];
    return entries.flatMap((e) => (e ? [JSON.parse(e) as DeadLetter] : []));
  }

  async retryDead(queue: string, keys: readonly string[], bodies?: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const k = this.keys(queue);
    const args = keys.flatMap((key, i) => [key, bodies?.[i] ?? '']);
    return runScript<number>(await this.client(), 'retry-dead', [k.wait, k.dead, k.deadIndex], args);
  }

  async purgeDead(queue: string, keys?: readonly string[]): Promise<number> {
    const k = this.keys(queue);
    if (keys !== undefined && keys.length === 0) return 0;
    return runScript<number>(await this.client(), 'purge-dead', [k.dead, k.deadIndex], keys ?? []);
  }

  // Optional operations (operations.ts).
  async listMessages(queue: string, state: ListableState, offset: number, limit: number) {
    return ops.listMessages(await this.client(), this.keys(queue), state, offset, limit);
  }
  async removeWaiting(queue: string, bodies: readonly string[]): Promise<string[]> {
    return ops.removeWaiting(await this.client(), this.keys(queue), bodies);
  }
  async setPaused(queue: string, paused: boolean): Promise<void> {
    return ops.setPaused(await this.client(), ops.pausedKey(this.options.prefix, queue), paused);
  }
  async isPaused(queue: string): Promise<boolean> {
    return ops.isPaused(await this.client(), ops.pausedKey(this.options.prefix, queue));
  }

  async stats(queue: string): Promise<QueueStats> {
    const client = await this.client();
    const k = this.keys(queue);
    const [waiting, delayed, leased, dead] = await Promise.all([
      client.sendCommand(['LLEN', k.wait]),
      client.sendCommand(['ZCARD', k.delayed]),
      client.sendCommand(['ZCARD', k.leases]),
      client.sendCommand(['ZCARD', k.deadIndex]),
    ]);
    return { waiting: Number(waiting), delayed: Number(delayed), leased: Number(leased), dead: Number(dead) };
  }

  async close(): Promise<void> {
    await this.waits.close();
    await this.connection.release();
  }
}

/** Reads reserve's reply (next due, then token, body, delivery triples) starting at `from`. */
function parseReserved(out: readonly (string | number)[], from: number): ReserveResult {
  const messages: LeasedMessage[] = [];
  for (let i = from + 1; i + 2 < out.length + 1; i += 3) {
    messages.push({ token: String(out[i]), body: String(out[i + 1]), delivery: Number(out[i + 2]) });
  }
  // A due time that is not a finite number (a foreign ZADD of "inf") is no time to wake for.
  const next = out[from] === '' || out[from] === undefined ? Number.NaN : Number(out[from]);
  return { messages, nextDueAt: Number.isFinite(next) ? next : undefined };
}
