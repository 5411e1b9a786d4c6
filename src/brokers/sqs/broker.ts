/**
 * Amazon SQS broker (`sqs://REGION/ACCOUNT_ID`, `?endpoint=http://host:port` for a local server).
 * See docs/brokers.md. In short:
 * - A queue is the SQS queue `<prefix>-<queue>` with a redrive policy (maxReceiveCount =
 *   maxDeliveries) into `<prefix>-<queue>-dead`, created on first use (queues.ts).
 * - A lease is the visibility timeout (whole seconds, rounded up); `extend` is
 *   ChangeMessageVisibilityBatch; the delivery count is ApproximateReceiveCount (visibility.ts).
 * - Waiting is a long poll (up to 20 s); what it receives is kept for the next reserve.
 * - DelaySeconds caps at 15 minutes: a longer delay carries its due time and is sent on again,
 *   15 minutes at a time, each time it comes back early (delays.ts).
 * - A retry or dead letter is a send, then the delete of the original: a process that dies between
 *   the two leaves both (the task runs again; never lost).
 * - With `fifo`, the queues are FIFO (`<prefix>-<queue>.fifo`, ordered per Errand queue, sends
 *   deduplicated for 5 minutes); delayed messages wait in the standard queue `<prefix>-<queue>-delay`
 *   and a reserve, or a worker's wait, forwards those that are due (FIFO queues refuse per-message
 *   delays; delay-queue.ts).
 * Bodies SQS would refuse travel as base64 (messages.ts).
 */
import {
  GetQueueAttributesCommand,
  type Message,
  PurgeQueueCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
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
import { sqsCapabilities } from './capabilities.ts';
import { call, type SqsContext } from './client.ts';
import { DelayWatches, forwardDue } from './delay-queue.ts';
import { delayAgain, sendTimed } from './delays.ts';
import { deduplicationId, fifoEntry } from './fifo.ts';
import { bodyOf, dueAtOf, REASON_ATTRIBUTE, sendAll, sendEntry } from './messages.ts';
import { SqsQueues } from './queues.ts';
import { changeVisibility, deleteAll, LONG_POLL_S, leaseSeconds, receive } from './visibility.ts';

const WAIT_CAP_MS = 5000;
/** Visibility of what a long poll receives before a reserve hands it out (then it gets the lease). */
const POLLED_VISIBILITY_S = 2;

export interface SqsBrokerOptions {
  readonly prefix: string;
  readonly maxDeliveries: number;
  /** For messages: which SQS (region, endpoint). */
  readonly where: string;
  /** FIFO queues: per-queue order and 5-minute deduplication of sends (see fifo.ts). */
  readonly fifo?: boolean;
}

export class SqsBroker implements Broker {
  readonly name = 'sqs';
  readonly capabilities: BrokerCapabilities;
  private readonly sqs: SqsContext;
  private readonly queues: SqsQueues;
  /** FIFO: the waits' watches of the delay queues. */
  private readonly watches: DelayWatches;

  /** Messages a long poll received, kept (leased) for the next reserve of their queue. */
  private readonly received = new Map<string, Message[]>();
  private lastRequest: ReserveRequest | undefined;
  /** Bodies of the messages handed out, by receipt handle, until settled (for dead letters). */
  private readonly bodies = new Map<string, string>();

  constructor(
    private readonly client: SQSClient,
    options: SqsBrokerOptions,
  ) {
    const fifo = options.fifo === true;
    this.capabilities = sqsCapabilities(fifo);
    this.sqs = { client, where: options.where };
    this.queues = new SqsQueues(this.sqs, {
      prefix: options.prefix,
      maxDeliveries: options.maxDeliveries,
      fifo,
    });
    this.watches = new DelayWatches(this.sqs);
  }

  async enqueue(
    queue: string,
    entries: readonly EnqueueEntry[],
    _dedupeTtlMs?: number,
  ): Promise<EnqueueOutcome[]> {
    checkEntries(entries);
    await sendTimed(this.sqs, queue, await this.queues.of(queue), entries);
    // A FIFO queue accepts a duplicate without saying so: every entry reads as queued.
    return entries.map(() => 'queued');
  }

  async reserve(queue: string, request: ReserveRequest): Promise<ReserveResult> {
    checkReserve(request);
    this.lastRequest = request;
    const { url, delay } = await this.queues.of(queue);
    if (delay) await forwardDue(this.sqs, queue, { url, delay });
    const messages: LeasedMessage[] = [];
    const early: Message[] = [];
    const kept = this.received.get(queue) ?? [];
    const keptTokens = new Set(kept.map((m) => m.ReceiptHandle!));
    this.received.delete(queue);
    let pending = kept;
    while (messages.length < request.max) {
      if (pending.length === 0) {
        pending = await receive(this.sqs, url, request.max - messages.length, request.leaseMs, 0);
        if (pending.length === 0) break;
      }
      for (const message of pending.splice(0)) {
        if (dueAtOf(message) > Date.now() + 1000) early.push(message);
        else if (messages.length < request.max) {
          const body = bodyOf(message);
          this.bodies.set(message.ReceiptHandle!, body);
          messages.push({
            body,
            token: message.ReceiptHandle!,
            delivery: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
          });
        } else pending.push(message);
      }
      if (pending.length > 0) break;
    }
    if (pending.length > 0) this.received.set(queue, pending);
    if (early.length > 0) await delayAgain(this.sqs, url, early);
    // What a long poll received has a short visibility: it gets this reserve's lease now.
    const polled = messages.filter((m) => keptTokens.has(m.token)).map((m) => m.token);
    if (polled.length > 0) {
      const gone = new Set(await changeVisibility(this.sqs, url, polled, leaseSeconds(request.leaseMs)));
      if (gone.size > 0)
        return { messages: messages.filter((m) => !gone.has(m.token)), nextDueAt: undefined };
    }
    return { messages, nextDueAt: undefined };
  }

  async settle(queue: string, given: SettleBatch, now: number = Date.now()): Promise<SettleResult> {
    // Retries that cannot be scheduled become dead letters saying why (shared with every broker).
    const batch = checkedBatch(given, now);
    const urls = await this.queues.of(queue);
    const { url, dead, delay } = urls;
    const retries = batch.retries ?? [];
    const deadLetters = batch.deadLetters ?? [];
    const scheduled = retries.filter((r) => Number.isFinite(r.dueAt));
    const unschedulable = retries.filter((r) => !Number.isFinite(r.dueAt));
    // First the new copies (confirmed by SQS), then the deletes of the originals.
    await sendTimed(
      this.sqs,
      queue,
      urls,
      scheduled.map((r) => ({ body: r.body, dueAt: r.dueAt })),
    );
    const deadEntries = [
      ...unschedulable.map((r) => ({
        body: r.body,
        reason: `retry could not be scheduled: its due time ${r.dueAt} is not a finite number`,
      })),
      // SQS cannot read a message by its handle: the stored body is the one reserve handed out.
      ...deadLetters.map((d) => ({ body: d.body ?? this.bodies.get(d.token) ?? '', reason: d.reason })),
    ];
    await sendAll(
      this.sqs,
      dead,
      deadEntries.map((d, i) => {
        const plain = sendEntry(i, d.body, undefined);
        const entry = delay ? fifoEntry(plain, queue, deduplicationId(undefined)) : plain;
        return {
          ...entry,
          MessageAttributes: {
            ...entry.MessageAttributes,
            [REASON_ATTRIBUTE]: { DataType: 'String', StringValue: d.reason },
          },
        };
      }),
    );
    const done = [...(batch.acks ?? []), ...retries.map((r) => r.token), ...deadLetters.map((d) => d.token)];
    for (const token of [...done, ...(batch.releases ?? [])]) this.bodies.delete(token);
    const lost = await deleteAll(this.sqs, url, done);
    if (batch.releases?.length) lost.push(...(await changeVisibility(this.sqs, url, batch.releases, 0)));
    return { lost };
  }

  async extend(queue: string, tokens: readonly string[], leaseMs: number, now: number): Promise<string[]> {
    checkLease('extend', leaseMs, now);
    if (tokens.length === 0) return [];
    const { url } = await this.queues.of(queue);
    return changeVisibility(this.sqs, url, tokens, leaseSeconds(leaseMs));
  }

  async waitForWork(queue: string, until: number, signal: AbortSignal): Promise<void> {
    const ms = Number.isFinite(until) ? until - Date.now() : WAIT_CAP_MS;
    if (ms <= 0 || signal.aborted || (this.received.get(queue)?.length ?? 0) > 0) return;
    try {
      const waitS = Math.min(LONG_POLL_S, Math.max(1, Math.floor(ms / 1000)));
      const { url, delay } = await this.queues.of(queue);
      // FIFO: a delayed message reaches the FIFO queue only when forwarded; watch for it meanwhile.
      if (delay) this.watches.watch(queue, { url, delay }, waitS);
      const got = await receive(
        this.sqs,
        url,
        this.lastRequest?.max ?? 1,
        POLLED_VISIBILITY_S * 1000,
        waitS,
        signal,
      );
      if (got.length > 0) this.received.set(queue, [...(this.received.get(queue) ?? []), ...got]);
    } catch {
      if (!signal.aborted) await sleep(Math.min(ms, WAIT_CAP_MS), signal); // a failed wait still lasts
    }
  }

  async listDead(): Promise<DeadLetter[]> {
    throw this.absent();
  }

  async retryDead(): Promise<number> {
    throw this.absent();
  }

  async purgeDead(queue: string, keys?: readonly string[]): Promise<number> {
    if (keys !== undefined) throw this.absent();
    const { dead } = await this.queues.of(queue);
    const count = await this.count(dead);
    await call(this.sqs, 'purge', () => this.client.send(new PurgeQueueCommand({ QueueUrl: dead })));
    return count.waiting;
  }

  private absent(): CapabilityUnsupportedError {
    return new CapabilityUnsupportedError(
      this.name,
      'dead-letter browsing',
      this.capabilities.absent!.deadLetterBrowsing!,
    );
  }

  private async count(url: string): Promise<{ waiting: number; delayed: number; leased: number }> {
    const { Attributes: a = {} } = await call(this.sqs, 'stats', () =>
      this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesDelayed',
            'ApproximateNumberOfMessagesNotVisible',
          ],
        }),
      ),
    );
    return {
      waiting: Number(a.ApproximateNumberOfMessages ?? 0),
      delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
      leased: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  }

  async stats(queue: string): Promise<QueueStats> {
    const { url, dead, delay } = await this.queues.of(queue);
    const [main, failed, held] = await Promise.all([
      this.count(url),
      this.count(dead),
      delay ? this.count(delay) : undefined,
    ]);
    // FIFO: what waits in the delay queue is delayed, whether SQS still delays it or not.
    const delayed = main.delayed + (held ? held.waiting + held.delayed + held.leased : 0);
    return { ...main, delayed, dead: failed.waiting };
  }

  async close(): Promise<void> {
    await this.watches.close();
    this.received.clear();
    this.bodies.clear();
    this.client.destroy();
  }
}
