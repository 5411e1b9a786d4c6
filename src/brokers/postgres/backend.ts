/**
 * Results in PostgreSQL (`postgres://…`): one row per (prefix, task id) in `errand_results`,
 * kept until its expiry. Final states are announced with NOTIFY on the channel
 * `errand_results`, so waiters in any process wake at once (LISTEN on a connection of its own).
 */
import pg from 'pg';
import { reconnectDelay, sleep } from '../../core/clock.ts';
import { BrokerUnavailableError } from '../../core/errors.ts';
import { FINAL_STATES, type ResultBackend, type TaskRecord } from '../../core/port.ts';

const CHANNEL = 'errand_results';
const TIMEOUT_MS = 5000;
/** Expired rows are deleted at most this often (by a write). */
const SWEEP_EVERY_MS = 60_000;
/** NOTIFY payloads must stay under 8000 bytes. */
const IDS_PER_NOTIFY = 50;

const SCHEMA = `CREATE TABLE IF NOT EXISTS errand_results (
  prefix text NOT NULL,
  id text NOT NULL,
  record text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (prefix, id)
)`;

export class PostgresResultBackend implements ResultBackend {
  readonly name = 'postgres';
  private readonly pool: pg.Pool;
  private ready: Promise<void> | undefined;
  private lastSweep = 0;
  private readonly listeners = new Set<(ids: readonly string[]) => void>();
  private listening: { stop: () => void; done: Promise<void> } | undefined;
  private readonly where: string;

  constructor(
    private readonly url: string,
    private readonly prefix: string,
  ) {
    this.where = `PostgreSQL at ${url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}`;
    this.pool = new pg.Pool({
      connectionString: url,
      max: 4,
      connectionTimeoutMillis: TIMEOUT_MS,
      query_timeout: TIMEOUT_MS,
    });
    this.pool.on('error', () => undefined); // an idle client lost: the next query opens another
  }

  private async query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    try {
      this.ready ??= this.pool.query(SCHEMA).then(() => undefined);
      await this.ready.catch((err: unknown) => {
        this.ready = undefined;
        throw err;
      });
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw new BrokerUnavailableError(this.where, (err as Error).message || 'query failed', { cause: err });
    }
  }

  async write(records: readonly TaskRecord[], ttlMs: number): Promise<void> {
    if (records.length === 0) return;
    await this.query(
      `INSERT INTO errand_results (prefix, id, record, expires_at)
       SELECT $1, id, record, now() + make_interval(secs => $4::double precision / 1000)
       FROM unnest($2::text[], $3::text[]) AS t(id, record)
       ON CONFLICT (prefix, id) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`,
      [this.prefix, records.map((r) => r.id), records.map((r) => JSON.stringify(r)), ttlMs],
    );
    const final = records.filter((r) => FINAL_STATES.has(r.state)).map((r) => r.id);
    for (let i = 0; i < final.length; i += IDS_PER_NOTIFY) {
      const payload = JSON.stringify({ prefix: this.prefix, ids: final.slice(i, i + IDS_PER_NOTIFY) });
      await this.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
    }
    if (Date.now() - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = Date.now();
      await this.query('DELETE FROM errand_results WHERE expires_at < now()');
    }
  }

  async read(id: string): Promise<TaskRecord | undefined> {
    const { rows } = await this.query<{ record: string }>(
      'SELECT record FROM errand_results WHERE prefix = $1 AND id = $2 AND expires_at > now()',
      [this.prefix, id],
    );
    return rows[0] ? (JSON.parse(rows[0].record) as TaskRecord) : undefined;
  }

  /** LISTEN on a client of its own; after a lost connection it listens again and says "re-read all". */
  private listen(): { stop: () => void; done: Promise<void> } {
    const controller = new AbortController();
    const loop = async (): Promise<void> => {
      for (let failures = 0; !controller.signal.aborted; ) {
        const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: TIMEOUT_MS });
        try {
          const lost = new Promise<void>((resolve) => {
            client.on('error', () => resolve());
            client.on('end', () => resolve());
            controller.signal.addEventListener('abort', () => resolve(), { once: true });
          });
          client.on('notification', (n) => {
            if (n.channel !== CHANNEL || !n.payload) return;
            const { prefix, ids } = JSON.parse(n.payload) as { prefix: string; ids: string[] };
            if (prefix === this.prefix) for (const listener of this.listeners) listener(ids);
          });
          await client.connect();
          await client.query(`LISTEN ${CHANNEL}`);
          if (failures > 0) for (const listener of this.listeners) listener([]); // may have missed some
          failures = 0;
          await lost;
        } catch {
          failures++;
        } finally {
          await client.end().catch(() => undefined);
        }
        if (!controller.signal.aborted) await sleep(reconnectDelay(failures), controller.signal);
      }
    };
    return { stop: () => controller.abort(), done: loop() };
  }

  async onFinal(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    this.listening ??= this.listen();
    return async () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.listening) {
        const { stop, done } = this.listening;
        this.listening = undefined;
        stop();
        await done;
      }
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    const listening = this.listening;
    this.listening = undefined;
    listening?.stop();
    await listening?.done;
    await this.pool.end().catch(() => undefined);
  }
}
