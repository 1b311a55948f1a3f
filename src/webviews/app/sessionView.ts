// The session panel's DOM: totals, the path tree (click to filter) and the waterfall timeline.
import type { SessionPayload } from '../protocol';
import { button, h, icon } from './dom';
import { formatInt, formatMs, formatTimestamp, formatUsd } from './format';
import type { PathNode, WaterfallRow } from './sessionModel';
import { buildPathTree, layoutWaterfall, sessionTotals, underPath } from './sessionModel';

export interface SessionViewActions {
  openRequest(id: string): void;
  setFilter(path: string): void;
}

function fact(label: string, value: string, title?: string, wide = false): HTMLElement {
  return h('div', { class: `lens-fact${wide ? ' is-wide' : ''}`, title: title ?? null }, h('dt', null, label), h('dd', null, value));
}

function pathTree(node: PathNode, filter: string, actions: SessionViewActions): HTMLElement {
  const item = (n: PathNode): HTMLElement => {
    const selected = n.path === filter;
    const b = button(n.path === '/' ? 'All paths' : n.name, () => actions.setFilter(n.path), { kind: 'secondary', title: `Show only ${n.path}` });
    b.classList.add('tree-btn');
    b.dataset.path = n.path;
    if (selected) b.classList.add('is-selected');
    b.setAttribute('aria-pressed', String(selected));
    const meta = h('span', { class: 'lens-muted tree-meta' }, `${n.count} · ${formatUsd(n.costUsd)}`, n.errors ? h('span', { class: 'is-error-text' }, ` · ${n.errors} error${n.errors === 1 ? '' : 's'}`) : null);
    const li = h('li', null, h('div', { class: 'tree-row' }, icon(n.children.length ? 'folder-opened' : 'folder'), b, meta));
    if (n.children.length) li.appendChild(h('ul', null, ...n.children.map(item)));
    return li;
  };
  return h('ul', { class: 'path-tree', 'aria-label': 'Session paths' }, item(node));
}

function rowTitle(r: WaterfallRow): string {
  const s = r.record;
  return [
    `${r.label} — ${r.path}`,
    `start +${formatMs(r.startMs)} · duration ${formatMs(r.durationMs)}${r.ttftMs !== null ? ` · first token +${formatMs(r.ttftMs)}` : ''}`,
    `${s.state}${s.status !== null ? ` ${s.status}` : ''}${s.error ? ` · ${s.error.kind}` : ''}${s.costUsd !== null ? ` · ${formatUsd(s.costUsd)}` : ''}`,
  ].join('\n');
}

function waterfall(p: SessionPayload, filter: string, now: number, actions: SessionViewActions): HTMLElement {
  const records = p.records.filter((r) => underPath(r.session?.path ?? '/', filter));
  if (!records.length) return h('p', { class: 'lens-empty' }, 'No requests in this path.');
  const wf = layoutWaterfall(records, now);
  const axis = h('div', { class: 'wf-axis', 'aria-hidden': 'true' }, h('span', { class: 'wf-label' }, ''));
  const track = h('span', { class: 'wf-track' });
  for (const t of wf.ticks) {
    const tick = h('span', { class: 'wf-tick' }, t.label);
    // CSSOM property writes are allowed by style-src without 'unsafe-inline' (style attributes are not).
    tick.style.left = `${t.pct}%`;
    track.appendChild(tick);
  }
  axis.appendChild(track);
  axis.appendChild(h('span', { class: 'wf-dur' }, ''));
  const list = h('div', { class: 'wf-rows', role: 'list', 'aria-label': 'Requests on a time axis' });
  for (const r of wf.rows) {
    const bar = h('span', { class: `wf-bar wf-${r.cls}` });
    bar.style.left = `${r.leftPct}%`;
    bar.style.width = `${r.widthPct}%`;
    const rowTrack = h('span', { class: 'wf-track' });
    for (const t of wf.ticks) {
      const grid = h('span', { class: 'wf-grid' });
      grid.style.left = `${t.pct}%`;
      rowTrack.appendChild(grid);
    }
    rowTrack.appendChild(bar);
    if (r.ttftPct !== null) {
      const mark = h('span', { class: 'wf-ttft', title: `first token +${formatMs(r.ttftMs)}` });
      mark.style.left = `${r.ttftPct}%`;
      rowTrack.appendChild(mark);
    }
    const row = h('button', { type: 'button', class: `wf-row wf-row-${r.cls}`, role: 'listitem', title: rowTitle(r), 'data-id': r.id, 'aria-label': rowTitle(r).replace(/\n/g, '; ') },
      h('span', { class: 'wf-label' },
        h('span', { class: `wf-dot wf-${r.cls}`, 'aria-hidden': 'true' }),
        h('span', { class: 'wf-path lens-mono' }, r.path),
        h('span', { class: 'wf-model' }, r.label)),
      rowTrack,
      h('span', { class: 'wf-dur' }, r.record.state === 'pending' ? 'pending' : formatMs(r.durationMs)));
    row.addEventListener('click', () => actions.openRequest(r.id));
    row.addEventListener('keydown', (ev) => {
      const dir = ev.key === 'ArrowDown' ? 'nextElementSibling' : ev.key === 'ArrowUp' ? 'previousElementSibling' : null;
      if (!dir) return;
      ev.preventDefault();
      (row[dir] as HTMLElement | null)?.focus();
    });
    list.appendChild(row);
  }
  const legend = h('div', { class: 'wf-legend lens-muted', 'aria-hidden': 'true' },
    ...(['ok', 'cached', 'error', 'pending', 'custom'] as const).map((c) => h('span', null, h('span', { class: `wf-dot wf-${c}` }), ` ${c === 'custom' ? 'custom step' : c}`)),
    h('span', null, h('span', { class: 'wf-ttft-key' }), ' first token'));
  return h('div', { class: 'wf' }, axis, list, legend);
}

export function renderSession(p: SessionPayload, filter: string, now: number, actions: SessionViewActions): HTMLElement {
  const t = sessionTotals(p.records, now);
  const name = p.session?.name ?? p.records.find((r) => r.session?.name)?.session?.name ?? null;
  const header = h('header', { class: 'lens-header' },
    h('div', { class: 'lens-title' },
      h('h1', null, name ?? 'Session'),
      t.pending ? h('span', { class: 'lens-status is-pending' }, icon('loading', 'codicon-modifier-spin'), h('span', null, `${t.pending} pending`)) : null,
      h('span', { class: 'lens-muted lens-mono' }, p.sessionId)),
    h('dl', { class: 'lens-facts' },
      fact('Requests', `${formatInt(t.requests)}${t.customSteps ? ` + ${t.customSteps} step${t.customSteps === 1 ? '' : 's'}` : ''}`),
      fact('Cost', `${formatUsd(t.costUsd)}${t.costUnknown ? ` + ${t.costUnknown} unknown` : ''}`, t.costUnknown ? 'Some requests used models without a known price' : undefined),
      fact('Tokens', `${formatInt(t.totalTokens)} (${formatInt(t.promptTokens)} in · ${formatInt(t.completionTokens)} out)`),
      fact('Duration', formatMs(t.durationMs)),
      fact('Errors', formatInt(t.errors)),
      fact('Started', t.startedAt === null ? '—' : formatTimestamp(t.startedAt), undefined, true)));
  const banners = h('div', { class: 'lens-banners' });
  if (p.truncated) banners.appendChild(h('div', { class: 'lens-banner lens-banner-warning' }, icon('warning'), h('span', null, `Showing the ${p.records.length} most recent records of this session.`)));
  return h('div', { class: 'lens-session' }, header, banners,
    h('div', { class: 'session-body' },
      h('section', { class: 'session-paths' }, h('h2', null, 'Paths'), pathTree(buildPathTree(p.records), filter, actions)),
      h('section', { class: 'session-waterfall' }, h('h2', null, 'Timeline', filter !== '/' ? h('span', { class: 'lens-muted' }, ` ${filter}`) : null), waterfall(p, filter, now, actions))));
}
