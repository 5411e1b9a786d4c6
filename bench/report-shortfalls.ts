/**
 * The "Where Errand falls short, and why" section of docs/benchmarks.md: what profiling showed
 * for the targets not met, and what would move them. Written by hand (it is analysis, not data);
 * update it when the core's hot path changes.
 */
export const SHORTFALLS = `## Where Errand falls short, and why

Profiled with \`npx tsx bench/run.ts --scenarios process --systems errand --cpu-prof <dir>\` (worker phase
only; read with \`npx tsx bench/profile-summary.ts <file>\`) and \`INFO commandstats\`, on a 2-core machine
shared with other work, so single runs vary by ±30 %; the figures below are what repeated short runs agreed on.
The first system measured in a run (Errand) also pays V8's warm-up in run 1: its CPU per task there is 1.5-3×
that of runs 2 and 3, so only the median of several runs says anything.

**This machine.** The figures above come from a 2-core AMD EPYC virtual machine where every system is slow per
operation: the raw loop needs 38 µs of worker CPU per task at concurrency 10 (14 µs on the Intel Xeon of the previous
run) and 38 µs of producer CPU per send with 100 in flight. Ratios between systems hold up far better than absolute
µs between machines, so the µs targets read worse here than on either previous machine; none of them is met by the
raw loop itself on this one.

**What was cut.** Per batch, the settle, the result records and the next reserve are one script call and one
round trip. Sends made in the same moment are one enqueue call. Leasing hashes no body unless the queue keeps a
delivery count. One watchdog timer bounds all Redis commands of a client. Records and event payloads are built
only when used. **Prefetch**: while tasks average under 50 ms, each settle also leases up to \`prefetch\` (default:
three per handler, at least 10, at most 100) messages ahead of free handlers, in queue order, so a finished
handler's slot starts the next message at once instead of after the settle's round trip (\`npx tsx
bench/prefetch-ab.ts --pairs 3\` measures it against \`prefetch: 0\`: 2.5-3.8× at concurrency 1 on the previous
machine, within the noise at 100). Errand is measured as users run it, from \`dist/\`. New in this round: a
worker's blocking wait no longer gets node-redis's per-command \`AbortSignal.timeout\` (a timer and a weak
reference kept alive 5 s per wake-up: at 500 tasks/s they made each scavenge take 3-5 ms instead of 1-2 ms).

**Processing against BullMQ (goal ≥ 1.3× at concurrency 1, ≥ 2.5× at 10 and 100): 3.79×, 2.00× and 2.47× (medians):
met at 1, not at 10, just short at 100 (2.45-2.88).** Errand keeps its results (BullMQ removes its jobs); with
\`results: false\` it runs 1.6× and 1.25× faster at 10 and 100. Worker CPU per task is 102 / 71 / 55 µs at
concurrency 1 / 10 / 100 against BullMQ's 262 / 164 / 159 µs.

**Worker CPU per task at concurrency 10 and 100 (goal ≤ 20 µs): 71 and 55 µs here, not met** (55 and 48 µs with
\`results: false\`; the raw loop itself needs 38 and 28 µs on this machine). Split by thread (\`npx tsx bench/prefetch-ab.ts
--concurrency 10\` prints the main thread's share): 55-60 µs on the main thread and 15-25 µs on V8's helper
threads (parallel scavenges, concurrent marking), so allocation is a third of the cost: about 11 KB is allocated
per task (sampling heap profiler), the largest shares in the executor's async steps and their promises (about
1.8 KB in \`conclude\`, 1 KB each in \`run\` and \`perform\`), node-redis's command encoding (0.8 KB), the result
record's JSON (0.5 KB) and \`AsyncLocalStorage\`'s promise hook (about 0.8 KB over all promises; kept:
\`taskContext()\` may be called after an \`await\`; switching it off measured within the noise). Profile at
concurrency 10: the main thread idles a third of the time in a lockstep: with 10 handlers and 30 messages leased
ahead, one settle-and-lease call carries all 40 outcomes and leases the next 40, and the main thread waits for
its 2 ms round trip. Splitting it into four calls in flight (a turn runs at most one handler's worth) was tried:
the same throughput, 35 µs more CPU per task (more calls, more garbage), so it was not kept. What would move it
next: fewer promises per task in the executor (callbacks on the hot path), fewer bytes per command (a result
record repeats the task name and queue the worker already has), and a leaner Redis client on the hot path.

**Processing against the raw list loop at 10 and 100 (goal 0.9×): 0.51× and 0.45×, not met.** The raw loop does
\`LMOVE\` + \`LREM\` per task and nothing else (4-11 µs of Redis CPU per task); Errand keeps a lease with a fencing
token, writes a result record and publishes completion: 21-26 µs of Redis CPU per task (14-15 µs without
results), mostly inside the settle-and-lease script, and twice the loop's Node CPU. A no-op task is the worst
case for this comparison; the ceiling it sets is not reachable with results stored.

**Enqueue (goals ≥ 2× BullMQ, ≥ Bee-Queue, ≤ 10 µs client CPU): 4.04× and 1.74×: met; 19.4 µs of client CPU per
send: not met on this machine** (the raw loop's own \`RPUSH\` costs 38 µs here, BullMQ 87, Bee-Queue 37; on the
previous machine Errand's figure was 7.4 µs).

**p99 latency at 500 tasks/s (goal ≤ 0.5× BullMQ): 0.57× (0.41-0.86), not met**; p50 0.77 ms against BullMQ's
0.96 ms, but Bee-Queue and the raw loop keep p99 under 2 ms where Errand's is 4-7 ms. Errand adds no timer or
batching window to a task's path (a send goes out on \`process.nextTick\`, a settle on \`setImmediate\`); its tail
is the event loop of the benchmark process, which holds producer and worker: a 1 ms interval timer in the same
process (\`npx tsx bench/latency-stalls.ts\`) finds 11-16 stalls a second longer than 2.5 ms, one in five to
seven of them during a garbage collection; a CPU profile puts most of the rest in busy stretches where socket
writes (about 20 µs each here) and collections add up. Less garbage per task is the lever here too; a wake-up that leases in the same round
trip would save a round trip, not the tail.

**Scaling past one process.** \`npx tsx bench/scaling.ts\` runs 1, 2 and 4 worker processes (concurrency 100
each) on one Redis: 14k, 22k and 17k tasks/s with Redis CPU per task at 22, 15 and 15 µs (one Redis core would
serve about 65k tasks/s), so on this 2-core machine the worker processes, not Redis, are the limit (four
processes share two cores with Redis).
`;
