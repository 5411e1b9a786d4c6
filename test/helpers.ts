/** Shared test helpers: unique namespaces, private Redis servers, polling with a deadline. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';

export const REDIS_URL = process.env.ERRAND_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test uses. */
export const uniquePrefix = (tag = 't'): string => `errandtest-${tag}-${randomUUID().slice(0, 8)}`;

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
