/**
 * Redis connections for one URL: a shared command client (auto-pipelined by node-redis:
 * commands issued in the same tick go out in one write), a subscriber made on demand,
 * and blocking clients for workers. All reconnect on their own with capped backoff.
 *
 * Every command on the shared client is bounded (COMMAND_TIMEOUT_MS): node-redis times a
 * command out only while it waits to be written, so a Redis that accepted a command and
 * stopped answering (SIGSTOP, a network partition) would hold its caller for ever.
 */
import { createClient, ErrorReply, type RedisArgument, type RedisClientType } from '@redis/client';
import { reconnectDelay, withTimeout } from '../../core/clock.ts';
import { BrokerUnavailableError } from '../../core/errors.ts';
import { type RecordBatch, ResultRider } from './result-rider.ts';
import { runScript } from './scripts.ts';
import { CommandWatchdog } from './watchdog.ts';

export type Client = RedisClientType<Record<string, never>, Record<string, never>, Record<string, never>, 2>;

/** How long a command may go unanswered before it fails with BrokerUnavailableError. */
export const COMMAND_TIMEOUT_MS = 5000;
/** How long close() waits for replies still due before it drops the connection. */
export const CLOSE_TIMEOUT_MS = 1000;

export interface RedisConnectionOptions {
  readonly url: string;
  /** Called with connection errors; they are also retried by node-redis. */
  readonly onError?: (err: Error) => void;
  /** Bound on each command of the shared client (default COMMAND_TIMEOUT_MS). */
  readonly commandTimeoutMs?: number;
}

export class RedisConnection {
  readonly client: Client;
  private subscriber: Client | undefined;
  private users = 0;
  /** "Redis at host:port", for error messages (no credentials). */
  readonly where: string;
  /** The last connection error, quoted when a command fails for want of a connection. */
  private lastError: Error | undefined;
  /** The first client made, which the others duplicate (see create()). */
  private first: Client | undefined;
  /** Result records waiting to ride on the next settle script sent on this connection. */
  readonly results = new ResultRider(async (batch) => writeRecords(await this.ready(), batch));

  constructor(private readonly options: RedisConnectionOptions) {
    this.where = describeUrl(options.url);
    this.client = this.bounded(this.create({ timeoutSignals: false }));
  }

  /** Makes each command of `client` fail within the command timeout, with an error naming Redis and the command. */
  private bounded(client: Client): Client {
    const send = client.sendCommand.bind(client) as (
      args: ReadonlyArray<RedisArgument>,
      options?: Parameters<Client['sendCommand']>[1],
    ) => Promise<unknown>;
    const ms = this.options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    // One timer for all commands, not one per command (a measurable share of a task's cost).
    const watchdog = new CommandWatchdog(ms);
    const bounded = (args: ReadonlyArray<RedisArgument>, options?: Parameters<Client['sendCommand']>[1]) => {
      const command = String(args[0] ?? 'command');
      // node-redis's own per-command timeout is off (commandOptions below): the watchdog's
      // shared signal takes its place.
      return watchdog.watch(
        (abortSignal) =>
          send(args, options?.abortSignal ? options : { ...options, abortSignal }).catch((err: unknown) => {
            throw this.explain(err, command);
          }),
        () =>
          new BrokerUnavailableError(
            this.where,
            `${command} got no answer within ${ms} ms (is Redis running and reachable?)${this.lastErrorNote()}`,
          ),
      );
    };
    (client as unknown as { sendCommand: typeof bounded }).sendCommand = bounded;
    return client;
  }

  /** Redis's own replies (ErrorReply) pass through; a failure to reach Redis gets a message saying so. */
  private explain(err: unknown, command: string): unknown {
    if (err instanceof ErrorReply || err instanceof BrokerUnavailableError) return err;
    const cause = err instanceof Error ? err : new Error(String(err));
    // node-redis's own TimeoutError (a command left waiting for a connection) has no message.
    const kind = cause.constructor.name;
    const problem =
      kind === 'TimeoutError' || kind === 'AbortError'
        ? `${command} got no answer within ${this.options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS} ms (is Redis running and reachable?)`
        : `${command} failed, Redis could not be reached (${kind}${cause.message ? `: ${cause.message}` : ''})`;
    return new BrokerUnavailableError(this.where, `${problem}${this.lastErrorNote()}`, { cause });
  }

  private lastErrorNote(): string {
    return this.lastError && !this.client.isReady ? `; last connection error: ${this.lastError.message}` : '';
  }

  /**
   * `timeoutSignals: false` turns node-redis's own per-command timeout off: it is a timeout
   * abort signal that lives its whole 5 s however soon the reply comes (a timer and a
   * weak reference per command, carried into the old generation: at a few hundred commands a
   * second they made every scavenge take milliseconds). Clients made so bound their commands
   * otherwise: the shared client by the watchdog (bounded()), a blocking client by a timer
   * per wait (RedisBroker.waitForWork). The subscriber, with few commands, keeps node-redis's.
   */
  private create(options: { timeoutSignals: boolean }): Client {
    const commandOptions = options.timeoutSignals ? {} : { timeout: 0 };
    // The first client is made from options; the others duplicate it. createClient builds a
    // class with every command method for each call (tens of milliseconds of CPU, long enough
    // to stall a running task when a worker opens its blocking connection); duplicate() reuses it.
    const client = (this.first === undefined
      ? createClient({
          url: this.options.url,
          RESP: 2,
          commandOptions,
          socket: {
            connectTimeout: 5000,
            reconnectStrategy: (retries: number) => reconnectDelay(retries),
          },
        })
      : this.first.duplicate({ commandOptions })) as unknown as Client;
    this.first ??= client;
    // Without a listener node-redis would throw connection errors into the process.
    client.on('error', (err: Error) => {
      this.lastError = err.message ? err : new Error(err.name);
      this.options.onError?.(err);
    });
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
   * offline queue and fail after COMMAND_TIMEOUT_MS if Redis stays away, so no caller
   * (send(), a fetch loop, stop(), result()) hangs on a Redis that never answers.
   */
  async ready(): Promise<Client> {
    return this.command();
  }

  /** The command client, at once: commands sent on it now go out in the order they are sent. */
  command(): Client {
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
    const client = this.create({ timeoutSignals: false });
    const onAbort = (): void => client.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.connect();
      // node-redis 6 resolves connect() with the socket still open when destroy() came before
      // the socket connected: destroyed again, it closes (else the process could not exit).
      if (signal.aborted) throw new Error('aborted while connecting');
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
      const subscriber = this.create({ timeoutSignals: true });
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

/** Closes gracefully (replies still due are read) for at most CLOSE_TIMEOUT_MS, then drops the connection. */
export async function closeClient(client: Client): Promise<void> {
  if (!client.isOpen) return;
  // Not connected (Redis away): nothing to flush, and a graceful close would wait for Redis.
  if (!client.isReady) {
    client.destroy();
    return;
  }
  try {
    await withTimeout(client.close(), CLOSE_TIMEOUT_MS, () => new Error('close timed out'));
  } catch {
    if (client.isOpen) client.destroy();
  }
}

/** "Redis at host:port" from a redis:// or rediss:// URL, without credentials. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `Redis at ${parsed.hostname || 'localhost'}:${parsed.port || '6379'}`;
  } catch {
    return 'Redis';
  }
}

/** Writes task records alone (write-results.lua): records no settle took along. */
async function writeRecords(client: Client, batch: RecordBatch): Promise<void> {
  await runScript(client, 'write-results', batch.keys, [
    batch.ttlMs,
    batch.channel,
    batch.finals,
    ...batch.values,
  ]);
}
