/** What a scenario gets from the runner, and what it emits. */
import type { PhaseProfiler } from '../lib/profiler.ts';
import type { PrivateRedis } from '../lib/redis-server.ts';
import type { RedisClient } from '../lib/stats.ts';
import type { BenchSystem } from '../systems/types.ts';

export const SYSTEM_NAMES = [
  'errand',
  'errand-noresults',
  'bullmq',
  'bullmq-keep',
  'beequeue',
  'rawlist',
] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];
/**
 * Each library as its documentation recommends. The variants (`errand-noresults`, `bullmq-keep`)
 * differ only in what a worker keeps, so only the processing scenario runs them.
 */
export const PRIMARY_SYSTEMS: readonly SystemName[] = ['errand', 'bullmq', 'beequeue', 'rawlist'];

export interface Sizes {
  /** Enqueue one at a time (sequential). */
  readonly enqueueOne: number;
  /** Enqueue with 100 in flight. */
  readonly enqueueInFlight: number;
  /** Enqueue in bulk calls of `bulkChunk`. */
  readonly enqueueBulk: number;
  readonly bulkChunk: number;
  /** Pre-enqueued tasks per processing measurement. */
  readonly process: number;
  readonly concurrencies: readonly number[];
  readonly latencyRate: number;
  readonly latencySeconds: number;
  readonly costTasks: number;
  readonly memoryTasks: number;
  readonly commandTasks: number;
  readonly sqliteTasks: number;
  /** Pre-enqueued tasks per broker in the every-broker scenario. */
  readonly brokerTasks: number;
  /** Upper bound on any one measurement; a capped measurement reports what it did. */
  readonly capMs: number;
}

export interface ResultRecord {
  readonly type: 'result';
  readonly run: number;
  readonly scenario: string;
  /** The variant inside the scenario, e.g. `c10`, `bulk`. */
  readonly case: string;
  readonly system: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly detail?: Readonly<Record<string, unknown>>;
  /** Set when the measurement could not run, with the reason. */
  readonly unavailable?: string;
}

export interface ScenarioContext {
  readonly run: number;
  readonly redis: PrivateRedis;
  /** The runner's own connection to the private Redis (FLUSHALL, INFO). */
  readonly admin: RedisClient;
  readonly sizes: Sizes;
  readonly signal: AbortSignal;
  /** Profiles measured phases when the run was given `--cpu-prof <dir>`. */
  readonly profiler: PhaseProfiler;
  emit(record: Omit<ResultRecord, 'type' | 'run' | 'scenario'>): void;
  /** Flush the private Redis and create a fresh system (at `url`, default the private Redis). */
  freshSystem(name: SystemName, url?: string): Promise<BenchSystem>;
  /**
   * Another instance of the system created last, on the same queue and without flushing: a
   * producer and a worker in separate instances share no connection, as in separate processes.
   */
  sameSystem(name: SystemName, url?: string): Promise<BenchSystem>;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Systems this scenario measures (default: all selected); the runner calls `run` once per system. */
  readonly systems?: readonly SystemName[];
  /** The name results are reported under, when it differs from the system (e.g. `errand-sqlite`). */
  readonly reportAs?: string;
  run(ctx: ScenarioContext, system: SystemName): Promise<void>;
}
