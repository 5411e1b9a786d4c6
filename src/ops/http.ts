/** Listening on `host:port` for the metrics and dashboard servers, with a close that ends open connections. */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface Listening {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces); refuses anything else, naming `key`. */
export function parseAddress(key: string, address: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  const port = Number(m?.[3]);
  if (!m || !(port >= 0 && port <= 65535))
    throw new RangeError(
      `${key} must look like host:port, e.g. 127.0.0.1:9464 (got ${JSON.stringify(address)})`,
    );
  return { host: m[1] ?? (m[2] || undefined), port };
}

export const isLoopback = (host: string | undefined): boolean =>
  host !== undefined && (host === 'localhost' || host === '::1' || /^127\./.test(host));

export async function listen(server: Server, key: string, address: string): Promise<Listening> {
  const { host, port } = parseAddress(key, address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const bound = server.address();
  const actualPort = typeof bound === 'object' && bound ? bound.port : port;
  const shownHost = host === undefined ? '0.0.0.0' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actualPort}`,
    host: host ?? '0.0.0.0',
    port: actualPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
