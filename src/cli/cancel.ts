/** `errand cancel ID`: cancel a task from any process (see docs/operations.md). */
import { type Io, type Options, parse, str, UsageError } from './args.ts';
import { clientErrand, confHelp, confOption, openConfig } from './context.ts';

export const cancelOptions: Options = {
  ...confOption,
  queue: { type: 'string', short: 'q' },
  help: { type: 'boolean', short: 'h' },
};

export const cancelHelp = `Usage: errand cancel ID... [options]

  A waiting or delayed task is removed from its queue; a running one has its signal aborted
  on whichever worker runs it (command tasks get SIGTERM, then SIGKILL). Either way its
  state becomes CANCELLED and waiting for its result fails with TaskCancelledError.
  Exit status 1 when a task had already finished. An id that starts with "-" goes after "--":
  errand cancel -- -Xy3...

Options:
${confHelp}  -q, --queue NAME     the queue to look in (default: the task's recorded queue, else "default")
  -h, --help           show this help
`;

export async function cancelCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, cancelOptions, true);
  if (values.help) {
    io.out(cancelHelp);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('cancel needs a task ID');
  const errand = clientErrand(openConfig(values, io));
  const queue = str(values.queue);
  let code = 0;
  try {
    for (const id of positionals) {
      const done = await errand.cancel(id, queue === undefined ? {} : { queue });
      if (done.outcome === 'removed') io.out(`${id}: cancelled (removed from the queue)\n`);
      else if (done.outcome === 'signalled')
        io.out(`${id}: cancelled (the worker running it was told to stop)\n`);
      else {
        io.err(`${id}: not cancelled: it already finished (${done.state})\n`);
        code = 1;
      }
    }
    return code;
  } finally {
    await errand.close();
  }
}
