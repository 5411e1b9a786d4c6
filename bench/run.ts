/**
 * The benchmark runner: `npm run bench -- [--runs 3] [--tasks N] [--scenarios a,b] [--systems x,y]
 * [--smoke] [--out file.jsonl] [--report] [--cpu-prof dir]`. --cpu-prof writes a CPU profile of
 * each processing measurement (worker phase only) to dir; read it with bench/profile-summary.ts. Writes JSON lines (one meta line, then one line per
 * measurement) to stdout or --out; --report also regenerates docs/benchmarks.md and .svg from them.
 * Every run uses its own private redis-server, flushed before each measurement and killed at the end.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@redis/client';
import { libraryVersions, machineInfo } from './lib/machine.ts';
import { phaseProfiler } from './lib/profiler.ts';
import { type PrivateRedis, startPrivateRedis } from './lib/redis-server.ts';
import { brokersScenario } from './scenarios/brokers.ts';
import { commandScenario } from './scenarios/command.ts';
import { costScenario } from './scenarios/cost.ts';
import { enqueueScenario } from './scenarios/enqueue.ts';
import { latencyScenario } from './scenarios/latency.ts';
import { processScenario } from './scenarios/process.ts';
import { resqueScenario } from './scenarios/resque.ts';
import { sqliteScenario } from './scenarios/sqlite.ts';
import {
  type ResultRecord,
  type Scenario,
  type ScenarioContext,
  type Sizes,
  SYSTEM_NAMES,
  type SystemName,
} from './scenarios/types.ts';
import { factories } from './systems/index.ts';

export const SCENARIOS: readonly Scenario[] = [
  enqueueScenario,
  processScenario,
  latencyScenario,
  costScenario,
  commandScenario,
  sqliteScenario,
  resqueScenario,
  brokersScenario,
];

/** Defaults sized to finish in a few minutes on 2 cores; `--tasks N` scales them all. */
export function fullSizes(tasks = 20_000): Sizes {
  const part = (f: number) => Math.max(10, Math.round(tasks * f));
  return {
    enqueueOne: part(0.1),
    enqueueInFlight: part(1),
    enqueueBulk: part(2.5),
    bulkChunk: 1000,
    process: part(1),
    concurrencies: [1, 10, 100],
    latencyRate: 500,
    latencySeconds: 10,
    costTasks: part(0.1),
    memoryTasks: part(0.5),
    commandTasks: part(0.05),
    sqliteTasks: part(0.25),
    brokerTasks: part(0.25),
    capMs: 30_000,
  };
}

export const SMOKE_SIZES: Sizes = {
  enqueueOne: 50,
  enqueueInFlight: 200,
  enqueueBulk: 400,
  bulkChunk: 100,
  process: 200,
  concurrencies: [1, 10, 100],
  latencyRate: 500,
  latencySeconds: 0.5,
  costTasks: 100,
  memoryTasks: 2000,
  commandTasks: 10,
  sqliteTasks: 100,
  brokerTasks: 100,
  capMs: 8_000,
};

function list<T extends string>(value: string | undefined, all: readonly T[], what: string): T[] {
  if (!value) return [...all];
  const picked = value.split(',').map((s) => s.trim()) as T[];
  const unknown = picked.filter((p) => !all.includes(p));
  if (unknown.length)
    throw new Error(`unknown ${what}: ${unknown.join(', ')} (choose from ${all.join(', ')})`);
  return picked;
}

/** Rejects after `ms` so one stuck measurement cannot hang the whole run. */
async function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      tasks: { type: 'string' },
      scenarios: { type: 'string' },
      systems: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      report: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const runs = Number(values.runs ?? (smoke ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const tasks = values.tasks === undefined ? undefined : Number(values.tasks);
  if (tasks !== undefined && !(Number.isInteger(tasks) && tasks > 0)) {
    throw new Error(`--tasks must be a positive integer, got ${values.tasks}`);
  }
  const sizes = smoke && tasks === undefined ? SMOKE_SIZES : fullSizes(tasks);
  const scenarios = list(
    values.scenarios,
    SCENARIOS.map((s) => s.name),
    'scenario',
  ).map((n) => SCENARIOS.find((s) => s.name === n)!);
  const systems = list<SystemName>(values.systems, SYSTEM_NAMES, 'system');

  const out =
    values.report && !values.out
      ? `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`
      : values.out;
  if (out) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, '');
  }
  const write = (obj: object): void => {
    const line = `${JSON.stringify(obj)}\n`;
    if (out) appendFileSync(out, line);
    else process.stdout.write(line);
  };

  const profiler = phaseProfiler(values['cpu-prof']);
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let redis: PrivateRedis | undefined;
  let admin: ReturnType<typeof createClient> | undefined;
  try {
    redis = await startPrivateRedis(controller.signal);
    write({
      type: 'meta',
      startedAt: new Date().toISOString(),
      smoke,
      runs,
      sizes,
      scenarios: scenarios.map((s) => ({ name: s.name, title: s.title })),
      systems,
      machine: machineInfo(),
      redis: redis.version,
      versions: libraryVersions(),
    });
    await redis.stop();
    redis = undefined;
    const settings = new Map<string, string>();
    for (let run = 1; run <= runs; run++) {
      redis = await startPrivateRedis(controller.signal);
      admin = createClient({ url: redis.url });
      admin.on('error', () => {});
      await admin.connect();
      let serial = 0;
      for (const scenario of scenarios) {
        // Rotate the order of systems per run so no system always goes first.
        const chosen = systems.filter((s) => !scenario.systems || scenario.systems.includes(s));
        const order = chosen.map((_, i) => chosen[(i + run - 1) % chosen.length]!);
        for (const system of order) {
          controller.signal.throwIfAborted();
          const reportAs = scenario.reportAs ?? system;
          const ctx: ScenarioContext = {
            run,
            redis,
            admin,
            sizes,
            signal: controller.signal,
            profiler,
            emit: (r) => write({ type: 'result', run, scenario: scenario.name, ...r } satisfies ResultRecord),
            sameSystem: (name, url) => factories[name]({ url: url ?? redis!.url, prefix: `bench${serial}` }),
            freshSystem: async (name, url) => {
              await admin!.flushAll();
              const sys = await factories[name]({ url: url ?? redis!.url, prefix: `bench${++serial}` });
              if (!settings.has(sys.name)) {
                settings.set(sys.name, sys.settings);
                write({ type: 'system', name: sys.name, version: sys.version, settings: sys.settings });
              }
              return sys;
            },
          };
          const started = Date.now();
          try {
            await bounded(
              scenario.run(ctx, system),
              sizes.capMs * 8 + 60_000,
              `${scenario.name}/${reportAs}`,
            );
          } catch (err) {
            if (controller.signal.aborted) throw err;
            write({
              type: 'result',
              run,
              scenario: scenario.name,
              case: '*',
              system: reportAs,
              metrics: {},
              error: err instanceof Error ? err.message : String(err),
            });
          }
          process.stderr.write(
            `run ${run} ${scenario.name} ${reportAs}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
          );
        }
      }
      await admin.close();
      admin = undefined;
      await redis.stop();
      redis = undefined;
    }
  } finally {
    admin?.destroy();
    await redis?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (values.report && out) {
    const { writeReport } = await import('./report.ts');
    writeReport([out]);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
