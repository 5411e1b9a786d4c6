/**
 * Where the latency tail comes from: producer and worker in one process (as in the latency
 * scenario) at a steady rate, with a 1 ms interval timer that records every stall of the event
 * loop longer than 2.5 ms and a GC observer. A second, idle process runs the same timer at the
 * same time: stalls it sees too come from the machine (CPU contention), not from Errand's work.
 * Prints the latency percentiles, the stalls per second of both processes, and how many of this
 * process's stalls overlapped a garbage collection.
 * `npx tsx bench/latency-stalls.ts [--redis URL] [--rate 500] [--seconds 6]`
 */
import { spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Errand } from './lib/errand-dist.ts';

const { values } = parseArgs({
  options: {
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '6' },
  },
});
const rate = Number(values.rate);
const total = Math.round(rate * Number(values.seconds));
const STALL_MS = 2.5;

const prefix = `bench-stalls-${process.pid}-${Date.now()}`;
const producer = new Errand({ broker: values.redis, prefix, resultTtlMs: 60_000 });
const consumer = new Errand({ broker: values.redis, prefix, resultTtlMs: 60_000 });
const latencies: number[] = [];
let measuring = false;
const define = (errand: Errand) =>
  errand.task(
    'noop',
    async (sentAt: number) => {
      if (measuring) latencies.push(performance.now() - sentAt);
    },
    { retries: 3 },
  );
const noop = define(producer);
define(consumer);
const worker = consumer.worker({ concurrency: 10, handleSignals: false });
await worker.start();
for (let i = 0; i < 50; i++) await noop.send(performance.now()); // warm up
await sleep(300);

const stalls: Array<[number, number]> = [];
const collections: Array<[number, number]> = [];
const observer = new PerformanceObserver((list) => {
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

measuring = true;
const started = performance.now();
const sends: Promise<unknown>[] = [];
let sent = 0;
while (sent < total) {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
  for (; sent < due; sent++) sends.push(noop.send(performance.now()));
  await sleep(1);
}
const seconds = (performance.now() - started) / 1000;
await Promise.all(sends);
await sleep(300);
measuring = false;
clearInterval(probe);
idleProbe.stdin.end();
await idleExited;
observer.disconnect();
await worker.stop();
await Promise.all([producer.close(), consumer.close()]);

latencies.sort((a, b) => a - b);
const at = (q: number) => (latencies[Math.floor(q * (latencies.length - 1))] ?? Number.NaN).toFixed(2);
const duringGc = stalls.filter(([a, b]) => collections.some(([g0, g1]) => g1 >= a && g0 <= b)).length;
console.log(
  `${latencies.length} tasks at ${rate}/s: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, p99 ${at(0.99)} ms`,
);
console.log(
  `event loop stalls over ${STALL_MS} ms: ${(stalls.length / seconds).toFixed(1)}/s, ${duringGc} of ${stalls.length} during a GC (${collections.length} GCs); an idle process beside it: ${idleOutput.trim()}/s`,
);
