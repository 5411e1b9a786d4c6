/**
 * Redis result backend: one key per task id (`<prefix>:result:<id>`, SET with PX), and one
 * PUBLISH per written batch on `<prefix>:final` listing the ids that reached a final state.
 * A batch is one script call (scripts/write-results.lua): one command from the client, however
 * many records.
 */
import type { GroupCounter, GroupStatus, ResultBackend, TaskRecord } from '../../core/port.ts';
import { FINAL_STATES } from '../../core/port.ts';
import { checkGroupCall } from '../group-checks.ts';
import type { RedisConnection } from './connection.ts';
import { finalChannel, groupKey, resultKey } from './keys.ts';
import { runScript } from './scripts.ts';

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
    const keys = records.map((record) => resultKey(this.prefix, record.id));
    const finals = records.filter((record) => FINAL_STATES.has(record.state)).map((record) => record.id);
    const values = records.map((record) => JSON.stringify(record));
    await runScript(client, 'write-results', keys, [
      ttlMs,
      finalChannel(this.prefix),
      finals.join('\n'),
      ...values,
    ]);
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
