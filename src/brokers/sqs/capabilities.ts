/** What the SQS broker can and cannot do, standard and FIFO queues (see docs/brokers.md). */
import type { BrokerCapabilities } from '../../core/port.ts';

export function sqsCapabilities(fifo: boolean): BrokerCapabilities {
  const base = STANDARD;
  if (!fifo) return base;
  return {
    ...base,
    absent: {
      ...base.absent,
      dedupe:
        'a FIFO queue drops a send whose deduplication id (the task id) it saw in the last 5 minutes only, not for dedupeTtlMs, and does not say which sends it dropped',
      msPrecision:
        'SQS visibility timeouts and DelaySeconds are whole seconds (rounded up): a delayed message reaches the FIFO queue when the delay queue shows it, and a reserve or a waiting worker forwards it',
      concurrentDelivery:
        "every message of an Errand queue is in one FIFO message group (that is what keeps them in order), and SQS hands out no message of a group while another of it is in flight: a queue's messages are leased one receive batch at a time (one message at a time on the fauxqs emulator); use several Errand queues for parallel work",
    },
  };
}

const STANDARD: BrokerCapabilities = {
  shared: true,
  durable: true,
  absent: {
    deadLetterBrowsing:
      'dead letters are messages in the SQS queue <prefix>-<queue>-dead; SQS cannot list or take them by key (receive them, or redrive them in the console); purging all of them works',
    exactStats: 'SQS reports approximate counts (ApproximateNumberOfMessages…)',
    delayedCounts: 'SQS does not say when the next delayed message is due',
    dedupe:
      'standard SQS queues keep no idempotency keys; every message sent is queued (?fifo=1 deduplicates for 5 minutes)',
    injectedClock: "visibility timeouts and delays run on the SQS server's clock, not the caller's `now`",
    uncountedRelease: 'SQS counts every receive (ApproximateReceiveCount), a handed-back one too',
    immediateRelease:
      'a long poll the stopping worker abandoned may still be open at SQS and take a handed-back message for 2 s',
    msPrecision:
      'SQS visibility timeouts and DelaySeconds are whole seconds (rounded up), and a standard queue does not keep order',
    largeMessages:
      'SQS refuses a message over 1 MiB (256 KiB on accounts before 2025): send() fails with the limit',
  },
};
