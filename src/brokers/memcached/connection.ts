/**
 * A minimal memcached client over the meta text protocol (`ms`, `mg`; memcached ≥ 1.6), on one
 * TCP connection with pipelined requests answered in order. Opened on first use, opened again
 * after it is lost; every request is bounded (REQUEST_TIMEOUT_MS) and fails with
 * BrokerUnavailableError when memcached cannot answer.
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { withTimeout } from '../../core/clock.ts';
import { BrokerUnavailableError } from '../../core/errors.ts';

const REQUEST_TIMEOUT_MS = 5000;
/** memcached reads an expiry above 30 days as an absolute Unix time. */
const RELATIVE_TTL_LIMIT_S = 30 * 24 * 3600;

interface Pending {
  /** Whether the answer may carry a value (mg … v). */
  readonly value: boolean;
  readonly resolve: (answer: { line: string; data?: Buffer }) => void;
  readonly reject: (err: Error) => void;
}

export class MemcachedConnection {
  private socket: Socket | undefined;
  private pending: Pending[] = [];
  private input: Buffer = Buffer.alloc(0);
  private closed = false;
  readonly where: string;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.where = `memcached at ${host}:${port}`;
  }

  /** A key memcached accepts (≤ 250 bytes, no spaces): base64 of the name, or of its hash when long. */
  static key(name: string): string {
    const raw = Buffer.from(name);
    return (raw.length <= 180 ? raw : createHash('sha256').update(raw).digest()).toString('base64');
  }

  private open(): Socket {
    if (this.closed) throw new Error(`${this.where}: the backend is closed`);
    if (this.socket) return this.socket;
    const socket = connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    const fail = (err?: Error): void => {
      if (this.socket === socket) this.socket = undefined;
      this.input = Buffer.alloc(0);
      const failed = this.pending.splice(0);
      for (const p of failed)
        p.reject(new BrokerUnavailableError(this.where, err?.message || 'connection closed'));
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
    this.socket = socket;
    return socket;
  }

  private receive(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    for (;;) {
      const head = this.pending[0];
      const eol = this.input.indexOf('\r\n');
      if (!head || eol < 0) return;
      const line = this.input.subarray(0, eol).toString();
      if (head.value && line.startsWith('VA ')) {
        const size = Number(line.split(' ')[1]);
        if (this.input.length < eol + 2 + size + 2) return; // the value has not all arrived yet
        const data = Buffer.from(this.input.subarray(eol + 2, eol + 2 + size));
        this.input = this.input.subarray(eol + 2 + size + 2);
        this.pending.shift();
        head.resolve({ line, data });
      } else {
        this.input = this.input.subarray(eol + 2);
        this.pending.shift();
        head.resolve({ line });
      }
    }
  }

  private request(command: Buffer, value: boolean): Promise<{ line: string; data?: Buffer }> {
    const socket = this.open();
    const answer = new Promise<{ line: string; data?: Buffer }>((resolve, reject) => {
      this.pending.push({ value, resolve, reject });
    });
    socket.write(command);
    return withTimeout(answer, REQUEST_TIMEOUT_MS, () => {
      // The answers are out of step now: start over on a new connection.
      socket.destroy();
      return new BrokerUnavailableError(this.where, `no answer within ${REQUEST_TIMEOUT_MS} ms`);
    });
  }

  /** Stores `value` under `key` (from MemcachedConnection.key) for `ttlMs` (rounded up to seconds). */
  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
    const ttl = seconds > RELATIVE_TTL_LIMIT_S ? Math.ceil(Date.now() / 1000) + seconds : seconds;
    const data = Buffer.from(value);
    const { line } = await this.request(
      Buffer.concat([Buffer.from(`ms ${key} ${data.length} b T${ttl}\r\n`), data, Buffer.from('\r\n')]),
      false,
    );
    if (line !== 'HD') throw new BrokerUnavailableError(this.where, `set refused: ${line}`);
  }

  /** The value under `key`, or undefined. */
  async get(key: string): Promise<string | undefined> {
    const { line, data } = await this.request(Buffer.from(`mg ${key} b v\r\n`), true);
    if (line === 'EN') return undefined;
    if (!line.startsWith('VA ') || !data)
      throw new BrokerUnavailableError(this.where, `get refused: ${line}`);
    return data.toString();
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.end(resolve));
  }
}
