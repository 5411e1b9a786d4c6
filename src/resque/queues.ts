/**
 * goworker's queue spec: `q1,q2` (strict: always in the order given) or weighted `high=2,low=1`
 * (each poll takes a fresh random order of the list with every queue repeated `weight` times,
 * so `high` comes first twice as often as `low`).
 */
import { ErrandConfigError } from '../core/errors.ts';

export interface QueueSpec {
  /** Distinct queue names, in the order given. */
  readonly names: readonly string[];
  /** Each name repeated by its weight (goworker's list). */
  readonly weighted: readonly string[];
  /** No `=` in the spec: the order given, every time (goworker's IsStrict). */
  readonly strict: boolean;
}

export function parseQueues(key: string, spec: string | readonly string[]): QueueSpec {
  const parts = typeof spec === 'string' ? spec.split(',') : [...spec];
  const weighted: string[] = [];
  const names: string[] = [];
  let strict = true;
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (name === '') throw new ErrandConfigError(key, `"${part}" has no queue name`);
    if (/[:\s]/.test(name))
      throw new ErrandConfigError(key, `queue name "${name}" must not contain ":" or spaces`);
    let weight = 1;
    if (eq >= 0) {
      strict = false;
      const text = part.slice(eq + 1);
      weight = Number(text);
      if (text.trim() === '' || !Number.isInteger(weight) || weight < 1)
        throw new ErrandConfigError(
          key,
          `the weight of "${name}" must be a whole number >= 1 (got "${text}")`,
        );
    }
    if (!names.includes(name)) names.push(name);
    for (let i = 0; i < weight; i++) weighted.push(name);
  }
  if (names.length === 0) throw new ErrandConfigError(key, 'you must specify at least one queue');
  return { names, weighted, strict };
}

/**
 * The order in which to look at the queues for one job: indices into `spec.names`, each once.
 * Weighted: a random permutation of the weighted list, first occurrences kept.
 */
export function pollOrder(spec: QueueSpec, random: () => number = Math.random): number[] {
  if (spec.strict) return spec.names.map((_, i) => i);
  const list = [...spec.weighted];
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  const order: number[] = [];
  for (const name of list) {
    const index = spec.names.indexOf(name);
    if (!order.includes(index)) order.push(index);
  }
  return order;
}
