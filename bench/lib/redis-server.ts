/**
 * A private redis-server for one benchmark run: its own port, no persistence, so that
 * command statistics and memory figures belong to the benchmark alone and nobody else's
 * Redis is disturbed. It is checked to be the process we started before anything is flushed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  readonly version: string;
  /** Kill the server and wait for it to exit. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks one; small race accepted). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

const live = new Set<ChildProcess>();
// Never leave a redis-server behind, even when the run is interrupted.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim();
}

/** Start `redis-server` on a free port and wait (≤10 s) until it answers as itself. */
export async function startPrivateRedis(signal?: AbortSignal): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    live.delete(child);
  };
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (signal?.aborted) {
      await stop();
      signal.throwIfAborted();
    }
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited: ${stderr.trim()}`);
    const info = await serverInfo(url);
    if (info === undefined) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server on port ${port} did not answer within 10 s`);
      }
      await sleep(50);
      continue;
    }
    // Ours: same port and the pid of the process we spawned.
    if (infoField(info, 'tcp_port') !== String(port) || infoField(info, 'process_id') !== String(child.pid)) {
      await stop();
      throw new Error(`port ${port} is answered by another redis-server; refusing to use it`);
    }
    return { url, port, version: infoField(info, 'redis_version') ?? 'unknown', stop };
  }
}

/** `INFO server` of the Redis at `url`, or undefined when it does not answer (yet). */
async function serverInfo(url: string): Promise<string | undefined> {
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('server');
    await client.close();
    return info;
  } catch {
    if (client.isOpen) client.destroy();
    return undefined;
  }
}
