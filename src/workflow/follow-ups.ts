/**
 * The one call the executor makes when a task carrying `links` has its outcome decided (success
 * with its value, or failure for good), before the task is acknowledged: follow-ups are
 * enqueued first, so a crash in between runs the task again and re-enqueues them, and their ids
 * (fixed in the message, or derived from the parent's) make the second enqueue a duplicate.
 */
import { GroupsUnsupportedError } from '../core/errors.ts';
import type { TaskMessage } from '../core/message.ts';
import type { TaskErrorInfo, TaskRecord } from '../core/port.ts';
import type { Runtime } from '../core/runtime.ts';
import { enqueueAll, expand, type Input, linkId, type Outgoing } from './dispatch.ts';
import { isGroupLink, type Link, type Links } from './wire.ts';

export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: TaskErrorInfo };

export async function runFollowUps(
  runtime: Runtime,
  message: TaskMessage,
  queue: string,
  outcome: Outcome,
): Promise<void> {
  const links = message.links;
  if (!links) return;
  const out: Outgoing[] = [];
  const records: TaskRecord[] = [];
  const node = { id: message.id, task: message.task, queue };
  if (outcome.ok) await succeeded(runtime, node, links, outcome.value, out, records);
  else await failed(runtime, node, links, outcome.error, out, records);
  // Records first: a handle waiting on a group sees its result before its callback can finish.
  if (records.length > 0) {
    const { backend } = await runtime.stores();
    await backend.write(records, runtime.options.resultTtlMs);
  }
  if (out.length > 0) await enqueueAll(runtime, out);
}

/** The task name of a group's own record. */
const GROUP_TASK = '$group';

interface Node {
  readonly id: string;
  readonly task: string;
  readonly queue: string;
}

async function succeeded(
  runtime: Runtime,
  node: Node,
  links: Links,
  value: unknown,
  out: Outgoing[],
  records: TaskRecord[],
): Promise<void> {
  const input: Input = { kind: 'result', value };
  for (const [i, link] of (links.onSuccess ?? []).entries()) {
    expand(runtime, link, linkId(link, node.id, `ok${i}`), input, undefined, out);
  }
  if (links.next) {
    expand(runtime, links.next, linkId(links.next, node.id, 'next'), input, links.member, out);
    return;
  }
  const member = links.member;
  if (!member) return;
  const status = await (await groupsOf(runtime)).succeed(
    member.group,
    member.size,
    member.index,
    value,
    runtime.options.resultTtlMs,
  );
  if (status.state !== 'complete') return;
  const group = { id: member.group, task: GROUP_TASK, queue: node.queue };
  records.push(record(group, 'SUCCESS', { result: status.results }));
  await succeeded(runtime, group, member.links ?? {}, status.results, out, records);
}

async function failed(
  runtime: Runtime,
  node: Node,
  links: Links,
  error: TaskErrorInfo,
  out: Outgoing[],
  records: TaskRecord[],
): Promise<void> {
  const input: Input = { kind: 'error', message: error.message };
  for (const [i, link] of (links.onError ?? []).entries()) {
    expand(runtime, link, linkId(link, node.id, `err${i}`), input, undefined, out);
  }
  // The rest of the chain will not run: its handles reject with this error.
  let next = links.next;
  let parent = node.id;
  // A failed group is a failed chord: its callback's onError runs (once: its id is derived).
  if (node.task === GROUP_TASK && next && !isGroupLink(next)) {
    const callbackId = linkId(next, parent, 'next');
    for (const [i, link] of (next.links?.onError ?? []).entries()) {
      expand(runtime, link, linkId(link, callbackId, `err${i}`), input, undefined, out);
    }
  }
  while (next) {
    const id = linkId(next, parent, 'next');
    records.push(
      record({ id, task: isGroupLink(next) ? GROUP_TASK : next.task, queue: node.queue }, 'FAILURE', {
        error,
      }),
    );
    parent = id;
    next = nextOf(next);
  }
  const member = links.member;
  if (!member) return;
  const status = await (await groupsOf(runtime)).fail(
    member.group,
    member.size,
    member.index,
    runtime.options.resultTtlMs,
  );
  // A member failing after its group completed (it ran again after its ack was lost) changes nothing.
  if (status.state !== 'failed') return;
  const group = { id: member.group, task: GROUP_TASK, queue: node.queue };
  records.push(record(group, 'FAILURE', { error }));
  await failed(runtime, group, member.links ?? {}, error, out, records);
}

function nextOf(link: Link): Link | undefined {
  return link.links?.next;
}

async function groupsOf(runtime: Runtime) {
  const { backend } = await runtime.stores();
  if (!backend.groups) throw new GroupsUnsupportedError(backend.name);
  return backend.groups;
}

function record(
  node: Node,
  state: 'SUCCESS' | 'FAILURE',
  extra: { result?: unknown; error?: TaskErrorInfo },
): TaskRecord {
  const now = Date.now();
  return {
    id: node.id,
    task: node.task,
    queue: node.queue,
    state,
    attempt: 1,
    createdAt: now,
    updatedAt: now,
    ...extra,
  };
}
