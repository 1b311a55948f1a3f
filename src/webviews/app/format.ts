// Number and time formatting for the panels. Pure, so the unit tests exercise it in Node.

export function formatUsd(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '$0';
  const abs = Math.abs(v);
  const sign = v < 0 ? '-' : '';
  if (abs < 0.000001) return `${sign}<$0.000001`;
  // Single LLM calls cost fractions of a cent: keep 2 significant digits below a cent.
  if (abs < 0.01) return `${sign}$${Number(abs.toPrecision(2)).toString()}`;
  if (abs < 100) return `${sign}$${abs.toFixed(4).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
  return `${sign}$${abs.toFixed(2)}`;
}

export function formatMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(v / 60_000);
  const s = Math.round((v % 60_000) / 1000);
  return `${m} min ${s} s`;
}

export function formatInt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return Math.round(v).toLocaleString('en-US');
}

export function formatBytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`;
  return `${(v / 1024 / 1024).toFixed(1)} MB`;
}

/** Price per 1M tokens, e.g. "$0.15 / 1M". */
export function formatPerM(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = v >= 1 ? v.toFixed(2) : v.toPrecision(3).replace(/0+$/, '').replace(/\.$/, '');
  return `$${s} / 1M`;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Local wall-clock time with milliseconds, e.g. "2026-11-02 14:03:07.123". */
export function formatTimestamp(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
