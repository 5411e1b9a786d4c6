/**
 * errand.toml `[resque]`: a Resque worker (src/resque) on the daemon's Errand and Redis. Each
 * `[[resque.jobs]]` class is a command task (argv, env, timeout, output and failure rule as a
 * `[[tasks]]` entry); tasks the modules define are served by their names too.
 */
import type { Errand } from '../core/errand.ts';
import type { Resque } from '../resque/index.ts';
import type { ResqueWorker } from '../resque/worker.ts';
import { type CommandHooks, commandHandler } from './command-task.ts';
import type { ResqueSectionConfig } from './config-types.ts';

/** Registers each `[[resque.jobs]]` class as a task whose handler runs its command. */
export function registerResqueJobs(errand: Errand, section: ResqueSectionConfig, hooks: CommandHooks): void {
  for (const job of section.jobs) {
    errand.task(job.name, commandHandler(job, hooks), {
      // Only the Resque worker runs these; the queue keeps them apart from Errand's own queues.
      queue: `resque:${job.name}`,
      retries: job.retries,
      ...(job.backoff ? { backoff: job.backoff } : {}),
      ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
    });
  }
}

/** The daemon's Resque worker; stopped with the daemon (drained up to shutdown_timeout). */
export class ResqueSection {
  readonly worker: ResqueWorker;
  private readonly resque: Resque;

  /** Loads src/resque (and with it @redis/client) only when a config has a `[resque]` section. */
  static async create(
    errand: Errand,
    section: ResqueSectionConfig,
    shutdownMs: number,
  ): Promise<ResqueSection> {
    const { resque } = await import('../resque/index.ts');
    return new ResqueSection(resque(errand, { namespace: section.namespace }), section, shutdownMs);
  }

  private constructor(resque: Resque, section: ResqueSectionConfig, shutdownMs: number) {
    this.resque = resque;
    this.worker = this.resque.worker({
      queues: section.queues,
      concurrency: section.concurrency,
      intervalMs: section.intervalMs,
      shutdownMs,
      // The daemon handles signals: first drains, second hurries.
      handleSignals: false,
    });
  }

  start(): Promise<void> {
    return this.worker.start();
  }

  /** Running jobs finish (up to `timeoutMs`; 0 = hand them back now), then the worker unregisters. */
  async stop(timeoutMs: number): Promise<void> {
    await this.worker.stop({ timeoutMs });
    // The Errand stays open: the daemon closes it after its other workers.
    await this.resque.release();
  }
}
