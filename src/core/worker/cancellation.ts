/**
 * The cancellation of one execution (timeout, shutdown, lost lease). Its AbortSignal is made
 * only when the handler asks for it: most handlers never do, and an AbortController per task
 * is a measurable share of a no-op task's cost.
 */
export class Cancellation {
  private controller: AbortController | undefined;
  private listener: ((reason: unknown) => void) | undefined;
  /** Why it was cancelled; undefined while it is not. */
  reason: unknown;

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.listener?.(reason);
  }

  /** Calls `listener` with the reason when this is cancelled (at once if it already is). One listener. */
  onAbort(listener: (reason: unknown) => void): void {
    if (this.reason !== undefined) listener(this.reason);
    else this.listener = listener;
  }
}
