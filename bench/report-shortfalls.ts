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
operation: the raw loop needs 30-33 µs of worker CPU per task at concurrency 10 (14 µs on the Intel Xeon of the previous
run) and 32 µs of producer CPU per send with 100 in flight. Ratios between systems hold up far better than absolute
µs between machines, so the µs targets read worse here than on either previous machine; none of them is met by the
raw loop itself on this one.

**What was cut.** Per batch, the settle, the result records and the next reserve are one script call and one
round trip. Sends made in the same moment are one enqueue call. Leasing hashes no body unless the queue keeps a
delivery count. One watchdog timer bounds all Redis commands of a client. Records and event payloads are built
only when used. **Prefetch**: while tasks average under 50 ms, each settle also leases up to \`prefetch\` (default:
three per handler, at least 10, at most 100) messages ahead of free handlers, in queue order, so a finished
handler's slot starts the next message at once instead of after the settle's round trip (\`npx tsx
bench/prefetch-ab.ts\` measures it against \`prefetch: 0\`). Errand is measured as users run it, from \`dist/\`.
New in this round: **the success path without promises**. With \`AsyncLocalStorage\` on (for \`taskContext()\`),
every promise and every \`await\` costs an async-hook call and an allocation, and a successful task went through
12.8 promises (counted with an \`async_hooks\` init hook over a drain at concurrency 10); handler → ack →
\`completed\` is now written with callbacks and makes 2.8. Allocation per task fell from about 11 KB to 7.5 KB
(sampling heap profiler), main-thread CPU per task at concurrency 10 from 42-53 to 33-35 µs (alternating runs).
And a worker's blocking wait no longer gets node-redis's per-command \`AbortSignal.timeout\` (a timer and a weak
reference kept alive 5 s per wake-up, which slowed every scavenge of an idle worker woken per task).

**Processing against BullMQ (goal ≥ 1.3× at concurrency 1, ≥ 2.5× at 10 and 100): 4.36×, 2.48× and 2.89×
(medians; section 2 was re-measured on the final code, \`npx tsx bench/run.ts --scenarios process --runs 3\`): met at
1 and 100, just short at 10 (2.39-2.67; the run before the last review commit, whose only hot-path change is
building the \`completed\` payload from \`eventBase\`, measured 2.76×, 2.43-5.50: the noise of this machine is of
that size).** Errand keeps its results (BullMQ removes its jobs); against BullMQ keeping its completed jobs an hour
it is 3.59×, 2.60× and 2.51×. Worker CPU per task is 85 / 43 / 36 µs at concurrency 1 / 10 / 100 against
BullMQ's 342 / 160 / 170 µs.

**Worker CPU per task at concurrency 10 and 100 (goal ≤ 20 µs): 43 and 36 µs here, not met** (32 and 27 µs with
\`results: false\`; the raw loop itself needs 33 and 30 µs on this machine). Split by thread (\`npx tsx
bench/prefetch-ab.ts --concurrency 10\` prints the main thread's share on Linux): about 35 µs on the main thread
and 15-20 µs on V8's helper threads (parallel scavenges, concurrent marking). Of the 7.5 KB still allocated per
task, the largest shares are node-redis's command encoding (0.8 KB), the result record's key and JSON (0.5 KB),
the decoded message with its execution (0.4 KB), the handler call (0.45 KB) and the two record states (0.5 KB).
The main thread still idles about 40 % of a drain at concurrency 10, in a lockstep: with 10 handlers and 30
messages leased ahead, all 40 run in one turn and one settle-and-lease call carries their outcomes and leases the
next 40 (2 ms round trip). Running at most one handler's worth per turn, so four smaller calls overlap, was tried
twice (before and after the change above): 10-16 µs more main-thread CPU per task and no more throughput (each
call costs socket writes and reads of about 20 µs each on this machine), so it was not kept. What would move it
next: fewer bytes per command (a result record repeats the task name and queue), and a leaner Redis client on
the hot path.

**Processing against the raw list loop at 10 and 100 (goal 0.9×): 0.57× and 0.56×, not met.** The raw loop does
\`LMOVE\` + \`LREM\` per task and nothing else; Errand keeps a lease with a fencing token, writes a result record
and publishes completion, mostly inside the settle-and-lease script: about 2-4× the loop's Redis CPU per task.
Without results (\`results: false\`) Errand's medians are 0.88× and 0.78× the loop's. A no-op task is the worst
case for this comparison; the ceiling it sets is not reachable with results stored.

**Enqueue (goals ≥ 2× BullMQ, ≥ Bee-Queue, ≤ 10 µs client CPU): 3.77× and 1.63×: met; 16.5 µs of client CPU per
send: not met on this machine**, where the raw loop's own \`RPUSH\` costs 32 µs, Bee-Queue 35 and BullMQ 74 (on
the previous machine Errand's figure was 7.4 µs).

**p99 latency at 500 tasks/s (goal ≤ 0.5× BullMQ): 0.54× (0.46-0.92), not met**: 3.4 ms against BullMQ's 4.1 ms
(p50 0.66 against 0.94 ms, p95 1.15 against 1.85 ms); Bee-Queue's p99 is 1.7 ms. Errand adds no timer or batching
window to a task's path (a send goes out on \`process.nextTick\`, a settle on \`setImmediate\`). The tail is the
machine's: \`npx tsx bench/latency-stalls.ts\` (producer and worker at 500/s in one process, a 1 ms interval
timer in it and in an idle process beside it) counts 13-18 event-loop stalls a second longer than 2.5 ms in the
Errand process and 9-10 in the idle one (about 2 when it runs alone), a sixth of Errand's during a garbage
collection: on two cores shared with Redis, any work in flight gets descheduled now and then, and the less CPU
a system uses per task the fewer of its tasks it hits.

**Scaling past one process.** \`npx tsx bench/scaling.ts\` runs 1, 2 and 4 worker processes (concurrency 100
each) on one Redis: 15.6k, 22.3k and 16.4k tasks/s with Redis CPU per task at 23, 17 and 17 µs (one Redis core
would serve about 60k tasks/s), so on this 2-core machine the worker processes, not Redis, are the limit (four
processes share two cores with Redis).
`;
