/** `errand tasks list QUEUE --state S`: a queue's waiting, delayed, running or dead tasks, paged. */
import { TASK_LIST_STATES, type TaskListState, type TaskView } from '../ops/control.ts';
import { type Io, type Options, parse, str, UsageError } from './args.ts';
import { clientErrand, confHelp, confOption, openConfig } from './context.ts';

export const tasksOptions: Options = {
  ...confOption,
  state: { type: 'string', short: 's' },
  offset: { type: 'string' },
  limit: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const tasksHelp = `Usage: errand tasks list QUEUE [options]

  list QUEUE           the queue's tasks in one state: id, task, attempts, time, arguments
                       (delayed: due time; running: lease expiry and worker;
                       dead: when it failed and why)

Options:
${confHelp}  -s, --state STATE    ${TASK_LIST_STATES.join(', ')} (default waiting)
      --offset N       skip N tasks (default 0)
  -n, --limit N        at most N tasks (default 100)
      --json           print JSON lines
  -h, --help           show this help
`;

function whole(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} must be a whole number >= ${min} (got ${text})`);
  return n;
}

export async function tasksCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, tasksOptions, true);
  if (values.help) {
    io.out(tasksHelp);
    return 0;
  }
  const [action, queue] = positionals;
  if (action !== 'list')
    throw new UsageError(`tasks needs an action: list (got ${JSON.stringify(action ?? '')})`);
  if (!queue) throw new UsageError('tasks list needs a QUEUE name');
  const state = (str(values.state) ?? 'waiting') as TaskListState;
  if (!TASK_LIST_STATES.includes(state))
    throw new UsageError(
      `--state must be one of ${TASK_LIST_STATES.join(', ')} (got ${JSON.stringify(state)})`,
    );
  const offset = whole('--offset', str(values.offset), 0, 0);
  const limit = whole('--limit', str(values.limit), 100, 1);
  const errand = clientErrand(openConfig(values, io));
  try {
    const tasks = await errand.tasks(queue, { state, offset, limit });
    for (const task of tasks) io.out(values.json ? `${JSON.stringify(jsonOf(task))}\n` : `${lineOf(task)}\n`);
    if (!values.json && tasks.length === 0) io.err(`no ${state} tasks in queue "${queue}"\n`);
    return 0;
  } finally {
    await errand.close();
  }
}

function jsonOf(task: TaskView): Record<string, unknown> {
  return {
    state: task.state,
    ...(task.message
      ? {
          id: task.message.id,
          task: task.message.task,
          args: task.message.args,
          attempt: task.message.attempt,
          ...(task.message.links && { links: task.message.links }),
        }
      : { body: task.body }),
    ...(task.at && { at: task.at.toISOString() }),
    ...(task.worker !== undefined && { worker: task.worker }),
    ...(task.reason !== undefined && { reason: task.reason, key: task.key }),
  };
}

function lineOf(task: TaskView): string {
  const what = task.message
    ? `${task.message.id}  ${task.message.task}  attempts=${task.message.attempt}  args=${JSON.stringify(task.message.args)}`
    : `(unreadable message) ${JSON.stringify(task.body.slice(0, 200))}`;
  const at = task.at
    ? `  ${task.state === 'delayed' ? 'due' : task.state === 'running' ? 'lease-until' : 'failed'}=${task.at.toISOString()}`
    : '';
  const worker = task.worker !== undefined ? `  worker=${task.worker}` : '';
  const reason = task.reason !== undefined ? `  key=${task.key}  reason=${JSON.stringify(task.reason)}` : '';
  return `${what}${at}${worker}${reason}`;
}
