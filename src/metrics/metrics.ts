// The one place where request rows become numbers (requests, error rate, latency percentiles, cost,
// tokens, cache hits), so the tree, hovers, status bar, compare panel and alerts can never disagree.
// Local records and remote Helicone rows are both mapped to MetricRow first. Pure: no I/O, no clock.
import type { RecordSummary } from '../core/types';

export interface MetricRow {
  /** Epoch ms when the request started. */
  createdAt: number;
  ok: boolean;
  latencyMs: number | null;
  ttftMs: number | null;
  /** USD; null when the cost is unknown (unknown model). Cache hits are 0. */
  costUsd: number | null;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cacheHit: boolean;
  model: string | null;
  properties: Record<string, string>;
}

export interface Metrics {
  requests: number;
  errors: number;
  /** errors / requests; null when there are no requests. */
  errorRate: number | null;
  /** Over the rows with a latency (ms); `count` says how many. */
  latency: { avg: number | null; p50: number | null; p95: number | null; p99: number | null; count: number };
  ttft: { p50: number | null; p95: number | null; count: number };
  /** USD over the rows whose cost is known (0 when none is). */
  costTotal: number;
  /** costTotal / costKnown: the average over requests we could price; null when none could be. */
  costPerRequest: number | null;
  costKnown: number;
  /** Requests left out of the cost figures because their model has no price. */
  costUnknown: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Over all requests (a request without usage counts as 0 tokens); null when there are none. */
  tokensPerRequest: number | null;
  promptTokensPerRequest: number | null;
  completionTokensPerRequest: number | null;
  cacheHits: number;
  cacheHitRate: number | null;
}

/**
 * A local record as a metric row. Records still in flight (state 'pending') have no outcome yet:
 * callers leave them out. `model` is the model the caller asked for (what appears in source code
 * and what people group by), falling back to the one the provider reported.
 */
export function metricRowFromSummary(s: RecordSummary): MetricRow {
  const cacheHit = s.cache?.hit === true;
  const usage = s.usage;
  const prompt = usage?.promptTokens ?? 0;
  const completion = usage?.completionTokens ?? 0;
  return {
    createdAt: s.startedAt,
    ok: isOk(s),
    latencyMs: s.latencyMs,
    ttftMs: s.ttftMs,
    // A cache hit is answered locally: nothing was spent, whatever the original request cost.
    costUsd: cacheHit ? 0 : s.costUsd,
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: usage?.totalTokens ?? prompt + completion,
    cacheHit,
    model: s.requestModel ?? s.responseModel,
    properties: s.properties,
  };
}

/** An error is an upstream status >= 400 or any recorded failure (unreachable, timeout, reset, abort). */
function isOk(s: RecordSummary): boolean {
  if (s.state === 'error' || s.error !== null) return false;
  return !(s.status !== null && s.status >= 400);
}

/**
 * The p-th percentile (p in [0, 100]) of an ascending array by the nearest-rank method: the
 * smallest value with at least p % of the data at or below it, i.e. sorted[ceil(p/100 * n) - 1]
 * (p = 0 gives the minimum). Always an observed value, never an interpolation, so a p95 latency is a
 * latency some request really had. null for an empty array.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be within [0, 100], got ${p}`);
  const n = sorted.length;
  if (n === 0) return null;
  // p * n first: (p / 100) * n picks up float error (0.07 * 100 = 7.000000000000001 would round up a rank).
  const rank = Math.max(1, Math.ceil((p * n) / 100));
  return sorted[Math.min(rank, n) - 1];
}

export function computeMetrics(rows: readonly MetricRow[]): Metrics {
  const requests = rows.length;
  let errors = 0;
  let costTotal = 0;
  let costKnown = 0;
  let promptTokens = 0;
  let completionTokens = 0;
  let totalTokens = 0;
  let cacheHits = 0;
  const latencies: number[] = [];
  const ttfts: number[] = [];
  for (const r of rows) {
    if (!r.ok) errors++;
    if (r.cacheHit) cacheHits++;
    const cost = r.cacheHit ? 0 : r.costUsd;
    if (cost !== null && Number.isFinite(cost)) {
      costTotal += cost;
      costKnown++;
    }
    promptTokens += r.promptTokens;
    completionTokens += r.completionTokens;
    totalTokens += r.totalTokens;
    if (r.latencyMs !== null && Number.isFinite(r.latencyMs)) latencies.push(r.latencyMs);
    if (r.ttftMs !== null && Number.isFinite(r.ttftMs)) ttfts.push(r.ttftMs);
  }
  latencies.sort((a, b) => a - b);
  ttfts.sort((a, b) => a - b);
  const per = (n: number): number | null => (requests > 0 ? n / requests : null);
  return {
    requests,
    errors,
    errorRate: per(errors),
    latency: {
      avg: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : null,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      count: latencies.length,
    },
    ttft: { p50: percentile(ttfts, 50), p95: percentile(ttfts, 95), count: ttfts.length },
    costTotal,
    costPerRequest: costKnown > 0 ? costTotal / costKnown : null,
    costKnown,
    costUnknown: requests - costKnown,
    promptTokens,
    completionTokens,
    totalTokens,
    tokensPerRequest: per(totalTokens),
    promptTokensPerRequest: per(promptTokens),
    completionTokensPerRequest: per(completionTokens),
    cacheHits,
    cacheHitRate: per(cacheHits),
  };
}

/**
 * Metrics per group, in order of each group's first row. Rows whose key is null are left out.
 * Two dimensions: key on both, e.g. `(r) => groupKey(r.properties.Environment, r.properties.Version)`.
 */
export function groupMetrics(rows: readonly MetricRow[], key: (r: MetricRow) => string | null): Map<string, Metrics> {
  const groups = new Map<string, MetricRow[]>();
  for (const r of rows) {
    const k = key(r);
    if (k === null) continue;
    let g = groups.get(k);
    if (!g) { g = []; groups.set(k, g); }
    g.push(r);
  }
  const out = new Map<string, Metrics>();
  for (const [k, g] of groups) out.set(k, computeMetrics(g));
  return out;
}

/** A group key over several dimensions; null when any is missing. Joined with U+001F, which no header value carries. */
export function groupKey(...parts: Array<string | null | undefined>): string | null {
  return parts.some((p) => p === null || p === undefined) ? null : parts.join('\u001f');
}

/** Key function for one property (e.g. 'Environment', 'Version'), matched case-insensitively as headers are. */
export function propertyKey(name: string): (r: MetricRow) => string | null {
  const lower = name.toLowerCase();
  return (r) => {
    // Own properties only: `in` would find Object.prototype's "constructor" or "toString".
    if (Object.prototype.hasOwnProperty.call(r.properties, name)) return r.properties[name];
    for (const [k, v] of Object.entries(r.properties)) if (k.toLowerCase() === lower) return v;
    return null;
  };
}

export const MAX_BUCKETS = 10_000;

/**
 * Metrics per time bucket over [since, until): bucket i covers [since + i*bucketMs, since + (i+1)*bucketMs),
 * the last one cut at `until`. Every bucket is returned, empty ones too (requests 0), so charts get an
 * evenly spaced x axis; `t` is the bucket's start. Rows outside the window are ignored.
 */
export function timeSeries(rows: readonly MetricRow[], bucketMs: number, since: number, until: number): Array<{ t: number; metrics: Metrics }> {
  if (!(bucketMs > 0) || !Number.isFinite(bucketMs)) throw new RangeError(`timeSeries: bucketMs must be > 0, got ${bucketMs}`);
  if (!Number.isFinite(since) || !Number.isFinite(until) || until < since) throw new RangeError(`timeSeries: bad window [${since}, ${until})`);
  const count = Math.ceil((until - since) / bucketMs);
  if (count > MAX_BUCKETS) throw new RangeError(`timeSeries: ${count} buckets exceed ${MAX_BUCKETS}; use a larger bucket`);
  const buckets: MetricRow[][] = Array.from({ length: count }, () => []);
  for (const r of rows) {
    if (!(r.createdAt >= since && r.createdAt < until)) continue;
    buckets[Math.floor((r.createdAt - since) / bucketMs)].push(r);
  }
  return buckets.map((b, i) => ({ t: since + i * bucketMs, metrics: computeMetrics(b) }));
}
