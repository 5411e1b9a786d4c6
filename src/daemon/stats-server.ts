/**
 * The stats HTTP(S) server. Gordon: `{"runtime","task_count","version"}` on every path and
 * method. Goophry: `{"Runtime","TaskCount","Version"}` on `StatsPattern` only (Go ServeMux
 * rules: exact, or a subtree when it ends with "/"; 404 elsewhere), HTTPS when a certificate
 * and key are configured. Counts are of tasks started, per type, failures included.
 */
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import type { Flavour, StatsConfig } from './config-types.ts';

export class TaskCounter {
  readonly startedAt = Date.now();
  private readonly counts = new Map<string, number>();
  constructor(types: readonly string[]) {
    for (const t of types) this.counts.set(t, 0);
  }
  /** Lists a type (with 0) before its first run. */
  add(type: string): void {
    if (!this.counts.has(type)) this.counts.set(type, 0);
  }
  started(type: string): void {
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
  }
  /** Sorted by type, as Go encodes maps. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

export function statsBody(flavour: Flavour, counter: TaskCounter, version: string): string {
  const runtime = Math.floor((Date.now() - counter.startedAt) / 1000);
  const counts = counter.snapshot();
  return flavour === 'goophry'
    ? JSON.stringify({ Runtime: runtime, TaskCount: counts, Version: version })
    : JSON.stringify({ runtime, task_count: counts, version });
}

/** Go ServeMux matching: a pattern ending in "/" matches its subtree, any other pattern only itself. */
export function pathMatches(pattern: string | undefined, url: string): boolean {
  if (pattern === undefined) return true;
  const path = url.split('?')[0] ?? '';
  return pattern.endsWith('/') ? path.startsWith(pattern) : path === pattern;
}

/** "host:port", ":port", "[v6]:port" or "port". */
export function parseListen(listen: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen) ?? /^()()(\d+)$/.exec(listen);
  if (!m) throw new Error(`stats listen address must look like host:port, got ${JSON.stringify(listen)}`);
  const host = m[1] || m[2] || undefined;
  return { host, port: Number(m[3]) };
}

export interface StatsServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startStatsServer(
  config: StatsConfig,
  flavour: Flavour,
  counter: TaskCounter,
  version: string,
): Promise<StatsServer> {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!pathMatches(config.path, req.url ?? '/')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf8' });
    res.end(statsBody(flavour, counter, version));
  };
  const server: Server = config.tls
    ? createHttpsServer(
        { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
        handler,
      )
    : createHttpServer(handler);
  // Over TLS, a plain-HTTP request gets Go's answer (400) instead of a dropped connection.
  const listener: NetServer = config.tls ? plainHttpGuard(server) : server;
  const { host, port } = parseListen(config.listen);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  // Tracked here: over TLS the HTTPS server never listens itself, so it cannot close them.
  const sockets = new Set<Socket>();
  listener.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const addr = listener.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `${config.tls ? 'https' : 'http'}://${shownHost}:${addr.port}${config.path ?? '/'}`,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** What Go's HTTPS server answers to a plain HTTP request, before closing the connection. */
export const PLAIN_HTTP_ANSWER =
  'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
/** Go's tlsRecordHeaderLooksLikeHTTP: the first bytes of the request line. */
const HTTP_STARTS = ['GET /', 'HEAD ', 'POST ', 'PUT /', 'OPTIO'];
const TLS_HANDSHAKE = 0x16;

/** A TCP listener in front of `tls`: TLS handshakes go on to it, plain HTTP gets Go's 400 answer. */
function plainHttpGuard(tls: Server): NetServer {
  return createNetServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE) {
        tls.emit('connection', socket);
        return;
      }
      const start = first.subarray(0, 5).toString('latin1');
      if (HTTP_STARTS.includes(start)) socket.end(PLAIN_HTTP_ANSWER);
      else socket.destroy();
    });
    socket.resume();
  });
}
