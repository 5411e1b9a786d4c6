/**
 * The daemon's own Redis connection, for what Errand's core does not write: Gordon's failed
 * lists and the daemon presence keys. It reconnects on its own. Commands are never queued
 * while disconnected (so a retried write is not applied twice); each is bounded in time and
 * retried until a deadline, which rides out a Redis restart.
 */
import { createClient } from '@redis/client';
import { sleep } from '../core/clock.ts';

type Client = ReturnType<typeof createClient>;

const COMMAND_TIMEOUT_MS = 10_000;

export class SideRedis {
  private readonly client: Client;
  private connecting: Promise<unknown> | undefined;

  constructor(url: string, onError: (err: Error) => void) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 5000,
        reconnectStrategy: (retries: number) => Math.min(5000, 100 * 2 ** Math.min(retries, 6)),
      },
    });
    // Without a listener node-redis throws connection errors into the process.
    this.client.on('error', onError);
  }

  /** Runs `fn` on a connected client, retried for up to `deadlineMs`; throws the last error. */
  async run<T>(what: string, fn: (client: Client) => Promise<T>, deadlineMs = 60_000): Promise<T> {
    let last: unknown;
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        this.connecting ??= this.client.connect().catch((err: unknown) => {
          this.connecting = undefined;
          throw err;
        });
        await withTimeout(this.connecting, `${what}: connecting`);
        return await withTimeout(fn(this.client), what);
      } catch (err) {
        last = err;
        const wait = Math.min(5000, 100 * 2 ** attempt);
        if (Date.now() + wait > deadline) break;
        await sleep(wait);
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  async close(): Promise<void> {
    if (!this.client.isOpen) return;
    await this.client.close().catch(() => this.client.destroy());
  }
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${COMMAND_TIMEOUT_MS} ms`)), COMMAND_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
