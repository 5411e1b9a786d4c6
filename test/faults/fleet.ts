/**
 * Helpers of the fault suite: worker processes that record every run in a file (synchronously,
 * so a record survives SIGKILL), a kill loop over them, and the figures a run reports.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

export interface WorkerProc {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<void>;
}

/** Starts a fixture worker and resolves once it prints or sends "ready" (fails after 30 s). */
export async function startFixture(script: string, args: readonly (string | number)[]): Promise<WorkerProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture(script), ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  const collect = (chunk: Buffer): void => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`${script} not ready after 30 s:\n${out}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      if (chunk.toString().includes('ready')) done();
    };
    const onMessage = (): void => done();
    const onExit = (code: number | null, signal: string | null): void =>
      done(new Error(`${script} exited before ready (${code ?? signal}):\n${out}`));
    child.stdout!.on('data', onData);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
  return { child, output: () => out, exited };
}

/** SIGKILL, and wait until the process is gone. */
export async function kill(proc: WorkerProc): Promise<void> {
  proc.child.kill('SIGKILL');
  await proc.exited;
}

/** SIGTERM, then SIGKILL if it has not exited within `ms`. */
export async function stopGently(proc: WorkerProc, ms = 15_000): Promise<void> {
  proc.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([proc.exited, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  if (proc.child.exitCode === null && proc.child.signalCode === null) await kill(proc);
}

/** Non-empty lines of the files that exist. */
export function lines(...files: string[]): string[] {
  return files.flatMap((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []));
}

export async function waitFor(
  what: string,
  ms: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface KillLoopOptions {
  readonly workers: number;
  readonly kills: number;
  readonly total: number;
  /** Starts worker number `n` (a fresh process each time). */
  readonly start: (n: number) => Promise<WorkerProc>;
  /** How many distinct tasks have finished so far. */
  readonly done: () => number;
  /** Leases held fleet-wide right now (read just before each kill, to show kills land mid-run). */
  readonly leased: () => Promise<number>;
}

/**
 * Runs `workers` processes and SIGKILLs a random one each time another 1/(kills+1) of the tasks
 * has finished, starting a replacement at once, so every kill lands mid-run. Resolves with the
 * processes alive at the end (to stop) once all `kills` are done.
 */
export async function killLoop(
  options: KillLoopOptions,
): Promise<{ alive: WorkerProc[]; kills: number; leasedAtKills: number }> {
  let started = 0;
  const alive = await Promise.all(Array.from({ length: options.workers }, () => options.start(started++)));
  let kills = 0;
  let leasedAtKills = 0;
  while (kills < options.kills) {
    const threshold = Math.floor((options.total * (kills + 1)) / (options.kills + 2));
    await waitFor(
      `${threshold} tasks done before kill ${kills + 1}`,
      120_000,
      () => options.done() >= threshold,
    );
    leasedAtKills += await options.leased();
    const victim = alive.splice(Math.floor(Math.random() * alive.length), 1)[0]!;
    await kill(victim);
    kills++;
    alive.push(await options.start(started++));
  }
  return { alive, kills, leasedAtKills };
}

/** The figures of a run, as docs/reliability.md reports them. */
export interface Figures {
  readonly tasks: number;
  readonly kills: number;
  readonly runs: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly bound: number;
  readonly seconds: number;
  /** Leases held fleet-wide just before the kills, summed over the kills (kill loops only). */
  readonly leasedAtKills?: number;
}

export function report(name: string, figures: Figures): void {
  // One line per run, grep-able from the test output: the figures quoted in docs/reliability.md.
  console.log(`FAULT-FIGURES ${name} ${JSON.stringify(figures)}`);
}

/**
 * The verdict of a kill loop, the same for every broker: every expected task ran at least once,
 * duplicates stay within what the kills could have held in flight, and the kills landed mid-run.
 * Reports the figures (see `report`) and returns them.
 */
export function checkKillLoop<T>(
  name: string,
  run: {
    readonly expected: readonly T[];
    readonly runs: readonly T[];
    readonly fleet: { readonly kills: number; readonly leasedAtKills: number };
    /** The most leases one worker holds: its concurrency, plus its prefetch where the broker leases ahead. */
    readonly maxLeases: number;
    readonly started: number;
  },
): Figures {
  const unique = new Set(run.runs);
  const figures = {
    tasks: run.expected.length,
    kills: run.fleet.kills,
    runs: run.runs.length,
    lost: run.expected.filter((t) => !unique.has(t)).length,
    duplicates: run.runs.length - unique.size,
    bound: run.fleet.kills * run.maxLeases,
    seconds: Math.round((Date.now() - run.started) / 1000),
    leasedAtKills: run.fleet.leasedAtKills,
  };
  report(name, figures);
  assert.ok(run.fleet.leasedAtKills > 0, 'the kills landed while tasks were leased');
  assert.equal(figures.lost, 0, 'no task lost');
  assert.ok(
    figures.duplicates <= figures.bound,
    `${figures.duplicates} duplicates, at most ${figures.bound} were in flight`,
  );
  return figures;
}
