/**
 * Redis result backend: one key per task id (`<prefix>:result:<id>`, SET with PX), and one
 * PUBLISH per written batch on `<prefix>:final` listing the ids that reached a final state.
 */
import type { ResultBackend, TaskRecord } from '../../core/port.ts';
import { FINAL_STATES } from '../../core/port.ts';
import type { RedisConnection } from './connection.ts';
import { finalChannel, resultKey } from './keys.ts';

export class RedisResultBackend implements ResultBackend {
  readonly name = 'redis';
  private readonly listeners = new Set<(ids: readonly string[]) => void>();
  private subscribed: Promise<void> | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
  ) {}

  async write(records: readonly TaskRecord[], ttlMs: number): Promise<void> {
    if (records.length === 0) return;
    const client = await this.connection.ready();
    const finals: string[] = [];
    // Issued in one tick: node-redis writes them to the socket together (one round trip).
    const writes: Promise<unknown>[] = records.map((record) => {
      if (FINAL_STATES.has(record.state)) finals.push(record.id);
      return client.sendCommand([
        'SET',
        resultKey(this.prefix, record.id),
        JSON.stringify(record),
        'PX',
        String(ttlMs),
      ]);
    });
    if (finals.length > 0)
      writes.push(client.sendCommand(['PUBLISH', finalChannel(this.prefix), finals.join('\n')]));
    await Promise.all(writes);
  }

  async read(id: string): Promise<TaskRecord | undefined> {
    const client = await this.connection.ready();
    const raw = (await client.sendCommand(['GET', resultKey(this.prefix, id)])) as string | null;
    return raw === null ? undefined : (JSON.parse(raw) as TaskRecord);
  }

  async onFinal(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    this.subscribed ??= this.subscribe();
    await this.subscribed;
    return async () => {
      this.listeners.delete(listener);
    };
  }

  private async subscribe(): Promise<void> {
    const sub = await this.connection.subscriberClient();
    await sub.subscribe(finalChannel(this.prefix), (message: string) => {
      const ids = message.split('\n');
      for (const listener of this.listeners) listener(ids);
    });
    // After a reconnect, notifications may have been missed: let listeners re-read.
    sub.on('ready', () => {
      for (const listener of this.listeners) listener([]);
    });
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.connection.release();
  }
}
