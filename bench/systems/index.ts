/** Every system under test, by name. Errand is loaded lazily so the others run without it. */
import type { SystemName } from '../scenarios/types.ts';
import { createBeequeue } from './beequeue.ts';
import { createBullmq } from './bullmq.ts';
import { createRawlist } from './rawlist.ts';
import type { SystemFactory } from './types.ts';

export const factories: Record<SystemName, SystemFactory> = {
  errand: async (config) => (await import('./errand.ts')).createErrand(config, { results: true }),
  'errand-noresults': async (config) =>
    (await import('./errand.ts')).createErrand(config, { results: false }),
  bullmq: (config) => createBullmq(config, { keepCompleted: false }),
  'bullmq-keep': (config) => createBullmq(config, { keepCompleted: true }),
  beequeue: createBeequeue,
  rawlist: createRawlist,
};
