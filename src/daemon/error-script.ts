/**
 * The error-script notification. Gordon (`file` mode): the text is written to a temp file
 * `gordon<digits>` (mode 0600) in `temp_dir`, the script runs with that file's path as its
 * only argument, and the file is removed afterwards. Goophry (`argv` mode): the text itself
 * is the only argument. The script runs in its own process group, and its run is bounded.
 */
import { randomInt } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command-runner.ts';
import type { ErrorScriptConfig } from './config-types.ts';
import type { FifoPool } from './fifo-pool.ts';
import type { Logger } from './logger.ts';

/** An error script that hangs is stopped after this long. */
const SCRIPT_TIMEOUT_MS = 60_000;

export class ErrorNotifier {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly script: ErrorScriptConfig | undefined,
    private readonly tempDir: string,
    private readonly log: Logger,
    private readonly pipes?: FifoPool,
  ) {}

  /** Runs the script for `text` in the background; never rejects. */
  notify(text: string): void {
    if (!this.script) return;
    const run = this.run(this.script, text).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Waits for scripts still running, at most until `signal` aborts. */
  async idle(signal: AbortSignal): Promise<void> {
    while (this.running.size > 0 && !signal.aborted) {
      const aborted = new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      await Promise.race([Promise.allSettled([...this.running]), aborted]);
    }
  }

  private async run(script: ErrorScriptConfig, text: string): Promise<void> {
    let file: string | undefined;
    // A timer of our own, cleared when the script ends (no timeout signal left running).
    const limit = new AbortController();
    const timer = setTimeout(() => limit.abort(new Error('error script timed out')), SCRIPT_TIMEOUT_MS);
    timer.unref();
    try {
      let arg = text;
      if (script.mode === 'file') {
        file = join(this.tempDir, `gordon${randomInt(1e9, 1e10)}`);
        await writeFile(file, text, { mode: 0o600, flag: 'wx' });
        arg = file;
      }
      const outcome = await runCommand({
        program: script.program,
        args: [arg],
        env: process.env,
        maxOutputBytes: 64 * 1024,
        killGraceMs: 5000,
        failure: 'exit-code',
        signal: limit.signal,
        pipes: this.pipes,
      });
      if (outcome.error) {
        this.log.error('Failed calling ErrorScript', { script: script.program, error: outcome.error });
      } else if (outcome.stdout !== '') {
        this.log.error('Failed calling ErrorScript (created output)', {
          script: script.program,
          output: outcome.stdout,
        });
      }
    } catch (err) {
      this.log.error('Failed writing temporary file', { dir: this.tempDir, error: (err as Error).message });
    } finally {
      clearTimeout(timer);
      if (file)
        await rm(file, { force: true }).catch((err: unknown) =>
          this.log.error('Failed removing temporary file', { error: String(err) }),
        );
    }
  }
}
