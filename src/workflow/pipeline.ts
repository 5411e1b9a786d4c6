/**
 * Step pipelines (gotasks): one task runs its steps in order, each step's output map the next
 * one's input. Progress is written to the result backend after every step (`<id>.pipeline`),
 * so a retry, a `errand failed retry`, or a redelivery after a crash resumes at the step that
 * has not completed, with the last good map. A `reentrant` step is retried in place first.
 */
import { sleep } from '../core/clock.ts';
import type { TaskContext } from '../core/context.ts';
import { ErrandConfigError, PipelineStepError, toErrorInfo } from '../core/errors.ts';
import type { Json } from '../core/json.ts';
import type { SendOptions } from '../core/options.ts';
import type { TaskErrorInfo } from '../core/port.ts';
import type { Runtime } from '../core/runtime.ts';
import type { SentTask, Task } from '../core/task.ts';

/** What flows between steps: a JSON object. */
export type ArgsMap = { readonly [key: string]: Json };
export type Step = (args: ArgsMap) => ArgsMap | Promise<ArgsMap>;

export interface ReentrantOptions {
  /** Tries in place, the first included (an integer ≥ 1). */
  readonly attempts: number;
  /** Milliseconds between tries (≥ 0). */
  readonly delayMs: number;
}

/** A step retried in place: made by `reentrant()`. */
export interface ReentrantStep extends ReentrantOptions {
  readonly reentrant: true;
  readonly step: Step;
  readonly name: string;
}

export type PipelineStep = Step | ReentrantStep;

/** Retry `step` in place up to `attempts` times, `delayMs` apart, before the task fails. */
export function reentrant(step: Step, options: ReentrantOptions): ReentrantStep {
  if (typeof step !== 'function') throw new ErrandConfigError('reentrant(step)', 'step must be a function');
  const { attempts, delayMs } = options ?? ({} as Partial<ReentrantOptions>);
  if (!Number.isSafeInteger(attempts) || attempts < 1)
    throw new ErrandConfigError('reentrant.attempts', `must be an integer ≥ 1, got ${String(attempts)}`);
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)
    throw new ErrandConfigError('reentrant.delayMs', `must be a number of ms ≥ 0, got ${String(delayMs)}`);
  return { reentrant: true, step, name: step.name || 'anonymous', attempts, delayMs };
}

/** One step's entry in the pipeline's log. */
export interface StepLog {
  readonly index: number;
  readonly name: string;
  readonly state: 'SUCCESS' | 'FAILURE';
  /** The task attempt it ran in (1 for the first). */
  readonly attempt: number;
  /** Tries in place (more than 1 only for a reentrant step). */
  readonly tries: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly error?: TaskErrorInfo;
}

/** A pipeline run's progress, as stored. */
export interface PipelineLog {
  readonly pipeline: string;
  /** Index of the next step to run (`steps` when done). */
  readonly next: number;
  readonly steps: number;
  /** The last good map: the input of step `next`. */
  readonly args: ArgsMap;
  readonly log: readonly StepLog[];
}

export const progressId = (taskId: string): string => `${taskId}.pipeline`;

const isArgsMap = (v: unknown): v is ArgsMap => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkSteps(name: string, steps: readonly PipelineStep[]): void {
  if (!Array.isArray(steps) || steps.length === 0)
    throw new ErrandConfigError(`pipeline("${name}")`, 'needs a non-empty array of steps');
  steps.forEach((step, i) => {
    if (
      typeof step !== 'function' &&
      !(isArgsMap(step) && (step as unknown as ReentrantStep).reentrant === true)
    )
      throw new ErrandConfigError(
        `pipeline("${name}").steps[${i}]`,
        'must be a function or reentrant(fn, …)',
      );
  });
}

export async function readLog(runtime: Runtime, id: string): Promise<PipelineLog | undefined> {
  const record = await (await runtime.stores()).backend.read(progressId(id));
  return record?.result as PipelineLog | undefined;
}

/** The handler of a pipeline task. */
export function pipelineHandler(runtime: Runtime, name: string, steps: readonly PipelineStep[]) {
  return async function runPipeline(this: TaskContext, input: ArgsMap): Promise<ArgsMap> {
    if (!isArgsMap(input)) throw new TypeError(`pipeline "${name}" takes one args map (a JSON object)`);
    const { backend } = await runtime.stores();
    const saved = await readLog(runtime, this.id);
    let progress: PipelineLog = saved ?? {
      pipeline: name,
      next: 0,
      steps: steps.length,
      args: input,
      log: [],
    };
    const save = async (p: PipelineLog): Promise<void> => {
      const now = Date.now();
      await backend.write(
        [
          {
            id: progressId(this.id),
            task: name,
            queue: this.queue,
            state: 'STARTED',
            attempt: this.attempt,
            result: p,
            createdAt: now,
            updatedAt: now,
          },
        ],
        runtime.options.resultTtlMs,
      );
      progress = p;
    };
    for (let index = progress.next; index < steps.length; index++) {
      const step = steps[index]!;
      const run = typeof step === 'function' ? step : step.step;
      const stepName = typeof step === 'function' ? step.name || 'anonymous' : step.name;
      const attempts = typeof step === 'function' ? 1 : step.attempts;
      const startedAt = Date.now();
      let tries = 0;
      let output: ArgsMap | undefined;
      let failure: unknown;
      while (tries < attempts && !this.signal.aborted) {
        tries++;
        try {
          const value = await run({ ...progress.args });
          if (!isArgsMap(value))
            throw new TypeError(
              `step must return an args map (a JSON object), got ${value === null ? 'null' : typeof value}`,
            );
          output = value;
          break;
        } catch (err) {
          failure = err;
          if (tries < attempts && typeof step !== 'function') await sleep(step.delayMs, this.signal);
        }
      }
      const entry = {
        index,
        name: stepName,
        attempt: this.attempt,
        tries,
        startedAt,
        finishedAt: Date.now(),
      };
      if (output === undefined) {
        const error = new PipelineStepError(name, index, stepName, failure ?? this.signal.reason);
        await save({
          ...progress,
          log: [
            ...progress.log,
            { ...entry, state: 'FAILURE', error: toErrorInfo(failure ?? this.signal.reason) },
          ],
        });
        throw error;
      }
      await save({
        ...progress,
        next: index + 1,
        args: output,
        log: [...progress.log, { ...entry, state: 'SUCCESS' }],
      });
    }
    return progress.args;
  };
}

/** A sent pipeline run: a sent task whose progress log can be read. */
export interface PipelineRun extends SentTask<ArgsMap> {
  /** The per-step log so far; undefined before the first step ran (or after it expired). */
  log(): Promise<PipelineLog | undefined>;
}

/** What `errand.pipeline()` returns. */
export class Pipeline {
  constructor(
    private readonly runtime: Runtime,
    readonly task: Task<[ArgsMap], ArgsMap>,
  ) {}

  get name(): string {
    return this.task.name;
  }

  /** Start a run with this args map. */
  async send(args: ArgsMap, options: SendOptions = {}): Promise<PipelineRun> {
    const sent = await this.task.with(options).send(args);
    return { ...sent, log: () => this.log(sent.id) };
  }

  /** The per-step log of run `id` (from any process sharing the result backend). */
  log(id: string): Promise<PipelineLog | undefined> {
    return readLog(this.runtime, id);
  }
}
