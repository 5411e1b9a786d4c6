/**
 * The handler behind a command task type: runs the configured program with the message's
 * arguments appended (as argv, never through a shell) and its env merged over the daemon's
 * and the task's. A failed run throws an error whose message is the failure text (for Gordon
 * configs exactly Gordon's: `exit status 3`, or the stdout output), so Errand records it,
 * retries it per config, and finally dead-letters it.
 */
import type { TaskContext } from '../core/context.ts';
import { runCommand } from './command-runner.ts';
import type { CommandTaskConfig } from './config-types.ts';
import type { FifoPool } from './fifo-pool.ts';

export class CommandFailedError extends Error {
  override readonly name = 'CommandFailed';
}

export interface CommandHooks {
  /** A run of this type starts (for the stats counters and logs). */
  started(
    task: CommandTaskConfig,
    id: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
  ): void;
  /** The child's pid (= its process group) while it runs; undefined once it has exited. */
  child(id: string, pid: number | undefined): void;
  /** Real pipes for the children's output. */
  readonly pipes?: FifoPool | undefined;
}

const toArg = (a: unknown): string => (typeof a === 'string' ? a : (JSON.stringify(a) ?? String(a)));

export function commandHandler(task: CommandTaskConfig, hooks: CommandHooks) {
  // A `function` handler: Errand passes the task's context as `this`.
  return async function runCommandTask(
    this: TaskContext,
    ...rawArgs: unknown[]
  ): Promise<string | undefined> {
    const args = rawArgs.map(toArg);
    hooks.started(task, this.id, args, this.message.env ?? {});
    try {
      const outcome = await runCommand({
        program: task.program,
        args: [...task.args, ...args],
        env: { ...process.env, ...task.env, ...this.message.env },
        cwd: task.cwd,
        maxOutputBytes: task.maxOutputBytes,
        killGraceMs: task.killGraceMs,
        failure: task.failure,
        signal: this.signal,
        onSpawn: (pid) => hooks.child(this.id, pid),
        pipes: hooks.pipes,
      });
      if (outcome.aborted && this.signal.reason instanceof Error) throw this.signal.reason;
      if (outcome.error !== undefined) throw new CommandFailedError(outcome.error);
      // Under Gordon's rule a success has no output; otherwise stdout is the task's result.
      return task.failure === 'gordon' ? undefined : outcome.stdout;
    } finally {
      hooks.child(this.id, undefined);
    }
  };
}
