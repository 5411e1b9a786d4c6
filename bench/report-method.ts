/** The "Method" section of docs/benchmarks.md: how each figure is measured. */
export const METHOD = `## Method

All systems run in one Node.js process (the benchmark) against one private \`redis-server\` that the run
starts on a free port with \`--save '' --appendonly no\`, checks to be its own (port and pid from
\`INFO server\`), flushes before every measurement and kills at the end. Systems take turns inside each run
(the order rotates from run to run), so all of them see the same machine state. Tasks are no-ops; every
payload carries the \`performance.now()\` of its send.

**Systems.** *Errand* through its public API (\`task().send\`, \`sendBulk\`, \`worker()\`) at its defaults (results
stored, prefetch on), and as a second row with \`worker({ results: false })\`, loaded from its build output
(\`dist/\`, what npm ships; built first when older than \`src/\`), as every other system runs its published
JavaScript (through tsx, \`src/\` pays esbuild's \`__name\` wrappers on hot-path closures, about a fifth more
producer CPU); *BullMQ* (\`Queue.add\`, \`addBulk\`, \`Worker\`) as
its documentation shows it: connection options, so it creates its default client (ioredis),
\`removeOnComplete: true\`, \`removeOnFail: { count: 1000 }\`, and as a labelled second row keeping completed jobs
and their return values an hour (never the row a target is measured against); *Bee-Queue* (\`createJob().save()\`,
\`saveAll\`, \`process\`) with its bundled node_redis 3; the *raw list loop*: one node-redis connection, K slots each
doing \`LMOVE wait processing\`, the no-op, then \`LREM processing\` pipelined with the next \`LMOVE\` (node-redis
also batches the commands all slots issue in one tick into one write), one \`BLMOVE\` on a second connection
when the list is empty. It is the practical ceiling for a reliable Redis list consumed by one Node process; it
has no retries, leases, delays or results. A task counts as done when the system reports it finished: Errand's
\`completed\` event, BullMQ's \`completed\`, Bee-Queue's \`succeeded\` (after its MULTI is acknowledged), the
raw loop's \`LREM\` reply.

1. **Enqueue throughput**: no worker runs. *One at a time*: each send awaited before the next. *100 in flight*:
   100 concurrent senders. *Bulk*: the system's bulk call (\`sendBulk\`, \`addBulk\`, \`saveAll\`, multi-value
   \`RPUSH\`) with 1,000 tasks per call. Tasks/s over the wall time of the whole batch.
2. **Processing throughput**: each system first drains 2,000 tasks at concurrency 10, untimed (V8 compiles its hot
   paths, and shared ones such as the Redis client, whichever system runs first). Then, per case, N tasks are
   enqueued in bulk (untimed), and one worker at concurrency 1, 10 or 100 starts; tasks/s from the first handler start to the last completion. *Worker CPU per task* is the process's
   \`process.cpuUsage()\` (user + system) from the worker's start to the last completion, divided by the tasks:
   nothing else runs in the process meanwhile.
3. **Latency**: a worker at concurrency 10 is warmed up (5,000 tasks sent 10 at a time: V8 compiles the path for good
   only after thousands of runs; then one second at the measured rate, untimed, so the path a task takes when it
   arrives alone is compiled too) and left idle; a paced producer then sends
   500 tasks/s individually (each tick sends what is due, so timer jitter does not drift the rate) for the
   configured time. Latency = handler start − send time, same process clock; p50/p95/p99/max over all tasks.
4. **Redis cost per task**, under two load patterns, all traffic through a loopback TCP proxy: *sequential*, a
   warm worker at concurrency 1 runs while N tasks are sent one at a time (each send awaited); *loaded*, a warm
   worker at concurrency 10 runs while N tasks are sent 100 in flight. *Commands* are \`INFO commandstats\` deltas
   over the window (these count every command run inside a Lua script as well as the \`EVALSHA\` itself, and a
   variadic command counts once; the benchmark's own \`INFO\` calls are excluded by name). *Round trips* are
   the proxy's reads of client→Redis data: sequentially each read is one request batch, i.e. one round trip
   (kernel coalescing can only merge reads, so this is a lower bound); under load a read is one batch of
   pipelined requests, so the figure shows how well a system batches. Idle waits of the worker (blocking pops,
   markers) are included, as they are paid in production. *Bytes* are \`total_net_input_bytes\` /
   \`total_net_output_bytes\` deltas from \`INFO stats\`, less the measured size of our own \`INFO\` traffic.
   *Memory per waiting task*: after one task has created each system's per-queue keys, N tasks with a 100-byte
   payload are enqueued in bulk with no worker; \`used_memory\` delta / N. Scenario 2 also records the Redis
   server's CPU time (\`INFO cpu\`) and commands per task while the worker drains the queue.
5. **Command tasks**: the daemon (\`node bin/errand.js worker -c <generated Gordon TOML>\`) runs \`/bin/true\` for
   Gordon-style entries (\`RPUSH <queue_key>:<type> '{"args":[]}'\`, all N in one command, after one warm-up
   task) at 1 and 8 workers; tasks/s until the list and Errand's lease set for the queue are empty (polled every
   5 ms). Fork and exec are the limit here: Node spawns children from its main thread. The *bare spawn loop*
   is the ceiling: the benchmark process itself spawning \`/bin/true\` the way the daemon does (own process
   group, piped output) with 1 or 8 in flight.
6. **SQLite**: Errand with the embedded SQLite broker on a fresh temporary file (\`measureSqlite\` in
   bench/sqlite-throughput.ts): \`sendBulk\` in chunks of 100, \`send\` one at a time, processing of the
   pre-enqueued no-op tasks by one worker at concurrency 10 (results written), and sending (10 producers) and
   processing together; beside Errand on Redis at concurrency 10 from scenario 2.

**Noise.** The benchmark shares the machine with whatever else runs; the load average is not controlled.
Ratios are taken between systems inside the same run, minutes apart at most, which cancels slow drifts but
not bursts; the min–max shows the spread.

**Fairness.** Each system runs the way its documentation recommends, on its default client (listed above):
retries (3 after the first attempt) and a 30 s lease / lock / stall interval with stalled-job recovery on where
the system has them. Errand keeps its results (its default) while BullMQ removes completed jobs
(\`removeOnComplete: true\`, what BullMQ users run for speed): where the two differ, Errand does more work per task.
The second rows show each the other way. No system is configured to make another look better.
`;
