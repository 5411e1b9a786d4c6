/**
 * Shared test helpers: the test Redis's address, unique key prefixes that are deleted when the
 * test file ends, private Redis servers, polling with a deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { createClient } from '@redis/client';

/** The shared test Redis: the one place tests take its address from. */
export const REDIS_URL = process.env.ERRAND_TEST_REDIS ?? 'redis://127.0.0.1:6379';
/** The same server as `host:port`, for Gordon's `redis_address` and Goophry's `RedisAddress`. */
export const REDIS_ADDRESS = new URL(REDIS_URL).host;

const tracked = new Set<string>();

// Registered when this module loads, so it is a hook of the file's root test: it runs after every
// suite of the file (and their own after hooks) has finished, whichever test tracked a prefix.
after(() => deleteByPrefix(...[...tracked].flatMap((p) => [p, `errand:${p}`])));

/**
 * Deletes, when this test file ends, every key of the shared Redis that starts with `prefix`
 * (and with `errand:<prefix>`, where a Gordon/Goophry daemon keeps Errand's own keys for a
 * `queue_key`). Returns `prefix`.
 */
export function trackPrefix(prefix: string): string {
  tracked.add(prefix);
  return prefix;
}

/** A key prefix no other test uses; its keys are deleted when the test file ends. */
export const uniquePrefix = (tag = 't'): string =>
  trackPrefix(`errandtest-${tag}-${randomUUID().slice(0, 8)}`);

/**
 * Deletes every key of the shared Redis that starts with one of `prefixes` (SCAN + UNLINK; never
 * FLUSHDB: other runs share the server). Gives up after 30 s.
 */
export async function deleteByPrefix(...prefixes: string[]): Promise<number> {
  if (prefixes.length === 0) return 0;
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 5000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  let deleted = 0;
  const work = (async () => {
    await client.connect();
    for (const prefix of prefixes) {
      // Glob characters in a prefix are taken literally.
      const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
      for await (const keys of client.scanIterator({ MATCH: match, COUNT: 1000 })) {
        if (keys.length > 0) deleted += await client.unlink(keys);
      }
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deleting test keys: not done within 30 s`)), 30_000);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    if (client.isOpen) await client.close().catch(() => client.destroy());
    await work.catch(() => undefined);
  }
  return deleted;
}

export const tempDir = (tag = 'errand'): string => mkdtempSync(join(tmpdir(), `${tag}-`));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
  /** Start again after stop(), same port and data directory. */
  start(): Promise<void>;
  /** Graceful SHUTDOWN (AOF flushed), then start again on the same port and data directory. */
  restart(downMs?: number): Promise<void>;
}

/** Starts a redis-server of our own on a free port and checks that the server answering is it. */
export async function startPrivateRedis(options: { appendonly?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = tempDir('redis');
  const marker = `errand-test-${randomUUID()}`;
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        options.appendonly ? 'yes' : 'no',
        '--appendfsync',
        'always',
      ],
      { stdio: 'ignore' },
    );
    const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
    client.on('error', () => {});
    await eventually(
      async () => {
        try {
          if (!client.isOpen) await client.connect();
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      `redis-server on port ${port}`,
    );
    // Check the server answering is ours: the process we spawned, by its pid.
    const info = (await client.sendCommand(['INFO', 'server'])) as string;
    const pid = /process_id:(\d+)/.exec(info)?.[1];
    if (Number(pid) !== child.pid) throw new Error(`port ${port} is answered by another redis (pid ${pid})`);
    await client.sendCommand(['CLIENT', 'SETNAME', marker]);
    await client.close();
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM'); // redis-server shuts down gracefully on SIGTERM, flushing the AOF
    await exited;
  };
  await launch();
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start: launch,
    restart: async (downMs = 0) => {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
  };
}
