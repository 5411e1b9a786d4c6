/**
 * Fuzzed raw messages (issue 9, items 1, 2 and 11): malformed entries pushed with a plain RPUSH,
 * as any producer could, into a worker's queue on a redis-server of the test's own. Every
 * message must be accounted for, at once: it ran, or it is a dead letter with a reason (none may
 * wait for lease expiries). Then the idle worker must stay idle: little CPU, few Redis commands.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { createClient } from '@redis/client';
import { Errand, RetryLater, taskContext } from '../../src/index.ts';
import { eventually, startPrivateRedis, uniquePrefix } from '../helpers.ts';
import { report } from './fleet.ts';

const WRONG_VALUES = [
  'null',
  'true',
  '"str"',
  '""',
  '-1',
  '1.5',
  '0',
  '1e999',
  '-1e999',
  '1e308',
  '9007199254740993',
  '2147483648',
  '[]',
  '{}',
  '[1,"a"]',
  '{"__proto__":{"polluted":1}}',
  `${'['.repeat(2000)}${']'.repeat(2000)}`,
];
const FIELDS = ['v', 'id', 'task', 'args', 'attempt', 'retries', 'backoff', 'timeoutMs', 'createdAt', 'env'];
const BAD_BACKOFFS = [
  '{}',
  '{"type":"fixed"}',
  '{"type":"fixed","delayMs":-1}',
  '{"type":"fixed","delayMs":"10"}',
  '{"type":"exponential","delayMs":1e999}',
  '{"type":"fibonacci","delayMs":10,"jitter":5}',
  '{"type":"fixed","delayMs":10,"maxDelayMs":"x"}',
  '{"type":"warp","delayMs":10}',
  '[]',
  'null',
];

/** Raw bodies to push, each a Buffer (some are not valid UTF-8). */
function fuzzedBodies(): Buffer[] {
  const out: string[] = [];
  let n = 0;
  const id = () => `fz-${n++}`;
  for (const field of FIELDS) {
    for (const value of WRONG_VALUES) {
      out.push(`{"id":"${id()}","task":"ok","args":[1],"${field}":${value}}`);
    }
  }
  for (const backoff of BAD_BACKOFFS)
    out.push(`{"id":"${id()}","task":"boom","retries":1,"backoff":${backoff}}`);
  // Valid retries: fail three times, then dead with "failed after 3 attempts".
  out.push(`{"id":"${id()}","task":"boom","retries":2,"backoff":{"type":"fixed","delayMs":10}}`);
  // RetryLater() with no delay: retried with the task's backoff, then succeeds.
  for (let i = 0; i < 5; i++) out.push(`{"id":"${id()}","task":"later","retries":1}`);
  // Huge and non-finite numbers where numbers are allowed.
  out.push(`{"id":"${id()}","task":"ok","attempt":1e308,"retries":1e308}`);
  out.push(`{"id":"${id()}","task":"ok","timeoutMs":1e10}`);
  out.push(`{"id":"${id()}","task":"ok","createdAt":-1e999}`);
  // Deep nesting: 100,000 levels (item 11), in args and in an unknown field.
  out.push(`{"id":"${id()}","task":"ok","args":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`);
  out.push(`{"id":"${id()}","task":"ok","extra":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`);
  // Prototype keys.
  out.push(`{"id":"${id()}","task":"ok","__proto__":{"task":"boom"}}`);
  out.push(`{"id":"${id()}","task":"ok","constructor":{"prototype":{"polluted":1}}}`);
  out.push(`{"__proto__":null,"id":"${id()}","task":"ok"}`);
  out.push(`{"id":"${id()}","task":"ok","args":[{"__proto__":{"polluted":1}}]}`);
  out.push(`{"id":"${id()}","task":"__proto__"}`);
  out.push(`{"id":"${id()}","task":"constructor"}`);
  out.push(`{"id":"${id()}","task":"toString"}`);
  out.push(`{"id":"${id()}","task":"hasOwnProperty"}`);
  // Not JSON, or not an object.
  for (const junk of ['nope', '{', '[1,2]', '"task"', '42', 'null', '{"task":"ok",}', '\u0000'])
    out.push(junk);
  // Valid ones, interleaved at the end (the queue keeps flowing past the bad ones).
  for (let i = 0; i < 50; i++) out.push(`{"id":"${id()}","task":"ok","args":[${i}]}`);
  const bodies = out.map((s) => Buffer.from(s));
  // Invalid UTF-8: in an argument, in the task name, and raw garbage.
  const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]);
  bodies.push(Buffer.concat([Buffer.from(`{"id":"${id()}","task":"ok","args":["`), bad, Buffer.from('"]}')]));
  bodies.push(Buffer.concat([Buffer.from(`{"id":"${id()}","task":"`), bad, Buffer.from('"}')]));
  bodies.push(Buffer.concat([bad, bad]));
  // Over maxMessageBytes (1 MiB by default).
  bodies.push(Buffer.from(`{"id":"${id()}","task":"ok","args":["${'x'.repeat(1_100_000)}"]}`));
  return bodies;
}

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

it('fuzzed raw messages: every one ran or is dead with a reason, at once; the idle worker then stays idle', async () => {
  const redis = await startPrivateRedis();
  cleanups.push(() => redis.stop());
  const prefix = uniquePrefix('fuzz');
  const errand = new Errand({
    broker: redis.url,
    prefix,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  cleanups.push(() => errand.close());
  const completed: string[] = [];
  errand.task('ok', () => {
    completed.push(taskContext().id);
    return 'ok';
  });
  errand.task('boom', () => {
    throw new Error('boom');
  });
  errand.task(
    'later',
    () => {
      if (taskContext().attempt === 1) throw new (RetryLater as unknown as new () => Error)();
      completed.push(taskContext().id);
      return 'later';
    },
    { backoff: { type: 'fixed', delayMs: 20 } },
  );
  const worker = errand.worker({ concurrency: 8, leaseMs: 2000, handleSignals: false });
  await worker.start();

  const client = createClient({ url: redis.url });
  client.on('error', () => {});
  await client.connect();
  cleanups.push(() => client.close());
  const bodies = fuzzedBodies();
  const t0 = Date.now();
  for (let i = 0; i < bodies.length; i += 20) {
    await client.sendCommand(['RPUSH', `${prefix}:{default}:wait`, ...bodies.slice(i, i + 20)]);
  }
  const letters = errand.deadLetters();
  const deadCount = async () => (await errand.stats()).dead;
  await eventually(
    async () => completed.length + (await deadCount()) >= bodies.length,
    60_000,
    'every message to be accounted for',
  );
  const accountedMs = Date.now() - t0;
  const stats = await errand.stats();
  const dead = await letters.list({ limit: 10_000 });
  assert.equal(completed.length + dead.length, bodies.length, 'ran + dead = pushed');
  assert.equal(new Set(completed).size, completed.length, 'nothing ran twice');
  assert.deepEqual([stats.waiting, stats.delayed, stats.leased], [0, 0, 0], 'nothing left waiting or leased');
  for (const d of dead) assert.ok(d.reason.length > 0, `dead letter ${d.body.slice(0, 60)} has a reason`);
  const expired = dead.filter((d) => /delivered \d+ times/.test(d.reason));
  assert.deepEqual(
    expired.map((d) => d.reason),
    [],
    'no message waited for lease expiries to die',
  );
  const reasonOf = (prefixOfBody: string) => dead.find((d) => d.body.startsWith(prefixOfBody))?.reason ?? '';
  assert.match(reasonOf(`{"id":"fz-${FIELDS.length * WRONG_VALUES.length}"`), /"backoff" is invalid/);
  assert.match(
    dead.find((d) => d.body.includes('['.repeat(100_000)))?.reason ?? '',
    /nested more than 1000 levels/,
  );
  assert.ok(
    dead.some((d) => /over the limit of 1048576/.test(d.reason)),
    'the oversized message',
  );
  assert.ok(
    dead.some((d) => /failed after 3 attempts: Error: boom/.test(d.reason)),
    'the valid retries',
  );
  assert.equal(completed.filter((id) => id.startsWith('fz-')).length >= 55, true, 'the valid ones ran');
  assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'no prototype was polluted');

  // Idle: CPU of this process and commands Redis served, over 3 s.
  await new Promise((r) => setTimeout(r, 500));
  const commands = async () =>
    Number(
      /total_commands_processed:(\d+)/.exec((await client.sendCommand(['INFO', 'stats'])) as string)?.[1],
    );
  const c0 = await commands();
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, 3000));
  const cpu = process.cpuUsage(cpu0);
  const cpuPercent = ((cpu.user + cpu.system) / 1000 / 3000) * 100;
  const idleCommands = (await commands()) - c0 - 1;
  report('fuzzed-messages', {
    tasks: bodies.length,
    kills: 0,
    runs: completed.length,
    lost: bodies.length - completed.length - dead.length,
    duplicates: completed.length - new Set(completed).size,
    bound: 0,
    seconds: Math.round(accountedMs / 100) / 10,
    ...{
      dead: dead.length,
      idleCpuPercent: Math.round(cpuPercent * 10) / 10,
      idleRedisCommandsIn3s: idleCommands,
    },
  } as never);
  assert.ok(cpuPercent < 15, `idle worker used ${cpuPercent.toFixed(1)} % of a core`);
  assert.ok(idleCommands < 60, `idle worker sent ${idleCommands} Redis commands in 3 s`);
});
