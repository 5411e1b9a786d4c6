/**
 * What the daemon logs about tasks. In Gordon's and Goophry's log formats the lines are theirs
 * (people grep these logs): Gordon `Failed executing task for type "t"` with the payload and
 * error, debug lines per run; Goophry its plain lines. In Errand's formats, one structured line
 * per event.
 */
import type { TaskEventBase, WorkerEvents } from '../core/worker/events.ts';
import type { Logger } from './logger.ts';
import { goJson, malformedText } from './notifications.ts';

export interface TaskLog {
  started(task: string, id: string, args: readonly string[], env: Readonly<Record<string, string>>): void;
  completed(e: TaskEventBase & WorkerEvents['completed']): void;
  retrying(e: TaskEventBase & WorkerEvents['retrying']): void;
  /** `text` is the error-script text of the failure (Gordon's and Goophry's log line). */
  failed(e: TaskEventBase & WorkerEvents['failed'], text: string): void;
  dead(e: WorkerEvents['dead']): void;
}

const stringArgs = (args: readonly unknown[]): string[] =>
  args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a)));

export function taskLog(log: Logger): TaskLog {
  if (log.format === 'gordon' || log.format === 'goophry') return goLog(log, log.format);
  return {
    started: (task, id, args) => log.debug('Executing task', { task, id, args: JSON.stringify(args) }),
    completed: (e) =>
      log.info('task completed', {
        task: e.task,
        id: e.id,
        attempt: e.attempt,
        ms: Math.round(e.durationMs),
      }),
    retrying: (e) =>
      log.warn('task failed, will retry', {
        task: e.task,
        id: e.id,
        attempt: e.attempt,
        error: e.error.message,
        delay_ms: e.delayMs,
      }),
    failed: (e) =>
      log.error('task failed', { task: e.task, id: e.id, attempt: e.attempt, error: e.error.message }),
    dead: (e) => log.error('malformed task', { queue: e.queue, reason: e.reason, payload: e.body }),
  };
}

function goLog(log: Logger, flavour: 'gordon' | 'goophry'): TaskLog {
  const payload = (args: readonly unknown[], env: Readonly<Record<string, string>> | undefined) =>
    goJson({ args: stringArgs(args), env: env ?? {} });
  return {
    started: (task, _id, args, env) =>
      log.debug(
        flavour === 'gordon'
          ? `Executing task type ${task} - Payload: ${payload(args, env)}`
          : `Executing task type ${task} with payload [${args.join(' ')}]`,
      ),
    completed: (e) => {
      if (flavour === 'gordon')
        log.debug(`Finished task type ${e.task} - Payload: ${payload(e.message.args, e.message.env)}`);
    },
    retrying: (e) =>
      log.warn(
        `Failed executing task for type "${e.task}", retrying in ${e.delayMs} ms (attempt ${e.attempt})\nPayload:\n${payload(e.message.args, e.message.env)}\n\n${e.error.message}`,
      ),
    failed: (_e, text) => log.error(text),
    dead: (e) => log.error(malformedText(flavour, e.queue, e.body, e.reason)),
  };
}
