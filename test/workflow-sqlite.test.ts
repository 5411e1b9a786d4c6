import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { openSqlite } from '../src/brokers/sqlite/index.ts';
import { runGroupContract } from './contract/groups.contract.ts';
import { runWorkflowSuite } from './contract/workflow.suite.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir('errand-workflow-sqlite');
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

runWorkflowSuite({
  name: 'sqlite',
  errandOptions: () => ({ broker: `sqlite:${join(dir, `wf-${++files}.db`)}` }),
});

runGroupContract({
  name: 'sqlite',
  create: async () => {
    const file = join(dir, `groups-${++files}.db`);
    const one = openSqlite(file, { prefix: 'groups' });
    // A separate connection to the same file: another process, as far as locking goes.
    const two = openSqlite(file, { prefix: 'groups', separateConnection: true });
    return {
      backend: one.backend,
      peer: two.backend,
      close: async () => {
        await Promise.all([one.broker.close(), one.backend.close(), two.broker.close(), two.backend.close()]);
      },
    };
  },
});
