/**
 * One AMQP connection to RabbitMQ, opened on first use and opened again after it is lost.
 * Every open is bounded (CONNECT_TIMEOUT_MS). Each opening is a new `generation`: delivery tags
 * and declared queues belong to one generation, and a lost connection makes the server hand
 * its unacknowledged deliveries to other consumers (that is how a dead worker's leases return).
 */
import amqp from 'amqplib';
import { withTimeout } from '../../core/clock.ts';
import { BrokerUnavailableError } from '../../core/errors.ts';

const CONNECT_TIMEOUT_MS = 5000;

export interface Link {
  readonly generation: number;
  readonly connection: amqp.ChannelModel;
  /** Publishing and declaring: publisher confirms on. */
  readonly channel: amqp.ConfirmChannel;
  /** Resolves when this link is lost (connection or its channel closed). */
  readonly lost: Promise<void>;
}

export class AmqpConnection {
  private link: Link | undefined;
  private opening: Promise<Link> | undefined;
  private generation = 0;
  private closed = false;
  private readonly where: string;

  constructor(
    private readonly url: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.where = `RabbitMQ at ${redactUrl(url)}`;
  }

  /** The current link, opening one (bounded) when there is none. */
  async current(): Promise<Link> {
    if (this.closed) throw new Error(`${this.where}: the broker is closed`);
    if (this.link) return this.link;
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Drops the link (after a channel error) so the next call opens a new one. */
  discard(link: Link): void {
    if (this.link !== link) return;
    this.link = undefined;
    link.connection.close().catch(() => undefined);
  }

  unavailable(problem: string, cause?: unknown): BrokerUnavailableError {
    return new BrokerUnavailableError(this.where, problem, { cause });
  }

  private async open(): Promise<Link> {
    let connection: amqp.ChannelModel;
    try {
      connection = await withTimeout(
        amqp.connect(this.url, { timeout: CONNECT_TIMEOUT_MS }),
        CONNECT_TIMEOUT_MS,
        () => this.unavailable(`no connection within ${CONNECT_TIMEOUT_MS} ms`),
      );
    } catch (err) {
      if (err instanceof BrokerUnavailableError) throw err;
      throw this.unavailable((err as Error).message || 'cannot connect', err);
    }
    const channel = await connection.createConfirmChannel();
    let markLost!: () => void;
    const lost = new Promise<void>((resolve) => {
      markLost = resolve;
    });
    const link: Link = { generation: ++this.generation, connection, channel, lost };
    const drop = (err?: Error): void => {
      if (err) this.onError(err);
      if (this.link === link) this.link = undefined;
      markLost();
    };
    connection.on('error', drop);
    connection.on('close', () => drop());
    channel.on('error', drop);
    channel.on('close', () => {
      drop();
      connection.close().catch(() => undefined);
    });
    if (this.closed) {
      await connection.close().catch(() => undefined);
      throw new Error(`${this.where}: the broker is closed`);
    }
    this.link = link;
    return link;
  }

  async close(): Promise<void> {
    this.closed = true;
    const link = this.link ?? (await this.opening?.catch(() => undefined));
    this.link = undefined;
    await link?.connection.close().catch(() => undefined);
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
