/**
 * Notices commits made by other connections (other processes) to one database file.
 *
 * SQLite has no server to push "something changed", but `PRAGMA data_version` changes
 * whenever another connection commits. It is checked:
 *   - right after the WAL file is written (fs.watch: instant, no cost while nothing happens),
 *   - and on a timer as a fallback where file events are not delivered: every 5 ms after a
 *     change, slowing to every 50 ms while nothing changes, so an idle worker costs little.
 * Checks run only while somebody subscribes.
 */
import { type FSWatcher, watch } from 'node:fs';

const FAST_MS = 5;
const SLOW_MS = 50;

/** Someone interested in commits made by other connections. */
export interface ChangeSubscriber {
  /** Whether this subscription keeps the process alive (a waiting worker does; a result listener does not). */
  readonly keepAlive: boolean;
  onExternalChange(): void;
}

export class ChangeWatcher {
  private readonly subscribers = new Set<ChangeSubscriber>();
  private version = 0;
  private timer: NodeJS.Timeout | undefined;
  private nextCheckAt = Number.POSITIVE_INFINITY;
  private lastCheckAt = 0;
  private delay = FAST_MS;
  private wal: FSWatcher | undefined;

  constructor(
    private readonly dataVersion: () => number,
    /** The WAL file to watch; undefined for in-memory databases. */
    private readonly walPath: string | undefined,
  ) {}

  /** Calls `subscriber.onExternalChange` after other connections commit, until the returned function is called. */
  subscribe(subscriber: ChangeSubscriber): () => void {
    if (this.subscribers.size === 0) this.start();
    this.subscribers.add(subscriber);
    this.refreshRef();
    return () => {
      if (!this.subscribers.delete(subscriber)) return;
      if (this.subscribers.size === 0) this.stop();
      else this.refreshRef();
    };
  }

  close(): void {
    this.subscribers.clear();
    this.stop();
  }

  private start(): void {
    this.version = this.dataVersion();
    this.delay = FAST_MS;
    this.watchWal();
    this.checkIn(FAST_MS);
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextCheckAt = Number.POSITIVE_INFINITY;
    this.wal?.close();
    this.wal = undefined;
  }

  private watchWal(): void {
    if (this.walPath === undefined) return;
    try {
      this.wal = watch(this.walPath, { persistent: false }, () => {
        // At most one check per FAST_MS however many writes happen.
        this.checkIn(Math.max(0, this.lastCheckAt + FAST_MS - Date.now()));
      });
      this.wal.on('error', () => {
        this.wal?.close();
        this.wal = undefined; // the timer still notices changes
      });
    } catch {
      this.wal = undefined; // no file events here (missing WAL, odd file system): the timer suffices
    }
  }

  /** Schedules the next check `ms` from now, unless one is due sooner already. */
  private checkIn(ms: number): void {
    const at = Date.now() + ms;
    if (this.timer && at >= this.nextCheckAt) return;
    clearTimeout(this.timer);
    this.nextCheckAt = at;
    this.timer = setTimeout(() => this.check(), ms);
    this.refreshRef();
  }

  private refreshRef(): void {
    if (!this.timer) return;
    if ([...this.subscribers].some((s) => s.keepAlive)) this.timer.ref();
    else this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    this.nextCheckAt = Number.POSITIVE_INFINITY;
    if (this.subscribers.size === 0) return;
    this.lastCheckAt = Date.now();
    let changed = false;
    try {
      const version = this.dataVersion();
      changed = version !== this.version;
      this.version = version;
    } catch {
      return; // the database closed under us; close() stops everything
    }
    if (changed) {
      for (const subscriber of [...this.subscribers]) {
        try {
          subscriber.onExternalChange();
        } catch {
          // A subscriber's failing check must not starve the others; its own next call reports the error.
        }
      }
    }
    this.delay = changed ? FAST_MS : Math.min(SLOW_MS, this.delay * 1.5);
    if (this.subscribers.size > 0) this.checkIn(this.delay);
  }
}
