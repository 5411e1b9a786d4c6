/** `errand resque --help`, apart from the command so that loading the CLI does not load src/resque (and @redis/client). */
export const resqueHelp = `Usage: errand resque -queues=SPEC --modules FILE [options]

Runs Resque jobs ({"class":…,"args":[…]} on <namespace>queue:<name>) with the tasks the modules
define: a job's class is a task name. Registers as Resque workers (resque-web, node-resque and
Ruby Resque see them), writes Resque's stats and failures, and loses no job if killed.
Flags as goworker spells them (-flag=value, -flag value and --flag all work):

  -queues SPEC          "q1,q2" (that order) or weighted "high=2,low=1" (required)
  -concurrency N        jobs at once; each is one Resque worker (default 25)
  -uri URL              Redis (default: $REDIS_PROVIDER names the variable holding it,
                        else $REDIS_URL, else redis://localhost:6379/)
  -namespace NS         key prefix, verbatim (default "resque:")
  -interval SECONDS     wait when every queue is empty (default 5.0)
  -exit-on-complete     exit 0 once every queue is empty and no job runs
  --modules FILE        a module whose default export (errand) => void defines tasks (repeatable)
  -connections N        accepted for goworker compatibility; unused (as in goworker)
  -use-number           accepted for goworker compatibility; JSON numbers are always JS numbers
  -h, --help            show this help

Signals: SIGTERM/SIGINT let running jobs finish (up to 10 s; a second signal: at once), hand the
rest back to the head of their queues, unregister and exit 0.
See docs/resque.md.
`;
