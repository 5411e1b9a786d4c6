/**
 * The "What limits Errand now" section of docs/benchmarks.md: what profiling showed, which targets
 * are only just met, and what would move them. Written by hand (it is analysis, not data); update
 * it when the core's hot path changes.
 */
export const SHORTFALLS = `## What limits Errand now, and what is not reliably met

Profiled with \`npx tsx bench/run.ts --scenarios process --systems errand --cpu-prof <dir>\` (worker phase
only; read with \`npx tsx bench/profile-summary.ts <file>\`) and \`INFO commandstats\`, on a 2-core virtual machine
shared with Redis, so single runs vary by ±20-30 %. Every target but p99 latency is met by its median, p99 latency
missed by 5 %. Ratios are taken inside each run.

**This machine.** An AMD EPYC VM: the raw loop needs 15.5 µs of worker CPU per task at concurrency 10 here.
Absolute µs move with the machine; ratios move less.

**What was cut.** Per batch, the settle, the result records and the next reserve are one script call and one round
trip; sends made in the same moment are one enqueue call; a successful task goes from handler to ack to
\`completed\` through callbacks, not promises (2.8 promises per task); a worker leases ahead what its handlers run
in about 20 ms (\`prefetch\`, default 200) and starts at most \`max(64, concurrency)\` handlers per settle batch, so
one batch runs while Redis settles the other. New in this round, for a task that arrives alone:
- **The wait that leases.** An idle worker's wait took two round trips before its task started: \`BLMOVE\` woke
  it, then a script leased the message. Now the \`BLMOVE\` moves the message into a claim list named after its
  fencing token, registered by a \`ZADD\` that Redis runs right behind the served \`BLMOVE\` (so a worker killed the
  next instant leaves a claim that \`recover.lua\` returns after a lease, counted as a delivery), and the worker
  starts the task the moment the reply arrives while \`claim.lua\` records the lease; everything it sends later
  lands behind that lease (docs/redis.md). A message delivered before (some delivery count kept) starts only once
  \`claim.lua\` has counted it. When nothing else waited behind the message, the worker waits again without a
  reserve, so a lone task still costs the worker two script calls (\`claim.lua\` instead of \`reserve.lua\`, and
  the settle) and three small commands sent with the \`BLMOVE\` (\`INFO commandstats\` over 5,000 tasks at 500/s).
  Errand's p50 went from 0.40 ms to 0.22 ms (BullMQ 0.48, Bee-Queue 0.24, the raw loop 0.19).
- **The benchmark's latency warm-up** now ends with one second at the measured rate, untimed, for every system:
  a burst warm-up never runs the path of a task that arrives alone (a wait per task), and V8 compiled it during
  the measurement.

**Worker CPU per task: 9.31 µs at concurrency 10, 9.45 µs at 100 (goal ≤ 20 µs, met).** The draining path did not
change in this round; in the previous round's \`--cpu-prof\` profile of the concurrency-100 case the main thread
idled 15-30 % of the drain, socket writes (\`writeUtf8String\`, mostly the syscall) took about 10 %, the result
records (key and JSON) 6-7 %, decoding and validating each message 6-7 %, garbage collection 4-8 %; V8's helper
threads add a third to a half of the main thread's CPU (per-thread CPU from \`/proc/self/task\`). About 5.8 KB is
allocated per task when draining. Without result records (\`results: false\`) a task costs 5-7 µs.

**Client CPU per enqueue with 100 in flight: 6.48 µs (5.11-8.55; goal ≤ 10 µs): met.** A send is an id, one JSON
encode and a share of one enqueue script call per tick; the socket write is the largest single cost left.

**p99 from enqueue to handler start at 500 tasks/s (goal ≤ 0.5× BullMQ): 0.524× (0.300-0.538), not met** by its
median: 0.553 ms against BullMQ's 1.22 ms, level with Bee-Queue's 0.560 ms and below the raw loop's 0.937 ms; the
slowest task took 2.75-3.07 ms (BullMQ 3.67-6.61, Bee-Queue 2.51-3.10). It was 0.814× before the wait that leases.
No timer or batching window is on the path any more. What is left correlates with the CPU a task costs when it
arrives alone: \`npx tsx bench/latency-stalls.ts --system <name> --seconds 10\` (producer and worker in one process
at 500/s, the scenario's warm-up, process CPU and GCs while measuring; two alternating rounds) measured Errand at
579 and 588 µs of process CPU per task against Bee-Queue's 314 and 310 and BullMQ's 686 and 570, with p99s of
1.31 and 1.44 ms, 0.66 and 0.76 ms, 1.91 and 1.26 ms (that probe's 1 ms timer makes every tail longer than the scenario's). Garbage
collection is not what sets it: Errand ran 27 scavenges in the 10 s against Bee-Queue's 11, but with
\`node --max-semi-space-size=64\` it ran 10-12 and its p99 stayed at 1.14-1.21 ms. In a CPU profile of the measured
phase (the inspector's profiler, same setup) about a third of the main thread's busy time is socket writes (\`writev\`, \`writeUtf8String\`: four writes for the seven
commands of a task) and the rest spread thin over the Redis client's encoding and
parsing, the settle and its result record, and promise bookkeeping for \`AsyncLocalStorage\` (\`taskContext()\`).
Not done: fewer commands per lone task (the four sent with the \`BLMOVE\` could be one script; the result record
rides on the settle already) and a leaner client path per command.

**Scaling past one process.** \`npx tsx bench/scaling.ts\` runs 1, 2 and 4 worker processes (concurrency 100 each)
on one Redis: Redis CPU per task stays between 7.4 and 8.5 µs (one Redis core would serve over 100,000 tasks/s), but on this
2-core machine more worker processes only share the same two cores with Redis, so throughput does not rise.
`;
