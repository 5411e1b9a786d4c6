/**
 * Workflow links as they travel in a message (`links`, wire format version 1; docs/protocol.md
 * "Workflow links", schema/message.v1.json). Plain JSON, so a producer in any language can send a
 * task that carries its own follow-ups.
 */

/** Options a linked task may carry (the rest come from the task's defaults). */
interface LinkOptions {
  readonly queue?: string;
  readonly retries?: number;
  readonly timeoutMs?: number;
}

/** A task to enqueue when its parent finishes. */
export interface TaskLink extends LinkOptions {
  /** Its task id; absent means derived from the parent's id (so a second enqueue is a duplicate). */
  readonly id?: string;
  readonly task: string;
  readonly args?: readonly unknown[];
  /** True: gets no result from its parent (Machinery's Immutable). */
  readonly immutable?: boolean;
  readonly links?: Links;
}

/** Tasks run in parallel; the group's result is their results in order. */
export interface GroupLink {
  readonly id?: string;
  readonly group: readonly Link[];
  readonly links?: Links;
}

export type Link = TaskLink | GroupLink;

/** Where a group member reports: the group, and what the group does when complete or failed. */
export interface Membership {
  readonly group: string;
  readonly index: number;
  readonly size: number;
  readonly links?: Links;
}

export interface Links {
  /** The chain's next link: gets the result (appended to its args), and inherits `member`. */
  readonly next?: Link;
  /** Callbacks run with the result (appended), when the task succeeds. */
  readonly onSuccess?: readonly Link[];
  /** Callbacks run with the error message (prepended), when the task fails for good. */
  readonly onError?: readonly Link[];
  /** This task (or the end of its `next` chain) is member `index` of a group. */
  readonly member?: Membership;
}

export const isGroupLink = (link: Link): link is GroupLink => 'group' in link;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v !== '';

/** The first problem of a `links` value, naming its path; undefined when it is valid. */
export function linksProblem(value: unknown, path = 'links'): string | undefined {
  if (!isObject(value)) return `"${path}" must be an object`;
  if (value.next !== undefined) {
    const problem = linkProblem(value.next, `${path}.next`);
    if (problem) return problem;
  }
  for (const key of ['onSuccess', 'onError'] as const) {
    const list = value[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return `"${path}.${key}" must be an array of links`;
    for (const [i, link] of list.entries()) {
      const problem = linkProblem(link, `${path}.${key}[${i}]`);
      if (problem) return problem;
    }
  }
  if (value.member !== undefined) {
    const m = value.member;
    const at = `${path}.member`;
    if (!isObject(m)) return `"${at}" must be an object`;
    if (!nonEmpty(m.group)) return `"${at}.group" must be a non-empty string`;
    if (!Number.isSafeInteger(m.size) || (m.size as number) < 1) return `"${at}.size" must be an integer ≥ 1`;
    if (!isCount(m.index) || (m.index as number) >= (m.size as number))
      return `"${at}.index" must be an integer in [0, size)`;
    if (m.links !== undefined) return linksProblem(m.links, `${at}.links`);
  }
  return undefined;
}

function linkProblem(value: unknown, path: string): string | undefined {
  if (!isObject(value)) return `"${path}" must be an object`;
  if (value.id !== undefined && !nonEmpty(value.id)) return `"${path}.id" must be a non-empty string`;
  if (value.links !== undefined) {
    const problem = linksProblem(value.links, `${path}.links`);
    if (problem) return problem;
  }
  if ('group' in value) {
    if (!Array.isArray(value.group) || value.group.length === 0)
      return `"${path}.group" must be a non-empty array of links`;
    for (const [i, member] of value.group.entries()) {
      const problem = linkProblem(member, `${path}.group[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!nonEmpty(value.task)) return `"${path}.task" must be a non-empty string`;
  if (value.args !== undefined && !Array.isArray(value.args)) return `"${path}.args" must be an array`;
  if (value.immutable !== undefined && typeof value.immutable !== 'boolean')
    return `"${path}.immutable" must be a boolean`;
  if (value.queue !== undefined && !nonEmpty(value.queue))
    return `"${path}.queue" must be a non-empty string`;
  if (value.retries !== undefined && !isCount(value.retries))
    return `"${path}.retries" must be a non-negative integer`;
  if (value.timeoutMs !== undefined && !(typeof value.timeoutMs === 'number' && value.timeoutMs > 0))
    return `"${path}.timeoutMs" must be a positive number`;
  return undefined;
}
