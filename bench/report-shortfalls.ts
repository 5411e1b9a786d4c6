/**
 * The "What limits Errand now" section of docs/benchmarks.md: what profiling showed, which targets
 * are only just met, and what would move them. Written by hand (it is analysis, not data); update
 * it when the core's hot path changes.
 */
export const SHORTFALLS = `## What limits Errand now, and what is not reliably met

Profiled with \`npx tsx bench/run.ts --scenarios process --systems errand --cpu-prof <dir>\` (worker phase
only; read with \`npx tsx bench/profile-summary.ts <file>\`) and \`INFO commandstats\`, on a 2-core virtual machine
shared with Redis, so single runs vary by ±20-30 %. Every target is met by its median; four of them only by their
median: in run 1 Errand's processing at concurrency 10 ran at 40,530 tasks/s and 21.1 µs per task (107,700 and
115,400 tasks/s, 8.41 and 7.37 µs in runs 2 and 3), and one enqueue run cost 11.3 µs per send. Ratios are taken
inside each run.

**This machine.** An AMD EPYC VM: the raw loop needs 15.5 µs of worker CPU per task at concurrency 10 here.
Absolute µs move with the machine; ratios move less.

**What was cut.** Per batch, the settle, the result records and the next reserve are one script call and one round
trip; sends made in the same moment are one enqueue call; a successful task goes from handler to ack to
\`completed\` through callbacks, not promises (2.8 promises per task); a worker leases ahead what its handlers run
in about 20 ms (\`prefetch\`, default 200) and starts at most \`max(64, concurrency)\` handlers per settle batch, so
one batch runs while Redis settles the other. New in this round, for tasks that arrive while a worker waits:
- **A plain send is one \`RPUSH\`.** A batch of sends with no delay and no id given went through \`enqueue.lua\`,
  whose only command for it was that \`RPUSH\`: now it is the \`RPUSH\` alone (the script stays for delayed and
  deduplicated sends), and once an Errand's stores are open a batch goes to the broker without an await.
  Bulk enqueue went from 198,000-229,000 to 310,000-417,000 messages/s in this benchmark.
- **Tasks sent together start together.** The wait's \`BLMOVE\` is followed, in the same write, by up to three
  \`LMOVE\`s into the same claim list (one per further free slot), and \`claim.lua\` leases all it took. Before,
  a second task sent in the same tick (two paced sends after a late timer, a \`sendBulk\`) waited for a
  \`reserve\` round trip behind the first: 1-2 % of tasks at 500/s, with a median of 1.2 ms from send to start,
  and 13-21 of the 50 slowest of 5,000 in three profiled runs (the p99 without them: 0.82-1.60 ms instead of
  1.70-2.11 ms).
- **A lone task's lease and settle leave in one write.** Settles flush at the end of the turn in which a task
  decided (\`process.nextTick\`), before node-redis writes what the turn queued (\`setImmediate\`): 3 writes per
  lone task (send, wait, lease and settle), 4 before (\`total_reads_processed\`, test/redis-claims.test.ts), and
  about 60 µs less process CPU per task in the 500/s probe (\`/proc/self/io\` write calls and \`process.cpuUsage\`).
- **The wait that leases** (previous round). An idle worker's wait took two round trips before its task started: \`BLMOVE\` woke
  it, then a script leased the message. Now the \`BLMOVE\` moves the message into a claim list named after its
  fencing token, registered by a \`ZADD\` that Redis runs right behind the served \`BLMOVE\` (so a worker killed the
  next instant leaves a claim that \`recover.lua\` returns after a lease, counted as a delivery), and the worker
  starts the task the moment the reply arrives while \`claim.lua\` records the lease; everything it sends later
  lands behind that lease (docs/redis.md). A message delivered before (some delivery count kept) starts only once
  \`claim.lua\` has counted it. When nothing else waited behind the message, the worker waits again without a
  reserve, so a lone task still costs the worker two script calls (\`claim.lua\` instead of \`reserve.lua\`, and
  the settle) and the small commands sent with the \`BLMOVE\` (\`INFO commandstats\` over 5,000 tasks at 500/s).
  Errand's p50 went from 0.40 ms to 0.22 ms (BullMQ 0.48, Bee-Queue 0.24, the raw loop 0.19).
- **The benchmark's latency warm-up** now ends with one second at the measured rate, untimed, for every system:
  a burst warm-up never runs the path of a task that arrives alone (a wait per task), and V8 compiled it during
  the measurement.

**Worker CPU per task: 8.41 µs at concurrency 10, 7.22 µs at 100 (goal ≤ 20 µs, met).** The draining path did not
change in this round (commands per task 1.17 and 1.09, as before); in an earlier round's \`--cpu-prof\` profile of the concurrency-100 case the main thread
idled 15-30 % of the drain, socket writes (\`writeUtf8String\`, mostly the syscall) took about 10 %, the result
records (key and JSON) 6-7 %, decoding and validating each message 6-7 %, garbage collection 4-8 %; V8's helper
threads add a third to a half of the main thread's CPU (per-thread CPU from \`/proc/self/task\`). About 5.8 KB is
allocated per task when draining. Without result records (\`results: false\`) a task costs 5-7 µs.

**Client CPU per enqueue with 100 in flight: 5.70 µs (5.35-11.3; goal ≤ 10 µs): met** by its median. A send is an
id, one JSON encode and a share of one \`RPUSH\` per tick; the socket write is the largest single cost left.

**p99 from enqueue to handler start at 500 tasks/s (goal ≤ 0.5× BullMQ): 0.430× (0.361-0.456), met** in all three
runs: Errand 1.63, 1.20 and 1.47 ms against BullMQ's 3.58, 3.31 and 3.41 ms (Bee-Queue 1.03-1.48, the raw loop
1.86-2.51); p50 0.194 ms (BullMQ 0.510, Bee-Queue 0.218, the raw loop 0.144). No timer or batching window is on the
path. The previous full run, on the code before the plain \`RPUSH\` send, measured 0.504× (0.425-0.990) on the same
machine, and the one before the two changes above 0.524×; the margin is thin against this machine's noise. An idle
Node.js process on this VM misses a 1 ms timer by over 2.5 ms 4-9 times a second (\`bench/latency-stalls.ts\`),
every system's p99 sits 3-6× above its p95, and of the 50 slowest of 5,000 Errand tasks 5 overlapped a garbage
collection (two probe runs, a GC observer beside the probe). A task is exposed to such a stall for as long as it is
in flight, so the tail follows the time from send to start. Where Errand's time went before the plain send (a probe
with timestamps patched into dist/ and node-redis, producer and worker in one process; medians, 0.26-0.31 ms in all
with the timestamps): about 40 µs from \`send()\` to the enqueue call (message, id, encode, the send batch's
\`nextTick\`, two awaits), 35 µs more to node-redis's write (its \`setImmediate\`), 130-165 µs from that write to the
\`BLMOVE\` reply in JavaScript (Redis runs the enqueue script and the wait's commands), and 35-55 µs from the reply
to the handler (decode, lease bookkeeping, \`AsyncLocalStorage\`). Not done: a client that writes at the end of the
tick instead of in the next check phase (node-redis's choice), and a lone send without the batch's \`nextTick\`.

**Scaling past one process.** \`npx tsx bench/scaling.ts\` runs 1, 2 and 4 worker processes (concurrency 100 each)
on one Redis: Redis CPU per task stays between 9.7 and 13.7 µs (one Redis core would serve 70,000-100,000 tasks/s;
this machine measured 9.0-10.1 µs earlier the same day, and one process 10.2-11.2 µs for this build and for the
build before this round alike, re-run alternately), but on this
2-core machine more worker processes only share the same two cores with Redis, so throughput does not rise.
`;
