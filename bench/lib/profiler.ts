/**
 * In-process CPU profiling of one measured phase (`--cpu-prof <dir>`), so a profile shows the
 * worker at work and not the set-up around it. Read the result with bench/profile-summary.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export interface PhaseProfiler {
  /** Profile `work`; the profile is written to `<dir>/<name>.cpuprofile`. */
  around<T>(name: string, work: () => Promise<T>): Promise<T>;
}

export function phaseProfiler(dir: string | undefined): PhaseProfiler {
  if (!dir) return { around: (_name, work) => work() };
  mkdirSync(dir, { recursive: true });
  return {
    async around(name, work) {
      const session = new Session();
      session.connect();
      try {
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
        try {
          return await work();
        } finally {
          const { profile } = await session.post('Profiler.stop');
          writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
        }
      } finally {
        session.disconnect();
      }
    },
  };
}
