/**
 * Named pipes (FIFOs) for the commands' stdout and stderr. Node gives a child socket pairs,
 * not pipes, and a script that opens `/dev/stdout` or `/dev/stderr` (bash `echo x >/dev/stderr`)
 * fails on a socket with "No such device or address". Gordon's children got real pipes; these
 * are real pipes too. Node cannot call pipe(2) or mkfifo(3), so the FIFOs are made by the
 * `mkfifo` program, a batch at a time, in a private directory, and reused between runs.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BATCH = 8;

/** One pipe: the write end for the child, the read end as a stream for us. */
export interface Pipe {
  readonly path: string;
  /** Pass to the child as its stdout/stderr; close it in this process once the child has it. */
  readonly writeFd: number;
  readonly reader: Socket;
}

export class FifoPool {
  private dir: string | undefined;
  private readonly free: string[] = [];
  private made = 0;
  private broken: Error | undefined;

  /** @param onUnavailable Told once when FIFOs cannot be made (the children then get socket pairs). */
  constructor(private readonly onUnavailable: (err: Error) => void = () => undefined) {}

  /** A pipe, or undefined when FIFOs cannot be made here (then the caller uses Node's socket pairs). */
  async open(): Promise<Pipe | undefined> {
    if (this.broken) return undefined;
    try {
      if (this.free.length === 0) await this.makeBatch();
      const path = this.free.pop();
      if (path === undefined) return undefined;
      // The read end first, non-blocking, so that opening the write end does not wait for a reader.
      const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      let writeFd: number;
      try {
        writeFd = openSync(path, constants.O_WRONLY);
      } catch (err) {
        closeSync(readFd);
        throw err;
      }
      return { path, writeFd, reader: new Socket({ fd: readFd, readable: true, writable: false }) };
    } catch (err) {
      this.broken = err as Error;
      this.onUnavailable(this.broken);
      return undefined;
    }
  }

  /**
   * Gives a pipe back once its reader is closed. `clean` = every writer closed it (EOF seen);
   * otherwise a leftover process may still hold the write end, so the FIFO is thrown away.
   */
  release(pipe: Pipe, clean: boolean): void {
    if (!pipe.reader.destroyed) pipe.reader.destroy();
    if (clean) {
      this.free.push(pipe.path);
      return;
    }
    try {
      unlinkSync(pipe.path);
    } catch {
      // Already gone with the directory.
    }
  }

  close(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.free.length = 0;
  }

  private async makeBatch(): Promise<void> {
    this.dir ??= mkdtempSync(join(tmpdir(), 'errand-pipes-'));
    const paths = Array.from({ length: BATCH }, () => join(this.dir ?? '', `p${this.made++}`));
    await new Promise<void>((resolve, reject) => {
      execFile('mkfifo', ['-m', '600', ...paths], { timeout: 10_000 }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
    this.free.push(...paths);
  }
}
