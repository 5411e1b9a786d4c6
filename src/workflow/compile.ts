/** Gives every node of a flow tree its id and turns it into wire links (src/workflow/wire.ts). */
import { newTaskId } from '../core/ids.ts';
import type { FlowNode } from './flow.ts';
import { isGroupLink, type Link, type Links } from './wire.ts';

/** `node` as a link, with `next` attached at its end (a chain's last link, a chord's callback). */
export function compile(node: FlowNode, next?: Link): Link {
  switch (node.kind) {
    case 'task': {
      const links: Links = {
        ...(next && { next }),
        ...(node.onSuccess.length > 0 && { onSuccess: node.onSuccess.map((n) => compile(n)) }),
        ...(node.onError.length > 0 && { onError: node.onError.map((n) => compile(n)) }),
      };
      const { id, queue, retries, timeoutMs } = node.options;
      return {
        id: id ?? newTaskId(),
        task: node.task,
        args: node.args,
        ...(node.immutable && { immutable: true }),
        ...(queue !== undefined && { queue }),
        ...(retries !== undefined && { retries }),
        ...(timeoutMs !== undefined && { timeoutMs }),
        ...(Object.keys(links).length > 0 && { links }),
      };
    }
    case 'chain': {
      let link = next;
      for (let i = node.links.length - 1; i >= 0; i--) link = compile(node.links[i]!, link);
      if (!link) throw new Error('a chain needs at least one link');
      return link;
    }
    case 'group': {
      const after = node.callback ? compile(node.callback, next) : next;
      return {
        id: newTaskId(),
        group: node.members.map((m) => compile(m)),
        ...(after && { links: { next: after } }),
      };
    }
  }
}

/** The id whose result is the link's result: the end of its `next` chain. */
export function resultId(link: Link): string {
  let at = link;
  while (at.links?.next) at = at.links.next;
  return at.id!;
}

/** One node of a workflow, as `errand.workflow(id)` lists it. */
export interface GraphNode {
  readonly id: string;
  /** The task name, or "$group". */
  readonly task: string;
  /** The group it is a member of, if any. */
  readonly group?: string;
}

/** Every node of a compiled workflow (chain links, group members, callbacks). */
export function graphOf(root: Link): GraphNode[] {
  const nodes: GraphNode[] = [];
  const visit = (link: Link, group?: string): void => {
    nodes.push({ id: link.id!, task: isGroupLink(link) ? '$group' : link.task, ...(group && { group }) });
    if (isGroupLink(link)) for (const member of link.group) visit(member, link.id);
    for (const l of [...(link.links?.onSuccess ?? []), ...(link.links?.onError ?? [])]) visit(l);
    if (link.links?.next) visit(link.links.next, group);
  };
  visit(root);
  return nodes;
}
