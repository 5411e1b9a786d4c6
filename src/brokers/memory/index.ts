/**
 * In-memory broker and result backend: the reference implementation of the port.
 * One process only, nothing survives a restart. The conformance suite runs against it
 * first; tests and examples that ask for `memory:` use it.
 */
import { EventEmitter } from 'node:events';
import { sleep } from '../../core/clock.ts';
import type {
  Broker,
  DeadLetter,
  EnqueueEntry,
  EnqueueOutcome,
  GroupCounter,
  LeasedMessage,
  ListableState,
  ListedMessage,
  QueueStats,
  ReserveRequest,
  ReserveResult,
  ResultBackend,
  SettleBatch,
  SettleResult,
  TaskRecord,
} from '../../core/port.ts';
import { FINAL_STATES } from '../../core/port.ts';
import { registerBackend, registerBroker } from '../../core/registry.ts';
import { checkDedupeTtl, checkEntries, checkedBatch, checkLease, checkReserve, waitMs } from '../checks.ts';
import { applyGroupCall, checkGroupCall, type GroupState } from '../group-checks.ts';
import { type LastSeen, observe } from '../lease-grace.ts';
import { checkListing } from '../operation-checks.ts';
import { newWorkerId, tokenPrefixOf, workerOfToken } from '../worker-identity.ts';

interface Stored {
  body: string;
  /** Deliveries whose lease expired. */
  expired: number;
}

interface Lease {
  readonly stored: Stored;
  deadline: number;
}

/** A FIFO with O(1) push, shift and unshift (Array.shift is O(n) on long arrays). */
class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  /** The items, head first (for listing; O(n)). */
  toArray(): T[] {
    return this.items.slice(this.head) as T[];
  }
  /** Removes the first item `match` accepts; true if one was. */
  removeFirst(match: (item: T) => boolean): boolean {
    const at = this.items.findIndex((item, i) => i >= this.head && item !== undefined && match(item));
    if (at === -1) return false;
    this.items.splice(at, 1);
    return true;
  }
  unshift(...items: T[]): void {
    if (items.length <= this.head) {
      this.head -= items.length;
      for (let i = 0; i < items.length; i++) this.items[this.head + i] = items[i];
    } else {
      this.items = [...items, ...this.items.slice(this.head)];
      this.head = 0;
    }
  }
}

class MemoryQueue {
  readonly waiting = new Deque<Stored>();
  /** Sorted by dueAt, then arrival. */
  readonly delayed: Array<{ dueAt: number; seq: number; stored: Stored }> = [];
  readonly leases = new Map<string, Lease>();
  readonly dead: DeadLetter[] = [];
  /** Dedupe key -> expiry (ms); expired keys are purged as enqueues pass (see purgeDedupe). */
  readonly dedupe = new Map<string, number>();
  paused = false;
  /** When a reserve or extend last reached this queue (Date.now()), for the lease grace. */
  lastSeen: LastSeen | undefined;
}

export class MemoryBroker implements Broker {
  readonly name = 'memory';
  readonly capabilities = { shared: false, durable: false };
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly wake = new EventEmitter().setMaxListeners(0);
  private seq = 0;
  /** Tokens are `<host>:<pid>:<random>/<n>`, so a listing names the holder (as the shared brokers do). */
  private readonly tokenPrefix = tokenPrefixOf(newWorkerId());

  private q(name: string): MemoryQueue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new MemoryQueue();
      this.queues.set(name, queue);
    }
    return queue;
  }

  private schedule(queue: MemoryQueue, stored: Stored, dueAt: number): void {
    const entry = { dueAt, seq: ++this.seq, stored };
    const at = queue.delayed.findIndex((d) => d.dueAt > dueAt);
    if (at === -1) queue.delayed.push(entry);
    else queue.delayed.splice(at, 0, entry);
  }

  async enqueue(
    name: string,
    entries: readonly EnqueueEntry[],
    dedupeTtlMs: number,
  ): Promise<EnqueueOutcome[]> {
    checkEntries(entries);
    if (entries.some((e) => e.dedupeKey !== undefined)) checkDedupeTtl(dedupeTtlMs);
    const queue = this.q(name);
    const now = Date.now();
    purgeDedupe(queue.dedupe, now);
    const outcomes = entries.map((entry): EnqueueOutcome => {
      if (entry.dedupeKey !== undefined) {
        const until = queue.dedupe.get(entry.dedupeKey);
        if (until !== undefined && until > now) return 'duplicate';
        // Deleted first so the key moves to the end: the map stays in expiry order for purgeDedupe.
        queue.dedupe.delete(entry.dedupeKey);
        queue.dedupe.set(entry.dedupeKey, now + dedupeTtlMs);
      }
      const stored = { body: entry.body, expired: 0 };
      if (entry.dueAt !== undefined && entry.dueAt > now) this.schedule(queue, stored, entry.dueAt);
      else queue.waiting.push(stored);
      return 'queued';
    });
    this.wake.emit(name);
    return outcomes;
  }

  private promoteDue(queue: MemoryQueue, now: number): void {
    while (queue.delayed.length > 0 && queue.delayed[0]!.dueAt <= now) {
      queue.waiting.push(queue.delayed.shift()!.stored);
    }
  }

  private recoverExpired(queue: MemoryQueue, maxDeliveries: number, now: number): DeadLetter[] {
    const requeue: Stored[] = [];
    const buried: DeadLetter[] = [];
    for (const [token, lease] of queue.leases) {
      if (lease.deadline > now) continue;
      queue.leases.delete(token);
      lease.stored.expired += 1;
      if (lease.stored.expired >= maxDeliveries) {
        buried.push(
          this.bury(
            queue,
            lease.stored.body,
            `delivered ${lease.stored.expired} times without finishing`,
            now,
          ),
        );
      } else {
        requeue.push(lease.stored);
      }
    }
    // Oldest lease first, ahead of everything waiting.
    queue.waiting.unshift(...requeue);
    return buried;
  }

  private bury(queue: MemoryQueue, body: string, reason: string, now: number): DeadLetter {
    const entry = { key: `d${++this.seq}`, body, reason, failedAt: now };
    queue.dead.unshift(entry);
    return entry;
  }

  /** Item 9 of issue 9: after a silence longer than the lease allows, holders may renew first. */
  private touch(queue: MemoryQueue, leaseMs: number, now: number): void {
    const { seen, grace } = observe(queue.lastSeen, Date.now(), now, leaseMs);
    queue.lastSeen = seen;
    if (!grace) return;
    for (const lease of queue.leases.values()) {
      if (lease.deadline > grace.since && lease.deadline <= grace.until) lease.deadline = grace.deadline;
    }
  }

  async reserve(name: string, request: ReserveRequest): Promise<ReserveResult> {
    checkReserve(request);
    const queue = this.q(name);
    this.touch(queue, request.leaseMs, request.now);
    this.promoteDue(queue, request.now);
    const deadLettered = this.recoverExpired(queue, request.maxDeliveries, request.now);
    const messages: LeasedMessage[] = [];
    while (messages.length < request.max && queue.waiting.length > 0) {
      const stored = queue.waiting.shift()!;
      const token = `${this.tokenPrefix}${++this.seq}`;
      queue.leases.set(token, { stored, deadline: request.now + request.leaseMs });
      messages.push({ body: stored.body, token, delivery: stored.expired + 1 });
    }
    return { messages, nextDueAt: queue.delayed[0]?.dueAt, deadLettered };
  }

  async settle(name: string, input: SettleBatch, now: number): Promise<SettleResult> {
    const batch = checkedBatch(input, now);
    const queue = this.q(name);
    const lost: string[] = [];
    const take = (token: string): Lease | undefined => {
      const lease = queue.leases.get(token);
      if (!lease) lost.push(token);
      else queue.leases.delete(token);
      return lease;
    };
    for (const token of batch.acks ?? []) take(token);
    for (const retry of batch.retries ?? []) {
      if (take(retry.token)) this.schedule(queue, { body: retry.body, expired: 0 }, retry.dueAt);
    }
    for (const dead of batch.deadLetters ?? []) {
      const lease = take(dead.token);
      if (lease) this.bury(queue, dead.body ?? lease.stored.body, dead.reason, now);
    }
    const released: Stored[] = [];
    for (const token of batch.releases ?? []) {
      const lease = take(token);
      if (lease) released.push(lease.stored);
    }
    if (released.length > 0) {
      queue.waiting.unshift(...released);
      this.wake.emit(name);
    }
    if ((batch.retries?.length ?? 0) > 0) this.wake.emit(name);
    return { lost };
  }

  async settleAndReserve(name: string, batch: SettleBatch, request: ReserveRequest) {
    checkReserve(request);
    const settled = await this.settle(name, batch, request.now);
    return { ...settled, reserved: await this.reserve(name, request) };
  }

  async extend(name: string, tokens: readonly string[], leaseMs: number, now: number): Promise<string[]> {
    checkLease('extend', leaseMs, now);
    const queue = this.q(name);
    this.touch(queue, leaseMs, now);
    const lost: string[] = [];
    for (const token of tokens) {
      // Held until settled or recovered: an expired lease no reserve has recovered yet is renewed.
      const lease = queue.leases.get(token);
      if (lease)
        lease.deadline = Math.max(lease.deadline, now + leaseMs); // never shortened
      else lost.push(token);
    }
    return lost;
  }

  async waitForWork(name: string, until: number, signal: AbortSignal): Promise<void> {
    const queue = this.q(name);
    if (queue.waiting.length > 0) return;
    const ac = new AbortController();
    const onWake = (): void => ac.abort();
    const onAbort = (): void => ac.abort();
    this.wake.once(name, onWake);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await sleep(waitMs(until, Date.now()), ac.signal);
    } finally {
      this.wake.off(name, onWake);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async listDead(name: string, offset: number, limit: number): Promise<DeadLetter[]> {
    return this.q(name).dead.slice(offset, offset + limit);
  }

  async retryDead(name: string, keys: readonly string[], bodies?: readonly string[]): Promise<number> {
    const queue = this.q(name);
    let moved = 0;
    keys.forEach((key, i) => {
      const at = queue.dead.findIndex((d) => d.key === key);
      if (at === -1) return;
      const [entry] = queue.dead.splice(at, 1);
      queue.waiting.push({ body: bodies?.[i] ?? entry!.body, expired: 0 });
      moved++;
    });
    if (moved > 0) this.wake.emit(name);
    return moved;
  }

  async purgeDead(name: string, keys?: readonly string[]): Promise<number> {
    const queue = this.q(name);
    if (keys === undefined) return queue.dead.splice(0).length;
    const wanted = new Set(keys);
    const before = queue.dead.length;
    const kept = queue.dead.filter((d) => !wanted.has(d.key));
    queue.dead.splice(0, queue.dead.length, ...kept);
    return before - kept.length;
  }

  async listMessages(
    name: string,
    state: ListableState,
    offset: number,
    limit: number,
  ): Promise<ListedMessage[]> {
    checkListing(state, offset, limit);
    const queue = this.q(name);
    const all: ListedMessage[] =
      state === 'waiting'
        ? queue.waiting.toArray().map((s) => ({ body: s.body }))
        : state === 'delayed'
          ? queue.delayed.map((d) => ({ body: d.stored.body, at: d.dueAt }))
          : [...queue.leases]
              .sort(([, a], [, b]) => a.deadline - b.deadline)
              .map(([token, l]) => {
                const worker = workerOfToken(token);
                return { body: l.stored.body, at: l.deadline, ...(worker !== undefined && { worker }) };
              });
    return all.slice(offset, offset + limit);
  }

  async removeWaiting(name: string, bodies: readonly string[]): Promise<string[]> {
    const queue = this.q(name);
    return bodies.filter((body) => {
      if (queue.waiting.removeFirst((s) => s.body === body)) return true;
      const at = queue.delayed.findIndex((d) => d.stored.body === body);
      if (at === -1) return false;
      queue.delayed.splice(at, 1);
      return true;
    });
  }

  async setPaused(name: string, paused: boolean): Promise<void> {
    this.q(name).paused = paused;
    // A resumed queue may have work for a waiting worker.
    if (!paused) this.wake.emit(name);
  }

  async isPaused(name: string): Promise<boolean> {
    return this.queues.get(name)?.paused ?? false;
  }

  async stats(name: string): Promise<QueueStats> {
    const queue = this.q(name);
    return {
      waiting: queue.waiting.length,
      delayed: queue.delayed.length,
      leased: queue.leases.size,
      dead: queue.dead.length,
    };
  }

  /** Dedupe keys the queue still remembers (expired ones are purged as enqueues pass). */
  rememberedKeys(name: string): number {
    return this.q(name).dedupe.size;
  }

  async close(): Promise<void> {
    this.wake.removeAllListeners();
  }
}

/** Drops expired dedupe keys from the front of the map (kept in expiry order when the TTL is the same). */
function purgeDedupe(dedupe: Map<string, number>, now: number): void {
  for (const [key, until] of dedupe) {
    if (until > now) return;
    dedupe.delete(key);
  }
}

export class MemoryResultBackend implements ResultBackend {
  readonly name = 'memory';
  private readonly records = new Map<string, { record: TaskRecord; expiresAt: number }>();
  private readonly finals = new EventEmitter().setMaxListeners(0);

  async write(records: readonly TaskRecord[], ttlMs: number): Promise<void> {
    const expiresAt = Date.now() + ttlMs;
    const finished: string[] = [];
    for (const record of records) {
      this.records.set(record.id, { record, expiresAt });
      if (FINAL_STATES.has(record.state)) finished.push(record.id);
    }
    if (finished.length > 0) this.finals.emit('final', finished);
  }

  async read(id: string): Promise<TaskRecord | undefined> {
    const entry = this.records.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.records.delete(id);
      return undefined;
    }
    return entry.record;
  }

  async onFinal(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>> {
    this.finals.on('final', listener);
    return async () => {
      this.finals.off('final', listener);
    };
  }

  async close(): Promise<void> {
    this.finals.removeAllListeners();
  }

  private readonly groupStates = new Map<string, { state: GroupState; expiresAt: number }>();

  readonly groups: GroupCounter = {
    succeed: async (group, size, index, value, ttlMs) => {
      checkGroupCall(group, size, index, ttlMs);
      return applyGroupCall(this.groupState(group, size, ttlMs), index, { ok: true, value });
    },
    fail: async (group, size, index, ttlMs) => {
      checkGroupCall(group, size, index, ttlMs);
      return applyGroupCall(this.groupState(group, size, ttlMs), index, { ok: false });
    },
  };

  private lastGroupSweep = 0;

  private groupState(group: string, size: number, ttlMs: number): GroupState {
    const now = Date.now();
    // Expired groups are dropped at most every 5 s, so a long-lived process does not keep them all.
    if (now - this.lastGroupSweep >= 5000) {
      this.lastGroupSweep = now;
      for (const [id, entry] of this.groupStates) if (entry.expiresAt <= now) this.groupStates.delete(id);
    }
    let entry = this.groupStates.get(group);
    if (!entry || entry.expiresAt <= now) {
      entry = { state: { size, failed: false, results: {} }, expiresAt: 0 };
      this.groupStates.set(group, entry);
    }
    entry.expiresAt = now + ttlMs;
    return entry.state;
  }
}

registerBroker(['memory'], () => ({ broker: new MemoryBroker(), backend: new MemoryResultBackend() }));
registerBackend(['memory'], () => new MemoryResultBackend());
