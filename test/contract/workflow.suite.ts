/**
 * Workflows on every backend: chains, callbacks, groups, chords, nesting, failure paths and
 * pipelines. Times are asserted as order and bounds, never exact values.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type ArgsMap, Errand, type ErrandOptions, reentrant, TaskFailedError } from '../../src/index.ts';
import { eventually } from '../helpers.ts';

export interface WorkflowSuiteOptions {
  readonly name: string;
  /** Options of a fresh, isolated Errand for `tag`. */
  readonly errandOptions: (tag: string) => ErrandOptions;
}

const T = { timeoutMs: 15_000 };

export function runWorkflowSuite(suite: WorkflowSuiteOptions): void {
  describe(`workflows: ${suite.name}`, () => {
    const open: Errand[] = [];
    let n = 0;
    after(async () => {
      await Promise.all(open.map((e) => e.close()));
    });
    const make = async () => {
      const errand = new Errand(suite.errandOptions(`wf${++n}-${Date.now()}`));
      open.push(errand);
      const calls: Array<{ task: string; args: unknown[] }> = [];
      const add = errand.task('add', async (a: number, b: number) => {
        calls.push({ task: 'add', args: [a, b] });
        return a + b;
      });
      const mul = errand.task('mul', async (a: number, b: number) => {
        calls.push({ task: 'mul', args: [a, b] });
        return a * b;
      });
      const sum = errand.task('sum', async (xs: number[]) => {
        calls.push({ task: 'sum', args: [xs] });
        return xs.reduce((s, x) => s + x, 0);
      });
      const boom = errand.task('boom', async (why: string) => {
        calls.push({ task: 'boom', args: [why] });
        throw new Error(why);
      });
      const notify = errand.task('notify', async (error: string, user: string) => {
        calls.push({ task: 'notify', args: [error, user] });
        return `${user}: ${error}`;
      });
      const worker = errand.worker({ handleSignals: false, concurrency: 8 });
      await worker.start();
      return { errand, calls, add, mul, sum, boom, notify };
    };
    const callsOf = (calls: Array<{ task: string; args: unknown[] }>, task: string) =>
      calls.filter((c) => c.task === task).map((c) => c.args);

    it('chain: the result is appended to the next link; .si gets none', async () => {
      const { errand, calls, add, mul } = await make();
      const c = await errand.chain(add.s(1, 2), mul.s(10)).send();
      assert.equal(await c.result(T), 30);
      assert.deepEqual(callsOf(calls, 'mul'), [[10, 3]]);
      const d = await errand.chain(add.s(1, 2), mul.si(4, 5)).send();
      assert.equal(await d.result(T), 20);
      assert.deepEqual(callsOf(calls, 'mul')[1], [4, 5]);
      assert.equal(await d.state(), 'SUCCESS');
      const three = await errand.chain(add.s(1, 1), mul.s(3), add.s(4)).send();
      assert.equal(await three.result(T), 10);
    });

    it('onSuccess gets the result, onError gets the error message first', async () => {
      const { calls, add, mul, boom, notify } = await make();
      const ok = await add.s(1, 2).onSuccess(mul.s(3)).onError(notify.s('ann')).send();
      assert.equal(await ok.result(T), 3);
      await eventually(() => callsOf(calls, 'mul').length === 1, 10_000);
      assert.deepEqual(callsOf(calls, 'mul'), [[3, 3]]);
      const bad = await boom.s('no luck').onSuccess(mul.s(3)).onError(notify.s('ann')).send();
      await assert.rejects(bad.result(T), TaskFailedError);
      await eventually(() => callsOf(calls, 'notify').length === 1, 10_000);
      assert.deepEqual(callsOf(calls, 'notify'), [['no luck', 'ann']]);
      assert.equal(callsOf(calls, 'mul').length, 1, 'onSuccess did not run for the failed task');
    });

    it('group: results in order; chord: the callback gets them all', async () => {
      const { errand, calls, add, sum } = await make();
      const g = await errand.group([add.s(1, 1), add.s(2, 2), add.s(3, 3)]).send();
      assert.deepEqual(await g.result(T), [2, 4, 6]);
      const c = await errand.chord([add.s(1, 1), add.s(2, 2)], sum.s()).send();
      assert.equal(await c.result(T), 6);
      assert.deepEqual(callsOf(calls, 'sum'), [[[2, 4]]]);
      const state = await errand.workflow(c.id);
      assert.ok(state, 'the workflow graph is readable by id');
      assert.equal(state.state, 'SUCCESS');
      assert.equal(state.nodes.length, 4, 'group, two members, callback');
      assert.ok(
        state.nodes.every((node) => node.state === 'SUCCESS'),
        JSON.stringify(state.nodes),
      );
    });

    it('nesting: a chord as a chain link, a chain inside a group', async () => {
      const { errand, add, mul, sum } = await make();
      // add(1, 1) = 2 → each member gets 2 appended → [3, 20] → sum 23 → mul(2, 23) = 46
      const flow = errand.chain(add.s(1, 1), errand.chord([add.s(1), mul.s(10)], sum.s()), mul.s(2));
      assert.equal(await (await flow.send()).result(T), 46);
      // [add(1,2)=3 → mul(3, 3)=9, add(5, 5)=10] → [9, 10]
      const g = await errand.group([errand.chain(add.s(1, 2), mul.s(3)), add.s(5, 5)]).send();
      assert.deepEqual(await g.result(T), [9, 10]);
    });

    it('a member that fails for good: callback never runs, chord rejects, onError once; others keep running', async () => {
      const { errand, calls, add, sum, boom, notify } = await make();
      const c = await errand
        .chord([add.s(1, 1), boom.s('member broke'), add.s(2, 2)], sum.s().onError(notify.s('ops')))
        .send();
      await assert.rejects(c.result(T), (err: unknown) => {
        assert.ok(err instanceof TaskFailedError);
        assert.match(err.message, /member broke/);
        return true;
      });
      await eventually(() => callsOf(calls, 'add').length === 2, 10_000);
      const memberStates = async () =>
        (await errand.workflow(c.id))!.nodes.filter((node) => node.group !== undefined).map((m) => m.state);
      // Task records are written in batches: wait for them, then check every member's state.
      await eventually(
        async () => (await memberStates()).every((s) => s === 'SUCCESS' || s === 'FAILURE'),
        10_000,
      );
      assert.deepEqual(
        await memberStates(),
        ['SUCCESS', 'FAILURE', 'SUCCESS'],
        'the other members ran; their results stay readable',
      );
      assert.equal(callsOf(calls, 'sum').length, 0, 'the callback never ran');
      await eventually(() => callsOf(calls, 'notify').length === 1, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(callsOf(calls, 'notify'), [['member broke', 'ops']], "the chord's onError ran once");

      // The chord's own onError (a chain link's onError stops the chain and runs once).
      const chainWithHandler = await errand
        .chain(add.s(1, 1), boom.si('link broke').onError(notify.s('bob')), add.s(1))
        .send();
      await assert.rejects(chainWithHandler.result(T), /link broke/);
      await eventually(() => callsOf(calls, 'notify').length === 2, 10_000);
      assert.deepEqual(callsOf(calls, 'notify')[1], ['link broke', 'bob']);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(callsOf(calls, 'notify').length, 2, 'onError ran once');
      assert.equal(callsOf(calls, 'add').length, 3, 'the link after the failed one did not run');
    });

    it('pipelines: outputs flow; a failing step records its index and log; a retry resumes there', async () => {
      const { errand } = await make();
      const ran: string[] = [];
      let mailFailures = 2;
      let newsletterFailsOnce = true;
      const createUser = (args: ArgsMap) => {
        ran.push('createUser');
        return { ...args, userId: 7 };
      };
      const sendWelcomeMail = async (args: ArgsMap) => {
        ran.push('sendWelcomeMail');
        if (mailFailures-- > 0) throw new Error('smtp down');
        return { ...args, mailed: true };
      };
      const addToNewsletter = (args: ArgsMap) => {
        ran.push('addToNewsletter');
        if (newsletterFailsOnce) {
          newsletterFailsOnce = false;
          throw new Error('list full');
        }
        return { ...args, subscribed: true };
      };
      const signup = errand.pipeline('signup', [
        createUser,
        reentrant(sendWelcomeMail, { attempts: 3, delayMs: 100 }),
        addToNewsletter,
      ]);
      const started = Date.now();
      const run = await signup.send({ email: 'a@example.com' });
      await assert.rejects(run.result(T), /failed at step 2 \(addToNewsletter\): list full/);
      assert.ok(Date.now() - started >= 200, 'two in-place retries, 100 ms apart');
      assert.deepEqual(ran, [
        'createUser',
        'sendWelcomeMail',
        'sendWelcomeMail',
        'sendWelcomeMail',
        'addToNewsletter',
      ]);
      const log = await run.log();
      assert.ok(log);
      assert.equal(log.next, 2, 'it stopped at step 2');
      assert.deepEqual(
        log.log.map((s) => [s.index, s.name, s.state, s.tries]),
        [
          [0, 'createUser', 'SUCCESS', 1],
          [1, 'sendWelcomeMail', 'SUCCESS', 3],
          [2, 'addToNewsletter', 'FAILURE', 1],
        ],
      );
      assert.equal(log.log[2]!.error?.message, 'list full');
      assert.deepEqual(log.args, { email: 'a@example.com', userId: 7, mailed: true });

      // Retry from the dead letters (what `errand failed retry` does): resumes at step 2 only.
      ran.length = 0;
      assert.equal(await errand.deadLetters().retry(), 1);
      await eventually(async () => (await run.status()).state === 'SUCCESS', 10_000);
      assert.deepEqual(await run.result(T), {
        email: 'a@example.com',
        userId: 7,
        mailed: true,
        subscribed: true,
      });
      assert.deepEqual(ran, ['addToNewsletter'], 'earlier steps did not run again');
    });

    it("pipelines: Errand's own retries resume at the failed step; a reentrant step's tries are bounded", async () => {
      const { errand } = await make();
      const ran: string[] = [];
      let flaky = 1;
      const times: number[] = [];
      const one = (a: ArgsMap) => {
        ran.push('one');
        return { ...a, one: 1 };
      };
      const two = (a: ArgsMap) => {
        ran.push('two');
        if (flaky-- > 0) throw new Error('flaky');
        return { ...a, two: 2 };
      };
      const never = (a: ArgsMap) => {
        times.push(Date.now());
        ran.push('never');
        throw new Error(`nope ${Object.keys(a).length}`);
      };
      const p = errand.pipeline('retried', [one, two], {
        retries: 1,
        backoff: { type: 'fixed', delayMs: 10 },
      });
      const run = await p.send({});
      assert.deepEqual(await run.result(T), { one: 1, two: 2 });
      assert.deepEqual(ran, ['one', 'two', 'two']);
      const q = errand.pipeline('bounded', [reentrant(never, { attempts: 4, delayMs: 50 })]);
      await assert.rejects((await q.send({ x: 1 })).result(T), /failed at step 0 \(never\): nope 1/);
      assert.equal(times.length, 4, 'exactly `attempts` tries');
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 45, 'delayMs apart');
      assert.throws(() => reentrant(never, { attempts: 0, delayMs: 5 }), /reentrant\.attempts/);
      assert.throws(() => reentrant(never, { attempts: 2, delayMs: -1 }), /reentrant\.delayMs/);
    });
  });
}
