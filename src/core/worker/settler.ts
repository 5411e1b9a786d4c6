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
import type { SlotHolder } from './slots.ts';

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
  /** The execution settling, whose slot a refill may take over. */
  readonly holder: SlotHolder | undefined;
  readonly applied: (applied: boolean) => void;
}

/** Lets a settle also lease the next messages for the slots it frees (one round trip). */
export interface Refill {
  /** How many messages to lease for `queue` now that `freed` slots are about to free (0: none). */
  wanted(queue: string, freed: number): number;
  /** Takes free slots to lease messages ahead of free handlers (prefetch); how many it took. */
  takeAhead(queue: string): number;
  /** Starts a message leased by a refill; its slot is one a settling execution handed over. */
  dispatch(queue: string, leased: LeasedMessage): void;
  /** Slots handed over to a refill that the broker had no message for. */
  giveBack(slots: number): void;
  reportDead(queue: string, entries: readonly DeadLetter[]): void;
  /** The outcomes queued so far were handed to the broker (a flush issued its calls). */
  sent(): void;
  readonly leaseMs: number;
  readonly maxDeliveries: number;
}

export class Settler {
  /** By task id: a newer record of the same task in the same flush replaces the older (one write). */
  private records = new Map<string, TaskRecord>();
  private outcomes: Pending[] = [];
  private scheduled = false;
  private inFlight = new Set<Promise<void>>();
  /** Outcomes queued or being written, not yet applied. */
  private readonly unsettled = new Set<Pending>();
  private readonly abandoned = new AbortController();

  constructor(
    private readonly broker: Broker,
    private readonly backend: ResultBackend,
    private readonly ttlMs: number,
    private readonly logger: Logger,
    private readonly writeResults: boolean,
    private readonly refill?: Refill,
  ) {}

  /** Whether records are written at all (lets the executor skip building them). */
  get recording(): boolean {
    return this.writeResults && !this.abandoned.signal.aborted;
  }

  /** Queue a result record (written with the next flush). */
  record(record: TaskRecord): void {
    if (!this.writeResults || this.abandoned.signal.aborted) return;
    this.records.set(record.id, record);
    this.schedule();
  }

  /** Queue an outcome; resolves true when applied, false when the lease had been lost (or the settler gave up). */
  settle(queue: string, outcome: Outcome, redelivered?: string, holder?: SlotHolder): Promise<boolean> {
    return new Promise((resolve) => this.settleThen(queue, outcome, redelivered, holder, resolve));
  }

  /** As `settle`, calling `applied` instead of resolving a promise (the executor's hot path). */
  settleThen(
    queue: string,
    outcome: Outcome,
    redelivered: string | undefined,
    holder: SlotHolder | undefined,
    applied: (applied: boolean) => void,
  ): void {
    if (this.abandoned.signal.aborted) {
      applied(false);
      return;
    }
    const pending: Pending = { queue, outcome, redelivered, holder, applied };
    this.unsettled.add(pending);
    this.outcomes.push(pending);
    this.schedule();
  }

  /**
   * Flushes soon (an empty flush when nothing is queued), then tells the refill `sent()`:
   * - at the end of this turn (process.nextTick, after the promise continuations of the callback
   *   that is running) when executions have decided something: every execution finishing in this
   *   turn joins the batch, and its calls are queued before the client writes what this turn
   *   sent (node-redis writes on setImmediate), so a lone task's lease and settle leave in one
   *   write, not two;
   * - otherwise in the next check phase (setImmediate): the handlers that began in this tick
   *   (their starts scheduled this) decide first. A flush with nothing decided would call
   *   `sent()` before they do, and the dispatcher would start its next batch at once.
   */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(() => {
      if (this.outcomes.length > 0) this.flushNow();
      else setImmediate(() => this.flushNow());
    });
  }

  private flushNow(): void {
    this.scheduled = false;
    const run = this.flush().finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
    // flush() issued its calls before its first await.
    this.refill?.sent();
  }

  private async flush(): Promise<void> {
    let records = [...this.records.values()];
    let groups = groupByQueue(this.outcomes);
    this.records = new Map();
    this.outcomes = [];
    for (let failures = 0; !this.abandoned.signal.aborted; failures++) {
      if (failures > 0) {
        // Later flushes may already have written newer states of these tasks: only final
        // records are worth writing late (a late STARTED must never overwrite a SUCCESS).
        records = records.filter((r) => FINAL_STATES.has(r.state));
      }
      // Each part is retried alone: a queue whose settle applied is not settled twice.
      const [written, ...applied] = await Promise.allSettled([
        records.length > 0 ? this.backend.write(records, this.ttlMs) : undefined,
        ...groups.map(([queue, group]) => this.apply(queue, group)),
      ]);
      if (written?.status === 'fulfilled') records = [];
      const failed = [written, ...applied].find((r) => r?.status === 'rejected') as
        | PromiseRejectedResult
        | undefined;
      groups = groups.filter((_, i) => applied[i]?.status === 'rejected');
      if (!failed) return;
      const count = groups.reduce((n, [, group]) => n + group.length, 0);
      this.logger.warn(
        `settling ${count} task(s) and writing ${records.length} result(s) failed, retrying: ${describe(failed.reason)}`,
      );
      await sleep(reconnectDelay(failures), this.abandoned.signal);
    }
  }

  private async apply(queue: string, group: Pending[]): Promise<void> {
    const acks: string[] = [];
    const retries: { token: string; body: string; dueAt: number }[] = [];
    const deadLetters: { token: string; reason: string; body?: string }[] = [];
    const releases: string[] = [];
    const redelivered = new Map<string, string>();
    const holders: SlotHolder[] = [];
    for (const { outcome, redelivered: body, holder } of group) {
      if (body !== undefined) redelivered.set(outcome.token, body);
      if (outcome.kind === 'ack') acks.push(outcome.token);
      else if (outcome.kind === 'retry') retries.push(outcome);
      else if (outcome.kind === 'dead') deadLetters.push(outcome);
      else releases.push(outcome.token);
      if (outcome.kind !== 'release' && holder?.slotHeld) holders.push(holder);
    }
    const batch = { acks, retries, deadLetters, releases, redelivered };
    const refill = this.broker.settleAndReserve ? this.refill : undefined;
    const want =
      refill && holders.length > 0 ? Math.min(refill.wanted(queue, holders.length), holders.length) : 0;
    let lost: readonly string[];
    if (refill && want > 0) {
      // The finishing executions hand their slots to the refill before anything is leased, so
      // a refill can never start more executions than there are slots.
      const donors = holders.slice(0, want);
      for (const donor of donors) donor.slotHeld = false;
      // In the same call, behind the settled ones: leased ahead in queue order.
      const max = want + refill.takeAhead(queue);
      let result: Awaited<ReturnType<NonNullable<Broker['settleAndReserve']>>>;
      try {
        result = await this.broker.settleAndReserve!(queue, batch, {
          max,
          leaseMs: refill.leaseMs,
          maxDeliveries: refill.maxDeliveries,
          now: Date.now(),
        });
      } catch (err) {
        for (const donor of donors) donor.slotHeld = true;
        refill.giveBack(max - want);
        throw err;
      }
      lost = result.lost;
      if (result.reserved.deadLettered?.length) refill.reportDead(queue, result.reserved.deadLettered);
      const leased = result.reserved.messages.slice(0, max);
      refill.giveBack(max - leased.length);
      for (const message of leased) refill.dispatch(queue, message);
    } else {
      lost = (await this.broker.settle(queue, batch, Date.now())).lost;
    }
    const lostSet = lost.length > 0 ? new Set(lost) : undefined;
    for (const pending of group) this.done(pending, lostSet?.has(pending.outcome.token) ?? false);
  }

  private done(pending: Pending, lost: boolean): void {
    this.unsettled.delete(pending);
    try {
      pending.applied(!lost);
    } catch (err) {
      // A callback that throws must not keep the rest of its batch from being told.
      this.logger.error(`worker: after a settle: ${describe(err)}`);
    }
  }

  /** Waits until everything queued so far is written, or until `signal` aborts. */
  async drain(signal?: AbortSignal): Promise<void> {
    while ((this.scheduled || this.inFlight.size > 0) && !signal?.aborted) {
      if (this.scheduled) await new Promise<void>((resolve) => setImmediate(resolve));
      else await Promise.race([Promise.all(this.inFlight), sleep(Number.POSITIVE_INFINITY, signal)]);
    }
  }

  /**
   * Stops retrying (a shutdown past its deadline with the broker away). Outcomes not applied
   * resolve as not applied: their leases expire and the broker delivers them again. Returns
   * how many outcomes were dropped.
   */
  abandon(): number {
    this.abandoned.abort();
    const dropped = [...this.unsettled];
    for (const pending of dropped) this.done(pending, true);
    this.outcomes = [];
    this.records.clear();
    return dropped.length;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
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
