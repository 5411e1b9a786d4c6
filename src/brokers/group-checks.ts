/** Argument checks shared by every GroupCounter implementation (errors name the argument). */
export function checkGroupCall(group: string, size: number, index: number, ttlMs: number): void {
  if (typeof group !== 'string' || group === '') throw new TypeError('group id must be a non-empty string');
  if (!Number.isSafeInteger(size) || size < 1)
    throw new RangeError(`group size must be an integer ≥ 1, got ${size}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size)
    throw new RangeError(`group member index must be an integer in [0, ${size - 1}], got ${index}`);
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`group ttlMs must be a positive number, got ${ttlMs}`);
}

/** A group's state as JSON (the SQLite and memory stores): results by member index, and whether one failed. */
export interface GroupState {
  size: number;
  failed: boolean;
  results: Record<string, unknown>;
}

/** The status a state is in after applying one call to it (shared logic of the non-Lua stores). */
export function applyGroupCall(
  state: GroupState,
  index: number,
  outcome: { ok: true; value: unknown } | { ok: false },
): import('../core/port.ts').GroupStatus {
  const complete = (): boolean => Object.keys(state.results).length >= state.size;
  if (outcome.ok) {
    if (state.failed) return { state: 'failed' };
    if (!(String(index) in state.results)) state.results[String(index)] = outcome.value;
  } else if (!complete()) {
    state.failed = true;
    return { state: 'failed' };
  }
  if (!complete()) return { state: 'open' };
  return {
    state: 'complete',
    results: Array.from({ length: state.size }, (_, i) => state.results[String(i)]),
  };
}
