/**
 * The dashboard in a real browser (playwright-core driving Debian's chromium; never a downloaded
 * browser): counts on the page, retry a dead task and watch the counts change, cancel a running
 * task. Saves docs/dashboard.png. Also its guards: token off loopback, CSRF on every action.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { Errand, TaskCancelledError } from '../src/index.ts';
import { type Dashboard, startDashboard } from '../src/ops/dashboard/server.ts';
import { eventually, freePort, REDIS_URL, uniquePrefix } from './helpers.ts';

const CHROMIUM = process.env.ERRAND_TEST_CHROMIUM ?? '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM)
  ? false
  : `no chromium at ${CHROMIUM} (Debian package chromium; .ci/run installs it)`;
// docs/dashboard.png is made by this test: ERRAND_DASHBOARD_SCREENSHOT=docs/dashboard.png (a run never dirties the checkout otherwise).
const screenshot =
  process.env.ERRAND_DASHBOARD_SCREENSHOT ?? join(tmpdir(), `errand-dashboard-${process.pid}.png`);

/** Waits until the overview's live-updated count (the page polls every 2 s) shows `value`. */
function waitForCell(page: Page, queue: string, field: string, value: string): Promise<unknown> {
  const selector = `#queues tr[data-queue="${queue}"] [data-field="${field}"]`;
  return page.waitForFunction(
    `document.querySelector(${JSON.stringify(selector)})?.textContent === ${JSON.stringify(value)}`,
    undefined,
    { timeout: 15_000 },
  );
}

describe('dashboard', () => {
  const errand = new Errand({ broker: REDIS_URL, prefix: uniquePrefix('dash') });
  const viewer = new Errand({ broker: REDIS_URL, prefix: (errand.options as { prefix: string }).prefix });
  const tried = new Set<string>();
  let aborted: unknown;
  const flaky = errand.task(
    'resize',
    (name: string) => {
      if (tried.has(name)) return `resized ${name}`;
      tried.add(name);
      throw new Error(`${name}: image server timed out`);
    },
    { queue: 'images' },
  );
  const hold = errand.task(
    'render',
    function (this: { signal: AbortSignal }, page: number) {
      const { signal } = this;
      return new Promise<number>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
          resolve(page);
        });
      });
    },
    { queue: 'reports' },
  );
  const quick = errand.task('email', (to: string) => `sent to ${to}`, { queue: 'mail' });
  const worker = errand.worker({ handleSignals: false, concurrency: 4 });
  let dashboard: Dashboard;
  let browser: Browser | undefined;

  before(async () => {
    dashboard = await startDashboard(viewer, {
      listen: `127.0.0.1:${await freePort()}`,
      queues: () => ['images', 'reports', 'mail', 'default'],
    });
    await worker.start();
  });
  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await worker.stop();
    await Promise.all([errand.close(), viewer.close()]);
  });

  it('shows counts, retries a dead task, cancels a running one (in chromium)', {
    skip: noBrowser,
  }, async () => {
    const failed = await flaky.send('cat.png');
    await assert.rejects(failed.result({ timeoutMs: 10_000 }), /timed out/);
    const running = await hold.send(7);
    await eventually(
      async () => (await errand.status(running.id))?.state === 'STARTED',
      10_000,
      'render to start',
    );
    const mails = await Promise.all(Array.from({ length: 30 }, (_, i) => quick.send(`user${i}@example.com`)));
    await Promise.all(mails.map((m) => m.result({ timeoutMs: 10_000 })));
    // Waiting work for the picture: a paused queue keeps it.
    await errand.pause('mail');
    await new Promise((r) => setTimeout(r, 1100));
    await Promise.all([1, 2, 3].map((i) => quick.send(`late${i}@example.com`)));

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page: Page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    const cell = (queue: string, field: string) =>
      page.locator(`#queues tr[data-queue="${queue}"] [data-field="${field}"]`);
    await page.goto(dashboard.url);
    assert.equal(await cell('images', 'dead').textContent(), '1');
    assert.equal(await cell('reports', 'running').textContent(), '1');
    assert.equal(await cell('mail', 'waiting').textContent(), '3');
    assert.equal(await cell('mail', 'paused').textContent(), 'paused');
    // The chart has bars for the completed mails.
    await page.waitForSelector('#chart rect', { timeout: 10_000 });
    await page.screenshot({ path: screenshot });
    assert.ok(existsSync(screenshot));
    if (!process.env.ERRAND_DASHBOARD_SCREENSHOT) rmSync(screenshot);

    // Retry the dead task: it succeeds this time; the overview's live counts follow.
    await cell('images', 'dead').click();
    assert.match((await page.locator('#tasks').textContent()) ?? '', /image server timed out/);
    await page.click('button[data-action="retry-dead"]');
    await page.goto(dashboard.url);
    await waitForCell(page, 'images', 'dead', '0');
    assert.equal((await viewer.status(failed.id))?.state, 'SUCCESS');

    // Cancel the running task from its queue page.
    await cell('reports', 'running').click();
    await page.click('button[data-action="cancel"]');
    await assert.rejects(running.result({ timeoutMs: 10_000 }), TaskCancelledError);
    await eventually(() => aborted instanceof TaskCancelledError, 10_000, 'the handler to see the cancel');
    await page.goto(dashboard.url);
    await waitForCell(page, 'reports', 'running', '0');

    // Resume from the page.
    await page.click('#queues tr[data-queue="mail"] button[data-action="resume"]');
    assert.equal(await viewer.isPaused('mail'), false);
  });

  it('refuses an action without the CSRF token, or from another site', async () => {
    await viewer.resume('mail');
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const bare = await fetch(`${dashboard.url}/action`, {
      method: 'POST',
      headers,
      body: form({ action: 'pause', queue: 'mail' }),
      redirect: 'manual',
    });
    assert.equal(bare.status, 403);
    const html = await (await fetch(dashboard.url)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(csrf, 'the page carries the token');
    const crossSite = await fetch(`${dashboard.url}/action`, {
      method: 'POST',
      headers: { ...headers, origin: 'http://evil.example' },
      body: form({ csrf, action: 'pause', queue: 'mail' }),
      redirect: 'manual',
    });
    assert.equal(crossSite.status, 403);
    assert.equal(await viewer.isPaused('mail'), false);
    const ok = await fetch(`${dashboard.url}/action`, {
      method: 'POST',
      headers,
      body: form({ csrf, action: 'pause', queue: 'mail', back: 'https://evil.example/' }),
      redirect: 'manual',
    });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/', 'never an open redirect');
    assert.equal(await viewer.isPaused('mail'), true);
    await viewer.resume('mail');
  });

  it('shows the worker of a running task, and a task page shows its workflow links', async () => {
    const running = await hold.send(8);
    await eventually(
      async () => (await errand.status(running.id))?.state === 'STARTED',
      10_000,
      'render to start',
    );
    const [listed] = await viewer.tasks('reports', { state: 'running' });
    const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-');
    assert.match(listed?.worker ?? '', new RegExp(`^${host}:${process.pid}:[0-9a-f]{6}$`));
    const queueHtml = await (await fetch(`${dashboard.url}/queue?name=reports&state=running`)).text();
    assert.ok(queueHtml.includes(`data-field="worker">${listed?.worker}</td>`), queueHtml);
    const taskHtml = await (await fetch(`${dashboard.url}/task?id=${running.id}&queue=reports`)).text();
    assert.ok(taskHtml.includes(`<th>worker</th><td><pre>${listed?.worker}</pre>`), taskHtml);
    await viewer.cancel(running.id);
    await assert.rejects(running.result({ timeoutMs: 10_000 }), TaskCancelledError);

    // Workflow messages wait in a paused queue, so their links can be read.
    await viewer.pause('mail');
    await new Promise((r) => setTimeout(r, 1100)); // workers notice a pause within a second
    try {
      const chain = await errand.chain(quick.s('first@example.com'), quick.s()).send();
      await errand.group([quick.s('g1@example.com'), quick.s('g2@example.com')]).send();
      const waiting = await viewer.tasks('mail', { state: 'waiting' });
      const head = waiting.find((t) => t.message?.links?.next);
      assert.ok(head?.message, 'the chain head is listed with its links');
      const next = head.message.links?.next;
      assert.ok(next && 'task' in next && next.id === chain.id, 'tasks() views carry the links');
      const headHtml = await (
        await fetch(`${dashboard.url}/task?id=${encodeURIComponent(head.message.id)}&queue=mail`)
      ).text();
      assert.match(headHtml, /<th>next<\/th><td><pre>email\(\)/);
      assert.ok(
        headHtml.includes(`href="/task?id=${encodeURIComponent(chain.id)}&amp;queue=mail"`),
        headHtml,
      );
      const member = waiting.find((t) => t.message?.args[0] === 'g2@example.com');
      assert.ok(member?.message, 'a group member is listed');
      const memberHtml = await (
        await fetch(`${dashboard.url}/task?id=${encodeURIComponent(member.message.id)}&queue=mail`)
      ).text();
      assert.match(memberHtml, /<th>group member<\/th><td><pre>2 of 2 in group /);
    } finally {
      await viewer.resume('mail');
    }
  });

  it('needs a token off loopback, and checks it', async () => {
    await assert.rejects(
      startDashboard(viewer, { listen: '0.0.0.0:0', queues: () => [] }),
      /needs a token to listen on 0\.0\.0\.0:0/,
    );
    const guarded = await startDashboard(viewer, {
      listen: `127.0.0.1:${await freePort()}`,
      token: 's3cret',
      queues: () => ['mail'],
    });
    try {
      assert.equal((await fetch(guarded.url)).status, 401);
      assert.equal((await fetch(guarded.url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal((await fetch(guarded.url, { headers: { authorization: 'Bearer s3cret' } })).status, 200);
      const login = await fetch(`${guarded.url}/login?token=s3cret`, { redirect: 'manual' });
      assert.equal(login.status, 303);
      const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
      assert.equal((await fetch(guarded.url, { headers: { cookie } })).status, 200);
    } finally {
      await guarded.close();
    }
  });
});

describe('errand dashboard (the command)', () => {
  it('serves the config queues until SIGTERM, and refuses an open address without a token', async () => {
    const { ErrandProcess, runErrand } = await import('./fixtures/daemon/harness.ts');
    const port = await freePort();
    const env = { ERRAND_BROKER: REDIS_URL };
    const refused = await runErrand(['dashboard', '--listen', '0.0.0.0:0', '-q', 'x'], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /needs a token/);
    const p = new ErrandProcess(['dashboard', '--listen', `127.0.0.1:${port}`, '-q', 'alpha', '-q', 'beta'], {
      env,
    });
    try {
      await eventually(
        () => p.stdout.includes(`http://127.0.0.1:${port}`),
        20_000,
        'the dashboard to listen',
      );
      const html = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      assert.match(html, /data-queue="alpha"/);
      assert.match(html, /data-queue="beta"/);
    } finally {
      const exit = await p.stop();
      assert.equal(exit.code, 0, p.stderr);
    }
  });
});
