/**
 * Runs one command the way Gordon did: argv without a shell, its own process group,
 * stdin from /dev/null, stdout and stderr captured (bounded). On abort (timeout or
 * shutdown) the whole group gets SIGTERM, then SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import type { FailureRule } from './config-types.ts';

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

export function runCommand(req: RunRequest): Promise<RunOutcome> {
  return new Promise((resolvePromise) => {
    const stdout = new BoundedBuffer(req.maxOutputBytes);
    const stderr = new BoundedBuffer(req.maxOutputBytes);
    let aborted = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const child = spawn(req.program, [...req.args], {
      shell: false,
      detached: true, // own process group (setsid), so signals reach the whole tree
      env: req.env as NodeJS.ProcessEnv,
      cwd: req.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    const finish = (outcome: RunOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      req.signal?.removeEventListener('abort', onAbort);
      resolvePromise(outcome);
    };

    const onAbort = (): void => {
      if (aborted || child.pid === undefined) return;
      aborted = true;
      killGroup(child.pid, 'SIGTERM');
      const pid = child.pid;
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), req.killGraceMs);
      killTimer.unref();
    };

    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Spawn failed (no such program, no permission, bad cwd).
      const why = (err.code && ERRNO_TEXT[err.code]) ?? err.message;
      finish({
        error: `fork/exec ${req.program}: ${why}`,
        exitCode: null,
        signal: null,
        stdout: '',
        stderr: '',
        aborted,
      });
    });

    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    const complete = (): void =>
      finish({
        error: describeFailure(req.failure, exitCode, exitSignal, stdout, stderr),
        exitCode,
        signal: exitSignal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        aborted,
      });

    child.on('exit', (code, sig) => {
      exitCode = code;
      exitSignal = sig;
      // The pipes normally close right after; if a grandchild keeps them open, stop waiting.
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        complete();
      }, PIPE_DRAIN_MS);
      drainTimer.unref();
    });
    child.on('close', () => complete());

    if (child.pid !== undefined) {
      req.onSpawn?.(child.pid);
      if (req.signal?.aborted) onAbort();
      else req.signal?.addEventListener('abort', onAbort, { once: true });
    }
  });
}
