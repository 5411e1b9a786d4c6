/**
 * Blocking waits (BLMOVE) on connections of their own: one per wait in progress, kept for the
 * next wait when it ends cleanly. Every wait is bounded: aborting closes its connection (a
 * blocked command cannot be cancelled any other way), and so does a Redis that does not answer
 * in time (stopped, partitioned); a wait that failed still lasts its time, so no loop spins.
 */
import { sleep } from '../../core/clock.ts';
import { type Client, COMMAND_TIMEOUT_MS, closeClient, type RedisConnection } from './connection.ts';

export class BlockingWaits {
  private readonly inUse = new Set<Client>();
  private readonly idle: Client[] = [];
  private closed = false;

  constructor(private readonly connection: RedisConnection) {}

  /**
   * Sends `commands` together on one blocking connection (one of them blocks for up to `ms`)
   * and returns their replies in order, or undefined when the wait failed: aborted, refused,
   * the server went away or did not answer within max(COMMAND_TIMEOUT_MS, ms + 1 s).
   */
  async run(commands: readonly string[][], ms: number, signal: AbortSignal): Promise<unknown[] | undefined> {
    const started = Date.now();
    let client: Client;
    try {
      client = this.idle.pop() ?? (await this.connection.blockingClient(signal));
    } catch {
      await sleep(ms, signal);
      return undefined;
    }
    this.inUse.add(client);
    const onAbort = (): void => client.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    const unanswered = setTimeout(onAbort, Math.max(COMMAND_TIMEOUT_MS, ms + 1000));
    let replies: unknown[] | undefined;
    try {
      replies = await Promise.all(commands.map((command) => client.sendCommand(command)));
    } catch {
      // Closed by abort, or the server went away or refused the call: waited out below.
      replies = undefined;
    } finally {
      clearTimeout(unanswered);
      signal.removeEventListener('abort', onAbort);
      this.inUse.delete(client);
      if (client.isReady && !this.closed) this.idle.push(client);
      else await closeClient(client);
    }
    if (!replies) await sleep(ms - (Date.now() - started), signal);
    return replies;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const client of this.inUse) client.destroy();
    await Promise.all(this.idle.splice(0).map(closeClient));
  }
}
