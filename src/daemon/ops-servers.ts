/** The daemon's `[metrics]` (/metrics) and `[dashboard]` servers. One that cannot listen is reported, not fatal. */
import { createServer } from 'node:http';
import type { Errand } from '../core/errand.ts';
import { startDashboard } from '../ops/dashboard/server.ts';
import { type Listening, listen } from '../ops/http.ts';
import type { DaemonConfig } from './config-types.ts';

export async function startOpsServers(
  errand: Errand,
  config: DaemonConfig,
  queues: () => string[],
  report: { info(msg: string, url: string): void; error(text: string): void },
): Promise<Listening[]> {
  const servers: Listening[] = [];
  if (config.metrics) {
    try {
      const server = createServer(errand.metricsRegistry.handler(queues));
      const listening = await listen(server, 'metrics.listen', config.metrics.listen);
      servers.push(listening);
      report.info('Serving metrics', `${listening.url}/metrics`);
    } catch (err) {
      report.error(`metrics server: ${(err as Error).message}`);
    }
  }
  if (config.dashboard) {
    try {
      const { listen: address, token } = config.dashboard;
      const dashboard = await startDashboard(errand, { listen: address, token, queues });
      servers.push(dashboard);
      report.info('Serving dashboard', dashboard.url);
    } catch (err) {
      report.error(`dashboard: ${(err as Error).message}`);
    }
  }
  return servers;
}
