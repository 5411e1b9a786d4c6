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

**This machine.** The figures above come from an Intel Xeon at 2.1 GHz (2 cores), where every system takes two to
three times the CPU per task it took on the AMD EPYC of the previous run (the raw loop: 12-16 µs at concurrency 10
here, 13 µs there; a 2 KB socket write alone costs about 20 µs of wall time here). Ratios between systems hold up
better than absolute µs, which is why the µs targets below read worse than the previous run's.

**What was cut.** Per batch, the settle, the result records and the next reserve are one script call and one
round trip. Sends made in the same moment are one enqueue call. Leasing hashes no body unless the queue keeps a
delivery count. One watchdog timer bounds all Redis commands of a client. Records and event payloads are built
only when used. New in this round: **prefetch** — while tasks average under 50 ms, each settle also leases up to
\`prefetch\` (default: three per handler, at least 10, at most 100) messages ahead of free handlers, in queue order, so a finished handler's slot
starts the next message at once instead of after the settle's round trip. Measured side by side
(\`npx tsx bench/prefetch-ab.ts --pairs 3\`: \`prefetch: 0\` and the default in alternating runs on one Redis): at
concurrency 1, 2.5-3.8× the throughput and half to two thirds less CPU per task; at 10, 1.0-1.45×; at 100,
1.0-1.3× (this machine's noise is of that size). And Errand is measured as
users run it, from \`dist/\` (through tsx it paid about a fifth more producer CPU).

**Processing against BullMQ (goal ≥ 1.3× at concurrency 1, ≥ 2.5× at 10 and 100): 2.75×, 1.96× and 2.16× (medians):
met at 1, not at 10 and 100.** Errand keeps its results (BullMQ removes its jobs): with \`results: false\` Errand
reaches about 2.6× at 10 and 3.2× at 100. Worker CPU per task is 77 / 42 / 27 µs at concurrency 1 / 10 / 100
against BullMQ's 138 / 78 / 54 µs.

**Worker CPU per task at concurrency 10 and 100 (goal ≤ 20 µs): 42 and 27 µs here, not met** (28 and 16 µs with
\`results: false\`; the raw loop itself needs 14 and 16 µs on this machine). Profile at concurrency 10
(\`--cpu-prof\`): a quarter idle (Node waits for Redis: the settle-and-lease script is the next step's input),
9 % in socket writes (the kernel's loopback path, paid per write), 9 % garbage collection, then the executor
(7 %), node-redis's command encoding (6 %), \`AsyncLocalStorage\` (4 %, kept: \`taskContext()\` may be called after
an \`await\`), and message decoding, the Prometheus counters, the result records and the settler at 2-3 % each.
What would move it next:
fewer bytes per result record (it repeats the task name, queue and timestamps the worker already has), one event
object per task shared by the listeners, and fewer socket writes per batch (records and settle in one buffer).

**Processing against the raw list loop at 10 and 100 (goal 0.9×): 0.34× and 0.56×, not met.** The raw loop does
\`LMOVE\` + \`LREM\` per task and nothing else (2-5 µs of Redis CPU per task); Errand keeps a lease with a fencing
token, writes a result record and publishes completion: 9-16 µs of Redis CPU per task (6-10 µs without results),
mostly inside the settle-and-lease script, and 1.6-3× the loop's Node CPU. A no-op task is the worst case for
this comparison; the ceiling it sets is not reachable with results stored.

**Enqueue (goals ≥ 2× BullMQ, ≥ Bee-Queue, ≤ 10 µs client CPU): 3.77×, 1.45× and 7.4 µs (6.2-13.9): met** (the
last by its median only; 5.3 µs on the previous machine).

**p99 latency at 500 tasks/s (goal ≤ 0.5× BullMQ): 0.88× (0.71-1.40), not met.** Both are around a millisecond
or two; a waiting worker wakes from \`BLMOVE\` and then leases with a script (two round trips where Bee-Queue's
\`BRPOPLPUSH\` takes one), and single garbage-collection pauses of the benchmark process (which also holds the
producer) decide the tail.

**Tail latency.** Errand adds no timer or batching window to a task's path: a send goes out after the callbacks already running (\`process.nextTick\`), and a
settle after the executions finishing in the same turn (\`setImmediate\`). Its worst cases line up with V8
garbage collection pauses of the benchmark process, which also holds the producer.

**Scaling past one process.** \`npx tsx bench/scaling.ts\` runs 1, 2 and 4 worker processes (concurrency 100
each) on one Redis: 27-29k, 31-33k and 21-23k tasks/s with Redis CPU per task at 12, 10-11 and 10-12 µs (about
80-100k tasks/s for one Redis core if Node were free), so on this 2-core machine the worker processes, not Redis,
are the limit (four processes share two cores with Redis).
`;
