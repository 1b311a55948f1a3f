// Snapshot -> what the compare panel, its CSV export and the status bar show. Pure: the same
// snapshot and options always give the same view, so the panel's numbers are unit-tested here.
import { formatMetricDelta, formatMetricValue, formatRelativeTime } from '../core/format';
import { computeMetrics, propertyKey, timeSeries } from '../metrics/metrics';
import type { MetricRow, Metrics } from '../metrics/metrics';
import type { ComparisonSnapshot, SourceState } from './comparison';
import { toCsv } from './csv';
import type { CsvCell } from './csv';
import { DAY_MS } from './sources';
import type {
  AlertView, CellView, ChartView, ColumnStatus, ColumnView, CompareView, GroupView, MetricDef, MetricValues, OptionView,
  SeriesView, SourceView, WindowKey,
} from './viewModel';

const HOUR_MS = 3_600_000;

export const WINDOWS: Record<WindowKey, { ms: number; bucketMs: number; label: string; bucketLabel: string }> = {
  '1h': { ms: HOUR_MS, bucketMs: 5 * 60_000, label: 'Last hour', bucketLabel: 'per 5 min' },
  '24h': { ms: 24 * HOUR_MS, bucketMs: HOUR_MS, label: 'Last 24 hours', bucketLabel: 'per hour' },
  '7d': { ms: 7 * DAY_MS, bucketMs: 6 * HOUR_MS, label: 'Last 7 days', bucketLabel: 'per 6 hours' },
  '30d': { ms: 30 * DAY_MS, bucketMs: DAY_MS, label: 'Last 30 days', bucketLabel: 'per day' },
};
export const WINDOW_KEYS = Object.keys(WINDOWS) as WindowKey[];

export function isWindowKey(v: unknown): v is WindowKey {
  return typeof v === 'string' && v in WINDOWS;
}

export const METRIC_DEFS: readonly MetricDef[] = [
  { key: 'requests', label: 'Requests', format: 'count', better: null, delta: 'relative' },
  { key: 'errorRate', label: 'Error rate', format: 'percent', better: 'lower', delta: 'points' },
  { key: 'latencyAvg', label: 'Latency avg', format: 'ms', better: 'lower', delta: 'relative' },
  { key: 'latencyP50', label: 'Latency p50', format: 'ms', better: 'lower', delta: 'relative' },
  { key: 'latencyP95', label: 'Latency p95', format: 'ms', better: 'lower', delta: 'relative' },
  { key: 'latencyP99', label: 'Latency p99', format: 'ms', better: 'lower', delta: 'relative' },
  { key: 'ttftP50', label: 'TTFT p50', format: 'ms', better: 'lower', delta: 'relative' },
  { key: 'ttftP95', label: 'TTFT p95', format: 'ms', better: 'lower', delta: 'relative' },
  { key: 'costTotal', label: 'Cost total', format: 'usd', better: null, delta: 'relative' },
  { key: 'costPerRequest', label: 'Cost per request', format: 'usd', better: 'lower', delta: 'relative' },
  { key: 'tokensPerRequest', label: 'Tokens per request', format: 'number', better: null, delta: 'relative' },
  { key: 'cacheHitRate', label: 'Cache hit rate', format: 'percent', better: 'higher', delta: 'points' },
];

/** Group-by choices offered before any data is seen (the seeds' Version and PromptVersion). */
const STANDARD_GROUPS = ['Version', 'PromptVersion'];
/** Properties that identify single requests or sessions: grouping by them is noise. */
const UNGROUPABLE = /^helicone-session-(id|path|name)$/i;
const MAX_GROUPS = 20;
/** Distinct property names offered in the selector, at most. */
const MAX_GROUP_OPTIONS = 50;

export function metricValues(m: Metrics): MetricValues {
  return {
    requests: m.requests,
    errorRate: m.errorRate,
    latencyAvg: m.latency.avg,
    latencyP50: m.latency.p50,
    latencyP95: m.latency.p95,
    latencyP99: m.latency.p99,
    ttftP50: m.ttft.p50,
    ttftP95: m.ttft.p95,
    costTotal: m.costKnown > 0 ? m.costTotal : null,
    costPerRequest: m.costPerRequest,
    tokensPerRequest: m.tokensPerRequest,
    cacheHitRate: m.cacheHitRate,
  };
}

export function metricDeltas(values: MetricValues, base: MetricValues): MetricValues {
  const out = {} as MetricValues;
  for (const d of METRIC_DEFS) {
    const v = values[d.key];
    const b = base[d.key];
    if (v === null || b === null) out[d.key] = null;
    else if (d.delta === 'points') out[d.key] = v - b;
    else out[d.key] = b === 0 ? (v === 0 ? 0 : null) : (v - b) / b;
  }
  return out;
}

/** The environment deltas are measured against: production when compared, else the last remote one. */
export function baselineEnvironment(snapshot: ComparisonSnapshot): string | null {
  const remotes = snapshot.environments.filter((e) => e.role === 'remote').map((e) => e.name);
  if (remotes.includes('production')) return 'production';
  return remotes.length ? remotes[remotes.length - 1] : null;
}

/** Short names for tight places: "dev", "prod", else the name itself. */
export function shortEnvironmentName(env: string): string {
  const l = env.toLowerCase();
  if (l === 'development') return 'dev';
  if (l === 'production') return 'prod';
  return env;
}

function groupKeyFn(groupBy: string): ((r: MetricRow) => string | null) | null {
  if (groupBy === 'model') return (r) => r.model;
  if (groupBy.startsWith('property:')) return propertyKey(groupBy.slice('property:'.length));
  return null;
}

function groupByOptions(snapshot: ComparisonSnapshot): OptionView[] {
  const names = new Map<string, string>();
  const envProp = snapshot.config.environmentProperty.toLowerCase();
  for (const n of STANDARD_GROUPS) names.set(n.toLowerCase(), n);
  outer: for (const e of snapshot.environments) {
    for (const r of e.rows) {
      for (const k of Object.keys(r.properties)) {
        const l = k.toLowerCase();
        if (l === envProp || UNGROUPABLE.test(k) || names.has(l)) continue;
        names.set(l, k);
        if (names.size >= MAX_GROUP_OPTIONS) break outer;
      }
    }
  }
  return [
    { value: '', label: 'No grouping' },
    { value: 'model', label: 'Model' },
    ...[...names.values()].sort((a, b) => a.localeCompare(b)).map((n) => ({ value: `property:${n}`, label: n })),
  ];
}

function sourceView(s: SourceState): SourceView {
  return {
    name: s.name,
    kind: s.kind,
    baseUrl: s.baseUrl,
    status: s.status,
    refreshing: s.refreshing,
    fetchedAt: s.fetchedAt,
    nextAttemptAt: s.nextAttemptAt,
    error: s.error?.message ?? null,
    errorCode: s.error?.code ?? null,
    requests: Object.fromEntries(Object.entries(s.environments).map(([env, v]) => [env, v.requests])),
    cappedEnvironments: Object.entries(s.environments).filter(([, v]) => v.capped).map(([environment, v]) => ({ environment, requests: v.requests, coveredSince: v.coveredSince })),
  };
}

/** Start of the local calendar day holding `t`. */
export function localDayStart(t: number): number {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

function inWindow(rows: readonly MetricRow[], since: number, until: number): MetricRow[] {
  return rows.filter((r) => r.createdAt >= since && r.createdAt < until);
}

export interface ViewOptions {
  window: WindowKey;
  groupBy: string;
}

export function buildCompareView(snapshot: ComparisonSnapshot, opts: ViewOptions): CompareView {
  const now = snapshot.at;
  const win = WINDOWS[opts.window];
  const until = now + 1;
  const since = until - win.ms;
  const baseline = baselineEnvironment(snapshot);
  const envs = snapshot.environments;
  const rowsByEnv = envs.map((e) => inWindow(e.rows, since, until));
  const baseIdx = baseline === null ? -1 : envs.findIndex((e) => e.name === baseline);

  const columns: ColumnView[] = envs.map((e, i) => ({
    environment: e.name,
    role: e.role,
    baseline: i === baseIdx,
    sources: e.sources,
    status: e.status,
    fresh: e.fresh,
    fetchedAt: e.fetchedAt,
    capped: e.capped && e.coveredSince !== null && e.coveredSince > since,
    coveredSince: e.coveredSince,
    requests: rowsByEnv[i].length,
  }));

  const cellsFor = (rowsPerEnv: MetricRow[][]): Array<CellView | null> => {
    const values = rowsPerEnv.map((rows) => (rows.length ? metricValues(computeMetrics(rows)) : null));
    const base = baseIdx >= 0 ? values[baseIdx] : null;
    return values.map((v, i) => (v === null ? null : { values: v, deltas: base && i !== baseIdx ? metricDeltas(v, base) : null }));
  };

  const groups: GroupView[] = [{ key: null, label: 'All requests', cells: cellsFor(rowsByEnv) }];
  let groupsOmitted = 0;
  const keyFn = groupKeyFn(opts.groupBy);
  if (keyFn) {
    const counts = new Map<string, number>();
    const split = rowsByEnv.map((rows) => {
      const m = new Map<string, MetricRow[]>();
      for (const r of rows) {
        const k = keyFn(r) ?? '';
        let g = m.get(k);
        if (!g) { g = []; m.set(k, g); }
        g.push(r);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      return m;
    });
    const keys = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
    groupsOmitted = Math.max(0, keys.length - MAX_GROUPS);
    for (const k of keys.slice(0, MAX_GROUPS)) {
      groups.push({ key: k, label: k === '' ? '(not set)' : k, cells: cellsFor(split.map((m) => m.get(k) ?? [])) });
    }
  }

  // Timeline over the selected window.
  const tl = rowsByEnv.map((rows) => timeSeries(rows, win.bucketMs, since, until));
  const t = tl[0]?.map((b) => b.t) ?? timeSeries([], win.bucketMs, since, until).map((b) => b.t);
  const series = (pick: (m: Metrics) => number | null): SeriesView[] =>
    envs.map((e, i) => ({ environment: e.name, values: tl[i].map((b) => (b.metrics.requests ? pick(b.metrics) : null)) }));
  const charts: ChartView[] = [
    { id: 'cost', title: `Cost ${win.bucketLabel}`, format: 'usd', series: series((m) => m.costTotal) },
    { id: 'p95', title: 'Latency p95', format: 'ms', series: series((m) => m.latency.p95) },
    { id: 'errorRate', title: 'Error rate', format: 'percent', series: series((m) => m.errorRate) },
  ];

  // Cost by environment per calendar day, the last 30 days (whatever window is selected).
  const dayStart = localDayStart(now) - 29 * DAY_MS;
  const days: number[] = [];
  for (let d = dayStart; d <= now; d = localDayStart(d + DAY_MS + 2 * HOUR_MS)) days.push(d);
  const cost30series: SeriesView[] = envs.map((e) => {
    const v = days.map(() => 0);
    for (const r of e.rows) {
      if (r.createdAt < dayStart || r.createdAt > now) continue;
      const i = dayIndex(days, r.createdAt);
      const c = r.cacheHit ? 0 : r.costUsd;
      if (i >= 0 && c !== null && Number.isFinite(c)) v[i] += c;
    }
    return { environment: e.name, values: v };
  });
  const totals = envs.map((e, i) => {
    const rows = e.rows.filter((r) => r.createdAt >= dayStart && r.createdAt <= now);
    return { environment: e.name, costTotal: cost30series[i].values.reduce<number>((a, b) => a + (b ?? 0), 0), requests: rows.length };
  });

  const notes: string[] = [];
  for (const c of columns) {
    if (c.capped && c.coveredSince !== null) {
      notes.push(`${c.environment}: more requests than the row cap; figures cover ${formatRelativeTime(c.coveredSince, now).replace(/ ago$/, '')} back (since ${new Date(c.coveredSince).toISOString().slice(0, 16).replace('T', ' ')} UTC).`);
    }
    // Key problems have their own banner with the fix; these notes are about data that is there but old.
    if (c.role === 'remote' && !c.fresh && (c.status === 'stale' || c.status === 'error')) {
      notes.push(c.fetchedAt !== null
        ? `${c.environment}: stale data from ${formatRelativeTime(c.fetchedAt, now)} (${statusText(c.status)}).`
        : `${c.environment}: no data (${statusText(c.status)}).`);
    }
  }

  return {
    generatedAt: now,
    window: opts.window,
    windowOptions: WINDOW_KEYS.map((k) => ({ value: k, label: WINDOWS[k].label })),
    since,
    until,
    groupBy: keyFn ? opts.groupBy : '',
    groupByOptions: groupByOptions(snapshot),
    environmentProperty: snapshot.config.environmentProperty,
    columns,
    metrics: [...METRIC_DEFS],
    groups,
    groupMetricKeys: ['requests', 'errorRate', 'latencyP95', 'costTotal', 'costPerRequest', 'tokensPerRequest'],
    groupsOmitted,
    timeline: { bucketMs: win.bucketMs, bucketLabel: win.bucketLabel, t, charts },
    cost30d: { t: days, series: cost30series, totals },
    sources: snapshot.sources.map(sourceView),
    alerts: snapshot.alerts.map((a): AlertView => {
      // A rule that fired and whose data is now unavailable is still firing as far as anyone knows.
      const firing = snapshot.firing.find((f) => f.key === a.key);
      const shown = a.state === 'unknown' && firing ? firing : a;
      return {
        name: a.rule.name, environment: a.rule.environment, metric: a.rule.metric, threshold: a.rule.threshold, windowMinutes: a.rule.windowMinutes,
        state: firing ? 'firing' : a.state, value: shown.value, requests: shown.requests, insufficient: shown.insufficient,
      };
    }),
    notes,
  };
}

function dayIndex(days: number[], t: number): number {
  // Binary search: the last day start <= t.
  let lo = 0;
  let hi = days.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (days[mid] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

export function statusText(status: ColumnStatus): string {
  switch (status) {
    case 'ok': return 'up to date';
    case 'idle': return 'not refreshed yet';
    case 'loading': return 'loading';
    case 'stale': return 'refresh failing';
    case 'error': return 'unreachable';
    case 'authFailed': return 'API key rejected';
    case 'noKey': return 'no API key';
  }
}

// ---------------------------------------------------------------------------------------------
// CSV

/** The view as CSV: one line per group x metric, one value column per environment plus deltas against the baseline. */
export function compareViewCsv(view: CompareView): string {
  const envs = view.columns.map((c) => c.environment);
  const base = view.columns.find((c) => c.baseline)?.environment ?? null;
  const deltaCols = view.columns.filter((c) => !c.baseline && base !== null);
  const header = [
    'group', 'metric',
    ...envs,
    ...deltaCols.map((c) => `${c.environment} vs ${base} (${'Δ'})`),
  ];
  const rows: CsvCell[][] = [];
  for (const g of view.groups) {
    for (const m of view.metrics) {
      rows.push([
        g.key === null ? 'all' : g.label,
        m.label + (m.delta === 'points' ? ' (fraction)' : ''),
        ...g.cells.map((c) => (c ? c.values[m.key] : null)),
        ...view.columns.flatMap((c, i) => (c.baseline || base === null ? [] : [g.cells[i]?.deltas?.[m.key] ?? null])),
      ]);
    }
  }
  return toCsv(header, rows);
}

// ---------------------------------------------------------------------------------------------
// Text formatting shared by the status bar (host) — the panel formats in the browser.

export function formatMetric(format: MetricDef['format'], v: number | null): string {
  return formatMetricValue(format, v);
}

export function formatDelta(def: MetricDef, d: number | null): string {
  return formatMetricDelta(def.delta, d);
}

