/** The dashboard's server-rendered HTML: plain strings, every value escaped. The one script polls /api/overview. */
import type { TaskRecord } from '../../core/port.ts';
import { isGroupLink, type Link, type Links } from '../../workflow/wire.ts';
import type { TaskListState, TaskView } from '../control.ts';

export interface QueueRow {
  readonly queue: string;
  readonly waiting: number;
  readonly delayed: number;
  readonly running: number;
  readonly dead: number;
  readonly paused: boolean;
}

export const esc = (value: unknown): string =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const q = (params: Record<string, string | number>): string =>
  new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();

const STYLE = `body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.n{text-align:right;font-variant-numeric:tabular-nums}form{display:inline}button{margin:0 .2rem;cursor:pointer}
pre{margin:0;white-space:pre-wrap;max-width:60rem}.paused{color:#b25}nav a{margin-right:1rem}
#chart{border:1px solid #ccc;background:#fafafa}.legend span{margin-right:1rem}.ok{color:#2a7}.bad{color:#c33}`;

function layout(title: string, body: string, script = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · Errand</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body><nav><a href="/">Queues</a></nav><h1>${esc(title)}</h1>${body}${script ? `<script>${script}</script>` : ''}</body></html>`;
}

/** A POST form for one action; `csrf` is the server's token, `back` where to return. */
export function actionButton(
  csrf: string,
  action: string,
  label: string,
  fields: Record<string, string>,
  back: string,
): string {
  const hidden = Object.entries({ csrf, action, back, ...fields })
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('');
  return `<form method="post" action="/action">${hidden}<button type="submit" data-action="${esc(action)}">${esc(label)}</button></form>`;
}

const STATES: readonly TaskListState[] = ['waiting', 'delayed', 'running', 'dead'];

export function overviewPage(rows: readonly QueueRow[], csrf: string): string {
  const body = `<table id="queues"><thead><tr><th>Queue</th>${STATES.map((s) => `<th>${s}</th>`).join('')}<th>State</th><th></th></tr></thead><tbody>
${rows
  .map(
    (r) => `<tr data-queue="${esc(r.queue)}"><td>${esc(r.queue)}</td>${STATES.map(
      (s) =>
        `<td class="n"><a data-field="${s}" href="/queue?${q({ name: r.queue, state: s })}">${r[s]}</a></td>`,
    ).join(
      '',
    )}<td data-field="paused" class="${r.paused ? 'paused' : ''}">${r.paused ? 'paused' : 'running'}</td>
<td>${actionButton(csrf, r.paused ? 'resume' : 'pause', r.paused ? 'Resume' : 'Pause', { queue: r.queue }, '/')}</td></tr>`,
  )
  .join('\n')}</tbody></table>
<h2>Throughput (last 5 minutes, tasks per second)</h2>
<div class="legend"><span class="ok">■ completed</span><span class="bad">■ failed</span><span id="rate"></span></div>
<svg id="chart" width="900" height="160" viewBox="0 0 900 160" role="img" aria-label="completed and failed tasks per second"></svg>
<p><small>Counts refresh every 2 s. Throughput counts the final results every worker records (from when this dashboard started).</small></p>`;
  return layout('Errand queues', body, OVERVIEW_SCRIPT);
}

/** Polls the overview JSON: updates the counts in place and redraws the chart. */
const OVERVIEW_SCRIPT = `
async function refresh(){
  try{
    const r=await fetch('/api/overview',{headers:{accept:'application/json'}});
    if(!r.ok)return;
    const d=await r.json();
    for(const row of d.queues){
      const tr=[...document.querySelectorAll('#queues tr[data-queue]')].find(t=>t.dataset.queue===row.queue);
      if(!tr)continue;
      for(const f of ['waiting','delayed','running','dead']){const a=tr.querySelector('[data-field="'+f+'"]');if(a)a.textContent=row[f];}
    }
    draw(d.throughput);
  }catch(e){}
}
function draw(points){
  const svg=document.getElementById('chart');const W=900,H=160;
  const max=Math.max(1,...points.map(p=>p.completed+p.failed));
  const w=W/points.length;let bars='';
  points.forEach((p,i)=>{const hc=p.completed/max*(H-10),hf=p.failed/max*(H-10);
    if(hc>0)bars+='<rect x="'+(i*w)+'" y="'+(H-hc)+'" width="'+w+'" height="'+hc+'" fill="#2a7"/>';
    if(hf>0)bars+='<rect x="'+(i*w)+'" y="'+(H-hc-hf)+'" width="'+w+'" height="'+hf+'" fill="#c33"/>';});
  svg.innerHTML=bars+'<text x="4" y="12" font-size="11">'+max+'/s</text>';
  const last=points.slice(-10),c=last.reduce((n,p)=>n+p.completed,0),f=last.reduce((n,p)=>n+p.failed,0);
  document.getElementById('rate').textContent='last 10 s: '+(c/10).toFixed(1)+'/s completed, '+(f/10).toFixed(1)+'/s failed';
}
refresh();setInterval(refresh,2000);`;

export function queuePage(
  queue: string,
  state: TaskListState,
  offset: number,
  limit: number,
  tasks: readonly TaskView[],
  csrf: string,
): string {
  const back = `/queue?${q({ name: queue, state, offset })}`;
  const tabs = STATES.map((s) =>
    s === state ? `<strong>${s}</strong>` : `<a href="/queue?${q({ name: queue, state: s })}">${s}</a>`,
  ).join(' · ');
  const actionsFor = (t: TaskView): string => {
    const id = t.message?.id;
    if (state === 'dead' && t.key !== undefined)
      return (
        actionButton(csrf, 'retry-dead', 'Retry', { queue, key: t.key }, back) +
        actionButton(csrf, 'purge-dead', 'Purge', { queue, key: t.key }, back)
      );
    if (!id) return '';
    if (state === 'running') return actionButton(csrf, 'cancel', 'Cancel', { queue, id }, back);
    return actionButton(csrf, 'cancel', 'Delete', { queue, id }, back);
  };
  // The last column: why a dead task failed, or which worker runs a running one.
  const detailLabel = state === 'dead' ? 'reason' : state === 'running' ? 'worker' : '';
  const rows = tasks
    .map((t) => {
      const id = t.message?.id;
      return `<tr data-id="${esc(id ?? '')}"><td>${id ? `<a href="/task?${q({ id, queue })}">${esc(id)}</a>` : '(unreadable)'}</td>
<td>${esc(t.message?.task ?? '')}</td><td><pre>${esc(t.message ? JSON.stringify(t.message.args) : t.body.slice(0, 500))}</pre></td>
<td class="n">${t.message?.attempt ?? ''}</td><td>${t.at ? esc(t.at.toISOString()) : ''}</td><td data-field="${detailLabel}">${esc(t.reason ?? t.worker ?? '')}</td><td>${actionsFor(t)}</td></tr>`;
    })
    .join('\n');
  const bulk =
    state === 'dead' && tasks.length > 0
      ? `<p>${actionButton(csrf, 'retry-all-dead', 'Retry all dead', { queue }, back)}${actionButton(csrf, 'purge-all-dead', 'Purge all dead', { queue }, back)}</p>`
      : '';
  const atLabel =
    state === 'delayed' ? 'due' : state === 'running' ? 'lease until' : state === 'dead' ? 'failed at' : '';
  const pager = `<p>${offset > 0 ? `<a href="/queue?${q({ name: queue, state, offset: Math.max(0, offset - limit) })}">← newer</a> ` : ''}${tasks.length === limit ? `<a href="/queue?${q({ name: queue, state, offset: offset + limit })}">more →</a>` : ''}</p>`;
  const body = `<p>${tabs}</p>${bulk}<table id="tasks"><thead><tr><th>id</th><th>task</th><th>args</th><th>attempts</th><th>${atLabel}</th><th>${detailLabel}</th><th></th></tr></thead>
<tbody>${rows || `<tr><td colspan="7">no ${state} tasks</td></tr>`}</tbody></table>${pager}`;
  return layout(`Queue ${queue}: ${state}`, body);
}

export function taskPage(
  id: string,
  record: TaskRecord | undefined,
  found: TaskView | undefined,
  csrf: string,
  queue: string,
): string {
  const field = (name: string, value: string): string =>
    `<tr><th>${esc(name)}</th><td><pre>${value}</pre></td></tr>`;
  const rows = [
    field('id', esc(id)),
    field('state', esc(record?.state ?? (found ? `${found.state} (no record yet)` : 'unknown'))),
    field('task', esc(record?.task ?? found?.message?.task ?? '')),
    field('queue', esc(record?.queue ?? queue)),
    field('attempts', esc(record?.attempt ?? found?.message?.attempt ?? '')),
    field(
      'args',
      esc(found?.message ? JSON.stringify(found.message.args, null, 2) : '(not in the queue now)'),
    ),
    ...(record?.error ? [field('error', esc(`${record.error.name}: ${record.error.message}`))] : []),
    ...(record?.result !== undefined ? [field('result', esc(JSON.stringify(record.result, null, 2)))] : []),
    ...(found?.worker ? [field('worker', esc(found.worker))] : []),
    ...(found?.at && found.state === 'running' ? [field('lease until', esc(found.at.toISOString()))] : []),
    ...(found?.reason ? [field('dead letter', esc(found.reason))] : []),
    ...linkRows(found?.message?.links, queue).map(([name, html]) => field(name, html)),
  ].join('');
  const final = record && ['SUCCESS', 'FAILURE', 'CANCELLED'].includes(record.state);
  const action = final
    ? ''
    : actionButton(csrf, 'cancel', 'Cancel', { queue, id }, `/task?${q({ id, queue })}`);
  return layout(`Task ${id}`, `<table id="task">${rows}</table>${action}`);
}

/** One workflow link in a line: its task (or group size) and id, the id linked to its task page. */
function linkLine(link: Link, queue: string): string {
  const what = isGroupLink(link)
    ? `group of ${link.group.length}`
    : `${esc(link.task)}(${esc(JSON.stringify(link.args ?? []).slice(1, -1))})`;
  const linkQueue = isGroupLink(link) ? queue : (link.queue ?? queue);
  const id = link.id
    ? ` <a href="${esc(`/task?${q({ id: link.id, queue: linkQueue })}`)}">${esc(link.id)}</a>`
    : '';
  const more = link.links ? ' (with its own links)' : '';
  return `${what}${id}${more}`;
}

/** The task page's rows for a message's workflow links (next, callbacks, group membership). */
function linkRows(links: Links | undefined, queue: string): Array<[string, string]> {
  if (!links) return [];
  const rows: Array<[string, string]> = [];
  if (links.next) rows.push(['next', linkLine(links.next, queue)]);
  if (links.onSuccess?.length)
    rows.push(['on success', links.onSuccess.map((l) => linkLine(l, queue)).join('\n')]);
  if (links.onError?.length) rows.push(['on error', links.onError.map((l) => linkLine(l, queue)).join('\n')]);
  if (links.member) {
    const m = links.member;
    rows.push(['group member', esc(`${m.index + 1} of ${m.size} in group ${m.group}`)]);
  }
  return rows;
}

export function messagePage(title: string, text: string, status: number): string {
  return layout(title, `<p data-status="${status}">${esc(text)}</p>`);
}
