/**
 * The "What limits Errand now" section of docs/benchmarks.md: what profiling showed, which targets
 * are only just met, and what would move them. Written by hand (it is analysis, not data); update
 * it when the core's hot path changes.
 */
export const SHORTFALLS = `## What limits Errand now, and what is not reliably met

Profiled with \`npx tsx bench/run.ts --scenarios process --systems errand --cpu-prof <dir>\` (worker phase
only; read with \`npx tsx bench/profile-summary.ts <file>\`) and \`INFO commandstats\`, on a 2-core virtual machine
shared with Redis, so single runs vary by ±20-30 %. Every target but p99 latency is met by its median; client CPU
per send only by the median (its worst run is at the goal). Ratios are taken inside each run.

**This machine.** An AMD EPYC VM, faster per operation than the one of the previous run: the raw loop needs 17 µs
of worker CPU per task at concurrency 10 here (30-33 µs before). Absolute µs move with the machine; ratios move less.

**What was cut.** Per batch, the settle, the result records and the next reserve are one script call and one round
trip; sends made in the same moment are one enqueue call; a successful task goes from handler to ack to
\`completed\` through callbacks, not promises (2.8 promises per task). New in this round:
- **Prefetch by time.** A worker leases ahead what its handlers run in about 20 ms at their moving-average task
  time, up to \`prefetch\` (default 200; it was three per handler, at most 100). No-op tasks get the whole prefetch,
  so more work waits in the worker and settle-and-lease calls stay full: about 60 tasks per call at concurrency 1
  and 10 (11 and 40 before), 110 at concurrency 100 (\`INFO commandstats\` over a drain). Each call costs a socket
  write and read (on this VM about 140 µs of main-thread time per write in a CPU profile, most of it the
  syscall).
- **Batches that overlap.** Short tasks leased ahead all ran in the turn their refill arrived and one call settled
  them, with Node idle while Redis ran it. Handlers now start at most \`max(64, concurrency)\` times per settle
  batch; the rest start once the settler has sent that batch, so one batch runs while Redis settles the other.
  Measured in alternating drains of 20,000-40,000 no-op tasks (\`.tmp\` scripts, not committed; the benchmark above
  confirms them): concurrency 100 +25-40 % throughput for the split, concurrency 1 about 2× and concurrency 10
  +20-75 % for the larger prefetch, with less CPU per task. Smaller batches (64 at concurrency 100) or no split
  were slower.
- **The \`completed\` payload as one literal** (spreading a base object into it cost about 2 µs per task, 12 % of
  the main thread at concurrency 100), and metrics that find their series without building a key string per event
  and count one histogram bucket per observation (cumulated when scraped).

**Worker CPU per task: 10.5 µs at concurrency 10, 7.6 µs at 100 (goal ≤ 20 µs, met).** What remains, in the
\`--cpu-prof\` profile of the concurrency-100 case (20,000 tasks, about 0.3 s of samples; the profiler's own
\`dispatch\` left out): the main thread idles 15-30 % of the drain; socket writes (\`writeUtf8String\`, mostly
the syscall) take about 10 %, the result records (key and JSON) 6-7 %, decoding and validating each message
6-7 %, garbage collection 4-8 %. V8's helper threads (parallel scavenges, concurrent marking) add a third to a half
of the main thread's CPU (per-thread CPU from \`/proc/self/task\`, warm drains: 8.3 + 3.0 µs at concurrency 100,
9.0 + 4.2 µs at 10). About 5.8 KB is allocated per task (sampling heap profiler), a quarter of it in the Redis
client (command encoding, reply buffers). Without result records (\`results: false\`) a task costs 5-7 µs.

**Client CPU per enqueue with 100 in flight: 6.34 µs (5.93-10.0; goal ≤ 10 µs): met by the median**, the worst
run at the goal. A send is an id, one JSON encode and a share of one enqueue script call per tick; the socket write
is the largest single cost left.

**p99 from enqueue to handler start at 500 tasks/s (goal ≤ 0.5× BullMQ): 0.814× (0.732-1.25), not met**: 1.08 ms
against BullMQ's 1.33 ms and Bee-Queue's 0.70 ms, after a warm-up of 5,000 tasks per system. With the 50-task
warm-up used before, every system's tail carried V8's compilations, and Errand's ratio swung from 0.42× to 1.89×
over six runs; warmed, it stayed between 0.58× and 1.47× in six more (this run and a latency-only run). Errand's p50
is 0.40 ms against BullMQ's 0.51 ms. Errand's idle path is two Redis round
trips, like Bee-Queue's: the idle worker's \`BLMOVE\` wakes when the message is pushed, then one script leases it
(with a fencing token); a bare \`PING\` round trip from Node takes 0.11 ms (p50) here. What Errand adds is work per
task at a low rate: about 70 KB allocated per task at 500/s (sampling heap profiler; 5.8 KB when draining), the
largest shares in the Redis client's command encoding (8 KB), promise tracking for \`AsyncLocalStorage\`
(\`taskContext()\`, 5 KB) and script arguments (4 KB), across the four to five commands a task costs when it
arrives alone (enqueue, wake, lease, settle, wait again); \`npx tsx bench/latency-stalls.ts\` counts 8 event-loop
stalls a second over 2.5 ms in the Errand process and 4.5 in an idle process beside it. Not built: leasing straight
into a waiting worker's own list at enqueue (one hop less; a per-worker key, its registration and recovery in the
reliability protocol). Tried and not kept: sending the expired-lease recovery (every 250 ms) in the same write as
the reserve, and running handlers without \`AsyncLocalStorage\` (a hack): p99 did not move in six alternating
probe runs of each.

**Scaling past one process.** \`npx tsx bench/scaling.ts\` runs 1, 2 and 4 worker processes (concurrency 100 each)
on one Redis: Redis CPU per task stays between 7.3 and 8.6 µs (one Redis core would serve over 100,000 tasks/s), but on this
2-core machine more worker processes only share the same two cores with Redis, so throughput does not rise.
`;
