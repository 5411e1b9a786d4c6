/** The open wire format: a plain RPUSH from any client is a task; the JSON Schema matches what Errand writes. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createClient } from '@redis/client';
import { Errand, jsonCodec } from '../src/index.ts';
import { eventually, REDIS_URL, uniquePrefix } from './helpers.ts';

describe('wire format', () => {
  const prefix = uniquePrefix('wire');
  const client = createClient({ url: REDIS_URL });
  const errand = new Errand({ broker: REDIS_URL, prefix });
  after(async () => {
    const keys = (await client.sendCommand(['KEYS', `${prefix}:*`])) as string[];
    if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
    await client.close();
    await errand.close();
  });

  it('runs a task pushed with one plain RPUSH, with or without an id', async () => {
    await client.connect();
    const seen: number[] = [];
    errand.task('add', async (a: number, b: number) => {
      seen.push(a + b);
      return a + b;
    });
    await errand.worker({ handleSignals: false }).start();
    const key = `${prefix}:{default}:wait`;
    await client.sendCommand(['RPUSH', key, '{"task":"add","args":[2,3]}']);
    await client.sendCommand(['RPUSH', key, '{"v":1,"id":"from-python-1","task":"add","args":[20,22]}']);
    assert.equal(await errand.result('from-python-1', { timeoutMs: 5000 }), 42);
    await eventually(() => seen.includes(5), 5000, 'the id-less task to run');
  });

  it('what Errand sends is what docs/protocol.md and the schema describe', async () => {
    const schema = JSON.parse(
      readFileSync(new URL('../schema/message.v1.json', import.meta.url), 'utf8'),
    ) as {
      required: string[];
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    };
    const producer = new Errand({ broker: REDIS_URL, prefix: `${prefix}-p` });
    const sent = await producer.send('add', [1, 2], { retries: 2, timeoutMs: 1000, delayMs: 0 });
    const [body] = (await client.sendCommand(['LRANGE', `${prefix}-p:{default}:wait`, '0', '0'])) as string[];
    await producer.close();
    const message = JSON.parse(body!) as Record<string, unknown>;
    assert.equal(message.id, sent.id);
    assert.equal(message.v, 1);
    for (const key of schema.required) assert.ok(key in message, `required "${key}" is written`);
    for (const key of Object.keys(message)) assert.ok(key in schema.properties, `"${key}" is in the schema`);
    const decoded = jsonCodec.decode(body!, () => 'unused');
    assert.ok(decoded.ok && decoded.message.task === 'add' && decoded.assignedId === false);
  });
});
