/**
 * Scenario 9: Errand on every broker at concurrency 10 — N pre-enqueued no-op tasks drained by one
 * worker (public API, defaults, results stored), tasks/s and worker CPU per task as in scenario 2.
 * Results live in each broker's own store (Redis, SQLite, memory); amqp and sqs have none, so
 * theirs go to the run's private Redis. RabbitMQ is the server at ERRAND_BENCH_AMQP (default
 * amqp://guest:guest@127.0.0.1:5672, a queue prefix unique to the run, deleted afterwards); SQS is
 * the fauxqs emulator started in this process on a free port. A broker that cannot be reached is
 * reported `unavailable` with the reason; one that fails once reached is an error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { round } from '../lib/stats.ts';
import { createErrand } from '../systems/errand.ts';
import { processOnce } from './process.ts';
import type { Scenario, ScenarioContext } from './types.ts';

export const BROKERS_CONCURRENCY = 10;
export const BROKER_NAMES = ['memory', 'sqlite', 'redis', 'amqp', 'sqs'] as const;
type BrokerName = (typeof BROKER_NAMES)[number];

const AMQP_URL = process.env.ERRAND_BENCH_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';
const REACH_MS = 5_000;

/** Where one broker runs for one measurement, and how to clean up after it. */
interface Target {
  readonly broker: string;
  readonly backend?: string;
  /** Said in the report: where the results were stored, what the worker CPU includes. */
  readonly note: string;
  cleanup(): Promise<void>;
}

/** Thrown when a broker cannot be reached: reported as unavailable, not as an error. */
class Unreachable extends Error {}

/** Rejects with Unreachable after `ms`; the late result of `work` is handed to `late` (to close it). */
async function reach<T>(what: string, work: Promise<T>, late: (value: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Unreachable(`${what}: no answer within ${REACH_MS} ms`));
    }, REACH_MS);
  });
  work.then(
    (v) => {
      if (timedOut) late(v);
    },
    () => {},
  );
  try {
    return await Promise.race([work, timeout]);
  } catch (err) {
    if (err instanceof Unreachable) throw err;
    throw new Unreachable(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port for fauxqs');
  return address.port;
}

async function amqpTarget(ctx: ScenarioContext, prefix: string): Promise<Target> {
  const amqp = await reach('amqplib', import('amqplib'), () => {});
  const probe = await reach(AMQP_URL.replace(/\/\/[^@]*@/, '//'), amqp.connect(AMQP_URL), (c) => {
    c.close().catch(() => {});
  });
  await probe.close();
  return {
    broker: AMQP_URL,
    backend: ctx.redis.url,
    note: 'results in the private Redis; RabbitMQ runs in its own process',
    async cleanup() {
      // No delays or failures in this run: the task queue and its dead-letter queue are all there is.
      const connection = await amqp.connect(AMQP_URL);
      try {
        const channel = await connection.createChannel();
        for (const name of [`${prefix}.default`, `${prefix}.default.dead`]) await channel.deleteQueue(name);
      } finally {
        await connection.close();
      }
    },
  };
}

async function sqsTarget(ctx: ScenarioContext): Promise<Target> {
  await reach('@aws-sdk/client-sqs', import('@aws-sdk/client-sqs'), () => {});
  const { startFauxqs } = await reach('fauxqs', import('fauxqs'), () => {});
  // fauxqs accepts any credentials; the AWS SDK still wants some.
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  const port = await freePort();
  const server = await reach('fauxqs', startFauxqs({ port, host: '127.0.0.1', logger: false }), (s) => {
    s.stop().catch(() => {});
  });
  const endpoint = `http://127.0.0.1:${server.port}`;
  return {
    broker: `sqs://us-east-1/000000000000?endpoint=${encodeURIComponent(endpoint)}`,
    backend: ctx.redis.url,
    note: 'results in the private Redis; the fauxqs emulator runs in this process, so the worker CPU includes it',
    cleanup: () => server.stop(),
  };
}

async function target(ctx: ScenarioContext, name: BrokerName, prefix: string): Promise<Target> {
  switch (name) {
    case 'memory':
      return {
        broker: 'memory:',
        note: 'results in memory; the broker runs in this process',
        cleanup: async () => {},
      };
    case 'sqlite': {
      const dir = mkdtempSync(join(tmpdir(), 'errand-bench-brokers-'));
      return {
        broker: `sqlite:${join(dir, 'bench.db')}`,
        note: 'results in SQLite; the database is embedded in this process',
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    }
    case 'redis':
      await ctx.admin.flushAll();
      return {
        broker: ctx.redis.url,
        note: 'results in Redis; Redis runs in its own process',
        cleanup: async () => {},
      };
    case 'amqp':
      return amqpTarget(ctx, prefix);
    case 'sqs':
      return sqsTarget(ctx);
  }
}

async function measure(ctx: ScenarioContext, name: BrokerName, n: number): Promise<void> {
  const prefix = `errand-bench-${process.pid}-${ctx.run}-${name}`;
  let where: Target;
  try {
    where = await target(ctx, name, prefix);
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err;
    ctx.emit({ case: name, system: 'errand', metrics: {}, unavailable: err.message });
    return;
  }
  try {
    const sys = await createErrand({
      url: where.broker,
      prefix,
      ...(where.backend === undefined ? {} : { backend: where.backend }),
    });
    try {
      const r = await processOnce(ctx, sys, n, BROKERS_CONCURRENCY);
      ctx.emit({
        case: name,
        system: 'errand',
        metrics: {
          tasksPerSec: round(r.tasksPerSec),
          tasks: r.done,
          concurrency: BROKERS_CONCURRENCY,
          workerCpuUsPerTask: r.cpuUsPerTask,
        },
        detail: { planned: n, capped: r.capped, note: where.note },
      });
    } finally {
      await sys.close();
    }
  } finally {
    await where.cleanup();
  }
}

export const brokersScenario: Scenario = {
  name: 'brokers',
  title: 'Every broker at concurrency 10',
  systems: ['errand'],
  async run(ctx) {
    const failures: string[] = [];
    // Rotate the order per run so no broker always runs first on a cold process; every broker is
    // measured even when one fails, and the failures are reported together at the end.
    const order = BROKER_NAMES.map((_, i) => BROKER_NAMES[(i + ctx.run - 1) % BROKER_NAMES.length]!);
    for (const name of order) {
      ctx.signal.throwIfAborted();
      try {
        await measure(ctx, name, ctx.sizes.brokerTasks);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(failures.join('; '));
  },
};
