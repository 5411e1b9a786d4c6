/**
 * Workflow building blocks, typed: a Flow<In, Out> needs `In` from its predecessor (`[]`: nothing,
 * `[X]`: the previous result, appended to its arguments) and produces `Out`.
 * Signatures (`task.s()`, `task.si()`), chains, groups and chords are all Flows, so they nest.
 */
import type { TaskState } from '../core/port.ts';

/** How a flow takes its predecessor's result: appended as the last argument, or not at all (immutable). */
export type Mode = 'append' | 'fixed';

/** Options a signature can carry onto the wire. */
export interface SignatureOptions {
  readonly queue?: string;
  readonly retries?: number;
  readonly timeoutMs?: number;
  /** Its task id (default: a new one when sent). */
  readonly id?: string;
}

/** A node of the flow tree before ids are assigned (see compile.ts). */
export type FlowNode =
  | {
      readonly kind: 'task';
      readonly task: string;
      readonly args: readonly unknown[];
      readonly immutable: boolean;
      readonly options: SignatureOptions;
      readonly onSuccess: readonly FlowNode[];
      readonly onError: readonly FlowNode[];
    }
  | { readonly kind: 'chain'; readonly links: readonly FlowNode[] }
  | { readonly kind: 'group'; readonly members: readonly FlowNode[]; readonly callback?: FlowNode };

/** How long to wait for a result. */
export interface WaitOptions {
  /** Give up after this long (rejects with ResultTimeoutError). Default: wait without limit. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A sent workflow (or any node of one): its id, result and state, readable from any process. */
export interface WorkflowHandle<R> {
  /** The id of the node whose result is the workflow's result (the last link of a chain, a chord's callback, a group). */
  readonly id: string;
  /** The workflow's id: `errand.workflow(id)` lists every node's state. Same as `id`. */
  readonly workflowId: string;
  /** Resolves with the result; rejects with TaskFailedError if a node it needs failed for good. */
  result(options?: WaitOptions): Promise<R>;
  /** PENDING until the node runs; SUCCESS or FAILURE at the end. */
  state(): Promise<TaskState>;
}

/** What sends a flow (the Errand, through src/workflow/workflows.ts). */
export interface FlowSender {
  sendFlow<R>(node: FlowNode): Promise<WorkflowHandle<R>>;
}

/** Anything that can run as a workflow node. The type parameters exist for the compiler only. */
export abstract class Flow<In extends unknown[], Out, M extends Mode = Mode> {
  /** Contravariant, as a parameter is: a flow taking `number[]` can follow one producing `[number, number]`. */
  declare readonly __in: (...args: In) => void;
  /** How many arguments it takes from its predecessor (0 or 1): a fully bound `.s()` cannot follow anything. */
  declare readonly __arity: In['length'];
  declare readonly __out: Out;
  declare readonly __mode: M;
  abstract readonly node: FlowNode;
  protected abstract readonly sender: FlowSender;

  /** Send it: every node gets an id, and the first tasks are enqueued. Only a flow that needs no input can be sent. */
  send(this: Flow<[], Out, M>): Promise<WorkflowHandle<Out>> {
    return this.sender.sendFlow<Out>(this.node);
  }
}

/** A chain, group or chord. */
export class Composite<In extends unknown[], Out, M extends Mode = Mode> extends Flow<In, Out, M> {
  constructor(
    protected readonly sender: FlowSender,
    readonly node: FlowNode,
  ) {
    super();
  }
}

/** A flow that can follow one producing `P`: takes it as its last argument, or ignores it. */
export type Accepting<P> = Flow<[P], unknown, 'append'> | Flow<[], unknown, 'fixed'>;
/** A flow that needs nothing from a predecessor (the first of a chain, a group member, a root). */
export type Standalone = Flow<[], unknown, Mode>;

/** Any flow, whatever it takes and makes (a constraint for generic parameters). */
export interface AnyFlow {
  readonly node: FlowNode;
  readonly __in: (...args: never) => void;
  readonly __out: unknown;
  readonly __mode: Mode;
}

export type OutOf<F> = F extends { readonly __out: infer O } ? O : never;
export type InOf<F> = F extends { readonly __in: (...args: infer I) => void } ? I : never;
export type ModeOf<F> = F extends { readonly __mode: infer M extends Mode } ? M : never;

/** A task with some arguments bound: `add.s(1, 2)`, `mul.s(10)`, `add.si(4, 5)`. */
export class Signature<In extends unknown[], Out, M extends Mode = Mode> extends Flow<In, Out, M> {
  constructor(
    protected readonly sender: FlowSender,
    readonly node: Extract<FlowNode, { kind: 'task' }>,
  ) {
    super();
  }

  /** Run `callback` with this task's result appended to its arguments, when it succeeds. */
  onSuccess(callback: Accepting<Out>): Signature<In, Out, M> {
    return new Signature(this.sender, { ...this.node, onSuccess: [...this.node.onSuccess, callback.node] });
  }

  /** Run `callback` with the error message as its first argument, when this task fails for good. */
  onError(callback: Flow<[string], unknown, 'append'> | Flow<[], unknown, 'fixed'>): Signature<In, Out, M> {
    const node = callback.node;
    return new Signature(this.sender, { ...this.node, onError: [...this.node.onError, node] });
  }

  /** The same signature with wire options (queue, retries, timeoutMs, id). */
  with(options: SignatureOptions): Signature<In, Out, M> {
    return new Signature(this.sender, { ...this.node, options: { ...this.node.options, ...options } });
  }
}

/** Builds a signature node (task.ts calls this for `.s()` and `.si()`). */
export function signatureNode(
  task: string,
  args: readonly unknown[],
  immutable: boolean,
  options: SignatureOptions,
): Extract<FlowNode, { kind: 'task' }> {
  return { kind: 'task', task, args, immutable, options, onSuccess: [], onError: [] };
}

/** `A` minus the leading arguments `P` (the ones a signature binds). */
export type Rest<A extends unknown[], P extends unknown[]> = Drop<A, P['length']>;
/** `A` without its first `N` elements (by count: the bound arguments may be inferred as literals). */
type Drop<A extends unknown[], N extends number, Dropped extends unknown[] = []> = Dropped['length'] extends N
  ? A
  : A extends [unknown, ...infer T]
    ? Drop<T, N, [...Dropped, unknown]>
    : [];
/** Every leading part of `A`: `[]`, `[A0]`, `[A0, A1]`, … */
export type Prefix<A extends unknown[]> = A extends [...infer H, unknown] ? A | Prefix<H> : A;
