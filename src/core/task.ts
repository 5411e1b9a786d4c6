/** Typed task handles: the argument and result types flow from the handler to send() and result(). */

import { type FlowSender, type Prefix, type Rest, Signature, signatureNode } from '../workflow/flow.ts';
import type { TaskContext } from './context.ts';
import type { SendOptions, TaskOptions } from './options.ts';
import type { TaskRecord } from './port.ts';

/**
 * A task handler: positional JSON arguments in, a JSON value (or nothing) out. `this` is the task's
 * context. `errand.task()` also checks that the types are JSON-safe (see JsonChecked in json.ts).
 */
export type Handler<A extends unknown[], R> = (this: TaskContext, ...args: A) => R | Promise<R>;

export interface ResultOptions {
  /** Give up after this long (rejects with ResultTimeoutError). Default: wait without limit. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A task that was sent: its id, and how to wait for its result. */
export interface SentTask<R> {
  readonly id: string;
  readonly task: string;
  readonly queue: string;
  /** True when a task with this id was already sent (idempotency), so this send did nothing. */
  readonly duplicate: boolean;
  /** Resolves with the handler's return value; rejects with TaskFailedError if the task failed for good. */
  result(options?: ResultOptions): Promise<R>;
  /** The stored record; a task not yet started reads as PENDING. */
  status(): Promise<TaskRecord>;
}

/** What a Task needs from its Errand (kept narrow so tasks stay testable). */
export interface TaskSender {
  sendMany<R>(
    task: string,
    argsList: readonly (readonly unknown[])[],
    options: SendOptions,
  ): Promise<SentTask<R>[]>;
  /** Sends workflows (signatures made by `.s()` and `.si()`). */
  readonly flows: FlowSender;
}

export interface TaskDefinition<A extends unknown[], R> {
  readonly name: string;
  readonly handler: Handler<A, R>;
  readonly options: TaskOptions;
}

export class Task<A extends unknown[], R> {
  constructor(
    private readonly sender: TaskSender,
    readonly definition: TaskDefinition<A, unknown>,
    private readonly callOptions: SendOptions = {},
  ) {}

  get name(): string {
    return this.definition.name;
  }

  /** Send one task; arguments are checked against the handler's parameters. */
  async send(...args: A): Promise<SentTask<R>> {
    const [sent] = await this.sender.sendMany<R>(this.name, [args], this.mergedOptions({}));
    return sent!;
  }

  /** Send many tasks in one round trip. */
  sendBulk(argsList: readonly A[], options: Omit<SendOptions, 'id'> = {}): Promise<SentTask<R>[]> {
    return this.sender.sendMany<R>(this.name, argsList, this.mergedOptions(options));
  }

  /** The same task with per-call options: `add.with({ delayMs: 500 }).send(2, 3)`. */
  with(options: SendOptions): Task<A, R> {
    return new Task<A, R>(this.sender, this.definition, { ...this.callOptions, ...options });
  }

  /**
   * A signature for workflows: the arguments given now, the rest filled by the previous result
   * (`mul.s(10)` in a chain after `add` runs `mul(10, <add's result>)`).
   */
  s<P extends Prefix<A>>(...args: P): Signature<Rest<A, P>, R, 'append'> {
    return new Signature(this.sender.flows, signatureNode(this.name, args, false, this.flowOptions()));
  }

  /** An immutable signature: all its arguments given now, it gets no result from a previous task. */
  si(...args: A): Signature<[], R, 'fixed'> {
    return new Signature(this.sender.flows, signatureNode(this.name, args, true, this.flowOptions()));
  }

  /** The options of `.with()` that travel with a signature. */
  private flowOptions() {
    const { queue, retries, timeoutMs } = { ...this.definition.options, ...this.callOptions };
    return {
      ...(queue !== undefined && { queue }),
      ...(retries !== undefined && { retries }),
      ...(timeoutMs !== undefined && { timeoutMs }),
    };
  }

  private mergedOptions(options: SendOptions): SendOptions {
    return { ...this.definition.options, ...this.callOptions, ...options };
  }
}
