/**
 * Scenario 6: the embedded SQLite broker at concurrency 10, reported beside Redis (Errand's
 * Redis figure at c10 comes from the processing scenario). Uses bench/sqlite-throughput.ts when
 * present; otherwise measures through `new Errand({ broker: 'sqlite:<tmpfile>' })`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chunks } from '../lib/progress.ts';
import { round } from '../lib/stats.ts';
import { processOnce } from './process.ts';
import type { Scenario, ScenarioContext } from './types.ts';

export const SQLITE_CONCURRENCY = 10;

type MeasureSqlite = (o: { tasks: number; concurrency: number }) => Promise<SqliteFigures>;

/** What either measurement returns; the helper may add more figures (e.g. endToEndPerSec), kept as they are. */
type SqliteFigures = { enqueuePerSec: number; processPerSec: number } & Record<string, unknown>;

const helperPath = new URL('../sqlite-throughput.ts', import.meta.url);

async function viaErrand(ctx: ScenarioContext): Promise<SqliteFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'errand-bench-'));
  try {
    const { createErrand } = await import('../systems/errand.ts');
    const sys = await createErrand({ url: `sqlite:${join(dir, 'bench.db')}`, prefix: 'bench' });
    try {
      const n = ctx.sizes.sqliteTasks;
      const start = performance.now();
      for (const batch of chunks(
        Array.from({ length: n }, (_, i) => i),
        ctx.sizes.bulkChunk,
      )) {
        await sys.enqueueBulk(batch.map(() => ({ t: 0 })));
      }
      const enqueuePerSec = n / ((performance.now() - start) / 1000);
      // processOnce enqueues its own batch: the first batch is drained along with it.
      const r = await processOnce(ctx, sys, n, SQLITE_CONCURRENCY);
      return { enqueuePerSec, processPerSec: r.tasksPerSec };
    } finally {
      await sys.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const sqliteScenario: Scenario = {
  name: 'sqlite',
  title: 'Embedded SQLite broker',
  systems: ['errand'],
  reportAs: 'errand-sqlite',
  async run(ctx) {
    let source = 'bench/sqlite-throughput.ts';
    let r: SqliteFigures;
    if (existsSync(helperPath)) {
      const mod = (await import(helperPath.href)) as { measureSqlite?: MeasureSqlite };
      if (typeof mod.measureSqlite !== 'function') {
        throw new Error('bench/sqlite-throughput.ts does not export measureSqlite({ tasks, concurrency })');
      }
      r = await mod.measureSqlite({ tasks: ctx.sizes.sqliteTasks, concurrency: SQLITE_CONCURRENCY });
    } else {
      source = 'Errand API, broker sqlite:<tmpfile>';
      r = await viaErrand(ctx);
    }
    ctx.emit({
      case: `c${SQLITE_CONCURRENCY}`,
      system: 'errand-sqlite',
      metrics: {
        ...Object.fromEntries(
          Object.entries(r).flatMap(([k, v]) =>
            typeof v === 'number' && k !== 'processPerSec' ? [[k, round(v)]] : [],
          ),
        ),
        tasksPerSec: round(r.processPerSec),
        tasks: ctx.sizes.sqliteTasks,
      },
      detail: { source },
    });
  },
};
