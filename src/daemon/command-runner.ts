/**
 * Runs one command the way Gordon did: argv without a shell, its own process group,
 * stdin from /dev/null, stdout (and stderr, except under Gordon's rule, where it goes to
 * /dev/null as under Gordon) captured through real pipes, bounded. On abort (timeout or
 * shutdown) the whole group gets SIGTERM, then SIGKILL after a grace period.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { FailureRule } from './config-types.ts';
import type { FifoPool, Pipe } from './fifo-pool.ts';

export interface RunRequest {
  readonly program: string;
  readonly args: readonly string[];
  /** The complete environment of the child. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string | undefined;
  readonly maxOutputBytes: number;
  readonly killGraceMs: number;
  readonly failure: FailureRule;
  readonly signal?: AbortSignal | undefined;
  /** Called with the child's pid once it runs (the pid is also its process-group id). */
  readonly onSpawn?: ((pid: number) => void) | undefined;
  /** Real pipes for stdout and stderr; without it the child gets Node's socket pairs. */
  readonly pipes?: FifoPool | undefined;
}

export interface RunOutcome {
  /** Undefined on success; otherwise the error text (Gordon's wording under the `gordon` rule). */
  readonly error: string | undefined;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The run was cut short by the abort signal. */
  readonly aborted: boolean;
}

/** Collects at most `max` bytes and counts the rest. */
class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    const room = this.max - this.kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(0, room));
  }
  get empty(): boolean {
    return this.kept === 0 && this.dropped === 0;
  }
  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${s}\n[output truncated: ${this.dropped} more bytes]` : s;
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  ENOTDIR: 'not a directory',
  ENOEXEC: 'exec format error',
  E2BIG: 'argument list too long',
};

/** Go's `signal: killed` / `signal: terminated` wording. */
const signalText = (sig: NodeJS.Signals): string =>
  sig === 'SIGKILL' ? 'signal: killed' : sig === 'SIGTERM' ? 'signal: terminated' : `signal: ${sig}`;

/** Sends `sig` to the process group led by `pid`; a group that is already gone is fine. */
export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group has exited.
  }
}

function describeFailure(
  rule: FailureRule,
  code: number | null,
  sig: NodeJS.Signals | null,
  stdout: BoundedBuffer,
  stderr: BoundedBuffer,
): string | undefined {
  if (sig) return signalText(sig);
  if (code !== 0) {
    const base = `exit status ${code}`;
    if (rule === 'gordon' || stderr.empty) return base;
    return `${base}: ${stderr.text().trim().split('\n').slice(-5).join('\n')}`;
  }
  // Gordon: exit 0 with any bytes on stdout is a failure whose message is exactly that output.
  if (rule === 'gordon' && !stdout.empty) return stdout.text();
  return undefined;
}

/** How long to wait for the pipes to close after the child exits (a background grandchild may hold them). */
const PIPE_DRAIN_MS = 1000;

/** Go's wording for a program that could not be started. */
function spawnFailure(program: string, err: NodeJS.ErrnoException): string {
  // Node refuses arguments and env values with NUL bytes before exec; Go's exec says EINVAL.
  if (err.code === 'ERR_INVALID_ARG_VALUE' && /null bytes/.test(err.message))
    return `fork/exec ${program}: invalid argument`;
  const why = (err.code && ERRNO_TEXT[err.code]) ?? err.message;
  return `fork/exec ${program}: ${why}`;
}

/** Where one output stream of the child goes: a pipe of ours, Node's socket pair, or nowhere. */
type Sink = { kind: 'fifo'; pipe: Pipe } | { kind: 'node' } | { kind: 'ignore' };

async function sinkFor(pool: FifoPool | undefined, wanted: boolean): Promise<Sink> {
  if (!wanted) return { kind: 'ignore' };
  const pipe = await pool?.open();
  return pipe ? { kind: 'fifo', pipe } : { kind: 'node' };
}

const stdioOf = (sink: Sink): number | 'pipe' | 'ignore' =>
  sink.kind === 'fifo' ? sink.pipe.writeFd : sink.kind === 'node' ? 'pipe' : 'ignore';

export async function runCommand(req: RunRequest): Promise<RunOutcome> {
  // Gordon discarded stderr (it went to /dev/null); under its rule stderr never counts anyway.
  const out = await sinkFor(req.pipes, true);
  const err = await sinkFor(req.pipes, req.failure !== 'gordon');
  return new Promise((resolvePromise) => {
    const stdout = new BoundedBuffer(req.maxOutputBytes);
    const stderr = new BoundedBuffer(req.maxOutputBytes);
    let aborted = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let exited = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    const ended = { out: false, err: err.kind === 'ignore' };

    const closeWriteEnds = (): void => {
      for (const sink of [out, err]) if (sink.kind === 'fifo') closeSync(sink.pipe.writeFd);
    };
    const releasePipes = (): void => {
      if (out.kind === 'fifo') req.pipes?.release(out.pipe, ended.out);
      if (err.kind === 'fifo') req.pipes?.release(err.pipe, ended.err);
    };

    const finish = (outcome: RunOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      req.signal?.removeEventListener('abort', onAbort);
      releasePipes();
      resolvePromise(outcome);
    };

    let child: ChildProcess | undefined;
    const onAbort = (): void => {
      const pid = child?.pid;
      if (aborted || pid === undefined) return;
      aborted = true;
      killGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), req.killGraceMs);
      killTimer.unref();
    };

    try {
      child = spawn(req.program, [...req.args], {
        shell: false,
        detached: true, // own process group (setsid), so signals reach the whole tree
        env: req.env as NodeJS.ProcessEnv,
        cwd: req.cwd,
        stdio: ['ignore', stdioOf(out), stdioOf(err)],
      });
    } catch (e) {
      closeWriteEnds();
      // No process holds the write ends: the pipes are clean.
      ended.out = ended.err = true;
      finish(failedToStart(spawnFailure(req.program, e as NodeJS.ErrnoException)));
      return;
    }
    // The child has its copies of the write ends now; ours would keep the pipes from ending.
    closeWriteEnds();

    const complete = (): void =>
      finish({
        error: describeFailure(req.failure, exitCode, exitSignal, stdout, stderr),
        exitCode,
        signal: exitSignal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        aborted,
      });
    const maybeComplete = (): void => {
      if (exited && ended.out && ended.err) complete();
    };

    const read = (sink: Sink, stream: Readable | null, into: BoundedBuffer, which: 'out' | 'err'): void => {
      const source = sink.kind === 'fifo' ? sink.pipe.reader : sink.kind === 'node' ? stream : null;
      if (!source) return;
      source.on('data', (c: Buffer) => into.push(c));
      source.on('error', () => undefined);
      source.on('close', () => {
        ended[which] = true;
        maybeComplete();
      });
    };
    read(out, child.stdout, stdout, 'out');
    read(err, child.stderr, stderr, 'err');

    child.on('error', (e: NodeJS.ErrnoException) => {
      // Spawn failed (no such program, no permission, bad cwd, argument list too long).
      if (child.pid === undefined) ended.out = ended.err = true;
      finish({ ...failedToStart(spawnFailure(req.program, e)), aborted });
    });

    child.on('exit', (code, sig) => {
      exited = true;
      exitCode = code;
      exitSignal = sig;
      maybeComplete();
      if (settled) return;
      // The pipes normally close right after; if a grandchild keeps them open, stop waiting.
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        complete();
      }, PIPE_DRAIN_MS);
      drainTimer.unref();
    });

    if (child.pid !== undefined) {
      req.onSpawn?.(child.pid);
      if (req.signal?.aborted) onAbort();
      else req.signal?.addEventListener('abort', onAbort, { once: true });
    }
  });
}

const failedToStart = (error: string): RunOutcome => ({
  error,
  exitCode: null,
  signal: null,
  stdout: '',
  stderr: '',
  aborted: false,
});
