/**
 * Workflow types: a signature's missing arguments are filled by the previous result, and a
 * chain, chord or callback whose types do not fit is a compile error. The `@ts-expect-error`
 * lines are checked by `npm run typecheck` (tsc fails if such a line type-checks after all).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Errand } from '../src/index.ts';

it('workflow types flow end to end; misfits do not compile', async () => {
  const errand = new Errand({ broker: 'memory:' });
  const add = errand.task('add', async (a: number, b: number) => a + b);
  const mul = errand.task('mul', async (a: number, b: number) => a * b);
  const sum = errand.task('sum', async (xs: number[]) => xs.reduce((s, x) => s + x, 0));
  const shout = errand.task('shout', async (word: string) => word.toUpperCase());
  const notify = errand.task('notify', async (error: string, user: string) => `${user}: ${error}`);
  await errand.worker({ handleSignals: false }).start();

  const chained = await errand.chain(add.s(1, 2), mul.s(10)).send();
  const thirty: number = await chained.result({ timeoutMs: 5000 });
  assert.equal(thirty, 30);
  const grouped = await errand.group([add.s(1, 1), shout.s('hi')]).send();
  const pair: [number, string] = await grouped.result({ timeoutMs: 5000 });
  assert.deepEqual(pair, [2, 'HI']);
  const chord = await errand.chord([add.s(1, 1), add.s(2, 2)], sum.s()).send();
  const six: number = await chord.result({ timeoutMs: 5000 });
  assert.equal(six, 6);
  const withCallbacks = await add.s(1, 2).onSuccess(mul.s(3)).onError(notify.s('ann')).send();
  assert.equal(await withCallbacks.result({ timeoutMs: 5000 }), 3);

  // Calls that must not type-check (never run):
  const never = [
    // @ts-expect-error shout takes a string; add's result is a number
    () => errand.chain(add.s(1, 2), shout.s()),
    // @ts-expect-error a fully bound .s() cannot take the previous result (use .si)
    () => errand.chain(add.s(1, 2), mul.s(1, 2)),
    // @ts-expect-error the third link gets a string
    () => errand.chain(add.s(1, 2), mul.s(2), shout.s(), mul.s(3)),
    // @ts-expect-error a chord callback must take the members' results
    () => errand.chord([add.s(1, 1)], shout.s()),
    // @ts-expect-error onError callbacks get the error message (a string) first
    () => add.s(1, 2).onError(mul.s(1)),
    // @ts-expect-error onSuccess callbacks get the result (a number)
    () => add.s(1, 2).onSuccess(shout.s()),
    // @ts-expect-error bound arguments are checked against the handler
    () => add.s('1'),
    // @ts-expect-error .si needs every argument
    () => add.si(1),
    // @ts-expect-error a signature still missing an argument cannot be sent on its own
    () => mul.s(10).send(),
  ];
  void never;
  // @ts-expect-error the chord's result is a number
  const notString: string = await chord.result();
  void notString;
  await errand.close();
});
