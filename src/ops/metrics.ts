/**
 * Prometheus metrics (text exposition format 0.0.4). Queue gauges are read from the broker when
 * scraped, so any process sharing the broker can serve them; counters and histograms come from
 * the workers of this process (their events). gotasks' two families are exported too, with its
 * names, labels and meaning, so gotasks dashboards keep working. See docs/operations.md.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Broker } from '../core/port.ts';
import type { TaskEventBase, WorkerEvents } from '../core/worker/events.ts';

/** Prometheus client libraries' default buckets (seconds); gotasks uses them. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What Metrics needs of a worker: its events. */
export interface ObservableWorker {
  on<E extends keyof WorkerEvents>(event: E, listener: (payload: WorkerEvents[E]) => void): () => void;
}

type Labels = Readonly<Record<string, string>>;

const COUNTERS = {
  errand_tasks_completed_total: 'Tasks that finished successfully, by queue and task.',
  errand_tasks_failed_total: 'Tasks that failed for good (no retries left), by queue and task.',
  errand_tasks_retried_total: 'Attempts that failed and were scheduled to run again, by queue and task.',
  errand_tasks_dead_lettered_total:
    'Messages moved to the dead letters (failed tasks, and messages that cannot run), by queue and task.',
  errand_tasks_redelivered_total:
    'Attempts that started on a delivery after the first (an earlier lease expired), by queue and task.',
  errand_tasks_cancelled_total: 'Running tasks cancelled by errand.cancel, by queue and task.',
} as const;
type CounterName = keyof typeof COUNTERS;

const HISTOGRAMS = {
  errand_task_run_seconds: 'Run time of an attempt (handler start to outcome), by queue and task.',
  errand_task_wait_seconds: 'Time from send to the start of the first attempt, by queue and task.',
  task_execution_stats:
    'gotasks: time from enqueue to the outcome (seconds), by queue_name, job_name and status.',
} as const;
type HistogramName = keyof typeof HISTOGRAMS;

const GAUGES = {
  errand_queue_waiting: 'Messages waiting to run, per queue (from the broker).',
  errand_queue_delayed: 'Messages scheduled for later (delayed or waiting for a retry), per queue.',
  errand_queue_running: 'Messages leased by workers (running), per queue.',
  errand_queue_dead: 'Dead letters, per queue.',
  errand_queue_paused: '1 when the queue is paused (errand.pause), per queue.',
  task_queue_stats: 'gotasks: messages waiting in the queue, by queue_name.',
  errand_broker_up: '1 when the broker answered this scrape.',
} as const;
type GaugeName = keyof typeof GAUGES;

class Histogram {
  /** Observations per bucket, not cumulative (one increment per observation): see `cumulative`. */
  private readonly perBucket = new Array<number>(DEFAULT_BUCKETS.length).fill(0);
  count = 0;
  sum = 0;
  observe(seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    const value = Math.max(0, seconds);
    this.count++;
    this.sum += value;
    // Most tasks land in the first bucket: the search is short.
    for (let i = 0; i < DEFAULT_BUCKETS.length; i++) {
      if (value <= DEFAULT_BUCKETS[i]!) {
        this.perBucket[i]!++;
        return;
      }
    }
  }

  /** Prometheus's buckets: observations at or below each bound. */
  cumulative(): number[] {
    let total = 0;
    return this.perBucket.map((n) => (total += n));
  }
}

interface Cell {
  value: number;
}

/** The series one queue and task write to, found once and kept. */
type TaskCells = { [K in CounterName]?: Cell } & {
  run?: Histogram;
  wait?: Histogram;
  gotasksSuccess?: Histogram;
  gotasksFail?: Histogram;
};

/** A series key: the labels in a fixed order, serialized once. */
const seriesKey = (labels: Labels): string => JSON.stringify(Object.entries(labels));
const labelsOf = (key: string): Labels => Object.fromEntries(JSON.parse(key) as Array<[string, string]>);

export class Metrics {
  private readonly counters = new Map<CounterName, Map<string, Cell>>();
  /** The series of each queue and task, resolved once (by queue, then task: no key string per event). */
  private readonly byTask = new Map<string, Map<string, TaskCells>>();
  private readonly histograms = new Map<HistogramName, Map<string, Histogram>>();

  constructor(private readonly broker: () => Promise<Broker>) {}

  /** Count the events of a worker (Errand.worker() does this for every worker it makes). */
  observe(worker: ObservableWorker): void {
    // Per task event: a map lookup and a few increments (the series are resolved once per queue and task).
    const cells = (e: TaskEventBase): TaskCells => {
      let tasks = this.byTask.get(e.queue);
      if (!tasks) {
        tasks = new Map();
        this.byTask.set(e.queue, tasks);
      }
      let c = tasks.get(e.task);
      if (!c) {
        c = {};
        tasks.set(e.task, c);
      }
      return c;
    };
    const byTask = (e: TaskEventBase): Labels => ({ queue: e.queue, task: e.task });
    const bump = (c: TaskCells, name: CounterName, e: TaskEventBase): void => {
      let cell = c[name];
      if (!cell) {
        cell = this.counterCell(name, byTask(e));
        c[name] = cell;
      }
      cell.value++;
    };
    const gotasks = (e: TaskEventBase, c: TaskCells, status: 'success' | 'fail'): void => {
      if (e.message.createdAt === undefined) return;
      const slot = status === 'success' ? 'gotasksSuccess' : 'gotasksFail';
      let h = c[slot];
      if (!h) {
        h = this.histogram('task_execution_stats', { queue_name: e.queue, job_name: e.task, status });
        c[slot] = h;
      }
      h.observe((Date.now() - e.message.createdAt) / 1000);
    };
    const started = (
      e: TaskEventBase & { readonly startedAt?: number; readonly delivery?: number },
      c: TaskCells,
    ): void => {
      if (e.delivery !== undefined && e.delivery > 1) bump(c, 'errand_tasks_redelivered_total', e);
      if (e.startedAt === undefined) return;
      c.run ??= this.histogram('errand_task_run_seconds', byTask(e));
      c.run.observe((Date.now() - e.startedAt) / 1000);
      if (e.attempt === 1 && e.message.createdAt !== undefined) {
        c.wait ??= this.histogram('errand_task_wait_seconds', byTask(e));
        c.wait.observe((e.startedAt - e.message.createdAt) / 1000);
      }
    };
    worker.on('completed', (e) => {
      const c = cells(e);
      bump(c, 'errand_tasks_completed_total', e);
      started(e, c);
      gotasks(e, c, 'success');
    });
    worker.on('retrying', (e) => {
      const c = cells(e);
      bump(c, 'errand_tasks_retried_total', e);
      started(e, c);
    });
    worker.on('failed', (e) => {
      const c = cells(e);
      bump(c, 'errand_tasks_failed_total', e);
      bump(c, 'errand_tasks_dead_lettered_total', e);
      started(e, c);
      gotasks(e, c, 'fail');
    });
    worker.on('cancelled', (e) => {
      const c = cells(e);
      bump(c, 'errand_tasks_cancelled_total', e);
      started(e, c);
    });
    // Messages that could not run (malformed, unknown task, leases expired too often): no task name to trust.
    worker.on('dead', (e) => {
      this.counterCell('errand_tasks_dead_lettered_total', { queue: e.queue, task: '' }).value++;
    });
  }

  private counterCell(name: CounterName, labels: Labels): Cell {
    let series = this.counters.get(name);
    if (!series) {
      series = new Map();
      this.counters.set(name, series);
    }
    const key = seriesKey(labels);
    let cell = series.get(key);
    if (!cell) {
      cell = { value: 0 };
      series.set(key, cell);
    }
    return cell;
  }

  private histogram(name: HistogramName, labels: Labels): Histogram {
    let series = this.histograms.get(name);
    if (!series) {
      series = new Map();
      this.histograms.set(name, series);
    }
    const key = seriesKey(labels);
    let histogram = series.get(key);
    if (!histogram) {
      histogram = new Histogram();
      series.set(key, histogram);
    }
    return histogram;
  }

  /** The exposition text: gauges of `queues` (read from the broker now), then counters and histograms. */
  async exposition(queues: readonly string[]): Promise<string> {
    const gauges = new Map<GaugeName, Array<[Labels, number]>>();
    const gauge = (name: GaugeName, labels: Labels, value: number): void => {
      let list = gauges.get(name);
      if (!list) {
        list = [];
        gauges.set(name, list);
      }
      list.push([labels, value]);
    };
    try {
      const broker = await this.broker();
      const unique = [...new Set(queues)];
      const [stats, paused] = await Promise.all([
        Promise.all(unique.map((queue) => broker.stats(queue))),
        Promise.all(unique.map((queue) => broker.isPaused?.(queue) ?? Promise.resolve(false))),
      ]);
      unique.forEach((queue, i) => {
        const s = stats[i]!;
        gauge('errand_queue_waiting', { queue }, s.waiting);
        gauge('errand_queue_delayed', { queue }, s.delayed);
        gauge('errand_queue_running', { queue }, s.leased);
        gauge('errand_queue_dead', { queue }, s.dead);
        gauge('errand_queue_paused', { queue }, paused[i] ? 1 : 0);
        gauge('task_queue_stats', { queue_name: queue }, s.waiting);
      });
      gauge('errand_broker_up', {}, 1);
    } catch {
      // The scrape still answers (counters of this process are worth having); the gauge says why the rest is missing.
      gauges.clear();
      gauge('errand_broker_up', {}, 0);
    }
    const out: string[] = [];
    for (const name of Object.keys(GAUGES) as GaugeName[]) {
      const list = gauges.get(name);
      if (!list) continue;
      out.push(`# HELP ${name} ${GAUGES[name]}`, `# TYPE ${name} gauge`);
      for (const [labels, value] of list) out.push(`${name}${formatLabels(labels)} ${value}`);
    }
    for (const name of Object.keys(COUNTERS) as CounterName[]) {
      out.push(`# HELP ${name} ${COUNTERS[name]}`, `# TYPE ${name} counter`);
      for (const [key, cell] of this.counters.get(name) ?? [])
        out.push(`${name}${formatLabels(labelsOf(key))} ${cell.value}`);
    }
    for (const name of Object.keys(HISTOGRAMS) as HistogramName[]) {
      out.push(`# HELP ${name} ${HISTOGRAMS[name]}`, `# TYPE ${name} histogram`);
      for (const [key, h] of this.histograms.get(name) ?? []) {
        const labels = labelsOf(key);
        const counts = h.cumulative();
        DEFAULT_BUCKETS.forEach((le, i) => {
          out.push(`${name}_bucket${formatLabels({ ...labels, le: String(le) })} ${counts[i]}`);
        });
        out.push(`${name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${h.count}`);
        out.push(`${name}_sum${formatLabels(labels)} ${h.sum}`);
        out.push(`${name}_count${formatLabels(labels)} ${h.count}`);
      }
    }
    return `${out.join('\n')}\n`;
  }

  /** A node:http request listener serving the exposition (mount it at /metrics in your own server). */
  handler(queues: () => readonly string[]): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end('method not allowed\n');
        return;
      }
      this.exposition(queues()).then(
        (text) => {
          res.writeHead(200, { 'content-type': CONTENT_TYPE });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics: ${String(err)}\n`);
        },
      );
    };
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`;
}
