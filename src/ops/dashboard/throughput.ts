/**
 * Completed and failed tasks per second, for the dashboard's chart. Source: the result backend's
 * final-state notifications (every process that records results sends them), so the chart covers
 * all workers sharing the backend, from the moment the dashboard starts. Each final id is read once
 * to learn its queue and outcome; past READS_PER_SECOND the rest of that second is counted in
 * the same proportions (a sample), so a busy queue does not turn the chart into a read storm.
 */
import type { ResultBackend } from '../../core/port.ts';

export const WINDOW_SECONDS = 300;
const READS_PER_SECOND = 500;

export interface Second {
  /** Epoch seconds. */
  readonly at: number;
  completed: number;
  failed: number;
}

export class Throughput {
  /** Per queue ('' = all queues), the last WINDOW_SECONDS seconds. */
  private readonly series = new Map<string, Second[]>();
  private readsThisSecond = 0;
  private readSecond = 0;
  private stop: (() => Promise<void>) | undefined;

  constructor(private readonly backend: ResultBackend) {}

  async start(): Promise<void> {
    this.stop = await this.backend.onFinal((ids) => void this.count(ids));
  }

  async close(): Promise<void> {
    await this.stop?.();
  }

  private async count(ids: readonly string[]): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    if (now !== this.readSecond) {
      this.readSecond = now;
      this.readsThisSecond = 0;
    }
    const budget = Math.max(0, READS_PER_SECOND - this.readsThisSecond);
    const sample = ids.slice(0, budget);
    this.readsThisSecond += sample.length;
    // Unsampled ids are counted in the proportions of the sampled ones.
    const scale = sample.length === 0 ? 0 : ids.length / sample.length;
    const records = await Promise.all(sample.map((id) => this.backend.read(id).catch(() => undefined)));
    for (const record of records) {
      if (!record || (record.state !== 'SUCCESS' && record.state !== 'FAILURE')) continue;
      for (const queue of ['', record.queue]) {
        const second = this.second(queue, now);
        if (record.state === 'SUCCESS') second.completed += scale;
        else second.failed += scale;
      }
    }
  }

  private second(queue: string, at: number): Second {
    let list = this.series.get(queue);
    if (!list) {
      list = [];
      this.series.set(queue, list);
    }
    let last = list.at(-1);
    if (!last || last.at !== at) {
      last = { at, completed: 0, failed: 0 };
      list.push(last);
      while (list.length > 0 && list[0]!.at <= at - WINDOW_SECONDS) list.shift();
    }
    return last;
  }

  /** The last `seconds` seconds of a queue ('' = all), one entry per second, oldest first (gaps filled with 0). */
  window(queue = '', seconds = WINDOW_SECONDS): Second[] {
    const now = Math.floor(Date.now() / 1000);
    const byAt = new Map((this.series.get(queue) ?? []).map((s) => [s.at, s]));
    const out: Second[] = [];
    for (let at = now - seconds + 1; at <= now; at++) {
      const s = byAt.get(at);
      out.push({ at, completed: Math.round(s?.completed ?? 0), failed: Math.round(s?.failed ?? 0) });
    }
    return out;
  }
}
