/**
 * One SQLite connection per database file per process, shared (refcounted) by every
 * broker and result backend opened on it.
 *
 * Sharing matters beyond saving file handles: `PRAGMA data_version` only reports commits
 * made by *other* connections, so commits made here are announced on `local` instead,
 * and commits from other processes are found by polling `data_version` (a few
 * microseconds) every few milliseconds, only while somebody is waiting.
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import Database from 'libsql';
import { prepareStatements, SCHEMA, type Statements } from './schema.ts';

/** How often other processes' commits are looked for while someone waits. */
const POLL_MS = 5;
/** How long a transaction waits for another process's write lock before failing. */
export const BUSY_TIMEOUT_MS = 5000;

/** Someone interested in commits made by other connections. */
export interface ChangeSubscriber {
  /** Whether this subscription keeps the process alive (a waiting worker does; a result listener does not). */
  readonly keepAlive: boolean;
  onExternalChange(): void;
}

export class SqliteConnection {
  readonly db: Database.Database;
  readonly sql: Statements;
  /** Same-process commits: events named by `localEvent`. */
  readonly local = new EventEmitter().setMaxListeners(0);
  private readonly subscribers = new Set<ChangeSubscriber>();
  private timer: NodeJS.Timeout | undefined;
  private version = 0;
  private refs = 0;
  private closed = false;

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
      throw new Error(`cannot open SQLite database "${location}": ${(err as Error).message}`, { cause: err });
    }
    this.transaction(() => this.db.exec(SCHEMA));
    this.sql = prepareStatements(this.db);
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
    if (this.subscribers.size === 0) this.startPolling();
    this.subscribers.add(subscriber);
    this.refreshRef();
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.stopPolling();
      else this.refreshRef();
    };
  }

  private currentVersion(): number {
    return (this.sql.dataVersion.get() as { data_version: number }).data_version;
  }

  private startPolling(): void {
    if (this.closed) return;
    this.version = this.currentVersion();
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private refreshRef(): void {
    if (!this.timer) return;
    const keepAlive = [...this.subscribers].some((s) => s.keepAlive);
    if (keepAlive) this.timer.ref();
    else this.timer.unref();
  }

  private poll(): void {
    if (this.closed) return;
    const version = this.currentVersion();
    if (version === this.version) return;
    this.version = version;
    for (const subscriber of [...this.subscribers]) {
      try {
        subscriber.onExternalChange();
      } catch (err) {
        // A subscriber's failed check must not stop the others; it sees the error on its next call.
        this.local.emit('poll-error', err);
      }
    }
  }

  acquire(): this {
    this.refs++;
    return this;
  }

  /** Drops one reference; the last one closes the database. */
  release(): void {
    if (--this.refs > 0 || this.closed) return;
    this.closed = true;
    this.stopPolling();
    this.subscribers.clear();
    this.local.emit('closed');
    this.local.removeAllListeners();
    if (this.registryKey !== undefined) connections.delete(this.registryKey);
    this.db.close();
  }
}

const connections = new Map<string, SqliteConnection>();

/**
 * The process's connection to `location` (a file path, or `:memory:` for a private
 * in-memory database that nothing else can see), with one more reference taken.
 */
export function acquireConnection(location: string): SqliteConnection {
  if (location === '') throw new Error('SQLite location is empty: give a file path or ":memory:"');
  if (location === ':memory:') return new SqliteConnection(location, undefined).acquire();
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
