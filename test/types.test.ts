/**
 * The public types: argument and result types flow from a handler to send() and result().
 * The `@ts-expect-error` lines are checked by `npm run typecheck` (tsc fails if a line
 * type-checks after all); the test also runs the calls that must work.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Errand, type SentTask, type TaskContext, taskContext } from '../src/index.ts';

it('task types flow from the handler to send() and result()', async () => {
  const errand = new Errand({ broker: 'memory:' });
  const add = errand.task('add', async (a: number, b: number) => a + b);
  const shout = errand.task('shout', function (this: TaskContext, word: string) {
    return { word: word.toUpperCase(), attempt: this.attempt };
  });
  const ctx = errand.task('ctx', () => taskContext().id);
  await errand.worker({ handleSignals: false }).start();

  const sent: SentTask<number> = await add.send(2, 3);
  const sum: number = await sent.result({ timeoutMs: 2000 });
  assert.equal(sum, 5);
  const loud = await (await shout.send('hi')).result({ timeoutMs: 2000 });
  const word: string = loud.word;
  assert.deepEqual([word, loud.attempt], ['HI', 1]);
  const id = await (await ctx.send()).result({ timeoutMs: 2000 });
  assert.equal(typeof id, 'string');

  // Calls that must not type-check (never run):
  const wrongType = () =>
    // @ts-expect-error a string where a number is expected
    add.send('2', 3);
  void wrongType;
  const wrongCount = () =>
    // @ts-expect-error too few arguments
    add.send(1);
  void wrongCount;
  // @ts-expect-error the result is a number, not a string
  const notString: string = await sent.result();
  void notString;
  // @ts-expect-error bulk items are checked too
  const badBulk = () => add.sendBulk([[1, 'x']]);
  void badBulk;
  // By name, the result type is what the caller says (the handler may live elsewhere).
  const byName = await errand.send<number>('add', [1, 1]);
  const two: number = await byName.result({ timeoutMs: 2000 });
  assert.equal(two, 2);
  await errand.close();
});

it('task arguments and results must be JSON-safe: what JSON would change is a compile error', async () => {
  const errand = new Errand({ broker: 'memory:' });
  // Ordinary handlers compile: interfaces, nested objects and arrays, optional properties and
  // parameters, null, unknown (checked at run time), and no result at all.
  interface Order {
    id: string;
    lines: { sku: string; qty: number }[];
    note?: string;
    meta: Record<string, number | null>;
  }
  type Tree = { value: number; children: Tree[] };
  const total = errand.task(
    'total',
    (o: Order, discount?: number) => o.lines.reduce((n, l) => n + l.qty, 0) - (discount ?? 0),
  );
  const depth = errand.task('depth', function depthOf(t: Tree): number {
    return 1 + Math.max(0, ...t.children.map((c) => depthOf.call(this, c)));
  });
  const anything = errand.task('anything', (x: unknown) => ({
    kind: typeof x,
    tuple: [1, 'a'] as [number, string],
  }));
  const nothing = errand.task('nothing', (_s: string | null) => {});
  await errand.worker({ handleSignals: false }).start();

  const order: Order = {
    id: 'o1',
    lines: [
      { sku: 'a', qty: 2 },
      { sku: 'b', qty: 3 },
    ],
    meta: { x: null },
  };
  assert.equal(await (await total.send(order)).result({ timeoutMs: 2000 }), 5);
  assert.equal(await (await total.send(order, 1)).result({ timeoutMs: 2000 }), 4);
  const tree: Tree = { value: 1, children: [{ value: 2, children: [] }] };
  assert.equal(await (await depth.send(tree)).result({ timeoutMs: 2000 }), 2);
  const any = await (await anything.send([1])).result({ timeoutMs: 2000 });
  const kind: string = any.kind;
  assert.deepEqual([kind, any.tuple], ['object', [1, 'a']]);
  assert.equal(await (await nothing.send(null)).result({ timeoutMs: 2000 }), null);

  // Handlers that must not type-check (never run): each would change or lose its value on the way.
  const notJson = () => {
    // @ts-expect-error a Date argument arrives as a string
    errand.task('date', (d: Date) => d.getFullYear());
    // @ts-expect-error a Map argument arrives as {}
    errand.task('map', (m: Map<string, number>) => m.size);
    // @ts-expect-error a Set argument arrives as {}
    errand.task('set', (s: Set<string>) => s.size);
    // @ts-expect-error an undefined argument arrives as null
    errand.task('undef', (s: string | undefined) => s ?? '');
    // @ts-expect-error a bigint argument cannot be sent
    errand.task('bigarg', (n: bigint) => Number(n));
    // @ts-expect-error a nested Date is caught too
    errand.task('nested', (o: { at: Date }[]) => o.length);
    // @ts-expect-error a bigint result cannot be stored
    errand.task('bigres', (n: number) => BigInt(n));
    // @ts-expect-error a Date result arrives as a string
    errand.task('dateres', async () => new Date());
    // @ts-expect-error a Map inside the result arrives as {}
    errand.task('mapres', () => ({ counts: new Map<string, number>() }));
    // @ts-expect-error a function in an argument is lost
    errand.task('fn', (o: { cb: () => void }) => typeof o.cb);
  };
  void notJson;
  await errand.close();
});
