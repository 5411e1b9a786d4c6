/** The workflow half of the Errand facade: chain, group, chord, workflow(id). errand.ts delegates here. */
import { ErrandConfigError, GroupsUnsupportedError } from '../core/errors.ts';
import type { TaskRecord, TaskState } from '../core/port.ts';
import type { Runtime } from '../core/runtime.ts';
import { compile, type GraphNode, graphOf, resultId } from './compile.ts';
import { enqueueAll, expand } from './dispatch.ts';
import {
  type Accepting,
  type AnyFlow,
  Composite,
  type FlowNode,
  type FlowSender,
  type InOf,
  type Mode,
  type ModeOf,
  type OutOf,
  type WaitOptions,
  type WorkflowHandle,
} from './flow.ts';

/** Results of a group's members, in order. */
export type GroupOut<M extends readonly unknown[]> = { -readonly [K in keyof M]: OutOf<M[K]> };

/** One node of a workflow with its state. */
export interface WorkflowNodeState extends GraphNode {
  readonly state: TaskState;
  readonly result?: unknown;
  readonly error?: TaskRecord['error'];
}

export interface WorkflowState {
  readonly id: string;
  /** SUCCESS or FAILURE once the workflow's result node is final; otherwise PENDING or running states. */
  readonly state: TaskState;
  readonly nodes: readonly WorkflowNodeState[];
}

export interface WorkflowServices {
  readonly runtime: Runtime;
  result(id: string, options?: WaitOptions): Promise<unknown>;
  status(id: string): Promise<TaskRecord | undefined>;
}

const graphId = (id: string): string => `${id}.workflow`;

export class Workflows implements FlowSender {
  constructor(private readonly services: WorkflowServices) {}

  /** Each link gets the previous one's result (appended), unless it is immutable (`.si`). */
  chain<A extends AnyFlow>(a: A): Composite<InOf<A>, OutOf<A>, ModeOf<A>>;
  chain<A extends AnyFlow, B extends Accepting<OutOf<A>>>(
    a: A,
    b: B,
  ): Composite<InOf<A>, OutOf<B>, ModeOf<A>>;
  chain<A extends AnyFlow, B extends Accepting<OutOf<A>>, C extends Accepting<OutOf<B>>>(
    a: A,
    b: B,
    c: C,
  ): Composite<InOf<A>, OutOf<C>, ModeOf<A>>;
  chain<
    A extends AnyFlow,
    B extends Accepting<OutOf<A>>,
    C extends Accepting<OutOf<B>>,
    D extends Accepting<OutOf<C>>,
  >(a: A, b: B, c: C, d: D): Composite<InOf<A>, OutOf<D>, ModeOf<A>>;
  chain<
    A extends AnyFlow,
    B extends Accepting<OutOf<A>>,
    C extends Accepting<OutOf<B>>,
    D extends Accepting<OutOf<C>>,
    E extends Accepting<OutOf<D>>,
  >(a: A, b: B, c: C, d: D, e: E): Composite<InOf<A>, OutOf<E>, ModeOf<A>>;
  chain<
    A extends AnyFlow,
    B extends Accepting<OutOf<A>>,
    C extends Accepting<OutOf<B>>,
    D extends Accepting<OutOf<C>>,
    E extends Accepting<OutOf<D>>,
    F extends Accepting<OutOf<E>>,
  >(a: A, b: B, c: C, d: D, e: E, f: F): Composite<InOf<A>, OutOf<F>, ModeOf<A>>;
  chain(...links: AnyFlow[]): Composite<unknown[], unknown, Mode> {
    if (links.length === 0) throw new ErrandConfigError('chain', 'needs at least one link');
    checkFlows('chain', links);
    return new Composite(this, { kind: 'chain', links: links.map((l) => l.node) });
  }

  /** Members run in parallel; the result is their results in order. Members take what the first takes. */
  group<M extends readonly AnyFlow[]>(
    members: readonly [...M],
  ): Composite<InOf<M[0]>, GroupOut<M>, ModeOf<M[0]>> {
    return new Composite(this, this.groupNode('group', members));
  }

  /** A group, then `callback` with all results (appended) once every member succeeded. */
  chord<M extends readonly AnyFlow[], C extends Accepting<GroupOut<M>>>(
    members: readonly [...M],
    callback: C,
  ): Composite<InOf<M[0]>, OutOf<C>, ModeOf<M[0]>> {
    checkFlows('chord callback', [callback]);
    return new Composite(this, { ...this.groupNode('chord', members), callback: callback.node });
  }

  private groupNode(what: string, members: readonly AnyFlow[]): Extract<FlowNode, { kind: 'group' }> {
    if (!Array.isArray(members) || members.length === 0)
      throw new ErrandConfigError(what, 'needs a non-empty array of members');
    checkFlows(what, members);
    return { kind: 'group', members: members.map((m) => m.node) };
  }

  async sendFlow<R>(node: FlowNode): Promise<WorkflowHandle<R>> {
    const { runtime } = this.services;
    const root = compile(node);
    const id = resultId(root);
    const { backend } = await runtime.stores();
    if (hasGroup(node) && !backend.groups) {
      throw new GroupsUnsupportedError(backend.name);
    }
    const now = Date.now();
    await backend.write(
      [
        {
          id: graphId(id),
          task: '$workflow',
          queue: '',
          state: 'PENDING',
          attempt: 0,
          result: graphOf(root),
          createdAt: now,
          updatedAt: now,
        },
      ],
      runtime.options.resultTtlMs,
    );
    await enqueueAll(runtime, expand(runtime, root, root.id!, { kind: 'none' }, undefined));
    return this.handle<R>(id);
  }

  /** A handle on any node id (from any process sharing the result backend). */
  handle<R>(id: string): WorkflowHandle<R> {
    return {
      id,
      workflowId: id,
      result: (options) => this.services.result(id, options) as Promise<R>,
      state: async () => (await this.services.status(id))?.state ?? 'PENDING',
    };
  }

  /** Every node of the workflow whose handle id is `id`, with its state; undefined when unknown or expired. */
  async workflow(id: string): Promise<WorkflowState | undefined> {
    const graph = await this.services.status(graphId(id));
    if (!graph) return undefined;
    const nodes = await Promise.all(
      (graph.result as GraphNode[]).map(async (node): Promise<WorkflowNodeState> => {
        const record = await this.services.status(node.id);
        return {
          ...node,
          state: record?.state ?? 'PENDING',
          ...(record?.result !== undefined && { result: record.result }),
          ...(record?.error !== undefined && { error: record.error }),
        };
      }),
    );
    return { id, state: nodes.find((n) => n.id === id)?.state ?? 'PENDING', nodes };
  }
}

function checkFlows(what: string, flows: readonly unknown[]): void {
  flows.forEach((flow, i) => {
    if (typeof flow !== 'object' || flow === null || !('node' in flow))
      throw new ErrandConfigError(
        `${what}[${i}]`,
        'must be a signature (task.s(), task.si()), chain, group or chord',
      );
  });
}

function hasGroup(node: FlowNode): boolean {
  switch (node.kind) {
    case 'group':
      return true;
    case 'chain':
      return node.links.some(hasGroup);
    case 'task':
      return [...node.onSuccess, ...node.onError].some(hasGroup);
  }
}
