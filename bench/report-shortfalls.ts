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

**What was cut (issue 11).** Per batch, the settle, the result records and the next reserve are one script
call and one round trip (the result write used to be a second script call; at concurrency 1 that was two
socket writes per task). Sends made in the same moment are one enqueue call. Leasing no longer hashes every
body (SHA1) nor reads an expired-delivery count unless the queue keeps one. One watchdog timer bounds all
Redis commands of a client, and commands sent within 100 ms share one abort signal for node-redis, instead of
a timer and an \`AbortSignal.timeout\` per command. Records and event payloads are built only when
used; a decoded message is completed in place and a short one skips the depth walk. Worker CPU per no-op task
went from 150-220 / 54 / 16 µs (concurrency 1 / 10 / 100) to about 130-150 / 27-32 / 9-10 µs; client CPU per
enqueue with 100 in flight from 25 µs to 5-8 µs.

**Worker CPU per task at concurrency 10 (goal ≤ 20 µs): about 27-32 µs, not met.** With \`results: false\`
it is 11-15 µs, so about half is the result records: per task a record object, its JSON (\`JSON.stringify\`),
its key, and two more arguments in the settle script call, whose RESP encoding and socket write
(\`writev\`, 15 % of the profile) grow with them; Redis also spends 3-4 µs more per task on the \`SET … PX\`
calls. The rest is socket I/O (\`writev\`, \`dispatch\` together ~20 %), \`AsyncLocalStorage\` for \`taskContext()\` (~2-3 %: kept,
because \`taskContext()\` may be called after an \`await\` in any handler, and enabling it lazily could hand a
handler another task's context), and the executor's own promises. Next step: fewer bytes per record on the
wire (the record repeats the task name, queue and timestamps the worker already sent with the message).

**Processing against the raw list loop at 10 and 100 (goal 0.9×): about 0.3-0.6× at 10 and 0.15-0.45× at 100
in our runs, not met.** The raw loop does \`LMOVE\` + \`LREM\` per task and nothing else; Errand keeps a lease with a fencing
token, writes a result record and publishes completion, which costs 8-9 µs of Redis CPU per task at
concurrency 10 against the loop's 2 µs. The worker is also in lockstep: a batch is settled and the next one
leased in one script, then run; with no-op tasks the whole batch ends at once and Node waits for Redis while
Redis waits for Node (Node 30-45 % idle in the profiles). Splitting a worker's slots into two lanes that settle
and refill out of phase would hide one round trip per batch; it is not done (it needs the lanes to stay out of
phase when replies arrive in one socket read, which same-tick pipelining undoes).

**Processing at concurrency 1 (goal ≥ 1.3× BullMQ).** One round trip per task now (settle + result write +
next reserve in one script call: 10 Redis commands per task, against BullMQ's 30+). What is left per task is
the socket round trip itself (the socket write is 30 % of the c1 profile on this machine) and about 40 µs of
Redis CPU, most of it the Lua call overhead of the 10 commands.

**Tail latency.** p99 and max move a lot between runs (see the min–max). Errand adds no timer or batching
window to a task's path: a send goes out after the callbacks already running (\`process.nextTick\`), and a
settle after the executions finishing in the same turn (\`setImmediate\`). Its worst cases line up with V8
garbage collection pauses of the benchmark process, which also holds the producer.

**Scaling past one process.** \`npx tsx bench/scaling.ts\` runs 1, 2 and 4 worker processes (concurrency 100
each) on one Redis: Redis CPU per task stays at 6-7 µs (about 150k tasks/s for one Redis core if Node were
free), so on a 2-core machine the worker processes, not Redis, are the limit.
`;
