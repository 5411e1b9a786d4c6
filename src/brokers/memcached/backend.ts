/**
 * Results in memcached (`memcached://host:port`): one key per task id, kept for the result TTL.
 * memcached cannot notify, so `onFinal` wakes waiters in two ways: at once for records this
 * process writes, and for records written elsewhere by re-reading each awaited id on a bounded
 * backoff (50 ms, doubling to 1 s) while someone keeps waiting for it.
 */
import { FINAL_STATES, type ResultBackend, type TaskRecord } from '../../core/port.ts';
import { MemcachedConnection } from './connection.ts';

const FIRST_REREAD_MS = 50;
const MAX_REREAD_MS = 1000;
/** An id nobody read for this long is no longer awaited. */
const FORGET_AFTER_MS = 10_000;
const TICK_MS = 25;

interface Awaited {
  interval: number;
  due: number;
  lastRead: number;
}

export class MemcachedResultBackend implements ResultBackend {
  readonly name = 'memcached';
  private readonly listeners = new Set<(ids: readonly string[]) => void>();
  private readonly awaited = new Map<string, Awaited>();
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: MemcachedConnection,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return MemcachedConnection.key(`${this.prefix}:result:${id}`);
  }

  async write(records: readonly TaskRecord[], ttlMs: number): Promise<void> {
    await Promise.all(records.map((r) => this.connection.set(this.key(r.id), JSON.stringify(r), ttlMs)));
    const final = records.filter((r) => FINAL_STATES.has(r.state)).map((r) => r.id);
    if (final.length > 0) for (const listener of this.listeners) listener(final);
  }

  async read(id: string): Promise<TaskRecord | undefined> {
    const text = await this.connection.get(this.key(id));
    const record = text === undefined ? undefined : (JSON.parse(text) as TaskRecord);
    const now = Date.now();
    if (record && FINAL_STATES.has(record.state)) this.awaited.delete(id);
    else {
      const entry = this.awaited.get(id);
      if (entry) entry.lastRead = now;
      else this.awaited.set(id, { interval: FIRST_REREAD_MS, due: now + FIRST_REREAD_MS, lastRead: now });
    }
    return record;
  }

  private tick(): void {
    const now = Date.now();
    const due: string[] = [];
    for (const [id, entry] of this.awaited) {
      if (now - entry.lastRead > FORGET_AFTER_MS + entry.interval) this.awaited.delete(id);
      else if (now >= entry.due) {
        due.push(id);
        entry.interval = Math.min(entry.interval * 2, MAX_REREAD_MS);
        entry.due = now + entry.interval;
      }
    }
    if (due.length > 0) for (const listener of this.listeners) listener(due);
  }

  async onFinal(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    this.ticker ??= setInterval(() => this.tick(), TICK_MS).unref();
    return async () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.ticker);
        this.ticker = undefined;
      }
    };
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.listeners.clear();
    await this.connection.close();
  }
}
