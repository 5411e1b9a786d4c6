/**
 * Lets the result backend's write ride on the broker's next settle script (one command, one
 * round trip for both) when both use the same Redis connection. The worker's settler issues
 * the write and its settles in the same synchronous step; a settle started in that step takes
 * the waiting records into settle.lua. Records no settle took by the end of the step (a batch
 * with records and no outcomes, e.g. STARTED states) are written alone, by write-results.lua.
 */

/** Task records as write-results.lua (and settle.lua) take them. */
export interface RecordBatch {
  readonly keys: readonly string[];
  readonly values: readonly string[];
  /** Ids of the records in a final state, '\n'-separated ('' for none). */
  readonly finals: string;
  readonly channel: string;
  readonly ttlMs: number;
}

interface Waiting {
  readonly batch: RecordBatch;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** Records taken by a settle: it reports how its script went. */
export interface TakenRecords {
  readonly batch: RecordBatch;
  done(err?: unknown): void;
}

export class ResultRider {
  private waiting: Waiting[] = [];
  private checkScheduled = false;

  constructor(private readonly writeAlone: (batch: RecordBatch) => Promise<void>) {}

  /** Resolves when the records are written, by a settle that took them or on their own. */
  offer(batch: RecordBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ batch, resolve, reject });
      if (this.checkScheduled) return;
      this.checkScheduled = true;
      // After the current synchronous step: whatever no settle took is written alone.
      queueMicrotask(() => this.writeLeftovers());
    });
  }

  /** The waiting records (merged into one batch), for the settle being built; undefined if none. */
  take(): TakenRecords | undefined {
    const first = this.waiting[0];
    if (!first) return undefined;
    // Only batches for the same channel and time to live merge (one backend: always the case).
    const taken = this.waiting.filter(
      (w) => w.batch.channel === first.batch.channel && w.batch.ttlMs === first.batch.ttlMs,
    );
    this.waiting = this.waiting.filter((w) => !taken.includes(w));
    const batch: RecordBatch =
      taken.length === 1
        ? first.batch
        : {
            keys: taken.flatMap((w) => w.batch.keys),
            values: taken.flatMap((w) => w.batch.values),
            finals: taken
              .map((w) => w.batch.finals)
              .filter((f) => f !== '')
              .join('\n'),
            channel: first.batch.channel,
            ttlMs: first.batch.ttlMs,
          };
    return {
      batch,
      done: (err?: unknown) => {
        for (const w of taken) {
          if (err === undefined) w.resolve();
          else w.reject(err);
        }
      },
    };
  }

  private writeLeftovers(): void {
    this.checkScheduled = false;
    const left = this.waiting;
    this.waiting = [];
    for (const w of left) this.writeAlone(w.batch).then(w.resolve, w.reject);
  }
}
