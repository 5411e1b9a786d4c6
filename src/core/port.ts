/**
 * The broker port: the only way the core talks to a queue store.
 *
 * Every method names a state transition of a task message. A message is an opaque
 * string here (the wire format lives in `message.ts`): brokers store and return it
 * byte for byte, so any producer's message survives a round trip unchanged.
 *
 * Message states inside a broker:
 *
 *   waiting ──reserve──▶ leased ──settle.acks────────▶ (gone)
 *      ▲  ▲                │  │──settle.retries──────▶ delayed ──(due)──▶ waiting
 *      │  └─settle.releases┘  │──settle.deadLetters──▶ dead ──retryDead──▶ waiting
 *      └──(lease expired, deliveries < max)───────────┘
 *                           (lease expired, deliveries ≥ max) ──▶ dead
 *
 * Times are epoch milliseconds from the caller's clock, passed in so that brokers and
 * tests agree on "now". Every time and count is checked before anything is written: a call
 * with a time that is not a finite number (or a `max` below 1) is refused with an error
 * naming the field, and changes nothing.
 *
 * The lease contract (the conformance suite, test/contract/broker.contract.ts, checks it):
 * - A lease is held from `reserve` until it is settled, or until a `reserve` recovers it.
 *   Its deadline passing makes it recoverable, not lost: `extend` and `settle` of an expired
 *   lease that no reserve has recovered yet still apply. `extend` never shortens a lease.
 * - Recovery happens inside `reserve`, before leasing. A broker may run it as a separate step
 *   and at most every 250 ms per broker instance (Redis does): a reserve whose `now` is 250 ms
 *   or more past the previous recovery recovers every lease expired by then.
 * - Grace after a silence: each broker notes, on its own clock, when a reserve or extend last
 *   reached a queue. A call that finds the queue silent for longer than 2/3 of its lease (the
 *   broker hung, or no worker was running) first gives every lease that expired during the
 *   silence one more lease, so live holders renew before anyone recovers
 *   (src/brokers/lease-grace.ts). A lease that expired before the silence gets no grace.
 * - A settle applies its whole batch in one step; a retry that cannot be scheduled (its due
 *   time is not a finite number) is dead-lettered with that reason instead of failing the batch.
 */

/** A message to put on a queue. */
export interface EnqueueEntry {
  /** The encoded message (the wire format). */
  readonly body: string;
  /** When the message becomes available; absent or in the past means now. */
  readonly dueAt?: number;
  /**
   * Idempotency key: a second entry with the same key while the first is remembered
   * (for `dedupeTtlMs`) is not enqueued.
   */
  readonly dedupeKey?: string;
}

export type EnqueueOutcome = 'queued' | 'duplicate';

export interface ReserveRequest {
  /** The most messages to lease. */
  readonly max: number;
  /** Lease length: the message is delivered again if not settled or extended by then. */
  readonly leaseMs: number;
  /** A message whose lease expires this many times goes to the dead letters instead. */
  readonly maxDeliveries: number;
  readonly now: number;
}

/** One leased message, as the broker hands it out. */
export interface LeasedMessage {
  readonly body: string;
  /** Fencing token of this delivery: unique per delivery, required to settle or extend it. */
  readonly token: string;
  /** 1 for the first delivery; counts deliveries whose lease expired, plus this one. */
  readonly delivery: number;
  /** The list it came from, when a broker serves several under one queue name (Resque's weighted queues): the handler's `this.queue`. */
  readonly queue?: string;
}

/** A message leased by `waitAndLease`: the caller may start it before the broker has the lease. */
export interface ClaimedLease {
  readonly message: LeasedMessage;
  /**
   * True once the broker holds the lease; false when it never will (the claim lapsed and the
   * message went back to the queue, or the broker did not answer): the caller's run is then a
   * run without a lease, as after `extend` reports its token lost. Never rejects.
   */
  readonly leased: Promise<boolean>;
}

/** What one `waitAndLease` took: at least one message, at most the `max` asked for, oldest first. */
export interface ClaimedLeases {
  readonly claimed: readonly ClaimedLease[];
  /**
   * False when the queue held no other message as these were taken: the caller may wait
   * again instead of reserving (its reserves for delayed messages and expired leases still
   * fall due as usual). Undefined when the broker does not say.
   */
  readonly more?: boolean;
}

export interface ReserveResult {
  readonly messages: LeasedMessage[];
  /** Due time of the earliest delayed message, if any, so the caller can wake for it. */
  readonly nextDueAt: number | undefined;
  /**
   * Messages this call moved to the dead letters because their lease expired `maxDeliveries`
   * times, so workers can report them. Optional: a broker may leave it out.
   */
  readonly deadLettered?: readonly DeadLetter[];
}

/** A dead letter as stored by a broker. */
export interface DeadLetter {
  /** Identity of the entry inside the dead-letter store (used to retry or purge it). */
  readonly key: string;
  /** The message exactly as it was received. */
  readonly body: string;
  readonly reason: string;
  readonly failedAt: number;
}

/** Outcomes of a batch of leased messages, applied in one step. */
export interface SettleBatch {
  /** Finished: forget the message. */
  readonly acks?: readonly string[];
  /** Run again later: replace the message with `body` (the next attempt), due at `dueAt`. */
  readonly retries?: ReadonlyArray<{ token: string; body: string; dueAt: number }>;
  /** Give up: move to the dead letters with a reason. `body` replaces the stored message when given. */
  readonly deadLetters?: ReadonlyArray<{ token: string; reason: string; body?: string }>;
  /** Hand back unfinished (shutdown): to the head of the queue at once, not counted as a failed delivery. */
  readonly releases?: readonly string[];
  /**
   * Bodies (by token) of messages that had been delivered before, so a broker that counts
   * expired deliveries per body can forget the count. Brokers that count per stored row ignore it.
   */
  readonly redelivered?: ReadonlyMap<string, string>;
}

export interface SettleResult {
  /** Tokens whose lease had already expired or been settled: their outcome was not applied. */
  readonly lost: string[];
}

export interface QueueStats {
  readonly waiting: number;
  readonly delayed: number;
  readonly leased: number;
  readonly dead: number;
}

/** A message as listed by `listMessages`: the stored body and the time of its state. */
export interface ListedMessage {
  readonly body: string;
  /** Delayed: its due time; leased: its lease deadline (epoch ms). Absent for waiting messages. */
  readonly at?: number;
  /**
   * Leased: the worker holding the lease, `<host>:<pid>:<random>` (one per broker instance; read
   * from its fencing token). Absent for waiting and delayed messages.
   */
  readonly worker?: string;
}

/** The states `listMessages` can list (dead letters have `listDead`). */
export type ListableState = 'waiting' | 'delayed' | 'leased';

/**
 * Optional operations for running a queue (inspection, removal, pause), named after the
 * transitions they make. A broker without one leaves it out; the core and the CLI then say
 * which broker lacks which operation (test/contract/operations.contract.ts checks them).
 */
export interface QueueControlOperations {
  /** Messages in one state, oldest (waiting: head of the queue; delayed: soonest due) first. */
  listMessages?(queue: string, state: ListableState, offset: number, limit: number): Promise<ListedMessage[]>;
  /**
   * waiting/delayed ──remove──▶ (gone): delete these exact bodies from the waiting and delayed
   * messages, atomically per body. Returns the bodies that were removed (a body already leased is not).
   */
  removeWaiting?(queue: string, bodies: readonly string[]): Promise<string[]>;
  /** Set or clear the paused flag of a queue: workers take nothing from a paused queue. */
  setPaused?(queue: string, paused: boolean): Promise<void>;
  isPaused?(queue: string): Promise<boolean>;
}

/**
 * Operations a broker may lack because its engine cannot do them (RabbitMQ and SQS are queues,
 * not stores one can query). A broker declares each one it lacks, with the reason, in
 * `capabilities.absent`; the core, the CLI and the conformance suite read the declaration.
 * - `deadLetterBrowsing`: `listDead`, `retryDead` by key and `purgeDead` by key.
 * - `exactStats`: `stats()` counts are exact (otherwise approximate, as the engine reports them).
 * - `delayedCounts`: `stats()` counts delayed and leased messages (otherwise they read 0), and
 *   `reserve` reports `nextDueAt` (otherwise the server delivers delayed messages when due).
 * - `dedupe`: `enqueue` honours `dedupeKey` (otherwise every entry is queued).
 * - `timedLeases`: a lease expires at its deadline and `extend` pushes it (otherwise a lease lasts
 *   as long as the holder's connection, and comes back when that drops).
 * - `injectedClock`: due times are compared with the caller's `now` (otherwise with the server's clock).
 * - `uncountedRelease`: a released message is not counted as a delivery.
 * - `immediateRelease`: a released message is waiting again at once (stats show it).
 * - `msPrecision`: leases and delays are kept to the millisecond, and delayed messages in due order.
 * - `largeMessages`: a message of any size the caller allows (`maxMessageBytes`) can be stored.
 * - `concurrentDelivery`: several messages of one queue can be leased at the same time (otherwise
 *   a queue hands out nothing more while a message of it is leased, as an SQS FIFO message group
 *   does: a second `reserve` returns none, and one queue runs one batch at a time however many
 *   slots are free).
 */
export const OPTIONAL_CAPABILITIES = [
  'deadLetterBrowsing',
  'exactStats',
  'delayedCounts',
  'dedupe',
  'timedLeases',
  'injectedClock',
  'uncountedRelease',
  'immediateRelease',
  'msPrecision',
  'largeMessages',
  'concurrentDelivery',
] as const;
export type OptionalCapability = (typeof OPTIONAL_CAPABILITIES)[number];

/** What a broker can do beyond the required operations, checked at run time. */
export interface BrokerCapabilities {
  /** Several processes can share the queue store. */
  readonly shared: boolean;
  /** Messages survive a restart of the process that holds the broker. */
  readonly durable: boolean;
  /** Optional capabilities this broker lacks, each with the reason; absent means it has them all. */
  readonly absent?: Readonly<Partial<Record<OptionalCapability, string>>>;
}

/** Why `broker` lacks `capability`, or undefined when it has it. */
export function capabilityAbsence(
  broker: Pick<Broker, 'capabilities'>,
  capability: OptionalCapability,
): string | undefined {
  return broker.capabilities.absent?.[capability];
}

/**
 * What every broker must do: enqueue, reserve a lease, settle, extend, wait for work, close.
 * The conformance suite checks all of it on every broker.
 */
export interface RequiredBrokerOperations {
  readonly name: string;
  readonly capabilities: BrokerCapabilities;

  /** Put messages on a queue, in order. One outcome per entry. */
  enqueue(queue: string, entries: readonly EnqueueEntry[], dedupeTtlMs: number): Promise<EnqueueOutcome[]>;

  /**
   * Lease up to `max` (an integer ≥ 1) waiting messages, oldest first. Before leasing: promotes delayed
   * messages that are due, and returns messages whose lease expired to the queue (or to the
   * dead letters once they reach `maxDeliveries`): see the lease contract above for when.
   */
  reserve(queue: string, request: ReserveRequest): Promise<ReserveResult>;

  /** Apply the outcomes of leased messages. Stale tokens are reported, not applied. */
  settle(queue: string, batch: SettleBatch, now: number): Promise<SettleResult>;

  /**
   * Optional: settle, then reserve up to `request.max` more, as one step (one round trip).
   * Workers use it to refill the slots a settle frees; without it they call the two in turn.
   */
  settleAndReserve?(
    queue: string,
    batch: SettleBatch,
    request: ReserveRequest,
  ): Promise<SettleResult & { readonly reserved: ReserveResult }>;

  /**
   * Push the leases of these tokens to `now + leaseMs` (never earlier than they were). Returns
   * the tokens no longer held (settled, or recovered by a reserve).
   */
  extend(queue: string, tokens: readonly string[], leaseMs: number, now: number): Promise<string[]>;

  /**
   * Resolve when the queue may have work (a message arrived, or `until` passed), or when
   * the signal aborts. May resolve early; never rejects on abort. A wait that fails (the
   * broker refused or went away) still lasts until `until` (or a broker's cap), so a caller's
   * loop never spins; an `until` that is not a number waits for that cap.
   */
  waitForWork(queue: string, until: number, signal: AbortSignal): Promise<void>;

  /**
   * Optional: wait like `waitForWork`, and lease to the caller the first message that arrives,
   * returned the moment it arrives (one round trip sooner than waiting, then reserving), with
   * the messages already waiting behind it, up to `max` in all (default 1; a broker may take
   * fewer). The broker has already been asked for the leases when this resolves, so settles
   * and extends the caller sends afterwards apply after them; each `leased` tells how it went.
   * A message delivered before (an earlier lease of it expired) is returned only once leased,
   * with its delivery count. Resolves undefined at `until`, on abort, on a failed wait (which
   * still lasts its time), or when woken without a message for the caller (a delayed message
   * came due: reserve next). A broker that offers no such wait leaves it out, and workers
   * wait, then reserve.
   */
  waitAndLease?(
    queue: string,
    until: number,
    lease: { readonly leaseMs: number; readonly max?: number },
    signal: AbortSignal,
  ): Promise<ClaimedLeases | undefined>;

  close(): Promise<void>;
}

/**
 * Operations behind optional capabilities. A broker lacking one (see `capabilities.absent`) still
 * has the method, and it rejects with `CapabilityUnsupportedError`; `stats()` always answers,
 * with approximate or zero counts where `exactStats` or `delayedCounts` is absent.
 */
export interface OptionalBrokerOperations {
  /** Dead letters, newest first. */
  listDead(queue: string, offset: number, limit: number): Promise<DeadLetter[]>;
  /** Move dead letters back to the queue. `bodies` optionally replaces each body (same order). Returns how many moved. */
  retryDead(queue: string, keys: readonly string[], bodies?: readonly string[]): Promise<number>;
  /** Delete dead letters; all of them when `keys` is undefined. Returns how many were deleted. */
  purgeDead(queue: string, keys?: readonly string[]): Promise<number>;

  stats(queue: string): Promise<QueueStats>;
}

export interface Broker extends RequiredBrokerOperations, OptionalBrokerOperations, QueueControlOperations {}

// ---------------------------------------------------------------------------
// Result backend port
// ---------------------------------------------------------------------------

/** Machinery's state names. */
export const TASK_STATES = [
  'PENDING',
  'RECEIVED',
  'STARTED',
  'RETRY',
  'SUCCESS',
  'FAILURE',
  'CANCELLED',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const FINAL_STATES: ReadonlySet<TaskState> = new Set(['SUCCESS', 'FAILURE', 'CANCELLED']);

/** The error of a failed task, as stored. */
export interface TaskErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** What the result backend keeps for a task id. */
export interface TaskRecord {
  readonly id: string;
  readonly task: string;
  readonly queue: string;
  readonly state: TaskState;
  /** Attempts started so far (0 while pending). */
  readonly attempt: number;
  /** Present when state is SUCCESS (JSON value; `null` for a handler returning undefined). */
  readonly result?: unknown;
  /** Present when state is FAILURE, and on RETRY (the error that caused it). */
  readonly error?: TaskErrorInfo;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ResultBackend {
  readonly name: string;
  /** Store records (replacing older ones for the same id), each kept for `ttlMs`. Notifies waiters of final states. */
  write(records: readonly TaskRecord[], ttlMs: number): Promise<void>;
  read(id: string): Promise<TaskRecord | undefined>;
  /**
   * Call `listener` with the ids of records that reached a final state, from any process
   * sharing the backend. Resolves once listening has started; the returned function stops it.
   */
  onFinal(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>>;
  /**
   * Optional: like `onFinal`, for the ids of records written CANCELLED only. A backend that
   * notifies by broadcast offers it so that every worker's cancel watch is not woken by every
   * finished task; without it the watch listens to `onFinal`.
   */
  onCancelled?(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
  /** Optional capability: the atomic group counter that workflows (groups, chords) need. */
  readonly groups?: GroupCounter;
}

/** Where a group stands after a member reported. */
export type GroupStatus =
  | { readonly state: 'open' }
  | { readonly state: 'failed' }
  /** Every member succeeded: their results by index. Returned to every call after completion, so a caller that crashed after it can finish the work (follow-ups are deduplicated by id). */
  | { readonly state: 'complete'; readonly results: readonly unknown[] };

/**
 * An atomic counter per group id, with each member's result. Both calls are idempotent per
 * (group, index): a member reported twice (a redelivery) is counted once. State is kept `ttlMs`
 * from the last call. Conformance: test/contract/groups.contract.ts.
 */
export interface GroupCounter {
  /** Record member `index` (0 ≤ index < size) succeeded with `value` (a JSON value). A group once failed stays failed. */
  succeed(group: string, size: number, index: number, value: unknown, ttlMs: number): Promise<GroupStatus>;
  /** Record member `index` failed for good. A group already complete stays complete (and is returned as such). */
  fail(group: string, size: number, index: number, ttlMs: number): Promise<GroupStatus>;
}
