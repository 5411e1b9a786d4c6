/**
 * Scenario 4: Redis cost per task, and Redis memory per waiting task.
 * Cost, under two load patterns: N tasks sent one at a time (each awaited) while one warm worker at
 * concurrency 1 runs them; and N tasks sent 100 in flight to a worker at concurrency 10. All
 * traffic passes a counting proxy; per task we report Redis commands (INFO commandstats deltas, which
 * count the commands run inside scripts as well as the script call), client round trips (reads at
 * the proxy of client→Redis data: one per request batch), and bytes in/out (INFO stats deltas).
 * Producer and worker are separate instances (no shared connection, as in separate processes).
 * In the sequential pattern a round trip is one request/reply exchange; under load a proxy read is
 * one batch of pipelined requests. The worker's idle waits (blocking commands, markers) count too.
 * Memory: N tasks with a 100-byte payload are enqueued in bulk with no worker; used_memory delta / N.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCountingProxy } from '../lib/counting-proxy.ts';
import { chunks, inFlight, Progress } from '../lib/progress.ts';
import { callDelta, commandCalls, type NetCounters, netCounters, round, usedMemory } from '../lib/stats.ts';
import { PRIMARY_SYSTEMS, type Scenario, type ScenarioContext, type SystemName } from './types.ts';

const WARMUP = 20;
const PAD = 'x'.repeat(100);

interface Snapshot {
  readonly calls: Map<string, number>;
  readonly net: NetCounters;
  readonly roundTrips: number;
}

interface PhaseCost {
  commands: number;
  byCommand: Record<string, number>;
  roundTrips: number;
  bytesIn: number;
  bytesOut: number;
}

/** How tasks arrive during a cost measurement. */
interface LoadPattern {
  readonly case: string;
  /** Sends in flight (1 = each send awaited before the next). */
  readonly inFlight: number;
  readonly concurrency: number;
}

/** Sequential: a round trip is one request/reply exchange. Loaded: batching and pipelining can pay off. */
export const COST_PATTERNS: readonly LoadPattern[] = [
  { case: 'per-task', inFlight: 1, concurrency: 1 },
  { case: 'per-task-loaded', inFlight: 100, concurrency: 10 },
];

async function costOf(ctx: ScenarioContext, name: SystemName, pattern: LoadPattern): Promise<void> {
  const n = ctx.sizes.costTasks;
  const proxy = await startCountingProxy(ctx.redis.port);
  const snapshot = async (): Promise<Snapshot> => ({
    roundTrips: proxy.counters.toRedisReads,
    net: await netCounters(ctx.admin),
    calls: await commandCalls(ctx.admin),
  });
  try {
    // The bytes of our own INFO replies between two snapshots, subtracted from every phase.
    const o0 = await snapshot();
    const o1 = await snapshot();
    const overheadIn = o1.net.inputBytes - o0.net.inputBytes;
    const overheadOut = o1.net.outputBytes - o0.net.outputBytes;
    const between = (a: Snapshot, b: Snapshot): PhaseCost => {
      const byCommand = callDelta(a.calls, b.calls);
      return {
        commands: Object.values(byCommand).reduce((x, y) => x + y, 0),
        byCommand,
        roundTrips: b.roundTrips - a.roundTrips,
        bytesIn: b.net.inputBytes - a.net.inputBytes - overheadIn,
        bytesOut: b.net.outputBytes - a.net.outputBytes - overheadOut,
      };
    };

    const sys = await ctx.freshSystem(name, proxy.url);
    const workerSide = await ctx.sameSystem(name, proxy.url);
    // The worker runs throughout; the warm-up makes connections, scripts and per-queue keys
    // exist before we count, so only the steady state is measured.
    const progress = new Progress(WARMUP + n);
    const worker = await workerSide.startWorker(pattern.concurrency, {
      onStart: () => {},
      onDone: () => progress.finished(),
    });
    for (let i = 0; i < WARMUP; i++) await sys.enqueueOne({ t: performance.now() });
    while (progress.done < WARMUP && !ctx.signal.aborted) await sleep(5);
    await sleep(100);

    const s0 = await snapshot();
    await inFlight(n, pattern.inFlight, Number.POSITIVE_INFINITY, () =>
      sys.enqueueOne({ t: performance.now() }),
    );
    const reached = await progress.wait(ctx.sizes.capMs, ctx.signal);
    const s1 = await snapshot();
    await worker.stop();
    await Promise.all([sys.close(), workerSide.close()]);

    const cost = between(s0, s1);
    const perTask = (x: number) => round(x / n, 3);
    ctx.emit({
      case: pattern.case,
      system: name,
      metrics: {
        commandsPerTask: perTask(cost.commands),
        roundTripsPerTask: perTask(cost.roundTrips),
        bytesInPerTask: perTask(cost.bytesIn),
        bytesOutPerTask: perTask(cost.bytesOut),
        tasks: n,
      },
      detail: {
        commandsPerTaskByName: Object.fromEntries(
          Object.entries(cost.byCommand)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => [k, perTask(v)]),
        ),
        concurrency: pattern.concurrency,
        sendsInFlight: pattern.inFlight,
        capped: !reached,
      },
    });
  } finally {
    await proxy.close();
  }
}

async function memoryOf(ctx: ScenarioContext, name: SystemName): Promise<void> {
  const n = ctx.sizes.memoryTasks;
  const sys = await ctx.freshSystem(name);
  // One task first, so keys every queue has once (metadata, scripts) are not charged per task.
  await sys.enqueueOne({ t: 0, pad: PAD });
  await sleep(50);
  const before = await usedMemory(ctx.admin);
  for (const batch of chunks(
    Array.from({ length: n }, (_, i) => i),
    ctx.sizes.bulkChunk,
  )) {
    await sys.enqueueBulk(batch.map(() => ({ t: performance.now(), pad: PAD })));
  }
  await sleep(50);
  const after = await usedMemory(ctx.admin);
  await sys.close();
  ctx.emit({
    case: 'memory-waiting',
    system: name,
    metrics: { bytesPerWaitingTask: round((after - before) / n), tasks: n },
    detail: { payloadBytes: PAD.length },
  });
}

export const costScenario: Scenario = {
  name: 'cost',
  title: 'Redis cost per task',
  systems: PRIMARY_SYSTEMS,
  async run(ctx, name) {
    for (const pattern of COST_PATTERNS) await costOf(ctx, name, pattern);
    await memoryOf(ctx, name);
  },
};
