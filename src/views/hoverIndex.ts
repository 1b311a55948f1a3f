// In-memory aggregates for the inline hovers, kept up to date from store.onDidChange so a hover
// never scans the log: per model (dev traffic only), per property value, per session name and per
// session path (a path also counts the paths below it). Pure: no vscode.
import type { Disposable } from '../core/event';
import { propertyValue } from '../core/properties';
import type { RecordReader, StoreChange } from '../core/store';
import type { RecordSummary, Usage } from '../core/types';
import { metricRowFromSummary, percentile, type MetricRow, type Metrics } from '../metrics/metrics';

export interface TrafficStats {
  metrics: Metrics;
  /** Known cost of the requests started in the last 24 h. */
  spend24hUsd: number;
  /** Summed token usage of the requests that reported it (for re-costing on another model). */
  usage: Usage;
  /** The provider most of these requests went to. */
  provider: string | null;
  firstAt: number;
  lastAt: number;
}

interface Entry { row: MetricRow; provider: string; usage: Usage | null }

const MINUTE = 60_000;

/**
 * Running aggregates of one key's requests. Every number a hover shows is kept up to date on
 * add/remove (sums, sorted latency arrays, spend per minute), so a hover reads, never scans.
 */
class Bucket {
  size = 0;
  private errors = 0;
  private cacheHits = 0;
  private costTotal = 0;
  private costKnown = 0;
  private prompt = 0;
  private completion = 0;
  private total = 0;
  private latencySum = 0;
  private readonly latencies: number[] = [];
  private readonly ttfts: number[] = [];
  /** False while bulk-loading: arrays are appended, sorted on first read. */
  private sorted = true;
  private readonly spendByMinute = new Map<number, number>();
  private readonly usageSum: Usage = { promptTokens: 0, completionTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, totalTokens: 0, estimated: false };
  private readonly providers = new Map<string, number>();
  private firstAt = Infinity;
  private lastAt = 0;

  add(e: Entry, bulk: boolean): void {
    this.apply(e, 1);
    const r = e.row;
    if (r.latencyMs !== null && Number.isFinite(r.latencyMs)) insert(this.latencies, r.latencyMs, bulk || !this.sorted);
    if (r.ttftMs !== null && Number.isFinite(r.ttftMs)) insert(this.ttfts, r.ttftMs, bulk || !this.sorted);
    if (bulk) this.sorted = false;
    if (r.createdAt < this.firstAt) this.firstAt = r.createdAt;
    if (r.createdAt > this.lastAt) this.lastAt = r.createdAt;
  }

  remove(e: Entry): void {
    this.apply(e, -1);
    const r = e.row;
    if (r.latencyMs !== null && Number.isFinite(r.latencyMs)) removeValue(this.latencies, r.latencyMs, this.sorted);
    if (r.ttftMs !== null && Number.isFinite(r.ttftMs)) removeValue(this.ttfts, r.ttftMs, this.sorted);
  }

  private apply(e: Entry, sign: 1 | -1): void {
    const r = e.row;
    this.size += sign;
    if (!r.ok) this.errors += sign;
    if (r.cacheHit) this.cacheHits += sign;
    const cost = r.cacheHit ? 0 : r.costUsd;
    if (cost !== null && Number.isFinite(cost)) {
      this.costTotal += sign * cost;
      this.costKnown += sign;
      const minute = Math.floor(r.createdAt / MINUTE);
      const v = (this.spendByMinute.get(minute) ?? 0) + sign * cost;
      if (this.spendByMinute.has(minute) && sign < 0 && Math.abs(v) < 1e-12) this.spendByMinute.delete(minute);
      else this.spendByMinute.set(minute, v);
    }
    this.prompt += sign * r.promptTokens;
    this.completion += sign * r.completionTokens;
    this.total += sign * r.totalTokens;
    if (r.latencyMs !== null && Number.isFinite(r.latencyMs)) this.latencySum += sign * r.latencyMs;
    this.providers.set(e.provider, (this.providers.get(e.provider) ?? 0) + sign);
    // Cache hits cost nothing, so they are left out of "what this traffic would cost elsewhere" too.
    if (e.usage && !r.cacheHit) {
      const u = this.usageSum;
      u.promptTokens += sign * e.usage.promptTokens;
      u.completionTokens += sign * e.usage.completionTokens;
      u.cacheReadTokens += sign * e.usage.cacheReadTokens;
      u.cacheWriteTokens += sign * e.usage.cacheWriteTokens;
      u.reasoningTokens += sign * e.usage.reasoningTokens;
      u.totalTokens += sign * e.usage.totalTokens;
      if (sign > 0) u.estimated ||= e.usage.estimated;
    }
  }

  /** The same numbers computeMetrics() gives for these rows (src/metrics/metrics.ts), without the rows. */
  private metrics(): Metrics {
    if (!this.sorted) {
      this.latencies.sort((a, b) => a - b);
      this.ttfts.sort((a, b) => a - b);
      this.sorted = true;
    }
    const n = this.size;
    const per = (x: number): number | null => (n > 0 ? x / n : null);
    return {
      requests: n,
      errors: this.errors,
      errorRate: per(this.errors),
      latency: {
        avg: this.latencies.length ? this.latencySum / this.latencies.length : null,
        p50: percentile(this.latencies, 50), p95: percentile(this.latencies, 95), p99: percentile(this.latencies, 99),
        count: this.latencies.length,
      },
      ttft: { p50: percentile(this.ttfts, 50), p95: percentile(this.ttfts, 95), count: this.ttfts.length },
      costTotal: this.costTotal,
      costPerRequest: this.costKnown > 0 ? this.costTotal / this.costKnown : null,
      costKnown: this.costKnown,
      costUnknown: n - this.costKnown,
      promptTokens: this.prompt,
      completionTokens: this.completion,
      totalTokens: this.total,
      tokensPerRequest: per(this.total),
      promptTokensPerRequest: per(this.prompt),
      completionTokensPerRequest: per(this.completion),
      cacheHits: this.cacheHits,
      cacheHitRate: per(this.cacheHits),
    };
  }

  stats(now: number): TrafficStats {
    // 1,440 minute slots at most: the 24 h spend without looking at a single request.
    const since = Math.floor((now - 86_400_000) / MINUTE);
    let spend24h = 0;
    for (const [minute, v] of this.spendByMinute) if (minute >= since) spend24h += v;
    let provider: string | null = null;
    let best = 0;
    for (const [p, c] of this.providers) if (c > best) { best = c; provider = p; }
    return { metrics: this.metrics(), spend24hUsd: Math.max(0, spend24h), usage: { ...this.usageSum }, provider, firstAt: this.firstAt, lastAt: this.lastAt };
  }
}

/** Inserts into an ascending array (binary search), or appends when the array is sorted later. */
function insert(arr: number[], v: number, append: boolean): void {
  if (append) { arr.push(v); return; }
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >>> 1; if (arr[mid] <= v) lo = mid + 1; else hi = mid; }
  arr.splice(lo, 0, v);
}

function removeValue(arr: number[], v: number, sorted: boolean): void {
  let i = -1;
  if (sorted) {
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (arr[mid] < v) lo = mid + 1; else hi = mid; }
    if (arr[lo] === v) i = lo;
  } else i = arr.indexOf(v);
  if (i >= 0) arr.splice(i, 1);
}

export interface HoverIndexOptions {
  store: RecordReader;
  environmentProperty?: string;
  devEnvironment?: string;
  now?: () => number;
  /** Records indexed per slice while building from a loaded log (the rest waits for the next tick). */
  sliceSize?: number;
}

export type ValueKind = 'property' | 'sessionName' | 'sessionPath';

export interface ValueMatch {
  kind: ValueKind;
  /** The property name for 'property'; the path or name itself otherwise. */
  name: string;
  stats: TrafficStats;
}

export class HoverIndex {
  private readonly store: RecordReader;
  private environmentProperty: string;
  private devEnvironment: string;
  private readonly now: () => number;
  private readonly sliceSize: number;
  private readonly models = new Map<string, Bucket>();
  /** value -> property name -> bucket */
  private readonly propertyValues = new Map<string, Map<string, Bucket>>();
  private readonly sessionNames = new Map<string, Bucket>();
  private readonly sessionPaths = new Map<string, Bucket>();
  /** record id -> its entry and the buckets it is in, so an update or delete touches only those. */
  private readonly membership = new Map<string, { entry: Entry; buckets: Bucket[] }>();
  private building: { cancelled: boolean } | null = null;
  private _ready = false;
  private readonly subscription: Disposable;

  constructor(opts: HoverIndexOptions) {
    this.store = opts.store;
    this.environmentProperty = opts.environmentProperty ?? 'Environment';
    this.devEnvironment = opts.devEnvironment ?? 'development';
    this.now = opts.now ?? Date.now;
    this.sliceSize = opts.sliceSize ?? 2_000;
    this.subscription = this.store.onDidChange((c) => this.onChange(c));
  }

  /** True once the records present at the last reset are all indexed. */
  get ready(): boolean { return this._ready; }

  /** Indexes everything the store holds now, in slices that yield to the event loop. */
  rebuild(): Promise<void> {
    if (this.building) this.building.cancelled = true;
    const job = { cancelled: false };
    this.building = job;
    this._ready = false;
    this.clear();
    const all = this.store.list();
    return new Promise<void>((resolve) => {
      let i = 0;
      const step = (): void => {
        if (job.cancelled) { resolve(); return; }
        const end = Math.min(all.length, i + this.sliceSize);
        for (; i < end; i++) this.add(all[i], true);
        if (i < all.length) { setImmediate(step); return; }
        this._ready = true;
        this.building = null;
        resolve();
      };
      step();
    });
  }

  /** Builds synchronously (tests, benchmarks). */
  rebuildNow(): void {
    if (this.building) this.building.cancelled = true;
    this.building = null;
    this.clear();
    for (const s of this.store.list()) this.add(s, true);
    this._ready = true;
  }

  setEnvironment(property: string, dev: string): void {
    if (property === this.environmentProperty && dev === this.devEnvironment) return;
    this.environmentProperty = property;
    this.devEnvironment = dev;
    void this.rebuild();
  }

  dispose(): void {
    if (this.building) this.building.cancelled = true;
    this.subscription.dispose();
  }

  /** Dev traffic on a model (by the model asked for or the one that answered). */
  modelStats(model: string): TrafficStats | null {
    const b = this.models.get(model);
    return b && b.size ? b.stats(this.now()) : null;
  }

  hasModel(model: string): boolean {
    return (this.models.get(model)?.size ?? 0) > 0;
  }

  /** Stats for requests carrying `value` as a property value, a session name or a session path. */
  valueStats(value: string): ValueMatch[] {
    const out: ValueMatch[] = [];
    const now = this.now();
    for (const [name, b] of this.propertyValues.get(value) ?? []) if (b.size) out.push({ kind: 'property', name, stats: b.stats(now) });
    const byName = this.sessionNames.get(value);
    if (byName?.size) out.push({ kind: 'sessionName', name: value, stats: byName.stats(now) });
    const byPath = value.startsWith('/') ? this.sessionPaths.get(normalizePath(value)) : undefined;
    if (byPath?.size) out.push({ kind: 'sessionPath', name: normalizePath(value), stats: byPath.stats(now) });
    return out.sort((a, b) => b.stats.metrics.requests - a.stats.metrics.requests);
  }

  private clear(): void {
    this.models.clear();
    this.propertyValues.clear();
    this.sessionNames.clear();
    this.sessionPaths.clear();
    this.membership.clear();
  }

  private onChange(c: StoreChange): void {
    if (c.type === 'reset') { void this.rebuild(); return; }
    if (c.type === 'delete') { for (const id of c.ids) this.remove(id); return; }
    this.remove(c.summary.id);
    this.add(c.summary, false);
  }

  private remove(id: string): void {
    const m = this.membership.get(id);
    if (!m) return;
    for (const b of m.buckets) b.remove(m.entry);
    this.membership.delete(id);
  }

  private add(s: RecordSummary, bulk: boolean): void {
    // In-flight requests have no outcome yet; they join the stats when they finish.
    if (s.state === 'pending' || s.kind !== 'llm') return;
    const entry: Entry = { row: metricRowFromSummary(s), provider: s.provider, usage: s.usage };
    const buckets: Bucket[] = [];
    const into = (map: Map<string, Bucket>, key: string): void => {
      let b = map.get(key);
      if (!b) map.set(key, (b = new Bucket()));
      if (!buckets.includes(b)) { b.add(entry, bulk); buckets.push(b); }
    };
    const env = propertyValue(s.properties, this.environmentProperty);
    if (env === undefined || env === this.devEnvironment) {
      if (s.requestModel) into(this.models, s.requestModel);
      if (s.responseModel) into(this.models, s.responseModel);
    }
    for (const [name, value] of Object.entries(s.properties)) {
      let byName = this.propertyValues.get(value);
      if (!byName) this.propertyValues.set(value, (byName = new Map()));
      into(byName, name);
    }
    if (s.session) {
      if (s.session.name) into(this.sessionNames, s.session.name);
      const path = normalizePath(s.session.path);
      if (path !== '/') {
        const segs = path.split('/').filter(Boolean);
        for (let i = 1; i <= segs.length; i++) into(this.sessionPaths, '/' + segs.slice(0, i).join('/'));
      }
    }
    if (buckets.length) this.membership.set(s.id, { entry, buckets });
  }
}

function normalizePath(p: string): string {
  const clean = ('/' + p).replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  return clean || '/';
}
