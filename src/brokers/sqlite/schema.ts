/**
 * Tables and prepared statements of the SQLite broker and result backend.
 *
 * Every row carries `ns` (the Errand prefix) so several Errand instances with different
 * prefixes can share one database file without seeing each other's queues.
 *
 * A message lives in one row for its whole life; `state` says where it is and `at`
 * is the ordering key of that state, so one index serves every state:
 *   waiting  (0): position in the queue (head = smallest)
 *   delayed  (1): due time
 *   leased   (2): lease deadline
 *   dead     (3): time it failed (listed newest first)
 */
import type Database from 'libsql';

export const WAITING = 0;
export const DELAYED = 1;
export const LEASED = 2;
export const DEAD = 3;

/** Most final results one listener query returns; a listener pages through more. */
export const FINALS_PAGE = 10_000;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS errand_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  ns TEXT NOT NULL,
  queue TEXT NOT NULL,
  state INTEGER NOT NULL,
  at INTEGER NOT NULL,
  body TEXT NOT NULL,
  expired INTEGER NOT NULL DEFAULT 0,
  token TEXT,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS errand_messages_by_state ON errand_messages (ns, queue, state, at, seq);
CREATE TABLE IF NOT EXISTS errand_dedupe (
  ns TEXT NOT NULL,
  queue TEXT NOT NULL,
  key TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (ns, queue, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS errand_dedupe_by_expiry ON errand_dedupe (expires_at);
CREATE TABLE IF NOT EXISTS errand_results (
  ns TEXT NOT NULL,
  id TEXT NOT NULL,
  record TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  final_seq INTEGER,
  PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS errand_results_by_expiry ON errand_results (expires_at);
CREATE INDEX IF NOT EXISTS errand_results_by_final ON errand_results (ns, final_seq) WHERE final_seq IS NOT NULL;
CREATE TABLE IF NOT EXISTS errand_clock (
  ns TEXT NOT NULL,
  queue TEXT NOT NULL,
  at INTEGER NOT NULL,
  now INTEGER NOT NULL,
  PRIMARY KEY (ns, queue)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS errand_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO errand_counters (name, value) VALUES ('final_seq', 0);
`;

type Stmt = Database.Statement;

/** All statements, prepared once per connection. Parameters are positional, in the order of the `?`s. */
export interface Statements {
  // enqueue
  tail: Stmt; // ns, queue -> { pos }
  head: Stmt; // ns, queue -> { pos }
  insert: Stmt; // ns, queue, state, at, body
  claimDedupe: Stmt; // ns, queue, key, expiresAt, now
  purgeDedupe: Stmt; // now
  // reserve
  expiredLeases: Stmt; // ns, queue, now -> { seq, expired, body }
  dueDelayed: Stmt; // ns, queue, now -> { seq }
  moveToWaiting: Stmt; // at, seq
  requeueExpired: Stmt; // at, seq
  bury: Stmt; // reason, failedAt, seq
  nextWaiting: Stmt; // ns, queue, limit -> { seq, body, expired }
  lease: Stmt; // deadline, token, seq
  nextDue: Stmt; // ns, queue -> { due }
  // settle / extend
  ack: Stmt; // seq, token
  retry: Stmt; // body, dueAt, seq, token
  deadLetter: Stmt; // reason, failedAt, body|null, seq, token
  release: Stmt; // at, seq, token
  extend: Stmt; // deadline, seq, token
  // lease grace after a silence (src/brokers/lease-grace.ts)
  lastSeen: Stmt; // ns, queue -> { at, now }
  seen: Stmt; // ns, queue, at, now
  graceLeases: Stmt; // deadline, ns, queue, since, now
  // waiting for work
  hasWork: Stmt; // ns, queue, ns, queue, now -> { work }
  // dead letters and stats
  listDead: Stmt; // ns, queue, limit, offset
  retryDead: Stmt; // at, body|null, seq, ns, queue
  purgeDeadOne: Stmt; // seq, ns, queue
  purgeDeadAll: Stmt; // ns, queue
  trimDead: Stmt; // ns, queue, keep
  stats: Stmt; // ns, queue -> { state, n }
  // results
  writeResult: Stmt; // ns, id, record, expiresAt, finalSeq|null
  readResult: Stmt; // ns, id, now -> { record }
  purgeResults: Stmt; // now
  finalsAfter: Stmt; // ns, seq -> { id, final_seq }
  bumpFinalSeq: Stmt; // n -> { value }
  finalSeq: Stmt; // -> { value }
  dataVersion: Stmt;
}

export function prepareStatements(db: Database.Database): Statements {
  const p = (sql: string): Stmt => db.prepare(sql);
  const m = 'errand_messages';
  return {
    tail: p(`SELECT MAX(at) AS pos FROM ${m} WHERE ns = ? AND queue = ? AND state = ${WAITING}`),
    head: p(`SELECT MIN(at) AS pos FROM ${m} WHERE ns = ? AND queue = ? AND state = ${WAITING}`),
    insert: p(`INSERT INTO ${m} (ns, queue, state, at, body) VALUES (?, ?, ?, ?, ?)`),
    claimDedupe: p(
      `INSERT INTO errand_dedupe (ns, queue, key, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (ns, queue, key) DO UPDATE SET expires_at = excluded.expires_at
       WHERE errand_dedupe.expires_at <= ?`,
    ),
    purgeDedupe: p('DELETE FROM errand_dedupe WHERE expires_at <= ?'),
    expiredLeases: p(
      `SELECT seq, expired, body FROM ${m} WHERE ns = ? AND queue = ? AND state = ${LEASED} AND at <= ? ORDER BY at, seq`,
    ),
    dueDelayed: p(
      `SELECT seq FROM ${m} WHERE ns = ? AND queue = ? AND state = ${DELAYED} AND at <= ? ORDER BY at, seq`,
    ),
    moveToWaiting: p(`UPDATE ${m} SET state = ${WAITING}, at = ?, token = NULL WHERE seq = ?`),
    requeueExpired: p(
      `UPDATE ${m} SET state = ${WAITING}, at = ?, token = NULL, expired = expired + 1 WHERE seq = ?`,
    ),
    bury: p(`UPDATE ${m} SET state = ${DEAD}, reason = ?, at = ?, token = NULL WHERE seq = ?`),
    nextWaiting: p(
      `SELECT seq, body, expired FROM ${m} WHERE ns = ? AND queue = ? AND state = ${WAITING} ORDER BY at, seq LIMIT ?`,
    ),
    lease: p(`UPDATE ${m} SET state = ${LEASED}, at = ?, token = ? WHERE seq = ?`),
    nextDue: p(`SELECT MIN(at) AS due FROM ${m} WHERE ns = ? AND queue = ? AND state = ${DELAYED}`),
    ack: p(`DELETE FROM ${m} WHERE seq = ? AND token = ? AND state = ${LEASED}`),
    retry: p(
      `UPDATE ${m} SET state = ${DELAYED}, body = ?, at = ?, expired = 0, token = NULL
       WHERE seq = ? AND token = ? AND state = ${LEASED}`,
    ),
    deadLetter: p(
      `UPDATE ${m} SET state = ${DEAD}, reason = ?, at = ?, body = COALESCE(?, body), token = NULL
       WHERE seq = ? AND token = ? AND state = ${LEASED}`,
    ),
    release: p(
      `UPDATE ${m} SET state = ${WAITING}, at = ?, token = NULL WHERE seq = ? AND token = ? AND state = ${LEASED}`,
    ),
    // Held until settled or recovered: an expired lease no reserve has recovered yet is renewed;
    // a lease is never shortened (a late heartbeat must not undo a grace).
    extend: p(`UPDATE ${m} SET at = MAX(at, ?) WHERE seq = ? AND token = ? AND state = ${LEASED}`),
    lastSeen: p('SELECT at, now FROM errand_clock WHERE ns = ? AND queue = ?'),
    seen: p(
      `INSERT INTO errand_clock (ns, queue, at, now) VALUES (?, ?, ?, ?)
       ON CONFLICT (ns, queue) DO UPDATE SET at = excluded.at, now = excluded.now`,
    ),
    graceLeases: p(
      `UPDATE ${m} SET at = ? WHERE ns = ? AND queue = ? AND state = ${LEASED} AND at > ? AND at <= ?`,
    ),
    hasWork: p(
      `SELECT EXISTS (SELECT 1 FROM ${m} WHERE ns = ? AND queue = ? AND state = ${WAITING})
           OR EXISTS (SELECT 1 FROM ${m} WHERE ns = ? AND queue = ? AND state IN (${DELAYED}, ${LEASED}) AND at <= ?)
         AS work`,
    ),
    listDead: p(
      `SELECT seq, body, reason, at FROM ${m} WHERE ns = ? AND queue = ? AND state = ${DEAD}
       ORDER BY at DESC, seq DESC LIMIT ? OFFSET ?`,
    ),
    retryDead: p(
      `UPDATE ${m} SET state = ${WAITING}, at = ?, body = COALESCE(?, body), expired = 0, reason = NULL
       WHERE seq = ? AND ns = ? AND queue = ? AND state = ${DEAD}`,
    ),
    purgeDeadOne: p(`DELETE FROM ${m} WHERE seq = ? AND ns = ? AND queue = ? AND state = ${DEAD}`),
    purgeDeadAll: p(`DELETE FROM ${m} WHERE ns = ? AND queue = ? AND state = ${DEAD}`),
    trimDead: p(
      `DELETE FROM ${m} WHERE seq IN (SELECT seq FROM ${m} WHERE ns = ? AND queue = ? AND state = ${DEAD}
       ORDER BY at DESC, seq DESC LIMIT -1 OFFSET ?)`,
    ),
    stats: p(`SELECT state, COUNT(*) AS n FROM ${m} WHERE ns = ? AND queue = ? GROUP BY state`),
    writeResult: p(
      `INSERT INTO errand_results (ns, id, record, expires_at, final_seq) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (ns, id) DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at,
         final_seq = excluded.final_seq`,
    ),
    readResult: p('SELECT record FROM errand_results WHERE ns = ? AND id = ? AND expires_at > ?'),
    purgeResults: p('DELETE FROM errand_results WHERE expires_at <= ?'),
    finalsAfter: p(
      `SELECT id, final_seq FROM errand_results WHERE ns = ? AND final_seq > ? ORDER BY final_seq LIMIT ${FINALS_PAGE}`,
    ),
    bumpFinalSeq: p(`UPDATE errand_counters SET value = value + ? WHERE name = 'final_seq' RETURNING value`),
    finalSeq: p(`SELECT value FROM errand_counters WHERE name = 'final_seq'`),
    dataVersion: p('PRAGMA data_version'),
  };
}
