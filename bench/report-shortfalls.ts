/**
 * The "Where Errand falls short, and why" section of docs/benchmarks.md: what profiling showed
 * for the targets not met, and what would move them. Written by hand (it is analysis, not data);
 * update it when the core's hot path changes.
 */
export const SHORTFALLS = `## Where Errand falls short, and why

Profiled with \`npm run bench -- --cpu-prof <dir>\` (worker phase only) and \`INFO commandstats\`.

**Processing throughput against the raw list loop (goal 0.9×).** The raw loop does \`LMOVE\` + \`LREM\` per
task and nothing else. Errand, per task, also decodes and validates the JSON message, runs the handler with
an abortable context, keeps a lease (fencing token, renewal), writes a result record with a TTL, and
publishes completion for \`result()\` waiters. What that costs:
- *Node CPU:* about 60 µs per no-op task at concurrency 100 (\`process.cpuUsage\` over 30,000 tasks). The largest
  project costs are \`executor.run\` (~14 % inclusive), \`settler.apply\` (~11 %), message decode (~4 %),
  and RESP encoding of the batch scripts' arguments inside node-redis; V8 garbage collection adds ~7–18 %.
- *Redis CPU:* about 28 µs per task at concurrency 100, 40 µs at 10 (raw loop: 4–30 µs), almost all inside
  the batch scripts: the settle-and-reserve script costs about 2 ms per 100 tasks, and the result script
  about 1 ms per 100 \`SET … PX\` calls (each \`redis.call\` from Lua costs several µs beyond the command).
- *Lockstep:* a worker settles a batch and leases the next one in the same script, then runs it; with
  no-op tasks the batch finishes at once and Node waits for Redis while Redis waits for Node (Node ~44 %
  idle at concurrency 100). Two workers of concurrency 50 in one process reached 14.5–20.4k tasks/s against
  13.1–13.5k for one of 100. Next steps: split a worker's slots into two lanes that settle and refill out
  of phase, and make leasing cheaper (carry the expired-delivery count in the list entry instead of a
  sha1-keyed hash, which removes a \`sha1hex\` per message and an \`HMGET\` per batch).

**Redis commands per task when tasks come one at a time (goal 0.2× of BullMQ).** With one send in flight
and a worker at concurrency 1 every batch is one task, so per-batch costs are per-task costs: 13 commands
(3 \`EVALSHA\`: enqueue, settle-and-reserve, write-results; \`RPUSH\`, \`LPOP\`, \`ZRANGE\` (next delayed),
\`ZADD\` and \`ZREM\` (lease), \`HSET\` and \`HDEL\` (in-flight body), \`HMGET\` (expired-delivery count),
\`SET\` (result), \`PUBLISH\` (completion)) against BullMQ's 34. Under load (100 sends in flight, concurrency
10) batching brings it to 4.0 (0.12×). Ways to go lower at concurrency 1, not done yet: a plain \`RPUSH\`
instead of the enqueue script when a send has no id and no delay (−1), carrying the delivery count in the
entry (−1, \`HMGET\`), and publishing only when some process waits for a result (−1).

**Tail latency.** p99 and max move a lot between runs (see the min–max): Errand's worst cases (50–60 ms) line
up with V8 garbage collection pauses of the benchmark process, which also holds the producer. Fewer
allocations per task would shorten them.
`;
