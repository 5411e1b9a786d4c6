/**
 * A loopback TCP proxy in front of the private Redis that counts socket reads each way.
 * Each read on the client side is (at most) one client write: it is how we count the
 * round trips a system makes per task (scenario 4 only; the proxy adds latency).
 * Coalescing by the kernel can only merge writes, so the count is a lower bound.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ProxyCounters {
  /** Reads of client→Redis data (≈ client writes, i.e. request batches). */
  toRedisReads: number;
  /** Reads of Redis→client data (≈ reply batches). */
  fromRedisReads: number;
  connections: number;
}

export interface CountingProxy {
  readonly url: string;
  readonly counters: ProxyCounters;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(upstreamPort: number): Promise<CountingProxy> {
  const counters: ProxyCounters = { toRedisReads: 0, fromRedisReads: 0, connections: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    counters.connections++;
    const upstream = connect(upstreamPort, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk) => {
      counters.toRedisReads++;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk) => {
      counters.fromRedisReads++;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    counters,
    reset() {
      counters.toRedisReads = 0;
      counters.fromRedisReads = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
