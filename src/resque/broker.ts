/**
 * Resque's queues as an Errand broker, so Errand's own worker (decode → resolve → perform with
 * timeout → decide → settle) runs Resque jobs. The worker sees one queue; each reserve takes jobs
 * for free slots from Resque's lists in weighted order, each slot being one Resque worker id.
 * Outcomes become Resque's counters, failure entries and resque-scheduler delayed items.
 */
import type { Client, RedisConnection } from '../brokers/redis/connection.ts';
import type {
  Broker,
  DeadLetter,
  EnqueueOutcome,
  LeasedMessage,
  QueueStats,
  ReserveRequest,
  ReserveResult,
  SettleBatch,
  SettleResult,
  TaskErrorInfo,
} from '../core/port.ts';
import { failedAt, failureEntry, isoSeconds, parsedPayload } from './format.ts';
import type { Slot } from './presence.ts';
import { pollOrder, type QueueSpec } from './queues.ts';
import { runResqueScript } from './scripts.ts';

interface Held {
  readonly slot: number;
  readonly queue: string;
  readonly body: string;
}

export interface ResqueBrokerOptions {
  readonly ns: string;
  readonly queues: QueueSpec;
  readonly slots: readonly Slot[];
  /** The idle wait when every queue is empty (goworker's -interval). */
  readonly intervalMs: number;
  /** Move due resque-scheduler items to their queues (needed for retries with a delay). */
  readonly promoteDelayed: boolean;
  /** The error of a failed task, by task id, from the result records the executor wrote. */
  readonly errorOf: (body: string) => TaskErrorInfo | undefined;
  /** Called after a reserve found every queue empty while no job was held. */
  readonly onIdle: () => void;
}

export class ResqueBroker implements Broker {
  readonly name = 'resque';
  readonly capabilities = { shared: true, durable: true };
  private readonly free: number[];
  private readonly held = new Map<string, Held>();
  private seq = 0;
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: ResqueBrokerOptions,
  ) {
    this.free = options.slots.map((_, i) => i).reverse();
  }

  /** Jobs taken and not yet settled. */
  get holding(): number {
    return this.held.size;
  }

  private client(): Promise<Client> {
    return this.connection.ready();
  }

  enqueue(): Promise<EnqueueOutcome[]> {
    return Promise.reject(new Error('enqueue through resque(errand).enqueue(), not the worker broker'));
  }

  async reserve(_queue: string, request: ReserveRequest): Promise<ReserveResult> {
    const { ns, queues, slots } = this.options;
    const count = Math.min(request.max, this.free.length);
    const taken = this.free.splice(this.free.length - count, count).reverse();
    const args: (string | number)[] = [
      ns,
      Math.floor(request.now / 1000),
      isoSeconds(request.now),
      this.options.promoteDelayed ? '1' : '0',
      failedAt(request.now),
      slots[0]!.id,
      queues.names.length,
      ...queues.names,
      count,
    ];
    const tokens = taken.map((slot) => `${slot}.${this.seq++}`);
    taken.forEach((slot, i) => {
      const order = pollOrder(queues).map((q) => q + 1);
      args.push(slots[slot]!.id, slots[slot]!.name, tokens[i]!, order.join(','));
    });
    let out: (string | number)[];
    try {
      out = await runResqueScript<(string | number)[]>(await this.client(), 'reserve', args);
    } catch (err) {
      this.free.push(...taken);
      throw err;
    }
    const messages: LeasedMessage[] = [];
    const used = new Set<number>();
    for (let i = 0; i + 2 < out.length; i += 3) {
      const index = Number(out[i]) - 1;
      const slot = taken[index]!;
      const queue = queues.names[Number(out[i + 1]) - 1]!;
      const body = String(out[i + 2]);
      used.add(index);
      this.held.set(tokens[index]!, { slot, queue, body });
      messages.push({ body, token: tokens[index]!, delivery: 1, queue });
    }
    taken.forEach((slot, i) => {
      if (!used.has(i)) this.free.push(slot);
    });
    if (messages.length === 0 && this.held.size === 0) this.options.onIdle();
    return { messages, nextDueAt: undefined };
  }

  async settle(_queue: string, batch: SettleBatch, now: number): Promise<SettleResult> {
    const { ns, slots } = this.options;
    const args: (string | number)[] = [];
    const lost: string[] = [];
    const add = (token: string, kind: string, d1 = '', d2: string | number = ''): void => {
      const held = this.held.get(token);
      if (!held) {
        lost.push(token);
        return;
      }
      args.push(kind, slots[held.slot]!.id, token, d1, d2);
    };
    for (const token of batch.acks ?? []) add(token, 'ack');
    for (const token of batch.releases ?? []) add(token, 'release');
    for (const { token, body, dueAt } of batch.retries ?? []) {
      const held = this.held.get(token);
      // resque-scheduler's delayed item carries its queue: `{"class","queue","args",…}`.
      const job = parsedPayload(body);
      const item =
        held && typeof job === 'object' && job !== null
          ? JSON.stringify({ class: (job as { class?: unknown }).class, queue: held.queue, ...job })
          : body;
      add(token, 'retry', item, Math.ceil(dueAt / 1000));
    }
    for (const { token, reason, body } of batch.deadLetters ?? []) {
      const held = this.held.get(token);
      if (!held) {
        lost.push(token);
        continue;
      }
      // No recorded error: the job never ran (not decodable, or no task for its class).
      const error = this.options.errorOf(body ?? held.body) ?? {
        name: reason.startsWith('unknown task') ? 'UnknownTaskError' : 'DecodeError',
        message: reason,
      };
      const entry = failureEntry({
        body: held.body,
        error,
        worker: slots[held.slot]!.id,
        queue: held.queue,
        now,
      });
      args.push('fail', slots[held.slot]!.id, token, entry, '');
    }
    const count = args.length / 5;
    if (count > 0) {
      const notApplied = await runResqueScript<string[]>(await this.client(), 'settle', [ns, count, ...args]);
      lost.push(...notApplied);
      for (let i = 0; i < count; i++) this.forget(String(args[i * 5 + 2]));
    }
    return { lost };
  }

  /** Frees the slot of a settled (or lost) token. */
  forget(token: string): void {
    const held = this.held.get(token);
    if (!held) return;
    this.held.delete(token);
    this.free.push(held.slot);
  }

  /** Tokens whose slot no longer holds them (pruned by someone else): their jobs run elsewhere now. */
  async extend(_queue: string, tokens: readonly string[]): Promise<string[]> {
    const client = await this.client();
    const { ns, slots } = this.options;
    const lost: string[] = [];
    await Promise.all(
      tokens.map(async (token) => {
        const held = this.held.get(token);
        const current = held
          ? ((await client.sendCommand([
              'HGET',
              `${ns}errand:inflight:${slots[held.slot]!.id}`,
              'token',
            ])) as unknown)
          : null;
        if (current !== token) lost.push(token);
      }),
    );
    // The executor does not settle a run whose lease was lost: free its slot here.
    for (const token of lost) this.forget(token);
    return lost;
  }

  /** Waits `intervalMs` (Resque's idle sleep), or until wake() or the signal ends it. */
  waitForWork(_queue: string, _until: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.options.intervalMs);
      signal.addEventListener('abort', done, { once: true });
      this.waiting.add(done);
    });
  }

  /** Ends the idle wait now if `queue` is one of ours (a job was enqueued by this process). */
  wake(queue: string): void {
    if (!this.options.queues.names.includes(queue)) return;
    for (const done of [...this.waiting]) done();
  }

  async listDead(): Promise<DeadLetter[]> {
    return [];
  }

  async retryDead(): Promise<number> {
    return 0;
  }

  async purgeDead(): Promise<number> {
    return 0;
  }

  async stats(): Promise<QueueStats> {
    const client = await this.client();
    const lengths = await Promise.all(
      this.options.queues.names.map((q) => client.sendCommand(['LLEN', `${this.options.ns}queue:${q}`])),
    );
    const waiting = lengths.reduce<number>((sum, n) => sum + Number(n), 0);
    const dead = Number(await client.sendCommand(['LLEN', `${this.options.ns}failed`]));
    return { waiting, delayed: 0, leased: this.held.size, dead };
  }

  async close(): Promise<void> {}
}
