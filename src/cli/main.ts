/**
 * The `errand` command: a small dispatcher over node:util.parseArgs.
 * Exit status: 0 success, 1 failure, 2 wrong usage (with the command's help on stderr).
 */
import { ERRAND_VERSION } from '../daemon/version.ts';
import { type Io, UsageError } from './args.ts';
import { cancelCommand, cancelHelp } from './cancel.ts';
import { CommandFailed } from './context.ts';
import { dashboardCommand, dashboardHelp } from './dashboard.ts';
import { failedCommand, failedHelp } from './failed.ts';
import { pauseCommand, pauseHelp, resumeCommand } from './pause.ts';
import { resqueHelp } from './resque-help.ts';
import { sendCommand, sendHelp } from './send.ts';
import { statusCommand, statusHelp } from './status.ts';
import { tasksCommand, tasksHelp } from './tasks.ts';
import { workerCommand, workerHelp } from './worker.ts';

export const mainHelp = `Usage: errand <command> [options]

Commands:
  worker    run the daemon from a config file (Errand, Gordon or Goophry format)
  send      enqueue a task from the shell (--wait prints its result)
  status    queues, depths, running and failed counts, live daemons
  failed    list, retry or purge failed tasks
  resque    run Resque jobs (goworker's flags): errand resque -queues=q1,q2 --modules ./jobs.js
  tasks     list a queue's waiting, delayed, running or dead tasks
  cancel    cancel a task by id (waiting, delayed or running)
  pause     stop workers taking from a queue (running tasks finish); resume: start again
  dashboard serve the web dashboard (queues, tasks, actions): errand dashboard --listen 127.0.0.1:8080

Run "errand <command> --help" for a command's options. "errand --version" prints the version.
Exit status: 0 success, 1 failure, 2 wrong usage.
`;

type Command = (argv: readonly string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  worker: { run: workerCommand, help: workerHelp },
  send: { run: sendCommand, help: sendHelp },
  status: { run: statusCommand, help: statusHelp },
  failed: { run: failedCommand, help: failedHelp },
  // Loaded on use: Resque mode needs @redis/client, an optional peer dependency.
  resque: {
    run: async (argv, io) => (await import('./resque.ts')).resqueCommand(argv, io),
    help: resqueHelp,
  },
  tasks: { run: tasksCommand, help: tasksHelp },
  cancel: { run: cancelCommand, help: cancelHelp },
  pause: { run: pauseCommand, help: pauseHelp },
  resume: { run: resumeCommand, help: pauseHelp },
  dashboard: { run: dashboardCommand, help: dashboardHelp },
};

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' && rest[0] ? COMMANDS[rest[0]] : undefined;
    const text = topic?.help ?? mainHelp;
    if (name === undefined) io.err(text);
    else io.out(text);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-version' || name === '-V') {
    io.out(`errand version ${ERRAND_VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`errand: unknown command ${JSON.stringify(name)}\n\n${mainHelp}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`errand ${name}: ${err.message}\n\n${command.help}`);
      return 2;
    }
    io.err(`errand ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    if (!(err instanceof CommandFailed) && err instanceof Error && process.env.ERRAND_DEBUG)
      io.err(`${err.stack}\n`);
    return 1;
  }
}

/** Entry point of bin/errand.js: runs, then exits with the status (open handles must not keep it alive). */
export async function run(): Promise<void> {
  // `errand failed list | head`: a closed pipe ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const code = await main(process.argv.slice(2));
  // Let stdout/stderr flush before exiting.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
