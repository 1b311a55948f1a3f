// In-memory aggregates for the inline hovers, kept up to date from store.onDidChange so a hover
// never scans the log: per model (dev traffic only), per property value, per session name and per
// session path (a path also counts the paths below it). Pure: no vscode.
import type { Disposable } from '../core/event';
import type { RecordReader, StoreChange } from '../core/store';
import type { RecordSummary, Usage } from '../core/types';
import { computeMetrics, metricRowFromSummary, type MetricRow, type Metrics } from '../metrics/metrics';

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

class Bucket {
  readonly entries = new Map<string, Entry>();
  private cached: Metrics | null = null;

  set(id: string, e: Entry): void { this.entries.set(id, e); this.cached = null; }
  delete(id: string): boolean { const had = this.entries.delete(id); if (had) this.cached = null; return had; }

  stats(now: number): TrafficStats {
    const rows: MetricRow[] = [];
    const usage: Usage = { promptTokens: 0, completionTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, totalTokens: 0, estimated: false };
    const providers = new Map<string, number>();
    let spend24h = 0;
    let firstAt = Infinity;
    let lastAt = 0;
    const since = now - 86_400_000;
    for (const e of this.entries.values()) {
      rows.push(e.row);
      if (e.row.createdAt >= since && e.row.costUsd !== null) spend24h += e.row.costUsd;
      if (e.row.createdAt < firstAt) firstAt = e.row.createdAt;
      if (e.row.createdAt > lastAt) lastAt = e.row.createdAt;
      providers.set(e.provider, (providers.get(e.provider) ?? 0) + 1);
      // Cache hits cost nothing, so they are left out of "what this traffic would cost elsewhere" too.
      if (e.usage && !e.row.cacheHit) {
        usage.promptTokens += e.usage.promptTokens;
        usage.completionTokens += e.usage.completionTokens;
        usage.cacheReadTokens += e.usage.cacheReadTokens;
        usage.cacheWriteTokens += e.usage.cacheWriteTokens;
        usage.reasoningTokens += e.usage.reasoningTokens;
        usage.totalTokens += e.usage.totalTokens;
        usage.estimated ||= e.usage.estimated;
      }
    }
    // Percentiles need a sort: computed once per change of the bucket, not per hover.
    this.cached ??= computeMetrics(rows);
    let provider: string | null = null;
    let best = 0;
    for (const [p, n] of providers) if (n > best) { best = n; provider = p; }
    return { metrics: this.cached, spend24hUsd: spend24h, usage, provider, firstAt, lastAt };
  }
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
  /** record id -> the buckets it is in, so an update or delete touches only those. */
  private readonly membership = new Map<string, Bucket[]>();
  private building: { cancelled: boolean } | null = null;
  private _ready = false;
  private readonly subscription: Disposable;

  constructor(opts: HoverIndexOptions) {
    this.store = opts.store;
    this.environmentProperty = opts.environmentProperty ?? 'Environment';
    this.devEnvironment = opts.devEnvironment ?? 'development';
    this.now = opts.now ?? Date.now;
    this.sliceSize = opts.sliceSize ?? 5_000;
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
        for (; i < end; i++) this.add(all[i]);
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
    for (const s of this.store.list()) this.add(s);
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
    return b && b.entries.size ? b.stats(this.now()) : null;
  }

  hasModel(model: string): boolean {
    return (this.models.get(model)?.entries.size ?? 0) > 0;
  }

  /** Stats for requests carrying `value` as a property value, a session name or a session path. */
  valueStats(value: string): ValueMatch[] {
    const out: ValueMatch[] = [];
    const now = this.now();
    for (const [name, b] of this.propertyValues.get(value) ?? []) if (b.entries.size) out.push({ kind: 'property', name, stats: b.stats(now) });
    const byName = this.sessionNames.get(value);
    if (byName?.entries.size) out.push({ kind: 'sessionName', name: value, stats: byName.stats(now) });
    const byPath = value.startsWith('/') ? this.sessionPaths.get(normalizePath(value)) : undefined;
    if (byPath?.entries.size) out.push({ kind: 'sessionPath', name: normalizePath(value), stats: byPath.stats(now) });
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
    this.add(c.summary);
  }

  private remove(id: string): void {
    const buckets = this.membership.get(id);
    if (!buckets) return;
    for (const b of buckets) b.delete(id);
    this.membership.delete(id);
  }

  private add(s: RecordSummary): void {
    // In-flight requests have no outcome yet; they join the stats when they finish.
    if (s.state === 'pending' || s.kind !== 'llm') return;
    const entry: Entry = { row: metricRowFromSummary(s), provider: s.provider, usage: s.usage };
    const buckets: Bucket[] = [];
    const into = (map: Map<string, Bucket>, key: string): void => {
      let b = map.get(key);
      if (!b) map.set(key, (b = new Bucket()));
      if (!buckets.includes(b)) { b.set(s.id, entry); buckets.push(b); }
    };
    const env = s.properties[this.environmentProperty];
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
    if (buckets.length) this.membership.set(s.id, buckets);
  }
}

function normalizePath(p: string): string {
  const clean = ('/' + p).replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  return clean || '/';
}
