/**
 * The SQLite result backend: one row per task id, as JSON, with an expiry time.
 *
 * Final states get a number from a counter that only grows (`final_seq`), so a listener
 * in any process finds new final results with one indexed query, "final_seq > last seen",
 * run when this process writes one or when another process commits.
 */
import {
  FINAL_STATES,
  type GroupCounter,
  type GroupStatus,
  type ResultBackend,
  type TaskRecord,
} from '../../core/port.ts';
import { applyGroupCall, checkGroupCall, type GroupState } from '../group-checks.ts';
import { finalEvent, type SqliteConnection } from './connection.ts';
import { FINALS_PAGE } from './schema.ts';

/** Expired records are deleted at most this often; `read` ignores them in the meantime. */
const PURGE_EVERY_MS = 5000;

export class SqliteResultBackend implements ResultBackend {
  readonly name = 'sqlite';
  private lastPurge = 0;
  private closed = false;
  private readonly stops = new Set<() => void>();

  constructor(
    private readonly connection: SqliteConnection,
    private readonly ns: string,
  ) {}

  private get conn(): SqliteConnection {
    if (this.closed) throw new Error('SQLite result backend is closed');
    return this.connection;
  }

  async write(records: readonly TaskRecord[], ttlMs: number): Promise<void> {
    if (records.length === 0) return;
    const { sql } = this.conn;
    const now = Date.now();
    const finals = records.filter((r) => FINAL_STATES.has(r.state)).length;
    await this.conn.write(() => {
      if (now - this.lastPurge >= PURGE_EVERY_MS) {
        this.lastPurge = now;
        sql.purgeResults.run(now);
      }
      let finalSeq =
        finals > 0 ? (sql.bumpFinalSeq.get(finals) as { value: number }).value - finals : Number.NaN;
      for (const record of records) {
        const seq = FINAL_STATES.has(record.state) ? ++finalSeq : null;
        sql.writeResult.run(this.ns, record.id, JSON.stringify(record), now + ttlMs, seq);
      }
    });
    if (finals > 0) this.connection.local.emit(finalEvent(this.ns));
  }

  async read(id: string): Promise<TaskRecord | undefined> {
    const row = this.conn.read(() => this.conn.sql.readResult.get(this.ns, id, Date.now())) as
      | { record: string }
      | undefined;
    return row ? (JSON.parse(row.record) as TaskRecord) : undefined;
  }

  async onFinal(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>> {
    const { conn, ns } = this;
    let last = (conn.read(() => conn.sql.finalSeq.get()) as { value: number }).value;
    const check = (): void => {
      if (!conn.isOpen) return;
      for (;;) {
        const rows = conn.sql.finalsAfter.all(ns, last) as Array<{ id: string; final_seq: number }>;
        if (rows.length === 0) return;
        last = rows[rows.length - 1]!.final_seq;
        listener(rows.map((r) => r.id));
        if (rows.length < FINALS_PAGE) return;
      }
    };
    const event = finalEvent(ns);
    conn.local.on(event, check);
    // Listening for results must never keep the process alive by itself.
    const unsubscribe = conn.subscribe({ keepAlive: false, onExternalChange: check });
    const stop = (): void => {
      conn.local.off(event, check);
      unsubscribe();
      this.stops.delete(stop);
    };
    this.stops.add(stop);
    return async () => stop();
  }

  /**
   * Group state is a row of the results table in a namespace of its own (`<ns>` + NUL + `groups`),
   * read and rewritten inside one BEGIN IMMEDIATE transaction: atomic across processes.
   */
  readonly groups: GroupCounter = {
    succeed: (group, size, index, value, ttlMs) =>
      this.reportMember(group, size, index, ttlMs, { ok: true, value }),
    fail: (group, size, index, ttlMs) => this.reportMember(group, size, index, ttlMs, { ok: false }),
  };

  private async reportMember(
    group: string,
    size: number,
    index: number,
    ttlMs: number,
    outcome: { ok: true; value: unknown } | { ok: false },
  ): Promise<GroupStatus> {
    checkGroupCall(group, size, index, ttlMs);
    const { sql } = this.conn;
    const ns = `${this.ns}\u0000groups`;
    return this.conn.write(() => {
      const now = Date.now();
      const row = sql.readResult.get(ns, group, now) as { record: string } | undefined;
      const state: GroupState = row
        ? (JSON.parse(row.record) as GroupState)
        : { size, failed: false, results: {} };
      const status = applyGroupCall(state, index, outcome);
      sql.writeResult.run(ns, group, JSON.stringify(state), now + ttlMs, null);
      return status;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const stop of [...this.stops]) stop();
    this.closed = true;
    this.connection.release();
  }
}
