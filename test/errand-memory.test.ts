import { runErrandSuite } from './contract/errand.suite.ts';

runErrandSuite({ name: 'memory', shared: false, errandOptions: () => ({ broker: 'memory:' }) });
