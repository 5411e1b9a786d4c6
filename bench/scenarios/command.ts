/**
 * Scenario 5: command tasks in the daemon. Spawns `node bin/errand.js worker -c <Gordon TOML>`
 * running `/bin/true` with 1 and 8 workers, pushes Gordon-style entries (`{"args":[]}`) onto
 * `<queue_key>:<type>` in one RPUSH, and times until the list and Errand's leases are empty.
 * Fork and exec are the limit here; a bare spawn loop in this process (`spawn-loop`) shows it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { queueKeys } from '../../src/brokers/redis/keys.ts';
import { inFlight } from '../lib/progress.ts';
import { round } from '../lib/stats.ts';
import type { Scenario, ScenarioContext } from './types.ts';

export const COMMAND_CONCURRENCIES = [1, 8] as const;
const BIN = fileURLToPath(new URL('../../bin/errand.js', import.meta.url));
const QUEUE_KEY = 'benchq';
const TYPE = 'true';
const PREFIX = 'benchd';
const LIST = `${QUEUE_KEY}:${TYPE}`;
// Errand's Redis broker keys for this queue: leased tasks live here until settled.
const { leases, inflight } = queueKeys(PREFIX, TYPE);
const LEASE_KEYS = [leases, inflight];

function gordonToml(port: number, workers: number): string {
  return [
    `redis_address = "127.0.0.1:${port}"`,
    `queue_key = "${QUEUE_KEY}"`,
    `prefix = "${PREFIX}"`,
    '',
    `[tasks.${TYPE}]`,
    'script = "/bin/true"',
    `workers = ${workers}`,
    '',
  ].join('\n');
}

/** Resolves when the list and the leases are empty; false when `ms` pass or the daemon exits first. */
async function drained(ctx: ScenarioContext, child: ChildProcess, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline && !ctx.signal.aborted && child.exitCode === null) {
    const [waiting, leased] = await Promise.all([ctx.admin.lLen(LIST), ctx.admin.exists(LEASE_KEYS)]);
    if (waiting === 0 && leased === 0) return true;
    await sleep(5);
  }
  return false;
}

async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The ceiling: a bare loop spawning `/bin/true` as the daemon does (own process group, piped output). */
async function spawnLoop(ctx: ScenarioContext, concurrency: number): Promise<void> {
  const n = ctx.sizes.commandTasks;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/true', [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      child.once('error', reject);
      child.once('close', () => resolve());
    });
  const start = performance.now();
  const done = await inFlight(n, concurrency, start + ctx.sizes.capMs, once);
  const seconds = (performance.now() - start) / 1000;
  ctx.emit({
    case: `c${concurrency}`,
    system: 'spawn-loop',
    metrics: { tasksPerSec: round(done / seconds), tasks: done, concurrency },
    detail: { planned: n, capped: done < n, program: '/bin/true' },
  });
}

async function measure(ctx: ScenarioContext, workers: number, dir: string): Promise<void> {
  await ctx.admin.flushAll();
  const conf = join(dir, `gordon-${workers}.toml`);
  writeFileSync(conf, gordonToml(ctx.redis.port, workers));
  const env = { ...process.env };
  delete env.ERRAND_BROKER; // these would override the config's broker
  delete env.REDIS_URL;
  const child = spawn(process.execPath, [BIN, 'worker', '-c', conf], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const kase = `c${workers}`;
  try {
    // Warm-up: the daemon is up and has run a task once the first entry is gone.
    await ctx.admin.rPush(LIST, '{"args":[]}');
    if (!(await drained(ctx, child, 30_000))) {
      throw new Error(
        `daemon did not run a warm-up task within 30 s (exit ${child.exitCode}): ${stderr.trim()}`,
      );
    }
    const n = ctx.sizes.commandTasks;
    const start = performance.now();
    await ctx.admin.rPush(
      LIST,
      Array.from({ length: n }, () => '{"args":[]}'),
    );
    const reached = await drained(ctx, child, ctx.sizes.capMs);
    const seconds = (performance.now() - start) / 1000;
    if (!reached && child.exitCode !== null)
      throw new Error(`daemon exited (${child.exitCode}): ${stderr.trim()}`);
    const left = await ctx.admin.lLen(LIST);
    ctx.emit({
      case: kase,
      system: 'errand-daemon',
      metrics: { tasksPerSec: round((n - left) / seconds), tasks: n - left, concurrency: workers },
      detail: { planned: n, capped: !reached, program: '/bin/true', config: 'gordon' },
    });
  } finally {
    await stopDaemon(child);
  }
}

export const commandScenario: Scenario = {
  name: 'command',
  title: 'Command tasks in the daemon',
  systems: ['errand'],
  reportAs: 'errand-daemon',
  async run(ctx) {
    if (!existsSync(BIN)) {
      for (const c of COMMAND_CONCURRENCIES) {
        ctx.emit({
          case: `c${c}`,
          system: 'errand-daemon',
          metrics: {},
          unavailable: 'bin/errand.js is not built yet',
        });
      }
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'errand-bench-daemon-'));
    try {
      for (const c of COMMAND_CONCURRENCIES) {
        await measure(ctx, c, dir);
        await spawnLoop(ctx, c);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
