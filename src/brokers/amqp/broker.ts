/**
 * RabbitMQ broker (amqp:// URLs). See docs/brokers.md for the design; in short:
 * - A queue is a quorum queue `<prefix>.<queue>` (durable, replicated) whose `x-delivery-limit`
 *   is maxDeliveries − 1: RabbitMQ itself dead-letters a message returned that often into
 *   `<prefix>.<queue>.dead` (at-least-once dead-lettering).
 * - A lease is an unacknowledged delivery of this process's consumer (prefetch = the slots of the
 *   first reserve, the worker's concurrency). `extend` only reports which leases are gone: a
 *   lease lasts as long as the connection, bounded by the server's `consumer_timeout`.
 * - A delay of d ms goes to a classic queue `<prefix>.<queue>.delay.<d>` with `x-message-ttl` d
 *   that dead-letters into the queue: one TTL per queue keeps expiry in order (a queue expires
 *   only its head), so delays are exact to the millisecond without plugins. Delay queues delete
 *   themselves a minute after their last use. Longer delays than a TTL can hold are re-delayed.
 * - A retry or dead letter is a confirmed publish, then the ack: a process that dies between
 *   the two leaves both copies, and the task runs again (at least once, never lost).
 */
import type { Channel, ConsumeMessage, Options } from 'amqplib';
import { sleep } from '../../core/clock.ts';
import { CapabilityUnsupportedError } from '../../core/errors.ts';
import type {
  Broker,
  BrokerCapabilities,
  DeadLetter,
  EnqueueEntry,
  EnqueueOutcome,
  LeasedMessage,
  QueueStats,
  ReserveRequest,
  ReserveResult,
  SettleBatch,
  SettleResult,
} from '../../core/port.ts';
import { checkEntries, checkedBatch, checkLease, checkReserve } from '../checks.ts';
import type { AmqpConnection, Link } from './connection.ts';

/** Longest x-message-ttl RabbitMQ keeps; longer delays are re-delayed when they come back. */
const MAX_TTL_MS = 2 ** 32 - 1;
/** A delay queue deletes itself this long after its last use (all its messages are due by then). */
const DELAY_QUEUE_KEEP_MS = 60_000;
/** A wait without a usable `until` lasts this long. */
const WAIT_CAP_MS = 5000;
const DUE_HEADER = 'x-errand-due-at';
/** A consumer nobody reserved or waited on for this long stops, handing back what it buffered. */
const IDLE_STOP_MS = 1000;
/** How long a reserve that found the queue empty waits once for deliveries still in flight. */
const IN_FLIGHT_GRACE_MS = 20;

/** One queue's consuming channel; it holds the leases, and a consumer on it while someone reserves or waits. */
interface Consumer {
  readonly link: Link;
  readonly channel: Channel;
  readonly buffer: ConsumeMessage[];
  readonly wake: Set<() => void>;
  /** The active consumer's tag; undefined while stopped (nobody reserving or waiting). */
  tag: string | undefined;
  /** Reserves and waits in progress, and when the last one ended. */
  busy: number;
  lastUse: number;
  readonly idleCheck: NodeJS.Timeout;
}

interface Held {
  readonly token: string;
  readonly consumer: Consumer;
  readonly message: ConsumeMessage;
}

export interface AmqpBrokerOptions {
  readonly prefix: string;
  /** Deliveries before RabbitMQ dead-letters a message (x-delivery-limit + 1), fixed when the queue is declared. */
  readonly maxDeliveries: number;
  /** Unacknowledged deliveries the consumer may hold; default the `max` of the first reserve (the worker's slots). */
  readonly prefetch?: number;
  /** Errors nobody awaits (an idle consumer failing to stop). */
  readonly onError?: (err: Error) => void;
}

export class AmqpBroker implements Broker {
  readonly name = 'amqp';
  readonly capabilities: BrokerCapabilities = {
    shared: true,
    durable: true,
    absent: {
      deadLetterBrowsing:
        'dead letters are messages in the queue <prefix>.<queue>.dead; RabbitMQ cannot list or take them by key (use the management UI or a consumer); purging all of them works',
      exactStats: 'RabbitMQ reports the ready messages of a queue as it counts them',
      delayedCounts:
        'delayed messages sit in per-delay queues and leases are unacknowledged deliveries, which RabbitMQ does not count per queue here',
      dedupe: 'RabbitMQ has no store to remember idempotency keys in; every message sent is queued',
      timedLeases:
        'a lease is an unacknowledged delivery: it lasts until the holder acks it or its connection drops (bounded by the server consumer_timeout), not until a deadline',
      injectedClock: "delays expire on the RabbitMQ server clock (message TTL), not on the caller's `now`",
      uncountedRelease:
        'RabbitMQ 3.x quorum queues count a requeued message as a delivery (x-delivery-count): a release keeps its place but uses one of maxDeliveries',
    },
  };

  private readonly declared = new Map<string, number>();
  private readonly consumers = new Map<string, Consumer>();
  private readonly opening = new Map<string, Promise<Consumer>>();
  private readonly held = new Map<string, Held>();
  private tokens = 0;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly options: AmqpBrokerOptions,
  ) {}

  private onError(err: unknown): void {
    this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
  }

  private queueName = (queue: string): string => `${this.options.prefix}.${queue}`;
  private deadName = (queue: string): string => `${this.options.prefix}.${queue}.dead`;

  /** The link, with the queue and its dead-letter queue declared on it. */
  private async linkFor(queue: string): Promise<Link> {
    const link = await this.connection.current();
    if (this.declared.get(queue) === link.generation) return link;
    try {
      await link.channel.assertQueue(this.deadName(queue), {
        durable: true,
        arguments: { 'x-queue-type': 'quorum' },
      });
      await link.channel.assertQueue(this.queueName(queue), {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-delivery-limit': this.options.maxDeliveries - 1,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': this.deadName(queue),
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      });
    } catch (err) {
      this.connection.discard(link);
      throw this.connection.unavailable(
        `cannot declare queue ${this.queueName(queue)} (declared before with other arguments, e.g. another maxDeliveries?): ${(err as Error).message}`,
        err,
      );
    }
    this.declared.set(queue, link.generation);
    return link;
  }

  /** Publishes (confirmed) to the queue now, or through its delay queue when due later. */
  private async publish(
    link: Link,
    queue: string,
    body: string,
    dueAt: number | undefined,
    headers: Record<string, unknown> = {},
  ) {
    const delay = dueAt === undefined ? 0 : Math.ceil(dueAt - Date.now());
    const options: Options.Publish = { persistent: true, contentType: 'application/json', headers };
    if (delay <= 0) {
      link.channel.sendToQueue(this.queueName(queue), Buffer.from(body), options);
      return;
    }
    const ttl = Math.min(delay, MAX_TTL_MS);
    const delayQueue = `${this.queueName(queue)}.delay.${ttl}`;
    // Declared before every publish: a redeclare counts as use, so the queue outlives its messages.
    await link.channel.assertQueue(delayQueue, {
      durable: true,
      arguments: {
        'x-message-ttl': ttl,
        'x-expires': ttl + DELAY_QUEUE_KEEP_MS,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': this.queueName(queue),
      },
    });
    link.channel.sendToQueue(delayQueue, Buffer.from(body), {
      ...options,
      headers: { ...headers, [DUE_HEADER]: dueAt },
    });
  }

  async enqueue(
    queue: string,
    entries: readonly EnqueueEntry[],
    _dedupeTtlMs?: number,
  ): Promise<EnqueueOutcome[]> {
    checkEntries(entries);
    const link = await this.linkFor(queue);
    try {
      // Soonest due first (sends due now first, in their order): each delay queue is declared
      // before its publish, and a message published after a later-due one had come due would
      // arrive after it.
      const byDue = [...entries].sort((a, b) => (a.dueAt ?? 0) - (b.dueAt ?? 0));
      for (const entry of byDue) await this.publish(link, queue, entry.body, entry.dueAt);
      await link.channel.waitForConfirms();
    } catch (err) {
      this.connection.discard(link);
      throw this.connection.unavailable(
        `publish to ${this.queueName(queue)} not confirmed: ${(err as Error).message}`,
        err,
      );
    }
    return entries.map(() => 'queued');
  }

  /** The queue's consuming channel, with a consumer running (started again after an idle stop). */
  private async consumer(queue: string, prefetch: number): Promise<Consumer> {
    // One consumer per queue, however many reserves and waits ask for it at once.
    let opening = this.opening.get(queue);
    if (opening === undefined) {
      opening = this.openConsumer(queue, prefetch).finally(() => this.opening.delete(queue));
      this.opening.set(queue, opening);
    }
    return opening;
  }

  private async openConsumer(queue: string, prefetch: number): Promise<Consumer> {
    let consumer = this.consumers.get(queue);
    if (consumer === undefined) {
      const link = await this.linkFor(queue);
      const channel = await link.connection.createChannel();
      const idleCheck = setInterval(() => {
        const c = this.consumers.get(queue);
        if (c && c.busy === 0 && c.tag !== undefined && Date.now() - c.lastUse > IDLE_STOP_MS) {
          this.stopConsuming(c).catch((err: unknown) => this.onError(err));
        }
      }, IDLE_STOP_MS / 2).unref();
      const created: Consumer = {
        link,
        channel,
        buffer: [],
        wake: new Set(),
        tag: undefined,
        busy: 0,
        lastUse: Date.now(),
        idleCheck,
      };
      const forget = (): void => {
        clearInterval(created.idleCheck);
        if (this.consumers.get(queue) === created) this.consumers.delete(queue);
        created.buffer.length = 0;
        created.tag = undefined;
        for (const [token, held] of this.held) if (held.consumer === created) this.held.delete(token);
        for (const wake of created.wake) wake();
      };
      channel.on('close', forget);
      channel.on('error', forget);
      void link.lost.then(forget);
      await channel.prefetch(prefetch);
      this.consumers.set(queue, created);
      consumer = created;
    }
    consumer.lastUse = Date.now();
    if (consumer.tag === undefined) {
      const c = consumer;
      const { consumerTag } = await c.channel.consume(this.queueName(queue), (message) => {
        if (message === null) {
          c.tag = undefined; // the server cancelled the consumer (queue deleted): start again on next use
          return;
        }
        c.buffer.push(message);
        for (const wake of c.wake) wake();
      });
      c.tag = consumerTag;
    }
    return consumer;
  }

  /**
   * Stops the consumer and hands its unreserved deliveries back, so a process that stopped
   * reserving (its worker stopped) holds nothing it will not run. Its leases stay held.
   */
  private async stopConsuming(consumer: Consumer): Promise<void> {
    const tag = consumer.tag;
    if (tag === undefined) return;
    consumer.tag = undefined;
    await consumer.channel.cancel(tag);
    for (const message of consumer.buffer.splice(0)) consumer.channel.nack(message, false, true);
  }

  async reserve(queue: string, request: ReserveRequest): Promise<ReserveResult> {
    checkReserve(request);
    const consumer = await this.consumer(queue, this.options.prefetch ?? request.max);
    consumer.busy++;
    try {
      return { messages: await this.take(consumer, queue, request.max), nextDueAt: undefined };
    } finally {
      consumer.busy--;
      consumer.lastUse = Date.now();
    }
  }

  private async take(consumer: Consumer, queue: string, max: number): Promise<LeasedMessage[]> {
    const messages: LeasedMessage[] = [];
    let settled = false;
    while (messages.length < max) {
      // Deliveries already pushed to the consumer first; then ask (basic.get) for the rest, so a
      // reserve sees every ready message at once, not only those the consumer was sent so far.
      let message = consumer.buffer.shift();
      if (message === undefined) {
        const got = await this.get(consumer, queue);
        // Deliveries the server sent before answering the get arrived first: they go first.
        if (consumer.buffer.length > 0) {
          if (got) consumer.buffer.push(got);
          continue;
        }
        if (got === undefined) {
          // The queue is empty, but a delivery to our consumer may still be on its way from the
          // queue to the channel (RabbitMQ does not order it with the get's answer): wait a
          // moment for it once, so a reserve on a drained queue does not leave it buffered.
          if (consumer.tag === undefined || settled) break;
          settled = true;
          await sleep(IN_FLIGHT_GRACE_MS);
          continue;
        }
        message = got;
      }
      const dueAt = Number(message.properties.headers?.[DUE_HEADER]);
      if (dueAt > Date.now() + 1) {
        // Came back early from a delay longer than one TTL can hold: delay it again.
        await this.publish(consumer.link, queue, message.content.toString(), dueAt);
        await consumer.link.channel.waitForConfirms();
        consumer.channel.ack(message);
        continue;
      }
      const token = `${consumer.link.generation}.${++this.tokens}`;
      this.held.set(token, { token, consumer, message });
      const returned = Number(message.properties.headers?.['x-delivery-count'] ?? 0);
      messages.push({ body: message.content.toString(), token, delivery: returned + 1 });
    }
    return messages;
  }

  private async get(consumer: Consumer, queue: string): Promise<ConsumeMessage | undefined> {
    try {
      const got = await consumer.channel.get(this.queueName(queue), { noAck: false });
      return got === false ? undefined : (got as unknown as ConsumeMessage);
    } catch (err) {
      this.connection.discard(consumer.link);
      throw this.connection.unavailable(
        `cannot read ${this.queueName(queue)}: ${(err as Error).message}`,
        err,
      );
    }
  }

  async settle(queue: string, given: SettleBatch, now: number = Date.now()): Promise<SettleResult> {
    // Retries that cannot be scheduled become dead letters saying why (shared with every broker).
    const batch = checkedBatch(given, now);
    const lost: string[] = [];
    const take = (token: string): Held | undefined => {
      const held = this.held.get(token);
      if (!held) lost.push(token);
      this.held.delete(token);
      return held;
    };
    const acks: Held[] = [];
    for (const token of batch.acks ?? []) {
      const held = take(token);
      if (held) acks.push(held);
    }
    const republished: Held[] = [];
    const link = await this.linkFor(queue);
    try {
      for (const retry of batch.retries ?? []) {
        const held = take(retry.token);
        if (!held) continue;
        if (Number.isFinite(retry.dueAt)) await this.publish(link, queue, retry.body, retry.dueAt);
        else
          await this.publishDead(
            link,
            queue,
            retry.body,
            `retry could not be scheduled: its due time ${retry.dueAt} is not a finite number`,
          );
        republished.push(held);
      }
      for (const dead of batch.deadLetters ?? []) {
        const held = take(dead.token);
        if (!held) continue;
        await this.publishDead(link, queue, dead.body ?? held.message.content.toString(), dead.reason);
        republished.push(held);
      }
      if (republished.length > 0) await link.channel.waitForConfirms();
    } catch (err) {
      // Not confirmed: the originals stay unacknowledged and come back when the connection goes.
      this.connection.discard(link);
      throw this.connection.unavailable(
        `settle of ${this.queueName(queue)} not confirmed: ${(err as Error).message}`,
        err,
      );
    }
    for (const held of [...acks, ...republished]) {
      try {
        held.consumer.channel.ack(held.message);
      } catch {
        // The channel closed under us: RabbitMQ hands the message out again, so the ack is lost.
        lost.push(held.token);
      }
    }
    if (batch.releases?.length) {
      // A release is a worker handing back at shutdown: stop consuming first, so the message
      // goes back to the queue for others instead of into this process's consumer again.
      const consumer = this.consumers.get(queue);
      if (consumer) await this.stopConsuming(consumer);
    }
    for (const token of batch.releases ?? []) {
      const held = take(token);
      try {
        held?.consumer.channel.nack(held.message, false, true);
      } catch {
        // The channel closed: the message is back in the queue already.
      }
    }
    return { lost };
  }

  private async publishDead(link: Link, queue: string, body: string, reason: string): Promise<void> {
    link.channel.sendToQueue(this.deadName(queue), Buffer.from(body), {
      persistent: true,
      headers: { 'x-errand-reason': reason, 'x-errand-failed-at': Date.now() },
    });
  }

  async extend(_queue: string, tokens: readonly string[], leaseMs: number, now: number): Promise<string[]> {
    checkLease('extend', leaseMs, now);
    return tokens.filter((token) => !this.held.has(token));
  }

  async waitForWork(queue: string, until: number, signal: AbortSignal): Promise<void> {
    const ms = Number.isFinite(until) ? until - Date.now() : WAIT_CAP_MS;
    if (ms <= 0 || signal.aborted) return;
    let consumer: Consumer;
    try {
      consumer = await this.consumer(queue, this.options.prefetch ?? 1);
    } catch {
      await sleep(Math.min(ms, WAIT_CAP_MS), signal); // a failed wait still lasts, so loops never spin
      return;
    }
    if (consumer.buffer.length > 0) return;
    consumer.busy++;
    const stop = new AbortController();
    const wake = (): void => stop.abort();
    const onAbort = (): void => stop.abort();
    consumer.wake.add(wake);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await sleep(ms, stop.signal);
    } finally {
      consumer.wake.delete(wake);
      signal.removeEventListener('abort', onAbort);
      consumer.busy--;
      consumer.lastUse = Date.now();
    }
  }

  async listDead(): Promise<DeadLetter[]> {
    throw this.absent('deadLetterBrowsing');
  }

  async retryDead(): Promise<number> {
    throw this.absent('deadLetterBrowsing');
  }

  async purgeDead(queue: string, keys?: readonly string[]): Promise<number> {
    if (keys !== undefined) throw this.absent('deadLetterBrowsing');
    const link = await this.linkFor(queue);
    return (await link.channel.purgeQueue(this.deadName(queue))).messageCount;
  }

  private absent(capability: 'deadLetterBrowsing'): CapabilityUnsupportedError {
    return new CapabilityUnsupportedError(
      this.name,
      'dead-letter browsing',
      this.capabilities.absent![capability]!,
    );
  }

  async stats(queue: string): Promise<QueueStats> {
    const link = await this.linkFor(queue);
    const waiting = (await link.channel.checkQueue(this.queueName(queue))).messageCount;
    const dead = (await link.channel.checkQueue(this.deadName(queue))).messageCount;
    return { waiting, delayed: 0, leased: 0, dead };
  }

  async close(): Promise<void> {
    for (const consumer of this.consumers.values()) {
      clearInterval(consumer.idleCheck);
      await consumer.channel.close().catch(() => undefined);
    }
    this.consumers.clear();
    this.held.clear();
    await this.connection.close();
  }
}
