/**
 * The optional Redis client: without @redis/client a redis:// broker says what to install. The
 * end-to-end check (a packed tarball installed without the client) is scripts/pack-check.sh.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { importRedisBroker, isMissingPackage, MISSING_REDIS_CLIENT } from '../src/core/redis-loader.ts';

it("recognises Node's error for a package that is not installed, and only that", async () => {
  const missing = await import('@errand-test/not-installed' as string).catch((err: unknown) => err);
  assert.equal(isMissingPackage(missing, '@errand-test/not-installed'), true);
  assert.equal(isMissingPackage(missing, '@redis/client'), false, 'another package is missing');
  assert.equal(isMissingPackage(new Error("Cannot find package '@redis/client'"), '@redis/client'), false);
  assert.equal(isMissingPackage(undefined, '@redis/client'), false);
  assert.match(MISSING_REDIS_CLIENT, /npm install @redis\/client$/);
});

it('loads the Redis broker when the client is installed', async () => {
  const redis = await importRedisBroker();
  assert.equal(typeof redis.openRedis, 'function');
});
