/**
 * How a Resque-mode process shows itself to Resque tools: one Resque worker per concurrency slot
 * (`host:pid-N:queues`, goworker's ids) in `<ns>workers`, with `worker:<id>:started` and
 * heartbeats in `<ns>workers:heartbeat`; and how it prunes dead workers (Resque's rules, but
 * their in-flight jobs are requeued, not failed).
 */
import { hostname } from 'node:os';
import type { Client } from '../brokers/redis/connection.ts';
import { failedAt, isoSeconds, rubyTime } from './format.ts';
import { runResqueScript } from './scripts.ts';

export interface Slot {
  /** The Resque worker id, `host:pid-N:q1,q2`. */
  readonly id: string;
  /** node-resque's worker name (the id without its queues): the `worker` field of `worker:<id>`. */
  readonly name: string;
}

export function slotsFor(queues: readonly string[], count: number, pid = process.pid): Slot[] {
  const host = hostname();
  return Array.from({ length: count }, (_, n) => {
    const name = `${host}:${pid}-${n}`;
    return { id: `${name}:${queues.join(',')}`, name };
  });
}

/** Redis's clock (Resque compares heartbeats with `TIME`, so hosts' clocks need not agree). */
export async function redisNow(client: Client): Promise<number> {
  const [s, us] = (await client.sendCommand(['TIME'])) as [string, string];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

export async function register(client: Client, ns: string, slots: readonly Slot[]): Promise<void> {
  const now = await redisNow(client);
  const beat = isoSeconds(now);
  const started = rubyTime(now);
  await client.sendCommand(['SADD', `${ns}workers`, ...slots.map((s) => s.id)]);
  await Promise.all(slots.map((s) => client.sendCommand(['SET', `${ns}worker:${s.id}:started`, started])));
  await heartbeat(client, ns, slots, beat);
}

export async function heartbeat(
  client: Client,
  ns: string,
  slots: readonly Slot[],
  beat?: string,
): Promise<void> {
  const value = beat ?? isoSeconds(await redisNow(client));
  await client.sendCommand(['HSET', `${ns}workers:heartbeat`, ...slots.flatMap((s) => [s.id, value])]);
}

/** Resque's unregister, for slots whose jobs have all been settled or handed back. */
export async function unregister(client: Client, ns: string, slots: readonly Slot[]): Promise<void> {
  if (slots.length === 0) return;
  const ids = slots.map((s) => s.id);
  await client.sendCommand(['SREM', `${ns}workers`, ...ids]);
  await client.sendCommand(['HDEL', `${ns}workers:heartbeat`, ...ids]);
  await client.sendCommand([
    'DEL',
    ...ids.flatMap((id) => [
      `${ns}worker:${id}`,
      `${ns}worker:${id}:started`,
      `${ns}stat:processed:${id}`,
      `${ns}stat:failed:${id}`,
    ]),
  ]);
}

export interface PruneOptions {
  readonly ns: string;
  /** The id that holds the prune lock (one of ours). */
  readonly self: string;
  /** A heartbeat older than this marks its worker dead (Resque: 300 s). */
  readonly pruneAfterMs: number;
  /** Ids of this process (never pruned). */
  readonly own: ReadonlySet<string>;
  /** A job whose worker died with it this many times is failed instead of requeued (Errand's maxDeliveries). */
  readonly maxDeaths: number;
}

export interface Requeued {
  readonly worker: string;
  readonly queue: string;
  readonly payload: string;
  /** 'failed' when the job had already outlived `maxDeaths` workers. */
  readonly outcome: 'requeued' | 'failed';
}

/**
 * Resque's prune_dead_workers, under its lock (`pruning_dead_workers_in_progress`): a worker is
 * dead when its heartbeat is older than `pruneAfterMs` (Redis time), or when its id says it ran on
 * this host as a process that no longer exists (the host rule, for `host:pid-N` and `host:pid` ids).
 * Returns the jobs put back on their queues.
 */
export async function pruneDeadWorkers(client: Client, options: PruneOptions): Promise<Requeued[]> {
  const { ns } = options;
  const lockKey = `${ns}pruning_dead_workers_in_progress`;
  const locked: unknown = await client.sendCommand(['SET', lockKey, options.self, 'EX', '60', 'NX']);
  if (locked !== 'OK') return [];
  try {
    const now = await redisNow(client);
    const beats = (await client.sendCommand(['HGETALL', `${ns}workers:heartbeat`])) as string[];
    const members = (await client.sendCommand(['SMEMBERS', `${ns}workers`])) as string[];
    const dead = new Set<string>();
    for (let i = 0; i + 1 < beats.length; i += 2) {
      const at = Date.parse(beats[i + 1]!);
      if (Number.isFinite(at) && now - at > options.pruneAfterMs) dead.add(beats[i]!);
    }
    for (const id of members) if (isLocalAndGone(id)) dead.add(id);
    for (let i = 0; i < beats.length; i += 2) if (isLocalAndGone(beats[i]!)) dead.add(beats[i]!);
    for (const id of options.own) dead.delete(id);
    const requeued: Requeued[] = [];
    for (const id of dead) {
      const foreign = await foreignJob(client, ns, id);
      const out = (await runResqueScript<string[]>(client, 'prune', [
        ns,
        id,
        foreign?.raw ?? '',
        foreign?.queue ?? '',
        foreign?.payload ?? '',
        options.maxDeaths,
        failedAt(now),
      ])) as string[];
      if (out.length === 3) {
        const outcome = out[2] === 'failed' ? 'failed' : 'requeued';
        requeued.push({ worker: id, queue: out[0]!, payload: out[1]!, outcome });
      }
    }
    return requeued;
  } finally {
    // Ruby leaves the lock to expire; releasing ours lets a restarted worker prune at once.
    await client.sendCommand(['EVAL', RELEASE_LOCK, '1', lockKey, options.self]).catch(() => undefined);
  }
}

const RELEASE_LOCK = `--[[ release the prune lock if it is still ours. KEYS[1] lock; ARGV[1] holder. Commands: GET, DEL ]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** The job another implementation's worker was running, read from `worker:<id>` (re-encoded: class and args). */
async function foreignJob(
  client: Client,
  ns: string,
  id: string,
): Promise<{ raw: string; queue: string; payload: string } | undefined> {
  const raw = (await client.sendCommand(['GET', `${ns}worker:${id}`])) as string | null;
  if (raw === null) return undefined;
  try {
    const working = JSON.parse(raw) as { queue?: unknown; payload?: unknown };
    if (typeof working.queue !== 'string' || typeof working.payload !== 'object' || !working.payload)
      return undefined;
    return { raw, queue: working.queue, payload: JSON.stringify(working.payload) };
  } catch {
    return undefined;
  }
}

/** `host:pid…:queues` on this host whose pid is not a running process. */
function isLocalAndGone(id: string): boolean {
  const [host, pidPart] = id.split(':');
  if (host !== hostname() || pidPart === undefined) return false;
  const pid = Number(/^(\d+)(?:[-+].*)?$/.exec(pidPart)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
