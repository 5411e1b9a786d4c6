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

  /**
   * The command client. Connecting is started, not awaited: commands wait in node-redis's
   * offline queue and fail after its command timeout (5 s) if Redis stays away, so no caller
   * (a fetch loop, stop(), result()) hangs on a Redis that never answers.
   */
  async ready(): Promise<Client> {
    if (!this.client.isOpen) {
      this.connecting ??= this.client
        .connect()
        .catch((err: unknown) => this.options.onError?.(err instanceof Error ? err : new Error(String(err))))
        .finally(() => {
          this.connecting = undefined;
        });
    }
    return this.client;
  }

  /** A fresh client for blocking commands (one per worker queue), closed by the caller. */
  async blockingClient(signal: AbortSignal): Promise<Client> {
    const client = this.create();
    const onAbort = (): void => client.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.connect();
      return client;
    } catch (err) {
      client.destroy();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** The subscriber client; like ready(), connecting is started and not awaited. */
  async subscriberClient(): Promise<Client> {
    if (!this.subscriber) {
      const subscriber = this.create();
      this.subscriber = subscriber;
      subscriber.connect().catch((err: unknown) => {
        this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
        if (this.subscriber === subscriber) this.subscriber = undefined;
      });
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
  // Not connected (Redis away): nothing to flush, and a graceful close would wait for Redis.
  if (!client.isReady) {
    client.destroy();
    return;
  }
  try {
    await client.close();
  } catch {
    client.destroy();
  }
}
