/**
 * Live config reload (SIGHUP on `errand worker` with an Errand-format config): what may change
 * without a restart, and what the new config adds and removes. Task types may be added or
 * removed and their concurrency changed; anything else that differs is refused with the reasons,
 * and the daemon keeps the config it runs.
 */
import type { CommandTaskConfig, DaemonConfig } from './config-types.ts';

export interface ReloadPlan {
  readonly added: readonly CommandTaskConfig[];
  readonly removed: readonly CommandTaskConfig[];
  /** Task types whose concurrency changed: [name, old, new]. */
  readonly resized: ReadonlyArray<readonly [string, number, number]>;
}

/** Settings of the whole daemon that a reload cannot change (the broker connection, modules, servers). */
const FIXED: ReadonlyArray<keyof DaemonConfig> = [
  'flavour',
  'broker',
  'backend',
  'prefix',
  'queueKey',
  'modules',
  'moduleQueues',
  'moduleConcurrency',
  'errorScript',
  'tempDir',
  'logfile',
  'stats',
  'metrics',
  'dashboard',
  'leaseMs',
  'shutdownMs',
  'storeResults',
  'resque',
];

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The changes from `old` to `next`, or the reasons they cannot be applied live. */
export function planReload(
  old: DaemonConfig,
  next: DaemonConfig,
): { readonly ok: true; readonly plan: ReloadPlan } | { readonly ok: false; readonly problems: string[] } {
  const problems: string[] = [];
  for (const key of FIXED) {
    if (!same(old[key], next[key])) problems.push(`${key} changed: it takes a restart`);
  }
  const before = new Map(old.tasks.map((t) => [t.name, t]));
  const after = new Map(next.tasks.map((t) => [t.name, t]));
  const resized: Array<readonly [string, number, number]> = [];
  for (const [name, t] of after) {
    const was = before.get(name);
    if (!was) continue;
    const changed = (Object.keys(t) as Array<keyof CommandTaskConfig>).filter(
      (key) => key !== 'concurrency' && !same(t[key], was[key]),
    );
    if (changed.length > 0)
      problems.push(
        `tasks.${name}: only its concurrency can change without a restart (changed: ${changed.join(', ')})`,
      );
    if (t.concurrency !== was.concurrency) resized.push([name, was.concurrency, t.concurrency]);
  }
  const added = next.tasks.filter((t) => !before.has(t.name));
  const removed = old.tasks.filter((t) => !after.has(t.name));
  // A new type on a queue another type uses would share its worker: the plan keys workers by queue.
  for (const t of added) {
    if (old.tasks.some((o) => o.queue === t.queue && after.has(o.name)))
      problems.push(
        `tasks.${t.name}: queue "${t.queue}" is already consumed by another task type; add it with a restart`,
      );
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, plan: { added, removed, resized } };
}
