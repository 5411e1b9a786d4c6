/** What `send`, `status` and `failed` share: the config, and an Errand that routes as the daemon does. */
import type { Errand } from '../core/errand.ts';
import { ConfigError, type DaemonConfig, loadConfig } from '../daemon/config.ts';
import { errandFor, registerCommandTasks } from '../daemon/daemon.ts';
import { type Io, type Options, UsageError } from './args.ts';

export const confOption: Options = { conf: { type: 'string', short: 'c' } };

/** Thrown for a problem already explained to the user: exit status 1. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}

export function openConfig(file: string | undefined, io: Io): DaemonConfig {
  try {
    return loadConfig(file ?? './errand.toml', io.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CommandFailed(`configuration is invalid (${err.file}):\n  ${err.problems.join('\n  ')}`);
  }
}

/** An Errand with the config's command types registered (never run here), so names map to their queues. */
export function clientErrand(config: DaemonConfig): Errand {
  const errand = errandFor(config);
  registerCommandTasks(errand, config, { started: () => undefined, child: () => undefined });
  return errand;
}

/** The queue a task name is sent to / failed in: `--queue`, else its configured queue, else "default". */
export function queueOfTask(errand: Errand, task: string, queue: string | undefined): string {
  if (queue) return queue;
  const def = errand.runtime.definition(task);
  return def ? errand.runtime.queueOf(def) : 'default';
}

export function requireTask(positionals: readonly string[], what: string): string {
  const task = positionals[0];
  if (!task) throw new UsageError(`${what} needs a TASK name`);
  return task;
}
