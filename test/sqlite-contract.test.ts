/**
 * The shared broker contract and the public-API suite, on the embedded SQLite broker.
 * The contract's `peer` is a separate connection to the same file, which sees this one's
 * commits the way another process would (through `PRAGMA data_version` polling).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openSqlite } from '../src/brokers/sqlite/index.ts';
import { runBrokerContract, withPeers } from './contract/broker.contract.ts';
import { runErrandSuite } from './contract/errand.suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'errand-sqlite-contract-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

runBrokerContract({
  name: 'sqlite',
  create: async () => {
    const file = join(dir, `contract-${++files}.db`);
    return withPeers(openSqlite(file, { prefix: 'contract' }), () =>
      openSqlite(file, { prefix: 'contract', separateConnection: true }),
    );
  },
});

runErrandSuite({
  name: 'sqlite',
  shared: true,
  // Same tag → same file: two Errand instances share one store, as two processes would.
  errandOptions: (tag) => ({ broker: `sqlite:${join(dir, `suite-${tag}.db`)}`, prefix: 'suite' }),
});
