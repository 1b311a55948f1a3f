// Pure computations behind the session panel: totals, the Helicone-Session-Path tree and the
// waterfall layout. DOM-free so the unit tests run them in Node.
import type { RecordSummary } from '../../core/types';

export type BarClass = 'ok' | 'error' | 'pending' | 'cached' | 'custom';

export interface SessionTotals {
  requests: number;
  customSteps: number;
  errors: number;
  pending: number;
  costUsd: number;
  /** Records whose cost is unknown (not in the price table): the total is then a lower bound. */
  costUnknown: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
}

const endOf = (r: RecordSummary, now: number): number => r.endedAt ?? (r.state === 'pending' ? now : r.startedAt + (r.latencyMs ?? 0));

export function sessionTotals(records: RecordSummary[], now: number): SessionTotals {
  const t: SessionTotals = {
    requests: 0, customSteps: 0, errors: 0, pending: 0, costUsd: 0, costUnknown: 0,
    promptTokens: 0, completionTokens: 0, totalTokens: 0, startedAt: null, endedAt: null, durationMs: null,
  };
  for (const r of records) {
    if (r.kind === 'custom') t.customSteps++; else t.requests++;
    if (r.state === 'error') t.errors++;
    if (r.state === 'pending') t.pending++;
    // A failed request is not billed; only a successful one without a price is an unknown cost.
    if (r.costUsd === null) { if (r.kind === 'llm' && r.state === 'ok') t.costUnknown++; } else t.costUsd += r.costUsd;
    if (r.usage) {
      t.promptTokens += r.usage.promptTokens;
      t.completionTokens += r.usage.completionTokens;
      t.totalTokens += r.usage.totalTokens;
    }
    t.startedAt = t.startedAt === null ? r.startedAt : Math.min(t.startedAt, r.startedAt);
    const end = endOf(r, now);
    t.endedAt = t.endedAt === null ? end : Math.max(t.endedAt, end);
  }
  if (t.startedAt !== null && t.endedAt !== null) t.durationMs = Math.max(0, t.endedAt - t.startedAt);
  return t;
}

export interface PathNode {
  /** Last segment ('research'), '/' for the root. */
  name: string;
  /** Full path ('/research/analysis'). */
  path: string;
  /** Records at this path or below. */
  count: number;
  errors: number;
  costUsd: number;
  children: PathNode[];
}

/** Splits a session path into its prefixes: '/a/b' -> ['/a', '/a/b']. Empty segments are ignored. */
export function pathPrefixes(path: string): string[] {
  const segs = path.split('/').filter((s) => s.length > 0);
  return segs.map((_, i) => '/' + segs.slice(0, i + 1).join('/'));
}

export function buildPathTree(records: RecordSummary[]): PathNode {
  const root: PathNode = { name: '/', path: '/', count: 0, errors: 0, costUsd: 0, children: [] };
  const byPath = new Map<string, PathNode>([['/', root]]);
  for (const r of records) {
    const nodes = [root];
    let parent = root;
    for (const prefix of pathPrefixes(r.session?.path ?? '/')) {
      let n = byPath.get(prefix);
      if (!n) {
        n = { name: prefix.slice(prefix.lastIndexOf('/') + 1), path: prefix, count: 0, errors: 0, costUsd: 0, children: [] };
        byPath.set(prefix, n);
        parent.children.push(n);
      }
      nodes.push(n);
      parent = n;
    }
    for (const n of nodes) {
      n.count++;
      if (r.state === 'error') n.errors++;
      n.costUsd += r.costUsd ?? 0;
    }
  }
  return root;
}

/** True when `path` is `prefix` or below it ('/research' covers '/research/analysis', not '/researchers'). */
export function underPath(path: string, prefix: string): boolean {
  if (prefix === '/' || prefix === '') return true;
  return path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : prefix + '/');
}

export interface WaterfallRow {
  id: string;
  label: string;
  path: string;
  cls: BarClass;
  /** Offsets from the session's first start, ms. */
  startMs: number;
  durationMs: number;
  /** First-token offset from the row's own start, ms; null when unknown. */
  ttftMs: number | null;
  /** Bar geometry as percentages of the axis. */
  leftPct: number;
  widthPct: number;
  ttftPct: number | null;
  record: RecordSummary;
}

export interface Waterfall {
  t0: number;
  spanMs: number;
  rows: WaterfallRow[];
  ticks: Array<{ pct: number; label: string }>;
}

export function barClass(r: RecordSummary): BarClass {
  if (r.state === 'pending') return 'pending';
  if (r.state === 'error') return 'error';
  if (r.kind === 'custom') return 'custom';
  if (r.cache?.hit) return 'cached';
  return 'ok';
}

/** Tick spacing of 1, 2 or 5 × 10^k ms giving at most `maxTicks` intervals. */
export function tickStep(spanMs: number, maxTicks = 6): number {
  if (!(spanMs > 0)) return 1;
  const raw = spanMs / maxTicks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

function tickLabel(ms: number, step: number, spanMs: number): string {
  if (spanMs < 1000) return `${ms} ms`;
  // Seconds with as many decimals as the step needs: 0 s, 0.5 s, 1.0 s ... or 0 s, 10 s, 20 s.
  const decimals = step >= 1000 ? 0 : Math.max(0, -Math.floor(Math.log10(step / 1000)));
  return ms === 0 ? '0 s' : `${(ms / 1000).toFixed(decimals)} s`;
}

export function layoutWaterfall(records: RecordSummary[], now: number): Waterfall {
  const sorted = [...records].sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  const t0 = sorted.length ? sorted[0]!.startedAt : now;
  const tEnd = sorted.reduce((m, r) => Math.max(m, endOf(r, now)), t0);
  // A session of instant steps still gets a visible axis.
  const spanMs = Math.max(1, tEnd - t0);
  const pct = (ms: number): number => Math.min(100, Math.max(0, (ms / spanMs) * 100));
  const rows = sorted.map((r): WaterfallRow => {
    const startMs = r.startedAt - t0;
    const durationMs = Math.max(0, endOf(r, now) - r.startedAt);
    // Custom-log steps have no tokens, so no first-token mark even if a time was logged.
    const ttft = r.kind === 'llm' && r.ttftMs !== null && r.ttftMs >= 0 && r.ttftMs <= durationMs ? r.ttftMs : null;
    const model = r.responseModel ?? r.requestModel;
    const label = r.kind === 'custom' ? `${model ?? 'custom step'}` : model ?? 'unknown model';
    return {
      id: r.id, label, path: r.session?.path ?? '/', cls: barClass(r), startMs, durationMs, ttftMs: ttft,
      leftPct: pct(startMs), widthPct: Math.max(0.4, pct(durationMs)), ttftPct: ttft === null ? null : pct(startMs + ttft), record: r,
    };
  });
  const step = tickStep(spanMs);
  const ticks: Waterfall['ticks'] = [];
  for (let ms = 0; ms <= spanMs + 1e-9; ms += step) ticks.push({ pct: pct(ms), label: tickLabel(ms, step, spanMs) });
  return { t0, spanMs, rows, ticks };
}
