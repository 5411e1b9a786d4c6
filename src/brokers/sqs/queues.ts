/**
 * The SQS queues behind an Errand queue, created on first use and their URLs kept: the queue
 * `<prefix>-<queue>` with a redrive policy (maxReceiveCount = maxDeliveries) into
 * `<prefix>-<queue>-dead`; with `fifo`, both are FIFO queues (`.fifo` names) and delayed
 * messages wait in the standard queue `<prefix>-<queue>-delay`.
 */
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { call, type SqsContext } from './client.ts';

export interface QueueUrls {
  readonly url: string;
  readonly dead: string;
  /** FIFO only: the standard queue where delayed messages wait until due. */
  readonly delay?: string;
}

export interface SqsQueueOptions {
  readonly prefix: string;
  readonly maxDeliveries: number;
  readonly fifo: boolean;
}

export class SqsQueues {
  private readonly urls = new Map<string, Promise<QueueUrls>>();

  constructor(
    private readonly sqs: SqsContext,
    private readonly options: SqsQueueOptions,
  ) {}

  /** The URLs of `queue`'s SQS queues, created on first use (a failed creation is tried again next time). */
  of(queue: string): Promise<QueueUrls> {
    let urls = this.urls.get(queue);
    if (!urls) {
      urls = this.create(queue);
      this.urls.set(queue, urls);
      urls.catch(() => this.urls.delete(queue));
    }
    return urls;
  }

  /** The SQS name of a queue: letters, digits, "-" and "_" only, at most 80 characters. */
  private sqsName(queue: string, suffix = ''): string {
    const name = `${this.options.prefix}-${queue}`.replace(/[^A-Za-z0-9_-]/g, '_');
    return `${name.slice(0, 80 - suffix.length)}${suffix}`;
  }

  private async create(queue: string): Promise<QueueUrls> {
    const { client } = this.sqs;
    // A FIFO queue's dead-letter queue must be FIFO too (SQS requires it).
    const fifo = this.options.fifo ? { FifoQueue: 'true' } : undefined;
    const suffix = this.options.fifo ? '.fifo' : '';
    return call(this.sqs, `create queue ${this.sqsName(queue, suffix)}`, async () => {
      const dead = (
        await client.send(
          new CreateQueueCommand({ QueueName: this.sqsName(queue, `-dead${suffix}`), Attributes: fifo }),
        )
      ).QueueUrl!;
      const arn = (
        await client.send(new GetQueueAttributesCommand({ QueueUrl: dead, AttributeNames: ['QueueArn'] }))
      ).Attributes!.QueueArn!;
      const url = (
        await client.send(
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
      if (!this.options.fifo) return { url, dead };
      const delay = (await client.send(new CreateQueueCommand({ QueueName: this.sqsName(queue, '-delay') })))
        .QueueUrl!;
      return { url, dead, delay };
    });
  }
}
