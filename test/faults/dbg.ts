import { Errand } from '../../src/index.ts';
import { startPrivateRedis } from '../helpers.ts';
import { startFixture, stopGently } from './fleet.ts';

const redis = await startPrivateRedis();
const producer = new Errand({ broker: redis.url, prefix: 'x' });
const work = producer.task('work', async (n: number) => n);
await work.sendBulk(Array.from({ length: 1000 }, (_, j) => [j] as [number]));
console.log('sent');
const t0 = Date.now();
const p = await startFixture('redis-worker.ts', [redis.url, 'x', '/tmp/x.txt', 20, 1000]);
console.log('started', Date.now() - t0);
await stopGently(p);
console.log('stopped', p.output());
await producer.close();
await redis.stop();
