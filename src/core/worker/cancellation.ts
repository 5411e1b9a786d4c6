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

  /** Settles like `promise`, or rejects with the reason as soon as this is cancelled. */
  race<T>(promise: PromiseLike<T>): Promise<T> {
    if (this.reason !== undefined) return Promise.reject(this.reason);
    return new Promise<T>((resolve, reject) => {
      this.listener = reject;
      promise.then(resolve, reject);
    });
  }
}
