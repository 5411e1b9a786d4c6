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
