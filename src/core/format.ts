// Compact number and time formatting for the tree, hovers and status bar, where every character
// counts (a tree description is cut at the view's edge). Pure and dependency-free so the browser
// bundles may use it too.

/** "$0.0012", "$0.42", "$12.30", "$1,234"; "$0" for zero; "—" when unknown. */
export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  const abs = Math.abs(usd);
  const sign = usd < 0 ? '-' : '';
  if (abs < 0.000001) return `${sign}<$0.000001`;
  // A single call costs fractions of a cent: two significant digits are what a reader compares.
  if (abs < 0.01) return `${sign}$${Number(abs.toPrecision(2))}`;
  // Up to 4 decimals below a dime, 3 below a dollar, trailing zeros dropped but never below cents.
  if (abs < 1) return `${sign}$${abs.toFixed(abs < 0.1 ? 4 : 3).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
  if (abs < 1000) return `${sign}$${abs.toFixed(2)}`;
  return `${sign}$${groupThousands(String(Math.round(abs)), false)}`;
}

/** "850 ms", "1.2 s", "14 s", "2 min 5 s", "1 h 3 min"; "—" when unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.round((ms % 60_000) / 1000);
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.round((ms % 3_600_000) / 60_000);
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** "just now", "42s ago", "5m ago", "3h ago", "2d ago", then a date. */
export function formatRelativeTime(epochMs: number, now: number): string {
  const d = Math.max(0, now - epochMs);
  if (d < 5_000) return 'just now';
  if (d < 60_000) return `${Math.floor(d / 1000)}s ago`;
  if (d < 3_600_000) return `${Math.floor(d / 60_000)}m ago`;
  if (d < 86_400_000) return `${Math.floor(d / 3_600_000)}h ago`;
  if (d < 30 * 86_400_000) return `${Math.floor(d / 86_400_000)}d ago`;
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** "950", "12.3k", "1.2M". */
export function formatTokens(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  if (abs < 1000) return String(Math.round(n));
  if (abs < 1_000_000) return `${+(n / 1000).toFixed(abs < 10_000 ? 1 : 0)}k`;
  return `${+(n / 1_000_000).toFixed(1)}M`;
}

/** Exact integer with thousands separators: "12,345". (Not toLocaleString: ICU is slow per call, and trees format hundreds.) */
export function formatCount(n: number): string {
  return groupThousands(String(Math.round(Math.abs(n))), n < 0);
}

function groupThousands(digits: string, negative: boolean): string {
  return (negative ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** Local date and time to the second, "2026-11-02 14:03:07". */
export function formatDateTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** "$0.15" per 1M tokens; "—" when unknown. */
export function formatPricePerM(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  if (usd >= 1) return `$${usd.toFixed(2).replace(/\.00$/, '')}`;
  // Cents keep two decimals ("$0.60"), smaller prices their significant digits ("$0.075").
  const text = String(Number(usd.toPrecision(3)));
  const decimals = text.split('.')[1]?.length ?? 0;
  return `$${decimals < 2 ? usd.toFixed(2) : text}`;
}

/** "5 %", "0.4 %", "12.5 %". */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  const p = fraction * 100;
  return `${p === 0 || p >= 10 ? Math.round(p * 10) / 10 : +p.toPrecision(2)} %`;
}

/** How a comparison metric is shown (the compare view model's MetricDef.format). */
export type MetricValueFormat = 'usd' | 'ms' | 'percent' | 'count' | 'number';

/**
 * One metric value as text, the same in the status bar tooltip (host) and the compare panel
 * (browser), so the two never disagree on a figure.
 */
export function formatMetricValue(format: MetricValueFormat, v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  switch (format) {
    case 'usd': return formatCost(v);
    case 'ms': return formatDuration(v);
    case 'percent': return formatPercent(v);
    case 'count': return Math.round(v).toLocaleString('en-US');
    case 'number': return v >= 100 ? Math.round(v).toLocaleString('en-US') : String(+v.toFixed(1));
  }
}

/** A delta against the baseline: '+12 %' (relative) or '−0.8 pp' (rates, in points); '' when there is none. */
export function formatMetricDelta(kind: 'relative' | 'points', d: number | null): string {
  if (d === null || !Number.isFinite(d)) return '';
  if (kind === 'points') {
    const pp = d * 100;
    if (Math.abs(pp) < 0.05) return '±0 pp';
    return `${pp > 0 ? '+' : '−'}${Math.abs(pp) >= 10 ? Math.abs(pp).toFixed(0) : Math.abs(pp).toFixed(1)} pp`;
  }
  const pct = d * 100;
  if (Math.abs(pct) < 0.5) return '±0 %';
  return `${pct > 0 ? '+' : '−'}${Math.abs(pct) >= 100 ? Math.round(Math.abs(pct)).toLocaleString('en-US') : Math.abs(pct).toFixed(0)} %`;
}
