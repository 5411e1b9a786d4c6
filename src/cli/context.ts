/** What `send`, `status` and `failed` share: the config, and an Errand that routes as the daemon does. */
import type { Errand } from '../core/errand.ts';
import { ConfigError, type DaemonConfig, loadConfig, parseConfig } from '../daemon/config.ts';
import { errandFor, registerCommandTasks } from '../daemon/daemon.ts';
import { DEFAULT_CONFIGS, findDefaultConfig } from '../daemon/paths.ts';
import { type Io, type Options, str, UsageError } from './args.ts';

export const confOption: Options = {
  conf: { type: 'string', short: 'c' },
  broker: { type: 'string', short: 'b' },
};

export const confHelp = `  -c, --conf PATH      config file (default: the first of ${DEFAULT_CONFIGS.join(', ')} here;
                       optional when a broker is given)
  -b, --broker URL     broker URL; overrides the config's and $ERRAND_BROKER
                       ($ERRAND_BACKEND overrides the config's result backend URL)
`;

/** Thrown for a problem already explained to the user: exit status 1. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}

/**
 * The config of `--conf` (or the first default config file here, as `errand worker` reads). Without one, a broker from `--broker` or
 * `$ERRAND_BROKER` is enough: the client then knows no command tasks, so names go to "default"
 * unless `--queue` says otherwise. `$ERRAND_BACKEND` names the result backend, with or without a
 * config (a broker without a store of its own, RabbitMQ or SQS, needs one for `send --wait`).
 */
export function openConfig(values: Record<string, unknown>, io: Io): DaemonConfig {
  const file = str(values.conf);
  const broker = str(values.broker);
  const env = broker ? { ...io.env, ERRAND_BROKER: broker } : io.env;
  try {
    const chosen = file ?? findDefaultConfig();
    if (chosen === undefined) {
      if (!env.ERRAND_BROKER && !env.REDIS_URL) {
        throw new CommandFailed(
          `no config file (none of ${DEFAULT_CONFIGS.join(', ')} is here): pass --conf FILE, or name the broker with --broker URL or $ERRAND_BROKER`,
        );
      }
      return parseConfig('', 'errand.toml', env);
    }
    return loadConfig(chosen, env);
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
