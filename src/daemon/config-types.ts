/** The daemon's configuration after loading and validation, whatever file format it came from. */
import type { BackoffSpec } from '../core/backoff.ts';

/** Which file format the config came from; Gordon and Goophry keep their wire formats. */
export type Flavour = 'errand' | 'gordon' | 'goophry';

/**
 * When a command counts as failed:
 * - `exit-code`: a non-zero exit (or a signal) only; stdout is the result.
 * - `gordon`: Gordon's rule: a non-zero exit gives `exit status N`; exit 0 with any bytes on stdout
 *   fails with exactly those bytes as the error; stderr never counts.
 */
export type FailureRule = 'exit-code' | 'gordon';

export interface CommandTaskConfig {
  /** The task type (the name messages carry). */
  readonly name: string;
  readonly queue: string;
  /** Program path (absolute, or looked up in PATH when it has no slash). */
  readonly program: string;
  /** The config key the program came from, for messages (`tasks.resize.script`). */
  readonly programKey?: string | undefined;
  /** Fixed arguments placed before the message's arguments. */
  readonly args: readonly string[];
  readonly cwd: string | undefined;
  /** Merged over the daemon's environment; the message's env is merged over this. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number | undefined;
  /** After SIGTERM to the process group, SIGKILL follows after this long. */
  readonly killGraceMs: number;
  readonly concurrency: number;
  readonly retries: number;
  readonly backoff: BackoffSpec | undefined;
  /** Bound on captured stdout and stderr, each. */
  readonly maxOutputBytes: number;
  readonly failure: FailureRule;
  /** Gordon/Goophry failed list TTL in seconds; 0 = no failed list. */
  readonly failedTtlSec: number;
  /**
   * Gordon/Goophry configs: the daemon deletes this type's dead letters older than this
   * (Gordon kept no state but its failed lists). Undefined = kept (Errand's format).
   */
  readonly deadLetterTtlMs?: number | undefined;
}

export interface StatsConfig {
  /** `host:port` to listen on (`:port` means all interfaces). */
  readonly listen: string;
  /** Only this path answers (exact, or a prefix when it ends with "/"); undefined = every path (Gordon). */
  readonly path: string | undefined;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
}

export interface ErrorScriptConfig {
  readonly program: string;
  /** `file`: argv[1] is a temp file holding the notification (Gordon); `argv`: the text itself (Goophry). */
  readonly mode: 'file' | 'argv';
}

/** errand.toml `[resque]`: a Resque worker (src/resque) on the broker's Redis, beside the queue workers. */
export interface ResqueSectionConfig {
  /** Resque's key prefix, verbatim (default "resque:"). */
  readonly namespace: string;
  /** goworker's spec: "q1,q2" or weighted "high=2,low=1". */
  readonly queues: string;
  readonly concurrency: number;
  /** The idle wait when every queue is empty. */
  readonly intervalMs: number;
  /** `[[resque.jobs]]`: classes served by a command (each entry's `name` is the class). */
  readonly jobs: readonly CommandTaskConfig[];
}

export interface DaemonConfig {
  readonly flavour: Flavour;
  /** Absolute path of the file the config was read from. */
  readonly file: string;
  readonly broker: string;
  /** Result backend URL; absent: the broker's own store (errand.toml `backend`). */
  readonly backend?: string;
  /** Key prefix of Errand's own keys (leases, results, dead letters). */
  readonly prefix: string;
  /** Gordon/Goophry `queue_key`: the lists are `<queueKey>:<type>`. */
  readonly queueKey: string | undefined;
  /** JS/TS modules that register handlers (absolute paths). */
  readonly modules: readonly string[];
  /** Queues the module handlers are consumed from, and their worker's concurrency. */
  readonly moduleQueues: readonly string[];
  readonly moduleConcurrency: number;
  readonly tasks: readonly CommandTaskConfig[];
  readonly errorScript: ErrorScriptConfig | undefined;
  readonly tempDir: string;
  /** Log destination from the config ('' = stdout); the --logfile flag overrides it. */
  readonly logfile: string;
  readonly stats: StatsConfig | undefined;
  /** `[metrics] listen`: serve Prometheus metrics at /metrics (Errand's format only). */
  readonly metrics?: { readonly listen: string } | undefined;
  /** `[dashboard] listen` (and `token`, required off loopback): serve the web dashboard. */
  readonly dashboard?: { readonly listen: string; readonly token: string | undefined } | undefined;
  readonly leaseMs: number;
  readonly shutdownMs: number;
  /** Record task states and results (Errand's format: yes; Gordon/Goophry: only with `results = true`). */
  readonly storeResults: boolean;
  /** `[resque]` (Errand's format only). */
  readonly resque?: ResqueSectionConfig | undefined;
  /** Accepted keys that do nothing in Errand (documented as superseded), and ignored unknown keys. */
  readonly warnings: readonly string[];
}

export const DEFAULTS = {
  killGraceMs: 10_000,
  maxOutputBytes: 64 * 1024,
  /** Gordon kept all of a command's stdout; Errand bounds it, far above what a failed list should hold. */
  gordonMaxOutputBytes: 16 * 1024 * 1024,
  /** Dead letters of a Gordon/Goophry type without a failed list are kept this long. */
  gordonDeadLetterTtlMs: 24 * 3_600_000,
  leaseMs: 30_000,
  shutdownMs: 30_000,
  concurrency: 1,
  moduleConcurrency: 10,
} as const;
