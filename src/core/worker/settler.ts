/**
 * Batches what executions decide in the same tick: result records, and each queue's settle
 * outcomes. One flush writes records then settles, issued together (one round trip on Redis).
 * A failed flush is retried with backoff; if a lease expires meanwhile, the broker redelivers
 * (at-least-once) and the late settle reports the token as lost.
 */
import { reconnectDelay, sleep } from '../clock.ts';
import type { Logger } from '../options.ts';
import {
  type Broker,
  type DeadLetter,
  FINAL_STATES,
  type LeasedMessage,
  type ResultBackend,
  type TaskRecord,
} from '../port.ts';

type Outcome =
  | { kind: 'ack'; token: string }
  | { kind: 'retry'; token: string; body: string; dueAt: number }
  | { kind: 'dead'; token: string; reason: string; body?: string }
  | { kind: 'release'; token: string };

interface Pending {
  readonly queue: string;
  readonly outcome: Outcome;
  /** Body of a message delivered more than once (lets the broker forget its delivery count). */
  readonly redelivered: string | undefined;
  readonly done: (lost: boolean) => void;
}

/** Lets a settle also lease the next messages for the slots it frees (one round trip). */
export interface Refill {
  /** How many messages to lease for `queue` now that `freed` slots are about to free (0: none). */
  wanted(queue: string, freed: number): number;
  dispatch(queue: string, leased: LeasedMessage): void;
  reportDead(queue: string, entries: readonly DeadLetter[]): void;
  readonly leaseMs: number;
  readonly maxDeliveries: number;
}

export class Settler {
  /** By task id: a newer record of the same task in the same flush replaces the older (one write). */
  private records = new Map<string, TaskRecord>();
  private outcomes: Pending[] = [];
  private scheduled = false;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly broker: Broker,
    private readonly backend: ResultBackend,
    private readonly ttlMs: number,
    private readonly logger: Logger,
    private readonly writeResults: boolean,
    private readonly refill?: Refill,
  ) {}

  /** Queue a result record (written with the next flush). */
  record(record: TaskRecord): void {
    if (!this.writeResults) return;
    this.records.set(record.id, record);
    this.schedule();
  }

  /** Queue an outcome; resolves true when applied, false when the lease had been lost. */
  settle(queue: string, outcome: Outcome, redelivered?: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.outcomes.push({ queue, outcome, redelivered, done: (lost) => resolve(!lost) });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: lets every execution finishing in this turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      const run = this.flush().finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    });
  }

  private async flush(): Promise<void> {
    let records = [...this.records.values()];
    const outcomes = this.outcomes;
    this.records = new Map();
    this.outcomes = [];
    for (let failures = 0; ; failures++) {
      if (failures > 0) {
        // Later flushes may already have written newer states of these tasks: only final
        // records are worth writing late (a late STARTED must never overwrite a SUCCESS).
        records = records.filter((r) => FINAL_STATES.has(r.state));
      }
      try {
        await Promise.all([
          records.length > 0 ? this.backend.write(records, this.ttlMs) : undefined,
          ...groupByQueue(outcomes).map(([queue, group]) => this.apply(queue, group)),
        ]);
        return;
      } catch (err) {
        this.logger.warn(`settling ${outcomes.length} task(s) failed, retrying: ${(err as Error).message}`);
        await sleep(reconnectDelay(failures));
      }
    }
  }

  private async apply(queue: string, group: Pending[]): Promise<void> {
    const acks: string[] = [];
    const retries: { token: string; body: string; dueAt: number }[] = [];
    const deadLetters: { token: string; reason: string; body?: string }[] = [];
    const releases: string[] = [];
    const redelivered = new Map<string, string>();
    for (const { outcome, redelivered: body } of group) {
      if (body !== undefined) redelivered.set(outcome.token, body);
      if (outcome.kind === 'ack') acks.push(outcome.token);
      else if (outcome.kind === 'retry') retries.push(outcome);
      else if (outcome.kind === 'dead') deadLetters.push(outcome);
      else releases.push(outcome.token);
    }
    const batch = { acks, retries, deadLetters, releases, redelivered };
    const freed = group.length - releases.length;
    const want = this.refill && this.broker.settleAndReserve ? this.refill.wanted(queue, freed) : 0;
    let lost: readonly string[];
    if (want > 0) {
      const { leaseMs, maxDeliveries } = this.refill!;
      const result = await this.broker.settleAndReserve!(queue, batch, {
        max: want,
        leaseMs,
        maxDeliveries,
        now: Date.now(),
      });
      lost = result.lost;
      if (result.reserved.deadLettered?.length) this.refill!.reportDead(queue, result.reserved.deadLettered);
      for (const leased of result.reserved.messages) this.refill!.dispatch(queue, leased);
    } else {
      lost = (await this.broker.settle(queue, batch, Date.now())).lost;
    }
    const lostSet = new Set(lost);
    for (const pending of group) pending.done(lostSet.has(pending.outcome.token));
  }

  /** Wait until everything queued so far is written. */
  async drain(): Promise<void> {
    while (this.scheduled || this.inFlight.size > 0) {
      if (this.scheduled) await new Promise<void>((resolve) => setImmediate(resolve));
      await Promise.all(this.inFlight);
    }
  }
}

function groupByQueue(outcomes: Pending[]): Array<[string, Pending[]]> {
  const groups = new Map<string, Pending[]>();
  for (const pending of outcomes) {
    const group = groups.get(pending.queue);
    if (group) group.push(pending);
    else groups.set(pending.queue, [pending]);
  }
  return [...groups];
}
