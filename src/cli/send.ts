import type { Errand } from '../core/errand.ts';
import { TaskFailedError } from '../core/errors.ts';
import { type Io, millis, type Options, parse, str, strs, UsageError } from './args.ts';
import { CommandFailed, clientErrand, confOption, openConfig, queueOfTask, requireTask } from './context.ts';

export const sendOptions: Options = {
  ...confOption,
  env: { type: 'string', short: 'e', multiple: true },
  delay: { type: 'string' },
  wait: { type: 'boolean', short: 'w' },
  timeout: { type: 'string' },
  queue: { type: 'string', short: 'q' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const sendHelp = `Usage: errand send TASK [ARGS...] [options]

Enqueues TASK with ARGS (strings; with --json each ARG is parsed as JSON) and prints its id.
Put -- before ARGS that start with a dash.

Options:
  -c, --conf PATH      config file, for the broker and the task's queue (default ./errand.toml)
  -e, --env K=V        environment variable for a command task (repeatable)
      --delay MS       run no sooner than MS milliseconds from now
  -w, --wait           wait for the task to finish: print its result (exit 0) or its error (exit 1)
      --timeout MS     with --wait, give up after MS milliseconds (exit 1)
  -q, --queue NAME     send to this queue instead of the task's configured one
      --json           parse each ARG as JSON
  -h, --help           show this help
`;

function parseEnv(pairs: readonly string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env must look like NAME=value (got ${JSON.stringify(pair)})`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

function parseArgsJson(args: readonly string[]): unknown[] {
  return args.map((a, i) => {
    try {
      return JSON.parse(a) as unknown;
    } catch {
      throw new UsageError(`--json: ARG ${i + 1} is not valid JSON: ${a}`);
    }
  });
}

async function enqueue(
  errand: Errand,
  task: string,
  args: readonly unknown[],
  queue: string,
  env: Record<string, string> | undefined,
  delayMs: number | undefined,
): Promise<string> {
  const sent = await errand.send(task, args, {
    queue,
    ...(delayMs ? { delayMs } : {}),
    ...(env ? { env } : {}),
  });
  return sent.id;
}

export async function sendCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, sendOptions, true);
  if (values.help) {
    io.out(sendHelp);
    return 0;
  }
  const task = requireTask(positionals, 'send');
  const rawArgs = positionals.slice(1);
  const args = values.json ? parseArgsJson(rawArgs) : rawArgs;
  const env = parseEnv(strs(values.env));
  const delayMs = millis('--delay', values.delay);
  const timeoutMs = millis('--timeout', values.timeout);
  const config = openConfig(str(values.conf), io);
  // Gordon/Goophry daemons store no results unless asked: a wait would never end.
  if (values.wait && !config.storeResults) {
    throw new CommandFailed(
      `--wait needs the task's result, and the daemon of this ${config.flavour} config stores none: add results = true to ${config.file}`,
    );
  }
  const errand = clientErrand(config);
  try {
    const queue = queueOfTask(errand, task, str(values.queue));
    const id = await enqueue(errand, task, args, queue, env, delayMs);
    if (!values.wait) {
      io.out(`${id}\n`);
      return 0;
    }
    try {
      const result = await errand.result(id, timeoutMs ? { timeoutMs } : {});
      if (result !== null && result !== undefined)
        io.out(typeof result === 'string' ? result : `${JSON.stringify(result)}\n`);
      return 0;
    } catch (err) {
      if (err instanceof TaskFailedError) throw new CommandFailed(`task ${id} failed: ${err.message}`);
      throw err;
    }
  } finally {
    await errand.close();
  }
}
