/**
 * The web dashboard: node:http, server-rendered pages (pages.ts), one small polling script.
 * Security: bound to loopback by default; any other address needs a token (sent as
 * `Authorization: Bearer`, or a cookie set by visiting /login?token=...). Every action is a POST
 * carrying the page's CSRF token, and cross-site POSTs (Origin or Sec-Fetch-Site) are refused.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Errand } from '../../core/errand.ts';
import { TASK_LIST_STATES, type TaskListState, type TaskView } from '../control.ts';
import { isLoopback, type Listening, listen, parseAddress } from '../http.ts';
import { messagePage, overviewPage, type QueueRow, queuePage, taskPage } from './pages.ts';
import { Throughput } from './throughput.ts';

export interface DashboardOptions {
  /** `host:port`; default 127.0.0.1:8080. */
  readonly listen?: string;
  /** Required unless `listen` is a loopback address. */
  readonly token?: string | undefined;
  /** The queues to show. */
  readonly queues: () => readonly string[];
}

export interface Dashboard extends Listening {}

const PAGE = 50;
const MAX_FORM_BYTES = 16 * 1024;

export async function startDashboard(errand: Errand, options: DashboardOptions): Promise<Dashboard> {
  const address = options.listen ?? '127.0.0.1:8080';
  const { host } = parseAddress('dashboard listen', address);
  if (!options.token && !isLoopback(host))
    throw new RangeError(
      `the dashboard needs a token to listen on ${address} (only loopback addresses such as 127.0.0.1 go without one)`,
    );
  const csrf = randomBytes(24).toString('base64url');
  const { backend } = await errand.runtime.stores();
  const throughput = new Throughput(backend);
  await throughput.start();
  const app = new DashboardApp(errand, options, csrf, throughput);
  const server = createServer((req, res) => {
    app.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, messagePage('Error', String(err instanceof Error ? err.message : err), 500));
      else res.destroy();
    });
  });
  const listening = await listen(server, 'dashboard listen', address);
  return {
    ...listening,
    close: async () => {
      await listening.close();
      await throughput.close();
    },
  };
}

function send(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'",
    ...headers,
  });
  res.end(html);
}

const sameSecret = (a: string | undefined, b: string): boolean => {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new RangeError('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

class DashboardApp {
  constructor(
    private readonly errand: Errand,
    private readonly options: DashboardOptions,
    private readonly csrf: string,
    private readonly throughput: Throughput,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const { token } = this.options;
    if (token !== undefined) {
      if (url.pathname === '/login' && sameSecret(url.searchParams.get('token') ?? undefined, token)) {
        res.writeHead(303, {
          location: '/',
          'set-cookie': `errand_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        });
        res.end();
        return;
      }
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!sameSecret(bearer ?? cookie(req, 'errand_token'), token))
        return send(
          res,
          401,
          messagePage('Unauthorized', 'this dashboard needs its token: visit /login?token=...', 401),
        );
    }
    if (req.method === 'POST' && url.pathname === '/action') return this.action(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, messagePage('Method not allowed', `${req.method} ${url.pathname}`, 405), {
        allow: 'GET',
      });
    switch (url.pathname) {
      case '/':
        return send(res, 200, overviewPage(await this.rows(), this.csrf));
      case '/api/overview': {
        const body = JSON.stringify({ queues: await this.rows(), throughput: this.throughput.window() });
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(body);
        return;
      }
      case '/queue':
        return this.queue(url, res);
      case '/task':
        return this.task(url, res);
      default:
        return send(res, 404, messagePage('Not found', url.pathname, 404));
    }
  }

  private async rows(): Promise<QueueRow[]> {
    const queues = [...new Set(this.options.queues())];
    return Promise.all(
      queues.map(async (queue) => {
        const [stats, paused] = await Promise.all([this.errand.stats(queue), this.errand.isPaused(queue)]);
        return {
          queue,
          waiting: stats.waiting,
          delayed: stats.delayed,
          running: stats.leased,
          dead: stats.dead,
          paused,
        };
      }),
    );
  }

  private async queue(url: URL, res: ServerResponse): Promise<void> {
    const queue = url.searchParams.get('name') ?? '';
    const state = (url.searchParams.get('state') ?? 'waiting') as TaskListState;
    const offset = Number(url.searchParams.get('offset') ?? 0);
    if (!queue || !TASK_LIST_STATES.includes(state) || !Number.isSafeInteger(offset) || offset < 0)
      return send(
        res,
        400,
        messagePage('Bad request', 'name, state (waiting, delayed, running, dead) and offset >= 0', 400),
      );
    const tasks = await this.errand.tasks(queue, { state, offset, limit: PAGE });
    send(res, 200, queuePage(queue, state, offset, PAGE, tasks, this.csrf));
  }

  private async task(url: URL, res: ServerResponse): Promise<void> {
    const id = url.searchParams.get('id') ?? '';
    if (!id) return send(res, 400, messagePage('Bad request', 'id is required', 400));
    const record = await this.errand.status(id);
    const queue = url.searchParams.get('queue') ?? record?.queue ?? 'default';
    let found: TaskView | undefined;
    for (const state of TASK_LIST_STATES) {
      const listed = await this.errand.tasks(queue, { state, limit: 500 }).catch(() => []);
      found = listed.find((t) => t.message?.id === id);
      if (found) break;
    }
    send(res, 200, taskPage(id, record, found, this.csrf, queue));
  }

  private async action(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A browser marks cross-site requests; a page of this dashboard sends same-origin ones.
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    if (
      (site !== undefined && site !== 'same-origin' && site !== 'none') ||
      (origin && new URL(origin).host !== req.headers.host)
    )
      return send(res, 403, messagePage('Forbidden', 'cross-site request refused', 403));
    const form = await readForm(req);
    if (!sameSecret(form.get('csrf') ?? undefined, this.csrf))
      return send(res, 403, messagePage('Forbidden', 'missing or wrong CSRF token (reload the page)', 403));
    const queue = form.get('queue') ?? '';
    const back = form.get('back') ?? '/';
    const key = form.get('key');
    const id = form.get('id');
    if (!queue) return send(res, 400, messagePage('Bad request', 'queue is required', 400));
    const dead = this.errand.deadLetters(queue);
    switch (form.get('action')) {
      case 'pause':
        await this.errand.pause(queue);
        break;
      case 'resume':
        await this.errand.resume(queue);
        break;
      case 'cancel':
        if (!id) return send(res, 400, messagePage('Bad request', 'id is required', 400));
        await this.errand.cancel(id, { queue });
        break;
      case 'retry-dead':
      case 'purge-dead':
        if (!key) return send(res, 400, messagePage('Bad request', 'key is required', 400));
        await (form.get('action') === 'retry-dead' ? dead.retry([key]) : dead.purge([key]));
        break;
      case 'retry-all-dead':
        await dead.retry();
        break;
      case 'purge-all-dead':
        await dead.purge();
        break;
      default:
        return send(
          res,
          400,
          messagePage('Bad request', `unknown action ${JSON.stringify(form.get('action'))}`, 400),
        );
    }
    // Only paths of this dashboard: never an open redirect.
    res.writeHead(303, { location: back.startsWith('/') && !back.startsWith('//') ? back : '/' });
    res.end();
  }
}
