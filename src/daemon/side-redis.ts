/**
 * The daemon's own Redis connection, for what Errand's core does not write: Gordon's failed
 * lists and the daemon presence keys. It reconnects on its own. Commands are never queued
 * while disconnected (so a retried write is not applied twice); each is bounded in time and
 * retried until a deadline, which rides out a Redis restart.
 */
import type { createClient } from '@redis/client';
import { sleep } from '../core/clock.ts';
import { ErrandConfigError } from '../core/errors.ts';
import { isMissingPackage, MISSING_REDIS_CLIENT } from '../core/redis-loader.ts';

type Client = ReturnType<typeof createClient>;

const COMMAND_TIMEOUT_MS = 10_000;

export class SideRedis {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;

  constructor(
    private readonly url: string,
    private readonly onError: (err: Error) => void,
  ) {}

  /** The connected client; @redis/client (an optional peer dependency) loads on first use. */
  private connect(): Promise<Client> {
    this.connecting ??= (async () => {
      if (!this.client) {
        const redis = await import('@redis/client').catch((err: unknown) => {
          throw isMissingPackage(err, '@redis/client')
            ? new ErrandConfigError('broker', MISSING_REDIS_CLIENT)
            : err;
        });
        this.client = redis.createClient({
          url: this.url,
          disableOfflineQueue: true,
          socket: {
            connectTimeout: 5000,
            reconnectStrategy: (retries: number) => Math.min(5000, 100 * 2 ** Math.min(retries, 6)),
          },
        });
        // Without a listener node-redis throws connection errors into the process.
        this.client.on('error', this.onError);
      }
      if (!this.client.isOpen) await this.client.connect();
      return this.client;
    })().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /**
   * Runs `fn` on a connected client, retried until `deadlineMs` has passed or `signal` aborts;
   * throws the last error.
   */
  async run<T>(
    what: string,
    fn: (client: Client) => Promise<T>,
    options: { deadlineMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    const { deadlineMs = 60_000, signal } = options;
    let last: unknown;
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 1; !signal?.aborted; attempt++) {
      try {
        const bound = Math.max(100, Math.min(COMMAND_TIMEOUT_MS, deadline - Date.now()));
        const client = await bounded(this.connect(), bound, `${what}: connecting`, signal);
        return await bounded(fn(client), bound, what, signal);
      } catch (err) {
        last = err;
        const wait = Math.min(5000, 100 * 2 ** attempt);
        if (Date.now() + wait > deadline) break;
        await sleep(wait, signal);
      }
    }
    throw last instanceof Error
      ? last
      : new Error(`${what}: ${last === undefined ? 'aborted' : JSON.stringify(last)}`);
  }

  /** Connected now (commands would be sent, not refused). */
  get ready(): boolean {
    return this.client?.isReady === true;
  }

  async close(): Promise<void> {
    const client = this.client;
    if (!client?.isOpen) return;
    if (!client.isReady) {
      client.destroy();
      return;
    }
    await bounded(client.close(), 2000, 'close').catch(() => client.destroy());
  }
}

/** `p`, or a rejection after `ms` or when `signal` aborts (the command itself may still complete). */
function bounded<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${ms} ms`)), ms);
    onAbort = () => reject(new Error(`${what}: aborted`));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, stop]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}
