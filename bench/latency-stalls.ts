/**
 * Where the latency tail comes from: producer and worker of one system in one process (as in
 * the latency scenario, with its warm-up) at a steady rate, with a 1 ms interval timer that
 * records every stall of the event loop longer than 2.5 ms and a GC observer. A second, idle
 * process runs the same timer at the same time: stalls it sees too come from the machine (CPU
 * contention), not from the system's work. Prints the latency percentiles, the stalls per second
 * of both processes, how many of this process's stalls overlapped a garbage collection, and the
 * garbage collections and process CPU per task while measuring.
 * `npx tsx bench/latency-stalls.ts [--system errand|bullmq|beequeue|rawlist] [--redis URL]
 *   [--rate 500] [--seconds 6] [--warmup 5000]`
 */
import { spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createClient } from '@redis/client';
import { LATENCY_CONCURRENCY, PACED_WARMUP_SECONDS, paced, WARMUP } from './scenarios/latency.ts';
import { PRIMARY_SYSTEMS, type SystemName } from './scenarios/types.ts';
import { factories } from './systems/index.ts';

const { values } = parseArgs({
  options: {
    system: { type: 'string', default: 'errand' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '6' },
    warmup: { type: 'string', default: String(WARMUP) },
  },
});
const name = values.system as SystemName;
if (!PRIMARY_SYSTEMS.includes(name)) throw new Error(`--system: one of ${PRIMARY_SYSTEMS.join(', ')}`);
const rate = Number(values.rate);
const total = Math.round(rate * Number(values.seconds));
const warmup = Number(values.warmup);
const STALL_MS = 2.5;

const prefix = `bench-stalls-${process.pid}-${Date.now()}`;
const producer = await factories[name]({ url: values.redis, prefix });
const consumer = await factories[name]({ url: values.redis, prefix });
const latencies: number[] = [];
let measuring = false;
const worker = await consumer.startWorker(LATENCY_CONCURRENCY, {
  onStart: (p) => {
    if (measuring) latencies.push(performance.now() - p.t);
  },
  onDone: () => {},
});
const never = new AbortController().signal;
const send = () => producer.enqueueOne({ t: performance.now() });
// The scenario's warm-up: a burst, then one second at the measured rate.
for (let i = 0; i < warmup; i += 10) await Promise.all(Array.from({ length: 10 }, send));
await paced(Math.round(rate * PACED_WARMUP_SECONDS), rate, never, send);
await sleep(300);

const stalls: Array<[number, number]> = [];
const collections: Array<[number, number]> = [];
const observer = new PerformanceObserver((list) => {
  if (!measuring) return;
  for (const entry of list.getEntries())
    collections.push([entry.startTime, entry.startTime + entry.duration]);
});
observer.observe({ entryTypes: ['gc'] });
let last = performance.now();
const probe = setInterval(() => {
  const now = performance.now();
  if (now - last > STALL_MS) stalls.push([last, now]);
  last = now;
}, 1);

// The idle process's probe: the same timer, nothing else to do; prints its stalls per second.
const idleProbe = spawn(
  process.execPath,
  [
    '-e',
    `let last = performance.now(), stalls = 0; const t0 = last;
     const probe = setInterval(() => { const now = performance.now(); if (now - last > ${STALL_MS}) stalls++; last = now; }, 1);
     process.stdin.on('end', () => { clearInterval(probe); console.log((stalls / ((performance.now() - t0) / 1000)).toFixed(1)); });
     process.stdin.resume();`,
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
let idleOutput = '';
idleProbe.stdout.on('data', (chunk: Buffer) => {
  idleOutput += chunk.toString();
});
const idleExited = new Promise<void>((resolve) => idleProbe.on('close', () => resolve()));

const cpu0 = process.cpuUsage();
measuring = true;
const { seconds } = await paced(total, rate, never, send);
const deadline = Date.now() + 30_000;
while (latencies.length < total && Date.now() < deadline) await sleep(5);
measuring = false;
const cpu = process.cpuUsage(cpu0);
clearInterval(probe);
idleProbe.stdin.end();
await idleExited;
observer.disconnect();
await worker.stop();
await Promise.all([producer.close(), consumer.close()]);
// Every system's keys hold the prefix somewhere (BullMQ's are bull:<prefix>:…).
const admin = createClient({ url: values.redis });
await admin.connect();
for await (const keys of admin.scanIterator({ MATCH: `*${prefix}*`, COUNT: 1000 }))
  if (keys.length > 0) await admin.unlink(keys);
await admin.close();

latencies.sort((a, b) => a - b);
const at = (q: number) => (latencies[Math.floor(q * (latencies.length - 1))] ?? Number.NaN).toFixed(2);
const duringGc = stalls.filter(([a, b]) => collections.some(([g0, g1]) => g1 >= a && g0 <= b)).length;
const gcMs = collections.reduce((sum, [a, b]) => sum + b - a, 0);
console.log(
  `${latencies.length} tasks at ${rate}/s: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, p99 ${at(0.99)} ms`,
);
console.log(
  `event loop stalls over ${STALL_MS} ms: ${(stalls.length / seconds).toFixed(1)}/s, ${duringGc} of ${stalls.length} during a GC (${collections.length} GCs); an idle process beside it: ${idleOutput.trim()}/s`,
);
console.log(
  `${name}: ${collections.length} GCs (${gcMs.toFixed(1)} ms), process CPU ${((cpu.user + cpu.system) / Math.max(1, latencies.length)).toFixed(0)} µs per task`,
);
