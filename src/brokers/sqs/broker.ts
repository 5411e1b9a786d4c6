/**
 * Amazon SQS broker (`sqs://REGION/ACCOUNT_ID`, `?endpoint=http://host:port` for a local server).
 * See docs/brokers.md. In short:
 * - A queue is the SQS queue `<prefix>-<queue>` with a redrive policy (maxReceiveCount =
 *   maxDeliveries) into `<prefix>-<queue>-dead`, created on first use.
 * - A lease is the visibility timeout (whole seconds, rounded up); `extend` is
 *   ChangeMessageVisibilityBatch; the delivery count is ApproximateReceiveCount.
 * - Waiting is a long poll (up to 20 s); what it receives is kept for the next reserve.
 * - DelaySeconds caps at 15 minutes: a longer delay carries its due time and is sent on again,
 *   15 minutes at a time, each time it comes back early.
 * - A retry or dead letter is a send, then the delete of the original: a process that dies between
 *   the two leaves both (the task runs again; never lost).
 * - With `fifo`, the queues are FIFO (`<prefix>-<queue>.fifo`, ordered per Errand queue, sends
 *   deduplicated for 5 minutes); delayed messages wait in the standard queue `<prefix>-<queue>-delay`
 *   and a reserve, or a worker's wait, forwards those that are due (FIFO queues refuse per-message
 *   delays).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { sleep } from '../../core/clock.ts';
import { BrokerUnavailableError, CapabilityUnsupportedError } from '../../core/errors.ts';
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
import { DEDUPE_ATTRIBUTE, deduplicationId, fifoEntry } from './fifo.ts';

const MAX_DELAY_S = 900;
const BATCH = 10;
const LONG_POLL_S = 20;
const WAIT_CAP_MS = 5000;
const DUE_ATTRIBUTE = 'errand-due-at';
const REASON_ATTRIBUTE = 'errand-reason';
const ENCODING_ATTRIBUTE = 'errand-encoding';
/** Characters every SQS accepts in a body (some emulators refuse those beyond U+FFFD, so they go as base64 too). */
const SQS_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD]*$/;
/** SQS's limit on one message and on one batch request (AWS since 2025; 256 KiB before). */
const MAX_REQUEST_BYTES = 1024 * 1024;
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

interface QueueUrls {
  readonly url: string;
  readonly dead: string;
  /** FIFO only: the standard queue where delayed messages wait until due. */
  readonly delay?: string;
}

/** Visibility of delayed messages a reserve takes from the delay queue while it forwards them. */
const FORWARD_VISIBILITY_S = 30;
/**
 * Visibility of delayed messages a wait's watch of the delay queue receives: short, because a long
 * poll cut off by close() may still take a message at SQS, which then stays hidden this long. A
 * forward that outlasts it may be repeated by another process, and SQS's deduplication drops the copy.
 */
const WATCH_VISIBILITY_S = 2;

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

export class SqsBroker implements Broker {
  readonly name = 'sqs';
  readonly capabilities: BrokerCapabilities;
  private readonly fifo: boolean;

  private readonly urls = new Map<string, Promise<QueueUrls>>();
  /** Messages a long poll received, kept (leased) for the next reserve of their queue. */
  private readonly received = new Map<string, Message[]>();
  private lastRequest: ReserveRequest | undefined;
  /** Bodies of the messages handed out, by receipt handle, until settled (for dead letters). */
  private readonly bodies = new Map<string, string>();
  /** FIFO: the running watch of each queue's delay queue, and until when it polls (see watchDelayed). */
  private readonly watches = new Map<string, { until: number; done: Promise<void> }>();
  /** Aborted by close(): ends the watches' long polls. */
  private readonly closing = new AbortController();

  constructor(
    private readonly client: SQSClient,
    private readonly options: SqsBrokerOptions,
  ) {
    this.fifo = options.fifo === true;
    this.capabilities = sqsCapabilities(this.fifo);
  }

  /** The SQS name of a queue: letters, digits, "-" and "_" only, at most 80 characters. */
  private sqsName(queue: string, suffix = ''): string {
    const name = `${this.options.prefix}-${queue}`.replace(/[^A-Za-z0-9_-]/g, '_');
    return `${name.slice(0, 80 - suffix.length)}${suffix}`;
  }

  private unavailable(what: string, err: unknown): BrokerUnavailableError {
    return new BrokerUnavailableError(`SQS ${this.options.where}`, `${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.unavailable(what, err);
    }
  }

  private queueUrls(queue: string): Promise<QueueUrls> {
    let urls = this.urls.get(queue);
    if (!urls) {
      urls = this.createQueues(queue);
      this.urls.set(queue, urls);
      urls.catch(() => this.urls.delete(queue));
    }
    return urls;
  }

  private async createQueues(queue: string): Promise<QueueUrls> {
    // A FIFO queue's dead-letter queue must be FIFO too (SQS requires it).
    const fifo = this.fifo ? { FifoQueue: 'true' } : undefined;
    const suffix = this.fifo ? '.fifo' : '';
    return this.call(`create queue ${this.sqsName(queue, suffix)}`, async () => {
      const dead = (
        await this.client.send(
          new CreateQueueCommand({ QueueName: this.sqsName(queue, `-dead${suffix}`), Attributes: fifo }),
        )
      ).QueueUrl!;
      const arn = (
        await this.client.send(
          new GetQueueAttributesCommand({ QueueUrl: dead, AttributeNames: ['QueueArn'] }),
        )
      ).Attributes!.QueueArn!;
      const url = (
        await this.client.send(
          new CreateQueueCommand({
            QueueName: this.sqsName(queue, suffix),
            Attributes: {
              ...fifo,
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: arn,
                maxReceiveCount: this.options.maxDeliveries,
              }),
            },
          }),
        )
      ).QueueUrl!;
      if (!this.fifo) return { url, dead };
      const delay = (
        await this.client.send(new CreateQueueCommand({ QueueName: this.sqsName(queue, '-delay') }))
      ).QueueUrl!;
      return { url, dead, delay };
    });
  }

  private entry(i: number, body: string, dueAt: number | undefined): SendMessageBatchRequestEntry {
    const delayMs = dueAt === undefined ? 0 : dueAt - Date.now();
    // SQS accepts only some characters in a body: any other body travels as base64, marked.
    const plain = SQS_TEXT.test(body);
    const attributes: NonNullable<SendMessageBatchRequestEntry['MessageAttributes']> = {};
    if (!plain) attributes[ENCODING_ATTRIBUTE] = { DataType: 'String', StringValue: 'base64' };
    if (delayMs > 0) attributes[DUE_ATTRIBUTE] = { DataType: 'Number', StringValue: String(dueAt) };
    return {
      Id: String(i),
      MessageBody: plain ? body : Buffer.from(body).toString('base64'),
      ...(delayMs > 0 && { DelaySeconds: Math.min(MAX_DELAY_S, Math.ceil(delayMs / 1000)) }),
      ...(Object.keys(attributes).length > 0 && { MessageAttributes: attributes }),
    };
  }

  private static bodyOf(message: Message): string {
    const body = message.Body ?? '';
    return message.MessageAttributes?.[ENCODING_ATTRIBUTE]?.StringValue === 'base64'
      ? Buffer.from(body, 'base64').toString()
      : body;
  }

  private async sendAll(url: string, entries: SendMessageBatchRequestEntry[]): Promise<void> {
    // Batches of at most 10 entries and MAX_REQUEST_BYTES; one entry over the limit is refused.
    const batches: SendMessageBatchRequestEntry[][] = [];
    let bytes = 0;
    for (const entry of entries) {
      const size = Buffer.byteLength(entry.MessageBody ?? '') + 200;
      if (size > MAX_REQUEST_BYTES) {
        throw new RangeError(
          `sqs: a message of ${size - 200} bytes is over SQS's limit of ${MAX_REQUEST_BYTES} bytes per message`,
        );
      }
      const last = batches.at(-1);
      if (last && last.length < BATCH && bytes + size <= MAX_REQUEST_BYTES) {
        last.push({ ...entry, Id: String(last.length) });
        bytes += size;
      } else {
        batches.push([{ ...entry, Id: '0' }]);
        bytes = size;
      }
    }
    for (const chunk of batches) {
      const result = await this.call('send', () =>
        this.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: chunk })),
      );
      const failed = result.Failed ?? [];
      if (failed.length > 0) {
        throw new BrokerUnavailableError(
          `SQS ${this.options.where}`,
          `${failed.length} message(s) not sent: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`,
        );
      }
    }
  }

  async enqueue(
    queue: string,
    entries: readonly EnqueueEntry[],
    _dedupeTtlMs?: number,
  ): Promise<EnqueueOutcome[]> {
    checkEntries(entries);
    await this.sendTimed(queue, entries);
    // A FIFO queue accepts a duplicate without saying so: every entry reads as queued.
    return entries.map(() => 'queued');
  }

  /**
   * Sends to a queue, each message due at its `dueAt`. On FIFO queues a message due now goes to the
   * FIFO queue (deduplicated by its key, else a fresh id) and a later one to the delay queue.
   */
  private async sendTimed(queue: string, items: readonly EnqueueEntry[]): Promise<void> {
    const { url, delay } = await this.queueUrls(queue);
    if (!delay) {
      await this.sendAll(
        url,
        items.map((e, i) => this.entry(i, e.body, e.dueAt)),
      );
      return;
    }
    const now = Date.now();
    const later = items.filter((e) => e.dueAt !== undefined && e.dueAt > now);
    const due = items.filter((e) => !later.includes(e));
    await this.sendAll(
      url,
      due.map((e, i) => fifoEntry(this.entry(i, e.body, undefined), queue, deduplicationId(e.dedupeKey))),
    );
    await this.sendAll(
      delay,
      later.map((e, i) => {
        const entry = this.entry(i, e.body, e.dueAt);
        if (e.dedupeKey === undefined) return entry;
        return {
          ...entry,
          MessageAttributes: {
            ...entry.MessageAttributes,
            [DEDUPE_ATTRIBUTE]: { DataType: 'String', StringValue: e.dedupeKey },
          },
        };
      }),
    );
  }

  /**
   * FIFO: moves the delayed messages that are due from the delay queue to the FIFO queue (a
   * forward sent twice, by a process that died before the delete, is deduplicated by the delay
   * message's id within 5 minutes); those back early are sent on for the rest of their delay.
   */
  private async forwardDue(queue: string, delay: string, url: string): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const got = await this.receiveDelayed(delay, FORWARD_VISIBILITY_S, 0);
      if (got.length === 0) return;
      await this.forward(queue, delay, url, got);
      if (got.length < BATCH) return;
    }
  }

  private async receiveDelayed(
    delay: string,
    visibilityS: number,
    waitS: number,
    signal?: AbortSignal,
  ): Promise<Message[]> {
    const { Messages: got = [] } = await this.call('receive delayed', () =>
      this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: delay,
          MaxNumberOfMessages: BATCH,
          VisibilityTimeout: visibilityS,
          WaitTimeSeconds: waitS,
          MessageAttributeNames: [DUE_ATTRIBUTE, ENCODING_ATTRIBUTE, DEDUPE_ATTRIBUTE],
        }),
        signal ? { abortSignal: signal } : {},
      ),
    );
    return got;
  }

  /** Sends messages received from the delay queue on: the due ones to the FIFO queue, the rest back; then deletes them. */
  private async forward(queue: string, delay: string, url: string, got: readonly Message[]): Promise<void> {
    const dueAtOf = (m: Message) => Number(m.MessageAttributes?.[DUE_ATTRIBUTE]?.StringValue);
    const early = got.filter((m) => dueAtOf(m) > Date.now() + 1000);
    const due = got.filter((m) => !early.includes(m));
    await this.sendAll(
      url,
      due.map((m, i) =>
        fifoEntry(
          this.entry(i, SqsBroker.bodyOf(m), undefined),
          queue,
          deduplicationId(m.MessageAttributes?.[DEDUPE_ATTRIBUTE]?.StringValue ?? m.MessageId),
        ),
      ),
    );
    await this.sendAll(
      delay,
      early.map((m, i) => this.entry(i, SqsBroker.bodyOf(m), dueAtOf(m))),
    );
    await this.deleteAll(
      delay,
      got.map((m) => m.ReceiptHandle!),
    );
  }

  /**
   * FIFO: while a worker waits on `queue`, long-polls its delay queue too and forwards each delayed
   * message as soon as SQS makes it visible (its due time, rounded up to a second), so the wait's
   * long poll of the FIFO queue receives it. Without this, a wait would see a delayed message only
   * through the next reserve's forward, a wait later. One watch per queue, extended by each wait to
   * the end of its long poll; it is never cut short (what it receives is always forwarded), except
   * by close().
   */
  private watchDelayed(queue: string, delay: string, url: string, waitS: number): void {
    const until = Date.now() + waitS * 1000;
    const running = this.watches.get(queue);
    if (running) {
      running.until = Math.max(running.until, until);
      return;
    }
    const watch = { until, done: Promise.resolve() };
    watch.done = (async () => {
      try {
        for (let left = until - Date.now(); left > 0 && !this.closing.signal.aborted; ) {
          const waitFor = Math.min(LONG_POLL_S, Math.max(1, Math.ceil(left / 1000)));
          const got = await this.receiveDelayed(delay, WATCH_VISIBILITY_S, waitFor, this.closing.signal);
          if (got.length > 0) await this.forward(queue, delay, url, got);
          left = watch.until - Date.now();
        }
      } catch {
        // The watch ends; the next wait starts another, and every reserve forwards what is due.
      } finally {
        this.watches.delete(queue);
      }
    })();
    this.watches.set(queue, watch);
  }

  private async receive(queue: string, max: number, leaseMs: number, waitS: number, signal?: AbortSignal) {
    const { url } = await this.queueUrls(queue);
    const result = await this.call('receive', () =>
      this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: Math.min(BATCH, max),
          VisibilityTimeout: Math.max(1, Math.ceil(leaseMs / 1000)),
          WaitTimeSeconds: waitS,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          MessageAttributeNames: [DUE_ATTRIBUTE, ENCODING_ATTRIBUTE],
        }),
        signal ? { abortSignal: signal } : {},
      ),
    );
    return result.Messages ?? [];
  }

  async reserve(queue: string, request: ReserveRequest): Promise<ReserveResult> {
    checkReserve(request);
    this.lastRequest = request;
    const { url: mainUrl, delay } = await this.queueUrls(queue);
    if (delay) await this.forwardDue(queue, delay, mainUrl);
    const messages: LeasedMessage[] = [];
    const early: Message[] = [];
    const kept = this.received.get(queue) ?? [];
    const keptTokens = new Set(kept.map((m) => m.ReceiptHandle!));
    this.received.delete(queue);
    let pending = kept;
    while (messages.length < request.max) {
      if (pending.length === 0) {
        pending = await this.receive(queue, request.max - messages.length, request.leaseMs, 0);
        if (pending.length === 0) break;
      }
      for (const message of pending.splice(0)) {
        const dueAt = Number(message.MessageAttributes?.[DUE_ATTRIBUTE]?.StringValue);
        if (dueAt > Date.now() + 1000) early.push(message);
        else if (messages.length < request.max) {
          const body = SqsBroker.bodyOf(message);
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
    if (early.length > 0) await this.delayAgain(queue, early);
    // What a long poll received has a short visibility: it gets this reserve's lease now.
    const polled = messages.filter((m) => keptTokens.has(m.token)).map((m) => m.token);
    if (polled.length > 0) {
      const { url } = await this.queueUrls(queue);
      const gone = new Set(
        await this.changeVisibility(url, polled, Math.max(1, Math.ceil(request.leaseMs / 1000))),
      );
      if (gone.size > 0)
        return { messages: messages.filter((m) => !gone.has(m.token)), nextDueAt: undefined };
    }
    return { messages, nextDueAt: undefined };
  }

  /** Messages back early from a delay over 15 minutes: sent on for the rest, then deleted. */
  private async delayAgain(queue: string, messages: Message[]): Promise<void> {
    const { url } = await this.queueUrls(queue);
    await this.sendAll(
      url,
      messages.map((m, i) =>
        this.entry(i, SqsBroker.bodyOf(m), Number(m.MessageAttributes![DUE_ATTRIBUTE]!.StringValue)),
      ),
    );
    await this.deleteAll(
      url,
      messages.map((m) => m.ReceiptHandle!),
    );
  }

  /** Deletes by receipt handle; returns the handles SQS refused (no longer valid). */
  private async deleteAll(url: string, tokens: readonly string[]): Promise<string[]> {
    const refused: string[] = [];
    for (const chunk of chunks(tokens, BATCH)) {
      const result = await this.call('delete', () =>
        this.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((token, i) => ({ Id: String(i), ReceiptHandle: token })),
          }),
        ),
      );
      for (const failed of result.Failed ?? []) refused.push(chunk[Number(failed.Id)]!);
    }
    return refused;
  }

  private async changeVisibility(url: string, tokens: readonly string[], seconds: number): Promise<string[]> {
    const refused: string[] = [];
    for (const chunk of chunks(tokens, BATCH)) {
      const result = await this.call('change visibility', () =>
        this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((token, i) => ({
              Id: String(i),
              ReceiptHandle: token,
              VisibilityTimeout: seconds,
            })),
          }),
        ),
      );
      for (const failed of result.Failed ?? []) refused.push(chunk[Number(failed.Id)]!);
    }
    return refused;
  }

  async settle(queue: string, given: SettleBatch, now: number = Date.now()): Promise<SettleResult> {
    // Retries that cannot be scheduled become dead letters saying why (shared with every broker).
    const batch = checkedBatch(given, now);
    const { url, dead, delay } = await this.queueUrls(queue);
    const retries = batch.retries ?? [];
    const deadLetters = batch.deadLetters ?? [];
    const scheduled = retries.filter((r) => Number.isFinite(r.dueAt));
    const unschedulable = retries.filter((r) => !Number.isFinite(r.dueAt));
    // First the new copies (confirmed by SQS), then the deletes of the originals.
    await this.sendTimed(
      queue,
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
    await this.sendAll(
      dead,
      deadEntries.map((d, i) => {
        const plain = this.entry(i, d.body, undefined);
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
    const lost = await this.deleteAll(url, done);
    if (batch.releases?.length) lost.push(...(await this.changeVisibility(url, batch.releases, 0)));
    return { lost };
  }

  async extend(queue: string, tokens: readonly string[], leaseMs: number, now: number): Promise<string[]> {
    checkLease('extend', leaseMs, now);
    if (tokens.length === 0) return [];
    const { url } = await this.queueUrls(queue);
    return this.changeVisibility(url, tokens, Math.max(1, Math.ceil(leaseMs / 1000)));
  }

  async waitForWork(queue: string, until: number, signal: AbortSignal): Promise<void> {
    const ms = Number.isFinite(until) ? until - Date.now() : WAIT_CAP_MS;
    if (ms <= 0 || signal.aborted || (this.received.get(queue)?.length ?? 0) > 0) return;
    try {
      const waitS = Math.min(LONG_POLL_S, Math.max(1, Math.floor(ms / 1000)));
      const { url, delay } = await this.queueUrls(queue);
      if (delay) this.watchDelayed(queue, delay, url, waitS);
      const got = await this.receive(
        queue,
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
    const { dead } = await this.queueUrls(queue);
    const count = await this.count(dead);
    await this.call('purge', () => this.client.send(new PurgeQueueCommand({ QueueUrl: dead })));
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
    const { Attributes: a = {} } = await this.call('stats', () =>
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
    const { url, dead, delay } = await this.queueUrls(queue);
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
    this.closing.abort();
    await Promise.all([...this.watches.values()].map((w) => w.done));
    this.received.clear();
    this.bodies.clear();
    this.client.destroy();
  }
}
