/** The SQLite broker's optional operations (QueueControlOperations in port.ts): listing, removal, pause. */
import type Database from 'libsql';
import type { ListableState, ListedMessage } from '../../core/port.ts';
import { checkListing } from '../operation-checks.ts';
import { workerOfToken } from '../worker-identity.ts';
import { type SqliteConnection, workEvent } from './connection.ts';
import { DELAYED, LEASED, WAITING } from './schema.ts';

/** One row per paused queue (created on first use, so older database files need no migration). */
const PAUSED_SCHEMA = `CREATE TABLE IF NOT EXISTS errand_paused (
  ns TEXT NOT NULL,
  queue TEXT NOT NULL,
  PRIMARY KEY (ns, queue)
) WITHOUT ROWID`;

/** The holder named in a lease token `<seq>:<worker>/<n>` (see SqliteBroker.newToken). */
const workerOfSqliteToken = (token: string): string | undefined =>
  workerOfToken(token.slice(token.indexOf(':') + 1));

const STATE_CODES: Record<ListableState, number> = { waiting: WAITING, delayed: DELAYED, leased: LEASED };

interface Statements {
  list: Database.Statement; // ns, queue, state, limit, offset
  remove: Database.Statement; // ns, queue, body
  pause: Database.Statement; // ns, queue
  resume: Database.Statement; // ns, queue
  paused: Database.Statement; // ns, queue
}

export class SqliteOperations {
  private statements: Statements | undefined;

  constructor(
    private readonly conn: () => SqliteConnection,
    private readonly ns: string,
  ) {}

  private get sql(): Statements {
    if (!this.statements) {
      const conn = this.conn();
      conn.transaction(() => conn.db.exec(PAUSED_SCHEMA));
      const p = (text: string) => conn.db.prepare(text);
      this.statements = {
        list: p(
          'SELECT body, at, token FROM errand_messages WHERE ns = ? AND queue = ? AND state = ? ORDER BY at, seq LIMIT ? OFFSET ?',
        ),
        // One row per body (the oldest), waiting or delayed only: a leased row is running, not removable.
        remove: p(
          `DELETE FROM errand_messages WHERE seq = (SELECT seq FROM errand_messages WHERE ns = ? AND queue = ? AND state IN (${WAITING}, ${DELAYED}) AND body = ? ORDER BY seq LIMIT 1)`,
        ),
        pause: p('INSERT OR IGNORE INTO errand_paused (ns, queue) VALUES (?, ?)'),
        resume: p('DELETE FROM errand_paused WHERE ns = ? AND queue = ?'),
        paused: p('SELECT 1 AS p FROM errand_paused WHERE ns = ? AND queue = ?'),
      };
    }
    return this.statements;
  }

  async listMessages(
    queue: string,
    state: ListableState,
    offset: number,
    limit: number,
  ): Promise<ListedMessage[]> {
    checkListing(state, offset, limit);
    const { sql } = this;
    const rows = this.conn().read(() =>
      sql.list.all(this.ns, queue, STATE_CODES[state], limit, offset),
    ) as Array<{
      body: string;
      at: number;
      token: string | null;
    }>;
    return rows.map(({ body, at, token }) => {
      if (state === 'waiting') return { body };
      const worker = token === null ? undefined : workerOfSqliteToken(token);
      return { body, at, ...(worker !== undefined && { worker }) };
    });
  }

  async removeWaiting(queue: string, bodies: readonly string[]): Promise<string[]> {
    if (bodies.length === 0) return [];
    const { sql } = this;
    return this.conn().write(() => bodies.filter((body) => sql.remove.run(this.ns, queue, body).changes > 0));
  }

  async setPaused(queue: string, paused: boolean): Promise<void> {
    const { sql } = this;
    const conn = this.conn();
    await conn.write(() => (paused ? sql.pause : sql.resume).run(this.ns, queue));
    if (!paused) conn.local.emit(workEvent(this.ns, queue));
  }

  async isPaused(queue: string): Promise<boolean> {
    const { sql } = this;
    return this.conn().read(() => sql.paused.get(this.ns, queue)) !== undefined;
  }
}
