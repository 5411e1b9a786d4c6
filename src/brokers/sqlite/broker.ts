/**
 * The SQLite broker: queues in one embedded database file, shared by the processes of one
 * machine. Every state transition runs inside a `BEGIN IMMEDIATE` transaction (writes issued
 * in the same tick share one), so concurrent processes serialize on SQLite's write lock and
 * never lease the same row twice.
 * See docs/sqlite.md.
 */
import type {
  Broker,
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
import {
  checkDedupeTtl,
  checkEntries,
  checkedBatch,
  checkLease,
  checkReserve,
  MAX_TIMER_MS,
  waitMs,
} from '../checks.ts';
import { type LastSeen, observe } from '../lease-grace.ts';
import { newWorkerId, tokenPrefixOf } from '../worker-identity.ts';
import { type SqliteConnection, workEvent } from './connection.ts';
import { SqliteOperations } from './operations.ts';
import { DEAD, DELAYED, LEASED, WAITING } from './schema.ts';

/** Expired dedupe keys are deleted at most this often (a live key check ignores them anyway). */
const DEDUPE_PURGE_MS = 5000;

function seqOf(token: string): number | undefined {
  const seq = Number.parseInt(token, 10);
  return Number.isSafeInteger(seq) && token.startsWith(`${seq}:`) ? seq : undefined;
}

function seqOfKey(key: string): number | undefined {
  const seq = Number(key);
  return key !== '' && Number.isSafeInteger(seq) ? seq : undefined;
}

interface Pos {
  pos: number | null;
}

export class SqliteBroker implements Broker {
  readonly name = 'sqlite';
  readonly capabilities: { shared: boolean; durable: boolean };
  private lastDedupePurge = 0;
  private closed = false;
  /** Pending `waitForWork` calls, resolved on close. */
  private readonly waiters = new Set<() => void>();
  /** Unique per broker instance (`<host>:<pid>:<random>/`), so tokens never collide and name their holder. */
  private readonly tokenPrefix = tokenPrefixOf(newWorkerId());
  private tokenCounter = 0;

  constructor(
    private readonly connection: SqliteConnection,
    private readonly ns: string,
    /** Dead letters kept per queue; the oldest beyond it are deleted. */
    private readonly deadLetterLimit = 10_000,
  ) {
    const persistent = connection.location !== ':memory:';
    this.capabilities = { shared: persistent, durable: persistent };
  }

  /**
   * A fencing token names its row, so settling finds it by primary key: `<seq>:<worker>/<n>`
   * (listings read the worker back: workerOfSqliteToken in operations.ts).
   */
  private newToken(seq: number): string {
    return `${seq}:${this.tokenPrefix}${(++this.tokenCounter).toString(36)}`;
  }

  /** The connection, or a clear error once this broker is closed. */
  private get conn(): SqliteConnection {
    if (this.closed) throw new Error('SQLite broker is closed');
    return this.connection;
  }

  private tail(queue: string): number {
    return (this.conn.sql.tail.get(this.ns, queue) as Pos).pos ?? 0;
  }

  private head(queue: string): number {
    return (this.conn.sql.head.get(this.ns, queue) as Pos).pos ?? 0;
  }

  /** Keeps the newest `deadLetterLimit` dead letters of the queue. */
  private trimDead(queue: string): void {
    this.conn.sql.trimDead.run(this.ns, queue, this.deadLetterLimit);
  }

  async enqueue(
    queue: string,
    entries: readonly EnqueueEntry[],
    dedupeTtlMs: number,
  ): Promise<EnqueueOutcome[]> {
    checkEntries(entries);
    if (entries.some((e) => e.dedupeKey !== undefined)) checkDedupeTtl(dedupeTtlMs);
    const { sql } = this.conn;
    const now = Date.now();
    let anyQueued = false;
    const outcomes = await this.conn.write(() => {
      if (now - this.lastDedupePurge >= DEDUPE_PURGE_MS && entries.some((e) => e.dedupeKey !== undefined)) {
        this.lastDedupePurge = now;
        sql.purgeDedupe.run(now);
      }
      let tail = this.tail(queue);
      return entries.map((entry): EnqueueOutcome => {
        if (entry.dedupeKey !== undefined) {
          const claimed = sql.claimDedupe.run(
            this.ns,
            queue,
            entry.dedupeKey,
            now + dedupeTtlMs,
            now,
          ).changes;
          if (claimed === 0) return 'duplicate';
        }
        if (entry.dueAt !== undefined && entry.dueAt > now) {
          sql.insert.run(this.ns, queue, DELAYED, entry.dueAt, entry.body);
        } else {
          sql.insert.run(this.ns, queue, WAITING, ++tail, entry.body);
        }
        anyQueued = true;
        return 'queued';
      });
    });
    if (anyQueued) this.connection.local.emit(workEvent(this.ns, queue));
    return outcomes;
  }

  async reserve(queue: string, request: ReserveRequest): Promise<ReserveResult> {
    checkReserve(request);
    return this.conn.write(() => this.reserveNow(queue, request));
  }

  /** Records this call on the queue's clock; after a silence, grants the lease grace (lease-grace.ts). */
  private touch(queue: string, leaseMs: number, now: number): void {
    const { sql } = this.conn;
    const last = sql.lastSeen.get(this.ns, queue) as LastSeen | undefined;
    const { seen, grace } = observe(last, Date.now(), now, leaseMs);
    sql.seen.run(this.ns, queue, seen.at, seen.now);
    if (grace) sql.graceLeases.run(grace.deadline, this.ns, queue, grace.since, grace.until);
  }

  /** The body of `reserve`, run inside a write transaction. */
  private reserveNow(queue: string, request: ReserveRequest): ReserveResult {
    const { sql } = this.conn;
    const { ns } = this;
    const { now } = request;
    this.touch(queue, request.leaseMs, now);
    // Due delayed messages join the tail, in due order.
    const due = sql.dueDelayed.all(ns, queue, now) as Array<{ seq: number }>;
    if (due.length > 0) {
      let tail = this.tail(queue);
      for (const row of due) sql.moveToWaiting.run(++tail, row.seq);
    }
    // Expired leases go back to the head (they were first in line), or to the dead letters.
    const expired = sql.expiredLeases.all(ns, queue, now) as Array<{
      seq: number;
      expired: number;
      body: string;
    }>;
    const deadLettered: DeadLetter[] = [];
    if (expired.length > 0) {
      let head = this.head(queue) - expired.length;
      for (const row of expired) {
        const deliveries = row.expired + 1;
        if (deliveries >= request.maxDeliveries) {
          const reason = `delivered ${deliveries} times without finishing`;
          sql.bury.run(reason, now, row.seq);
          deadLettered.push({ key: String(row.seq), body: row.body, reason, failedAt: now });
        } else {
          sql.requeueExpired.run(head++, row.seq);
        }
      }
    }
    if (deadLettered.length > 0) this.trimDead(queue);
    const messages: LeasedMessage[] = [];
    if (request.max > 0) {
      const rows = sql.nextWaiting.all(ns, queue, request.max) as Array<{
        seq: number;
        body: string;
        expired: number;
      }>;
      const deadline = now + request.leaseMs;
      for (const row of rows) {
        const token = this.newToken(row.seq);
        sql.lease.run(deadline, token, row.seq);
        messages.push({ body: row.body, token, delivery: row.expired + 1 });
      }
    }
    const next = (sql.nextDue.get(ns, queue) as { due: number | null }).due;
    return { messages, nextDueAt: next ?? undefined, deadLettered };
  }

  async settle(queue: string, input: SettleBatch, now: number): Promise<SettleResult> {
    const batch = checkedBatch(input, now);
    const { lost, wake } = await this.conn.write(() => this.settleNow(queue, batch, now));
    if (wake) this.connection.local.emit(workEvent(this.ns, queue));
    return { lost };
  }

  /** Settle, then lease up to `request.max` more, in one transaction. */
  async settleAndReserve(
    queue: string,
    input: SettleBatch,
    request: ReserveRequest,
  ): Promise<SettleResult & { readonly reserved: ReserveResult }> {
    checkReserve(request);
    const batch = checkedBatch(input, request.now);
    const { lost, wake, reserved } = await this.conn.write(() => ({
      ...this.settleNow(queue, batch, request.now),
      reserved: this.reserveNow(queue, request),
    }));
    if (wake) this.connection.local.emit(workEvent(this.ns, queue));
    return { lost, reserved };
  }

  /** The body of `settle`, run inside a write transaction; `wake` says whether work was put back. */
  private settleNow(queue: string, batch: SettleBatch, now: number): { lost: string[]; wake: boolean } {
    const { sql } = this.conn;
    const lost: string[] = [];
    let released = false;
    // A stale token (expired and re-leased, or already settled) matches no row: reported, not applied.
    const apply = (token: string, run: (seq: number) => number): void => {
      const seq = seqOf(token);
      if (seq === undefined || run(seq) === 0) lost.push(token);
    };
    for (const token of batch.acks ?? []) apply(token, (seq) => sql.ack.run(seq, token).changes);
    for (const r of batch.retries ?? []) {
      apply(r.token, (seq) => sql.retry.run(r.body, r.dueAt, seq, r.token).changes);
    }
    for (const d of batch.deadLetters ?? []) {
      apply(d.token, (seq) => sql.deadLetter.run(d.reason, now, d.body ?? null, seq, d.token).changes);
    }
    if ((batch.deadLetters?.length ?? 0) > 0) this.trimDead(queue);
    const releases = batch.releases ?? [];
    if (releases.length > 0) {
      // Back to the head, keeping the order they were given in.
      let head = this.head(queue) - releases.length;
      for (const token of releases) {
        apply(token, (seq) => {
          const changed = sql.release.run(head++, seq, token).changes;
          if (changed > 0) released = true;
          return changed;
        });
      }
    }
    return { lost, wake: released || (batch.retries?.length ?? 0) > 0 };
  }

  async extend(queue: string, tokens: readonly string[], leaseMs: number, now: number): Promise<string[]> {
    checkLease('extend', leaseMs, now);
    const { sql } = this.conn;
    const lost: string[] = [];
    await this.conn.write(() => {
      this.touch(queue, leaseMs, now);
      for (const token of tokens) {
        const seq = seqOf(token);
        if (seq === undefined || sql.extend.run(now + leaseMs, seq, token).changes === 0) lost.push(token);
      }
    });
    return lost;
  }

  /** Work now: a waiting message, or a delayed one due / a lease expired that `reserve` would act on. */
  private hasWork(queue: string): boolean {
    const { ns } = this;
    const row = this.conn.read(() => this.conn.sql.hasWork.get(ns, queue, ns, queue, Date.now())) as {
      work: number;
    };
    return row.work !== 0;
  }

  private nextDue(queue: string): number | undefined {
    return (
      (this.conn.read(() => this.conn.sql.nextDue.get(this.ns, queue)) as { due: number | null }).due ??
      undefined
    );
  }

  async waitForWork(queue: string, until: number, signal: AbortSignal): Promise<void> {
    // A due time that is not a number waits as long as a timer can (a wake-up comes first).
    if (Number.isNaN(until)) until = Number.POSITIVE_INFINITY;
    if (signal.aborted || this.closed || until <= Date.now() || this.hasWork(queue)) return;
    await new Promise<void>((resolve) => {
      const { conn, waiters } = this;
      const event = workEvent(this.ns, queue);
      let timer: NodeJS.Timeout | undefined;
      let unsubscribe = (): void => {};
      const finish = (): void => {
        clearTimeout(timer);
        unsubscribe();
        conn.local.off(event, finish);
        signal.removeEventListener('abort', finish);
        waiters.delete(finish);
        resolve();
      };
      const wakeAt = (at: number): void => {
        clearTimeout(timer);
        // Clamped: Node fires longer timeouts (over ~24.8 days) at once.
        timer = setTimeout(finish, waitMs(at, Date.now(), MAX_TIMER_MS));
      };
      unsubscribe = conn.subscribe({
        keepAlive: true,
        onExternalChange: () => {
          try {
            if (this.hasWork(queue)) return finish();
            // Another process may have scheduled something due before `until`: wake for it.
            const due = this.nextDue(queue);
            if (due !== undefined && due < until) wakeAt(due);
          } catch {
            finish(); // the caller's next reserve reports the problem
          }
        },
      });
      waiters.add(finish);
      conn.local.on(event, finish);
      signal.addEventListener('abort', finish, { once: true });
      wakeAt(until);
    });
  }

  async listDead(queue: string, offset: number, limit: number): Promise<DeadLetter[]> {
    const rows = this.conn.read(() => this.conn.sql.listDead.all(this.ns, queue, limit, offset)) as Array<{
      seq: number;
      body: string;
      reason: string | null;
      at: number;
    }>;
    return rows.map((r) => ({ key: String(r.seq), body: r.body, reason: r.reason ?? '', failedAt: r.at }));
  }

  async retryDead(queue: string, keys: readonly string[], bodies?: readonly string[]): Promise<number> {
    const { sql } = this.conn;
    const moved = await this.conn.write(() => {
      let tail = this.tail(queue);
      let count = 0;
      keys.forEach((key, i) => {
        const seq = seqOfKey(key);
        if (seq === undefined) return;
        if (sql.retryDead.run(tail + 1, bodies?.[i] ?? null, seq, this.ns, queue).changes > 0) {
          tail++;
          count++;
        }
      });
      return count;
    });
    if (moved > 0) this.connection.local.emit(workEvent(this.ns, queue));
    return moved;
  }

  async purgeDead(queue: string, keys?: readonly string[]): Promise<number> {
    const { sql } = this.conn;
    return this.conn.write(() => {
      if (keys === undefined) return sql.purgeDeadAll.run(this.ns, queue).changes;
      let count = 0;
      for (const key of keys) {
        const seq = seqOfKey(key);
        if (seq !== undefined) count += sql.purgeDeadOne.run(seq, this.ns, queue).changes;
      }
      return count;
    });
  }

  // Optional operations (operations.ts).
  private operationsCache: SqliteOperations | undefined;
  private get operations(): SqliteOperations {
    this.operationsCache ??= new SqliteOperations(() => this.conn, this.ns);
    return this.operationsCache;
  }
  listMessages(queue: string, state: ListableState, offset: number, limit: number) {
    return this.operations.listMessages(queue, state, offset, limit);
  }
  removeWaiting(queue: string, bodies: readonly string[]): Promise<string[]> {
    return this.operations.removeWaiting(queue, bodies);
  }
  setPaused(queue: string, paused: boolean): Promise<void> {
    return this.operations.setPaused(queue, paused);
  }
  isPaused(queue: string): Promise<boolean> {
    return this.operations.isPaused(queue);
  }

  async stats(queue: string): Promise<QueueStats> {
    const rows = this.conn.read(() => this.conn.sql.stats.all(this.ns, queue)) as Array<{
      state: number;
      n: number;
    }>;
    const count = (state: number): number => rows.find((r) => r.state === state)?.n ?? 0;
    return { waiting: count(WAITING), delayed: count(DELAYED), leased: count(LEASED), dead: count(DEAD) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const finish of [...this.waiters]) finish();
    this.closed = true;
    this.connection.release();
  }
}
