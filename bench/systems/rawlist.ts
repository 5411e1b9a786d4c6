/**
 * The raw reliable-list loop: the practical limit of Redis lists from one Node process.
 * K slots each do LMOVE wait→processing, run the no-op, then LREM processing — pipelined
 * with the next LMOVE in one write, and node-redis batches the commands of all slots issued
 * in the same tick. An empty queue is waited on by one BLMOVE on a second connection.
 * Reliability: at-least-once via the processing list; no retries, leases or results.
 */
import { createRequire } from 'node:module';
import { createClient } from '@redis/client';
import {
  type BenchSystem,
  type Payload,
  reportErrors,
  type SystemConfig,
  type WorkerHooks,
} from './types.ts';

const version = (createRequire(import.meta.url)('@redis/client/package.json') as { version: string }).version;

export async function createRawlist(config: SystemConfig): Promise<BenchSystem> {
  const wait = `${config.prefix}:wait`;
  const processing = `${config.prefix}:processing`;
  const producer = createClient({ url: config.url });
  producer.on('error', reportErrors('rawlist'));
  await producer.connect();
  return {
    name: 'rawlist',
    version: `@redis/client ${version}`,
    settings: 'RPUSH / LMOVE wait→processing / LREM; no retries, no leases, no results (the ceiling)',
    async enqueueOne(payload) {
      await producer.rPush(wait, JSON.stringify(payload));
    },
    async enqueueBulk(payloads) {
      await producer.rPush(
        wait,
        payloads.map((p) => JSON.stringify(p)),
      );
    },
    async startWorker(concurrency: number, hooks: WorkerHooks) {
      const client = createClient({ url: config.url });
      const blocker = createClient({ url: config.url });
      client.on('error', reportErrors('rawlist'));
      blocker.on('error', reportErrors('rawlist'));
      await Promise.all([client.connect(), blocker.connect()]);
      let stopped = false;
      // Idle slots waiting for a message (or for a nudge to try LMOVE again).
      const idle: Array<(msg: string | null) => void> = [];
      let blocking: Promise<void> | undefined;
      const giveBack = async (msg: string): Promise<void> => {
        await client.multi().lRem(processing, 1, msg).lPush(wait, msg).execAsPipeline();
      };

      const block = async (): Promise<void> => {
        while (!stopped && idle.length > 0) {
          let msg: string | null = null;
          try {
            msg = (await blocker.blMove(wait, processing, 'LEFT', 'RIGHT', 1)) as string | null;
          } catch {
            if (stopped) break;
          }
          if (msg !== null) {
            const slot = idle.shift();
            if (slot) slot(msg);
            else await giveBack(msg); // nobody left to run it
          }
        }
        blocking = undefined;
      };
      const waitForMessage = (): Promise<string | null> =>
        new Promise((resolve) => {
          idle.push(resolve);
          blocking ??= block();
        });
      // A slot that just got work nudges one idle slot, so idle slots ramp up one by one.
      const nudge = (): void => idle.shift()?.(null);

      const slot = async (): Promise<void> => {
        let msg = (await client.lMove(wait, processing, 'LEFT', 'RIGHT')) as string | null;
        while (!stopped) {
          if (msg === null) {
            msg = await waitForMessage();
            continue;
          }
          nudge();
          hooks.onStart(JSON.parse(msg) as Payload);
          const replies = await client
            .multi()
            .lRem(processing, 1, msg)
            .lMove(wait, processing, 'LEFT', 'RIGHT')
            .execAsPipeline();
          hooks.onDone();
          msg = (replies[1] as unknown as string | null) ?? null;
        }
        if (msg !== null) await giveBack(msg);
      };
      const slots = Array.from({ length: concurrency }, () => slot());
      return {
        async stop() {
          stopped = true;
          for (const resolve of idle.splice(0)) resolve(null);
          await Promise.all(slots);
          blocker.destroy();
          await blocking;
          await client.close();
        },
      };
    },
    async close() {
      await producer.close();
    },
  };
}
