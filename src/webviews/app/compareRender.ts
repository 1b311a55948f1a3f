// DOM for the compare panel (everything except the charts): toolbar, notes and source states,
// alerts, and the metrics table with deltas against the baseline environment. Text only, through
// dom.ts; every string from settings or traffic (environment, model, property values) is text.
import { formatCost, formatDuration, formatMetricDelta, formatMetricValue, formatRelativeTime } from '../../core/format';
import type { AlertView, CellView, ColumnStatus, ColumnView, CompareView, MetricDef, SourceView } from '../protocol';
import { button, h, icon } from './dom';

export interface CompareActions {
  setWindow(window: string): void;
  setGroupBy(groupBy: string): void;
  refresh(): void;
  exportCsv(): void;
  setKey(source: string): void;
}

export function formatValue(format: MetricDef['format'], v: number | null): string {
  return formatMetricValue(format, v);
}

/** "+12 %", "−0.8 pp"; '' when there is nothing to compare. */
export function formatDeltaText(def: MetricDef, d: number | null): string {
  return formatMetricDelta(def.delta, d);
}

/** 'better' | 'worse' | 'neutral' for colouring a delta. */
export function deltaTone(def: MetricDef, d: number | null): 'better' | 'worse' | 'neutral' {
  if (d === null || def.better === null || Math.abs(d) < (def.delta === 'points' ? 0.0005 : 0.005)) return 'neutral';
  return (d < 0) === (def.better === 'lower') ? 'better' : 'worse';
}

const STATUS_TEXT: Record<ColumnStatus, string> = {
  ok: 'up to date', idle: 'waiting', loading: 'loading…', stale: 'stale', error: 'unreachable', authFailed: 'API key rejected', noKey: 'no API key',
};
const STATUS_ICON: Record<ColumnStatus, string> = {
  ok: 'pass', idle: 'clock', loading: 'sync', stale: 'history', error: 'error', authFailed: 'key', noKey: 'key',
};

function select(id: string, label: string, options: Array<{ value: string; label: string }>, value: string, onChange: (v: string) => void): HTMLElement {
  const sel = h('select', { id, class: 'lens-select' });
  for (const o of options) {
    const opt = h('option', { value: o.value }, o.label);
    if (o.value === value) opt.selected = true;
    sel.appendChild(opt);
  }
  sel.addEventListener('change', () => onChange(sel.value));
  return h('label', { class: 'compare-field', for: id }, h('span', { class: 'lens-muted' }, label), sel);
}

export function renderHeader(view: CompareView, actions: CompareActions, now: number): HTMLElement {
  const refreshing = view.sources.some((s) => s.refreshing);
  return h('header', { class: 'lens-header compare-header' },
    h('div', { class: 'lens-title' },
      h('h1', null, 'Compare environments'),
      h('span', { class: 'lens-muted' }, `by ${view.environmentProperty} · updated ${formatRelativeTime(view.generatedAt, now)}`)),
    h('div', { class: 'compare-toolbar', role: 'toolbar', 'aria-label': 'Comparison options' },
      select('compare-window', 'Time window', view.windowOptions, view.window, actions.setWindow),
      select('compare-group', 'Group by', view.groupByOptions, view.groupBy, actions.setGroupBy),
      button(refreshing ? 'Refreshing…' : 'Refresh', () => actions.refresh(), { icon: 'refresh', title: 'Refresh every source now' }),
      button('Export CSV', () => actions.exportCsv(), { icon: 'desktop-download', title: 'Save this table as CSV' })));
}

/** Source problems and data caveats, each with the action that fixes it where there is one. */
export function renderBanners(view: CompareView, actions: CompareActions, now: number): HTMLElement {
  const box = h('div', { class: 'lens-banners', role: 'status' });
  for (const s of view.sources) {
    if (s.kind !== 'remote') continue;
    const b = sourceBanner(s, actions, now);
    if (b) box.appendChild(b);
  }
  for (const n of view.notes) box.appendChild(h('div', { class: 'lens-banner lens-banner-warning' }, icon('info'), h('span', null, n)));
  return box;
}

function sourceBanner(s: SourceView, actions: CompareActions, now: number): HTMLElement | null {
  const name = `“${s.name}”`;
  switch (s.status) {
    case 'noKey':
      return h('div', { class: 'lens-banner lens-banner-warning' }, icon('key'),
        h('span', null, `No API key for source ${name} (${s.baseUrl ?? ''}): its environments are not queried. `),
        button('Set API key', () => actions.setKey(s.name), { icon: 'key', kind: 'primary' }));
    case 'authFailed':
      // The client's message repeats "API key rejected"; the full text stays in the tooltip.
      return h('div', { class: 'lens-banner lens-banner-error', title: s.error ?? null }, icon('key'),
        h('span', null, `API key rejected by ${name}${s.baseUrl ? ` (${s.baseUrl})` : ''}: its environments are not updated. `),
        button('Replace API key', () => actions.setKey(s.name), { icon: 'key', kind: 'primary' }));
    case 'error':
    case 'stale': {
      const retry = s.nextAttemptAt !== null ? ` Retrying ${s.nextAttemptAt <= now ? 'now' : `in ${formatDuration(s.nextAttemptAt - now)}`}.` : '';
      const age = s.fetchedAt !== null ? ` Showing data from ${formatRelativeTime(s.fetchedAt, now)}.` : ' No data yet.';
      return h('div', { class: `lens-banner ${s.status === 'error' ? 'lens-banner-error' : 'lens-banner-warning'}` }, icon(s.errorCode === 'QUERY_RATE_LIMITED' ? 'watch' : 'warning'),
        h('span', null, `${name} ${s.errorCode === 'QUERY_RATE_LIMITED' ? 'is rate limiting us' : 'is not answering'}${s.error ? ` (${s.error})` : ''}.${age}${retry}`));
    }
    default:
      return null;
  }
}

export function renderAlerts(alerts: AlertView[]): HTMLElement | null {
  if (!alerts.length) return null;
  const firing = alerts.filter((a) => a.state === 'firing');
  const list = h('ul', { class: 'compare-alerts' });
  for (const a of alerts) {
    const value = a.value === null ? 'no data' : formatValue(a.metric === 'errorRate' ? 'percent' : a.metric === 'cost' ? 'usd' : 'ms', a.value);
    const threshold = formatValue(a.metric === 'errorRate' ? 'percent' : a.metric === 'cost' ? 'usd' : 'ms', a.threshold);
    const stateText = a.state === 'firing' ? 'firing' : a.state === 'unknown' ? 'no data' : a.insufficient ? `quiet (${a.requests} requests, too few)` : 'ok';
    list.appendChild(h('li', { class: `compare-alert is-${a.state}` },
      icon(a.state === 'firing' ? 'warning' : a.state === 'unknown' ? 'question' : 'pass'),
      h('span', { class: 'compare-alert-name' }, a.name),
      h('span', { class: 'lens-muted' }, ` ${value} (threshold ${threshold}, ${a.requests} requests) · ${stateText}`)));
  }
  const details = h('details', { class: 'compare-alerts-box', open: firing.length > 0 },
    h('summary', null, firing.length ? `${firing.length} alert${firing.length > 1 ? 's' : ''} firing` : `Alerts: none firing (${alerts.length} rules)`),
    list);
  return details;
}

function columnHead(c: ColumnView, now: number): HTMLElement {
  const sub = [c.role === 'dev' ? 'local' : c.sources.join(', ') || 'no source', `${c.requests.toLocaleString('en-US')} req`].join(' · ');
  const status = c.role === 'remote' && c.status !== 'ok'
    ? h('span', { class: `compare-status is-${c.status}` }, icon(STATUS_ICON[c.status]), ` ${STATUS_TEXT[c.status]}${c.status === 'stale' && c.fetchedAt !== null ? ` · ${formatRelativeTime(c.fetchedAt, now)}` : ''}`)
    : null;
  return h('th', { class: 'num compare-env', scope: 'col', 'data-env': c.environment },
    h('div', { class: 'compare-env-name' }, c.environment, c.baseline ? h('span', { class: 'lens-chip', title: 'Deltas are measured against this environment' }, 'baseline') : null),
    h('div', { class: 'lens-muted compare-env-sub' }, sub, c.capped ? ' · capped' : ''),
    status);
}

function cell(def: MetricDef, c: CellView | null): HTMLElement {
  if (!c) return h('td', { class: 'num lens-muted' }, '—');
  const d = c.deltas ? c.deltas[def.key] : null;
  const delta = formatDeltaText(def, d);
  return h('td', { class: 'num' },
    h('span', { class: 'compare-value' }, formatValue(def.format, c.values[def.key])),
    delta ? h('span', { class: `compare-delta is-${deltaTone(def, d)}`, title: 'vs baseline' }, delta) : null);
}

export function renderTable(view: CompareView, now: number): HTMLElement {
  const table = h('table', { class: 'lens-table compare-table', id: 'compare-table' });
  table.appendChild(h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Metric'), ...view.columns.map((c) => columnHead(c, now)))));
  const body = h('tbody');
  const grouped = view.groups.length > 1 || view.groupBy !== '';
  const short = new Set(view.groupMetricKeys);
  for (const g of view.groups) {
    if (grouped) body.appendChild(h('tr', { class: 'compare-group' }, h('th', { colspan: view.columns.length + 1, scope: 'rowgroup' }, g.label)));
    for (const def of view.metrics) {
      if (g.key !== null && !short.has(def.key)) continue;
      body.appendChild(h('tr', { 'data-metric': def.key }, h('th', { scope: 'row' }, def.label), ...g.cells.map((c) => cell(def, c))));
    }
  }
  table.appendChild(body);
  return table;
}

export function renderSources(view: CompareView, now: number): HTMLElement {
  const t = h('table', { class: 'lens-table compare-sources' },
    h('thead', null, h('tr', null, h('th', null, 'Source'), h('th', null, 'Endpoint'), h('th', null, 'State'), h('th', null, 'Data'), h('th', { class: 'num' }, 'Requests kept'))));
  const body = h('tbody');
  for (const s of view.sources) {
    body.appendChild(h('tr', null,
      h('th', { scope: 'row' }, s.name),
      h('td', { class: 'lens-mono' }, s.baseUrl ?? 'local store'),
      h('td', null, h('span', { class: `compare-status is-${s.status}` }, icon(STATUS_ICON[s.status]), ` ${s.refreshing ? 'refreshing…' : STATUS_TEXT[s.status]}`)),
      h('td', { class: 'lens-muted' }, s.kind === 'local' ? 'live' : s.fetchedAt !== null ? formatRelativeTime(s.fetchedAt, now) : '—'),
      h('td', { class: 'num' }, requestsKept(s))));
  }
  t.appendChild(body);
  return t;
}

function requestsKept(s: SourceView): string {
  const envs = Object.entries(s.requests);
  const text = envs.map(([env, n]) => `${env} ${n.toLocaleString('en-US')}`).join(', ');
  return s.cappedEnvironments.length ? `${text} (capped)` : text || '—';
}

export function renderCostTotals(view: CompareView): HTMLElement {
  return h('table', { class: 'lens-table compare-cost-totals', id: 'compare-cost30' },
    h('thead', null, h('tr', null, h('th', null, 'Environment'), h('th', { class: 'num' }, 'Requests'), h('th', { class: 'num' }, 'Cost, 30 days'))),
    h('tbody', null, ...view.cost30d.totals.map((t) => h('tr', null,
      h('th', { scope: 'row' }, t.environment),
      h('td', { class: 'num' }, t.requests.toLocaleString('en-US')),
      h('td', { class: 'num' }, formatCost(t.costTotal))))));
}
