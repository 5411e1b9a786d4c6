/**
 * The delay queue of a FIFO Errand queue (`<prefix>-<queue>-delay`, a standard queue): delayed
 * messages wait there, with SQS's DelaySeconds, until they are forwarded to the FIFO queue. Every
 * reserve forwards what is due first; a waiting worker also watches the delay queue, so that its
 * wait on the FIFO queue receives a delayed message as soon as SQS shows it.
 */
import type { Message } from '@aws-sdk/client-sqs';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { BATCH, call, type SqsContext } from './client.ts';
import { DEDUPE_ATTRIBUTE, deduplicationId, fifoEntry } from './fifo.ts';
import { bodyOf, DUE_ATTRIBUTE, dueAtOf, ENCODING_ATTRIBUTE, sendAll, sendEntry } from './messages.ts';
import { deleteAll, LONG_POLL_S } from './visibility.ts';

/** Visibility of delayed messages a reserve takes from the delay queue while it forwards them. */
const FORWARD_VISIBILITY_S = 30;
/**
 * Visibility of delayed messages a wait's watch of the delay queue receives: short, because a long
 * poll cut off by close() may still take a message at SQS, which then stays hidden this long. A
 * forward that outlasts it may be repeated by another process, and SQS's deduplication drops the copy.
 */
const WATCH_VISIBILITY_S = 2;

/** The FIFO queue of an Errand queue and its delay queue. */
export interface FifoUrls {
  readonly url: string;
  readonly delay: string;
}

/**
 * Moves the delayed messages that are due from the delay queue to the FIFO queue (a forward sent
 * twice, by a process that died before the delete, is deduplicated by the delay message's id
 * within 5 minutes); those back early are sent on for the rest of their delay.
 */
export async function forwardDue(sqs: SqsContext, queue: string, urls: FifoUrls): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const got = await receiveDelayed(sqs, urls.delay, FORWARD_VISIBILITY_S, 0);
    if (got.length === 0) return;
    await forward(sqs, queue, urls, got);
    if (got.length < BATCH) return;
  }
}

async function receiveDelayed(
  sqs: SqsContext,
  delay: string,
  visibilityS: number,
  waitS: number,
  signal?: AbortSignal,
): Promise<Message[]> {
  const { Messages: got = [] } = await call(sqs, 'receive delayed', () =>
    sqs.client.send(
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
async function forward(
  sqs: SqsContext,
  queue: string,
  { url, delay }: FifoUrls,
  got: readonly Message[],
): Promise<void> {
  const early = got.filter((m) => dueAtOf(m) > Date.now() + 1000);
  const due = got.filter((m) => !early.includes(m));
  await sendAll(
    sqs,
    url,
    due.map((m, i) =>
      fifoEntry(
        sendEntry(i, bodyOf(m), undefined),
        queue,
        deduplicationId(m.MessageAttributes?.[DEDUPE_ATTRIBUTE]?.StringValue ?? m.MessageId),
      ),
    ),
  );
  await sendAll(
    sqs,
    delay,
    early.map((m, i) => sendEntry(i, bodyOf(m), dueAtOf(m))),
  );
  await deleteAll(
    sqs,
    delay,
    got.map((m) => m.ReceiptHandle!),
  );
}

/**
 * While a worker waits on a FIFO queue, long-polls its delay queue too and forwards each delayed
 * message as soon as SQS makes it visible (its due time, rounded up to a second), so the wait's
 * long poll of the FIFO queue receives it. Without this, a wait would see a delayed message only
 * through the next reserve's forward, a wait later. One watch per queue, extended by each wait to
 * the end of its long poll; it is never cut short (what it receives is always forwarded), except
 * by close().
 */
export class DelayWatches {
  /** The running watch of each queue, and until when it polls. */
  private readonly watches = new Map<string, { until: number; done: Promise<void> }>();
  /** Aborted by close(): ends the watches' long polls. */
  private readonly closing = new AbortController();

  constructor(private readonly sqs: SqsContext) {}

  /** Watches `queue`'s delay queue for the next `waitS` seconds at least. */
  watch(queue: string, urls: FifoUrls, waitS: number): void {
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
          const got = await receiveDelayed(
            this.sqs,
            urls.delay,
            WATCH_VISIBILITY_S,
            waitFor,
            this.closing.signal,
          );
          if (got.length > 0) await forward(this.sqs, queue, urls, got);
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

  /** Ends the watches (a forward under way completes). */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.all([...this.watches.values()].map((w) => w.done));
  }
}
