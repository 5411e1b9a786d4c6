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

**What was cut.** Per batch, the settle, the result records and the next reserve are one script call and
one round trip (the result write used to be a second script call). Sends made in the same moment are one
enqueue call. Leasing no longer hashes every body (SHA1) nor reads an expired-delivery count unless the queue
keeps one. One watchdog timer bounds all Redis commands of a client instead of a timer and a timeout signal
per command. Records and event payloads are built only when used; a decoded message is completed in place.
Client CPU per enqueue with 100 in flight went from 25 µs to about 5 µs, and enqueue throughput is now about
3× BullMQ's.

**Processing against BullMQ (goal ≥ 1.3× at concurrency 1, ≥ 2.5× at 10 and 100): about 1.0×, 1.1-1.3× and
1.9-2.1×, not met.** BullMQ run as its documentation shows it (ioredis, \`removeOnComplete: true\`) is about twice
as fast as on node-redis with completed jobs kept, which is how earlier versions of this benchmark ran it.
Errand keeps its results (BullMQ removes its jobs): with \`results: false\` Errand reaches about 1.1-1.2×, 1.4-1.5× and
2.5-2.7×. Worker CPU per task is 81-84 / 22-26 / 11 µs at concurrency 1 / 10 / 100 against BullMQ's 74-75 / 31-32 / 30-31 µs.
Since then the worker also feeds the Prometheus counters (about 0.2 µs per task), watches for cancels and
polls the pause flag; those cost a few µs per task together.

**Worker CPU per task at concurrency 10 (goal ≤ 20 µs): about 22-26 µs, not met** (with \`results: false\` about
18-19 µs). Per task: the result record object, its JSON and key, more arguments in the settle script call (RESP
encoding and the socket write grow with them), \`AsyncLocalStorage\` for \`taskContext()\` (about 2-3 %: kept,
because \`taskContext()\` may be called after an \`await\`, and enabling it lazily could hand a handler another
task's context), and the executor's own promises. Next: fewer bytes per record on the wire (the record repeats
the task name, queue and timestamps the worker already has), and one event object per task shared by the
listeners.

**Processing against the raw list loop at 10 and 100 (goal 0.9×): about 0.42-0.47× and 0.44×, not met.** The raw
loop does \`LMOVE\` + \`LREM\` per task and nothing else; Errand keeps a lease with a fencing token, writes a result
record and publishes completion, which costs several µs of Redis CPU per task more than the loop's 1-2 µs. The
worker is also in lockstep: a batch is settled and the next one leased in one script, then run; with no-op tasks
the whole batch ends at once and Node waits for Redis while Redis waits for Node (30-45 % idle in the profiles).
Splitting a worker's slots into two lanes that settle and refill out of phase was tried and gave nothing
measurable (replies arriving in one socket read put the lanes back in phase); it is not done.

**p99 latency at 500 tasks/s (goal ≤ 0.5× BullMQ): about 0.9-1.1×, not met**, although p50 is 0.68×:
both are under a millisecond at p99 (0.6-0.9 ms against 0.7 ms), where single garbage-collection pauses of the
benchmark process (which also holds the producer) decide the figure.

**Tail latency.** Errand adds no timer or batching window to a task's path: a send goes out after the callbacks already running (\`process.nextTick\`), and a
settle after the executions finishing in the same turn (\`setImmediate\`). Its worst cases line up with V8
garbage collection pauses of the benchmark process, which also holds the producer.

**Scaling past one process.** \`npx tsx bench/scaling.ts\` runs 1, 2 and 4 worker processes (concurrency 100
each) on one Redis: Redis CPU per task stays at 6-7 µs (about 150k tasks/s for one Redis core if Node were
free), so on a 2-core machine the worker processes, not Redis, are the limit.
`;
