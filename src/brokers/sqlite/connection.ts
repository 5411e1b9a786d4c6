/**
 * One SQLite connection per database file per process, shared (refcounted) by every
 * broker and result backend opened on it.
 *
 * Sharing matters beyond saving file handles: `PRAGMA data_version` only reports commits
 * made by *other* connections, so commits made here are announced on `local` instead,
 * and commits from other processes are noticed by the `ChangeWatcher`.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'libsql';
import { prepareStatements, SCHEMA, type Statements } from './schema.ts';
import { type ChangeSubscriber, ChangeWatcher } from './watcher.ts';

/** How long a transaction waits for another process's write lock before failing. */
export const BUSY_TIMEOUT_MS = 5000;

export class SqliteConnection {
  readonly db: Database.Database;
  readonly sql: Statements;
  /** Same-process commits, announced after COMMIT: events named by `workEvent` and `finalEvent`. */
  readonly local = new EventEmitter().setMaxListeners(0);
  private readonly watcher: ChangeWatcher;
  private refs = 0;
  private closed = false;
  /** Writes waiting for the next group commit. */
  private pending: Array<{
    fn: () => unknown;
    resolve: (value: unknown) => void;
    reject: (error: unknown) => void;
  }> = [];

  constructor(
    readonly location: string,
    private readonly registryKey: string | undefined,
  ) {
    try {
      this.db = new Database(location);
      // busy_timeout first: switching to WAL needs a lock another process may hold.
      this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = NORMAL');
    } catch (err) {
      const dir = dirname(resolve(location));
      const why = existsSync(dir) ? (err as Error).message : `directory "${dir}" does not exist`;
      throw new Error(`cannot open SQLite database "${location}": ${why}`, { cause: err });
    }
    this.transaction(() => this.db.exec(SCHEMA));
    this.sql = prepareStatements(this.db);
    const dataVersion = (): number => (this.sql.dataVersion.get() as { data_version: number }).data_version;
    this.watcher = new ChangeWatcher(dataVersion, location === ':memory:' ? undefined : `${location}-wal`);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so two
   * processes never read the same waiting row and both lease it.
   */
  transaction<T>(fn: () => T): T {
    if (this.closed) throw new Error(`SQLite database "${this.location}" is closed`);
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw this.explain(err);
    }
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw this.explain(err);
    }
  }

  /**
   * Runs `fn` as part of the next group commit: every write issued in the same tick (a
   * worker's result records and its settle, say) shares one transaction, each inside its
   * own savepoint so one failing write does not undo the others. Resolves after COMMIT.
   */
  write<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`SQLite database "${this.location}" is closed`));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length === 1) queueMicrotask(() => this.commitPending());
    });
  }

  private commitPending(): void {
    const batch = this.pending;
    this.pending = [];
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.transaction(() => {
        if (batch.length === 1) {
          outcomes.push({ ok: true, value: batch[0]!.fn() });
          return;
        }
        for (const op of batch) {
          this.db.exec('SAVEPOINT errand_op');
          try {
            outcomes.push({ ok: true, value: op.fn() });
            this.db.exec('RELEASE errand_op');
          } catch (error) {
            this.db.exec('ROLLBACK TO errand_op');
            this.db.exec('RELEASE errand_op');
            outcomes.push({ ok: false, error: this.explain(error) });
          }
        }
      });
    } catch (error) {
      for (const op of batch) op.reject(error);
      return;
    }
    batch.forEach((op, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(outcome.error);
    });
  }

  /** A read outside any transaction (WAL readers never wait for writers). */
  read<T>(fn: () => T): T {
    if (this.closed) throw new Error(`SQLite database "${this.location}" is closed`);
    return fn();
  }

  private explain(err: unknown): Error {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      return new Error(
        `SQLite database "${this.location}" stayed locked by another connection for ${BUSY_TIMEOUT_MS} ms`,
        { cause: err },
      );
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  /** Calls `subscriber` whenever another connection commits, until the returned function is called. */
  subscribe(subscriber: ChangeSubscriber): () => void {
    return this.watcher.subscribe(subscriber);
  }

  acquire(): this {
    this.refs++;
    return this;
  }

  /** Drops one reference; the last one closes the database. */
  release(): void {
    if (--this.refs > 0 || this.closed) return;
    if (this.pending.length > 0) this.commitPending();
    this.closed = true;
    this.watcher.close();
    this.local.removeAllListeners();
    if (this.registryKey !== undefined) connections.delete(this.registryKey);
    this.db.close();
  }
}

const connections = new Map<string, SqliteConnection>();

/**
 * The process's connection to `location` (a file path, or `:memory:` for a private
 * in-memory database that nothing else can see), with one more reference taken.
 * `separate` opens a connection of its own instead, which sees this process's other
 * connections the way another process would.
 */
export function acquireConnection(location: string, separate = false): SqliteConnection {
  if (location === '') throw new Error('SQLite location is empty: give a file path or ":memory:"');
  if (location === ':memory:' || separate) return new SqliteConnection(location, undefined).acquire();
  const key = resolve(location);
  let connection = connections.get(key);
  if (!connection) {
    connection = new SqliteConnection(location, key);
    connections.set(key, connection);
  }
  return connection.acquire();
}

/** Local event names: work may be available on a queue / results reached a final state. */
export const workEvent = (ns: string, queue: string): string => `work\0${ns}\0${queue}`;
export const finalEvent = (ns: string): string => `final\0${ns}`;
