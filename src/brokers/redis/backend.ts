/**
 * Redis result backend: one key per task id (`<prefix>:result:<id>`, SET with PX), and one
 * PUBLISH per written batch on `<prefix>:final` listing the ids that reached a final state.
 * A batch rides on the worker's settle script when one is sent in the same step (no command of
 * its own), else it is one write-results.lua call, however many records.
 */
import type { GroupCounter, GroupStatus, ResultBackend, TaskRecord } from '../../core/port.ts';
import { FINAL_STATES } from '../../core/port.ts';
import { checkGroupCall } from '../group-checks.ts';
import type { RedisConnection } from './connection.ts';
import { cancelledChannel, finalChannel, groupKey, resultKey } from './keys.ts';
import { runScript } from './scripts.ts';

export class RedisResultBackend implements ResultBackend {
  readonly name = 'redis';
  private readonly listeners = new Set<(ids: readonly string[]) => void>();
  private subscribed: Promise<void> | undefined;
  private readonly cancelListeners = new Set<(ids: readonly string[]) => void>();
  private cancelSubscribed: Promise<void> | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
  ) {}

  /**
   * Synchronous up to the hand-over: a settle the worker issues in the same step takes these
   * records into its script (see result-rider.ts); otherwise they are written on their own.
   */
  write(records: readonly TaskRecord[], ttlMs: number): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const keys: string[] = [];
    const values: string[] = [];
    let finals = '';
    let cancelled = '';
    for (const record of records) {
      keys.push(resultKey(this.prefix, record.id));
      values.push(JSON.stringify(record));
      if (FINAL_STATES.has(record.state)) finals = finals === '' ? record.id : `${finals}\n${record.id}`;
      if (record.state === 'CANCELLED')
        cancelled = cancelled === '' ? record.id : `${cancelled}\n${record.id}`;
    }
    const written = this.connection.results.offer({
      keys,
      values,
      finals,
      channel: finalChannel(this.prefix),
      ttlMs,
    });
    if (cancelled === '') return written;
    // Cancels are rare: one PUBLISH of their own, once the records are stored.
    return written.then(async () => {
      const client = await this.connection.ready();
      await client.sendCommand(['PUBLISH', cancelledChannel(this.prefix), cancelled]);
    });
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

  async onCancelled(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>> {
    this.cancelListeners.add(listener);
    this.cancelSubscribed ??= this.connection.subscriberClient().then((sub) =>
      sub.subscribe(cancelledChannel(this.prefix), (message: string) => {
        const ids = message.split('\n');
        for (const l of this.cancelListeners) l(ids);
      }),
    );
    await this.cancelSubscribed;
    return async () => {
      this.cancelListeners.delete(listener);
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

  readonly groups: GroupCounter = {
    succeed: (group, size, index, value, ttlMs) =>
      this.reportMember(group, size, index, ttlMs, ['ok', JSON.stringify(value)]),
    fail: (group, size, index, ttlMs) => this.reportMember(group, size, index, ttlMs, ['fail']),
  };

  private async reportMember(
    group: string,
    size: number,
    index: number,
    ttlMs: number,
    outcome: readonly string[],
  ): Promise<GroupStatus> {
    checkGroupCall(group, size, index, ttlMs);
    const client = await this.connection.ready();
    const [state, fields] = await runScript<[string, string[]?]>(
      client,
      'group-report',
      [groupKey(this.prefix, group)],
      [outcome[0]!, size, index, Math.ceil(ttlMs), ...outcome.slice(1)],
    );
    if (state !== 'complete') return { state: state === 'failed' ? 'failed' : 'open' };
    const results = new Array<unknown>(size);
    for (let i = 0; i + 1 < (fields ?? []).length; i += 2) {
      const at = Number(fields![i]);
      if (at < size) results[at] = JSON.parse(fields![i + 1]!);
    }
    return { state: 'complete', results };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.connection.release();
  }
}
