import type { Errand } from '../core/errand.ts';
import { ResultTimeoutError, TaskFailedError } from '../core/errors.ts';
import type { DaemonConfig } from '../daemon/config.ts';
import type { Links } from '../workflow/wire.ts';
import { type Io, millis, type Options, parse, str, strs, UsageError } from './args.ts';
import {
  CommandFailed,
  clientErrand,
  confHelp,
  confOption,
  openConfig,
  queueOfTask,
  requireTask,
} from './context.ts';
import { waitingHint } from './waiting.ts';

/** After this long without a result, --wait says where the task is and whether anyone consumes its queue. */
export const WAIT_HINT_MS = 3000;

export const sendOptions: Options = {
  ...confOption,
  env: { type: 'string', short: 'e', multiple: true },
  delay: { type: 'string' },
  wait: { type: 'boolean', short: 'w' },
  timeout: { type: 'string' },
  queue: { type: 'string', short: 'q' },
  // biome-ignore lint/suspicious/noThenProperty: the --then flag; an object, never awaited (not a thenable)
  then: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const sendHelp = `Usage: errand send TASK [ARGS...] [options]

Enqueues TASK with ARGS (strings; with --json each ARG is parsed as JSON) and prints its id.
Put -- before ARGS that start with a dash.

Options:
${confHelp}  -e, --env K=V        environment variable for a command task (repeatable)
      --delay MS       run no sooner than MS milliseconds from now
  -w, --wait           wait for the task to finish: print its result (exit 0) or its error (exit 1);
                       after ${WAIT_HINT_MS / 1000} s without a result, stderr says where the task waits and
                       whether a live daemon consumes its queue
      --timeout MS     with --wait, give up after MS milliseconds (exit 1)
  -q, --queue NAME     send to this queue instead of the task's configured one
      --then TASK2     once TASK succeeded, run TASK2 with TASK's result (its output) as its
                       argument; repeatable: a chain (--then b --then c); --wait waits for the last
      --json           parse each ARG as JSON
  -h, --help           show this help

A string result is printed as it is, with a newline added unless it ends with one; any other
result is printed as JSON on one line.
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

/** `--then b --then c` as wire links: b gets the task's result, c gets b's (docs/workflows.md). */
function chainLinks(errand: Errand, then: readonly string[]): Links | undefined {
  let links: Links | undefined;
  for (const task of [...then].reverse()) {
    links = { next: { task, queue: queueOfTask(errand, task, undefined), ...(links && { links }) } };
  }
  return links;
}

async function enqueue(
  errand: Errand,
  task: string,
  args: readonly unknown[],
  queue: string,
  env: Record<string, string> | undefined,
  delayMs: number | undefined,
  links: Links | undefined,
): Promise<string> {
  const sent = await errand.send(task, args, {
    queue,
    ...(delayMs ? { delayMs } : {}),
    ...(env ? { env } : {}),
    ...(links ? { links } : {}),
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
  const config = openConfig(values, io);
  // Gordon/Goophry daemons store no results unless asked: a wait would never end.
  if (values.wait && !config.storeResults) {
    throw new CommandFailed(
      `--wait needs the task's result, and the daemon of this ${config.flavour} config stores none: add results = true to ${config.file}`,
    );
  }
  const then = strs(values.then);
  // Gordon's and Goophry's message formats have no place for links: they would be dropped.
  if (then.length > 0 && config.flavour !== 'errand') {
    throw new CommandFailed(
      `--then needs an errand.toml config: the ${config.flavour} message format cannot carry follow-up tasks`,
    );
  }
  const errand = clientErrand(config);
  try {
    const queue = queueOfTask(errand, task, str(values.queue));
    const id = await enqueue(errand, task, args, queue, env, delayMs, chainLinks(errand, then));
    if (!values.wait) {
      io.out(`${id}\n`);
      return 0;
    }
    // The chain's result is its last link's: its id is derived from the first one's.
    const last = then.length > 0 ? `${id}${'.next'.repeat(then.length)}` : id;
    const lastQueue = then.length > 0 ? queueOfTask(errand, then.at(-1)!, undefined) : queue;
    const result = await waitForResult(errand, config, io, last, lastQueue, timeoutMs);
    if (result !== null && result !== undefined) io.out(printable(result));
    return 0;
  } finally {
    await errand.close();
  }
}

/** A string as it is (a newline added unless it ends with one), anything else as one line of JSON. */
export const printable = (result: unknown): string =>
  typeof result === 'string'
    ? result.endsWith('\n')
      ? result
      : `${result}\n`
    : `${JSON.stringify(result)}\n`;

async function waitForResult(
  errand: Errand,
  config: DaemonConfig,
  io: Io,
  id: string,
  queue: string,
  timeoutMs: number | undefined,
): Promise<unknown> {
  let hint: Promise<void> | undefined;
  const timer = setTimeout(() => {
    hint = waitingHint(errand, config, id, queue)
      .then((text) => {
        if (text) io.err(`errand send: ${text}\n`);
      })
      .catch(() => undefined);
  }, WAIT_HINT_MS);
  try {
    return await errand.result(id, timeoutMs ? { timeoutMs } : {});
  } catch (err) {
    if (err instanceof TaskFailedError) throw new CommandFailed(`task ${id} failed: ${err.message}`);
    if (err instanceof ResultTimeoutError) {
      const text = await waitingHint(errand, config, id, queue).catch(() => undefined);
      throw new CommandFailed(`no result within ${err.timeoutMs} ms${text ? `: ${text}` : ''}`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    await hint;
  }
}
