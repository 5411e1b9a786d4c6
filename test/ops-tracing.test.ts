/** Tracing on node:diagnostics_channel: enqueue writes trace context into the message, start hands it back. */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { Errand } from '../src/index.ts';
import type { EnqueueTraceEvent, TaskTraceEvent } from '../src/ops/tracing.ts';

describe('tracing channels', () => {
  it('carries trace context from errand:enqueue to errand:start, and publishes finish, retry and fail', async () => {
    const errand = new Errand({ broker: 'memory:' });
    const seen: Array<[string, unknown]> = [];
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const listeners: Record<string, (m: unknown) => void> = {
      'errand:enqueue': (m) => {
        (m as EnqueueTraceEvent).carrier.traceparent = traceparent;
        seen.push(['enqueue', (m as EnqueueTraceEvent).task]);
      },
      'errand:start': (m) => seen.push(['start', (m as TaskTraceEvent).trace?.traceparent]),
      'errand:finish': (m) => seen.push(['finish', (m as TaskTraceEvent).task]),
      'errand:retry': (m) => seen.push(['retry', (m as TaskTraceEvent).task]),
      'errand:fail': (m) => seen.push(['fail', (m as TaskTraceEvent).task]),
    };
    for (const [name, fn] of Object.entries(listeners)) subscribe(name, fn);
    try {
      const ok = errand.task('ok', () => 1);
      const bad = errand.task(
        'bad',
        (): number => {
          throw new Error('no');
        },
        { retries: 1, backoff: { type: 'fixed', delayMs: 1 } },
      );
      const worker = errand.worker({ handleSignals: false });
      await worker.start();
      const sent = await ok.send();
      await sent.result({ timeoutMs: 5000 });
      const failing = await bad.send();
      await assert.rejects(failing.result({ timeoutMs: 5000 }));
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(seen, [
        ['enqueue', 'ok'],
        ['start', traceparent],
        ['finish', 'ok'],
        ['enqueue', 'bad'],
        ['start', traceparent],
        ['retry', 'bad'],
        ['start', traceparent],
        ['fail', 'bad'],
      ]);
    } finally {
      for (const [name, fn] of Object.entries(listeners)) unsubscribe(name, fn);
      await errand.close();
    }
  });
});
