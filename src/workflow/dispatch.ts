/**
 * Turns links into task messages and enqueues them. Every message is enqueued with its id as
 * the idempotency key, so enqueueing a link twice (its parent ran twice, or two members saw the
 * group complete) queues it once.
 */

import { LINKS_WIRE_VERSION, type TaskMessage, WIRE_VERSION } from '../core/message.ts';
import { DEFAULT_QUEUE } from '../core/options.ts';
import type { Runtime } from '../core/runtime.ts';
import { isGroupLink, type Link, type Links, type Membership } from './wire.ts';

/** What a link receives: the parent's value appended, the error message prepended, or nothing. */
export type Input =
  | { readonly kind: 'none' }
  | { readonly kind: 'result'; readonly value: unknown }
  | { readonly kind: 'error'; readonly message: string };

export interface Outgoing {
  readonly queue: string;
  readonly message: TaskMessage;
}

/** A link's id: its own, else derived from its parent's id and its place (stable across runs). */
export const linkId = (link: Link, parentId: string, slot: string): string =>
  link.id ?? `${parentId}.${slot}`;

/** The messages that start `link`, with `member` (a group to report to) passed down to its end. */
export function expand(
  runtime: Runtime,
  link: Link,
  id: string,
  input: Input,
  member: Membership | undefined,
  out: Outgoing[] = [],
): Outgoing[] {
  if (isGroupLink(link)) {
    const size = link.group.length;
    const groupLinks = withMember(link.links, member);
    link.group.forEach((child, index) => {
      const membership: Membership = { group: id, index, size, ...(groupLinks && { links: groupLinks }) };
      expand(runtime, child, linkId(child, id, String(index)), input, membership, out);
    });
    return out;
  }
  const args = [...(link.args ?? [])];
  if (input.kind === 'result' && !link.immutable) args.push(input.value);
  if (input.kind === 'error') args.unshift(input.message);
  const links = withMember(link.links, member);
  const queue = link.queue ?? runtime.definition(link.task)?.options.queue ?? DEFAULT_QUEUE;
  out.push({
    queue,
    message: {
      v: links !== undefined ? LINKS_WIRE_VERSION : WIRE_VERSION,
      id,
      task: link.task,
      args,
      attempt: 0,
      createdAt: Date.now(),
      ...(link.retries !== undefined && { retries: link.retries }),
      ...(link.timeoutMs !== undefined && { timeoutMs: link.timeoutMs }),
      ...(links !== undefined && { links }),
    },
  });
  return out;
}

/** `links` with the group membership added (undefined when there is nothing to carry). */
function withMember(links: Links | undefined, member: Membership | undefined): Links | undefined {
  if (!member) return links;
  return { ...links, member };
}

/** Enqueue messages, grouped by queue, each deduplicated by its id. */
export async function enqueueAll(runtime: Runtime, outgoing: readonly Outgoing[]): Promise<boolean[]> {
  const { broker } = await runtime.stores();
  const byQueue = new Map<string, number[]>();
  outgoing.forEach((o, i) => {
    const list = byQueue.get(o.queue) ?? [];
    list.push(i);
    byQueue.set(o.queue, list);
  });
  const duplicate = new Array<boolean>(outgoing.length).fill(false);
  for (const [queue, indexes] of byQueue) {
    const codec = runtime.codec(queue);
    const entries = indexes.map((i) => ({
      body: codec.encode(outgoing[i]!.message),
      dedupeKey: outgoing[i]!.message.id,
    }));
    const outcomes = await broker.enqueue(queue, entries, runtime.options.resultTtlMs);
    indexes.forEach((i, k) => {
      duplicate[i] = outcomes[k] === 'duplicate';
    });
  }
  return duplicate;
}
