/** `errand pause QUEUE` / `errand resume QUEUE`: workers of every process stop (start) taking from a queue. */
import { type Io, type Options, parse, UsageError } from './args.ts';
import { clientErrand, confHelp, confOption, openConfig } from './context.ts';

export const pauseOptions: Options = { ...confOption, help: { type: 'boolean', short: 'h' } };

export const pauseHelp = `Usage: errand pause QUEUE... [options]
       errand resume QUEUE... [options]

  pause: workers stop taking tasks from the queues within a second; running tasks finish.
  resume: they take tasks again.

Options:
${confHelp}  -h, --help           show this help
`;

export const pauseCommand = (argv: readonly string[], io: Io): Promise<number> => setPaused(argv, io, true);
export const resumeCommand = (argv: readonly string[], io: Io): Promise<number> => setPaused(argv, io, false);

async function setPaused(argv: readonly string[], io: Io, paused: boolean): Promise<number> {
  const { values, positionals } = parse(argv, pauseOptions, true);
  if (values.help) {
    io.out(pauseHelp);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`${paused ? 'pause' : 'resume'} needs a QUEUE name`);
  const errand = clientErrand(openConfig(values, io));
  try {
    for (const queue of positionals) {
      await (paused ? errand.pause(queue) : errand.resume(queue));
      io.out(`queue "${queue}" ${paused ? 'paused' : 'resumed'}\n`);
    }
    return 0;
  } finally {
    await errand.close();
  }
}
