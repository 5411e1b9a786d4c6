/**
 * Redis connections for one URL: a shared command client (auto-pipelined by node-redis:
 * commands issued in the same tick go out in one write), a subscriber made on demand,
 * and blocking clients for workers. All reconnect on their own with capped backoff.
 */
import { createClient, type RedisClientType } from '@redis/client';
import { reconnectDelay } from '../../core/clock.ts';

export type Client = RedisClientType<Record<string, never>, Record<string, never>, Record<string, never>, 2>;

export interface RedisConnectionOptions {
  readonly url: string;
  /** Called with connection errors; they are also retried by node-redis. */
  readonly onError?: (err: Error) => void;
}

export class RedisConnection {
  readonly client: Client;
  private subscriber: Client | undefined;
  private users = 0;

  constructor(private readonly options: RedisConnectionOptions) {
    this.client = this.create();
  }

  private create(): Client {
    const client = createClient({
      url: this.options.url,
      RESP: 2,
      socket: {
        connectTimeout: 5000,
        reconnectStrategy: (retries: number) => reconnectDelay(retries),
      },
    }) as unknown as Client;
    // Without a listener node-redis would throw connection errors into the process.
    client.on('error', (err: Error) => this.options.onError?.(err));
    return client;
  }

  /** Count a user (broker, backend); the connection closes when the last one leaves. */
  retain(): this {
    this.users++;
    return this;
  }

  private connecting: Promise<unknown> | undefined;

  /** The command client, connected (one connect attempt at a time). */
  async ready(): Promise<Client> {
    if (!this.client.isOpen) {
      this.connecting ??= this.client.connect().finally(() => {
        this.connecting = undefined;
      });
      await this.connecting;
    }
    return this.client;
  }

  /** A fresh client for blocking commands (one per worker queue), closed by the caller. */
  async blockingClient(): Promise<Client> {
    const client = this.create();
    await client.connect();
    return client;
  }

  async subscriberClient(): Promise<Client> {
    if (!this.subscriber) {
      this.subscriber = this.create();
      await this.subscriber.connect();
    }
    return this.subscriber;
  }

  async release(): Promise<void> {
    if (--this.users > 0) return;
    await Promise.all([closeClient(this.client), this.subscriber ? closeClient(this.subscriber) : undefined]);
  }
}

export async function closeClient(client: Client): Promise<void> {
  if (!client.isOpen) return;
  try {
    await client.close();
  } catch {
    client.destroy();
  }
}
