// Where comparison rows come from. The local store ("this machine") is always a source; remote
// sources are Helicone-compatible query APIs (Helicone US/EU, self-hosted, another LLM Lens
// proxy's /api), all spoken to by the one HeliconeQueryClient.
//
// Remote rows are fetched incrementally: the first refresh covers the whole horizon (30 days,
// for the cost-by-environment chart), later ones only what is new plus an overlap for rows that
// reach the source late. Asking Helicone for 30 days of production every five minutes would cost
// tens of pages per refresh and earn 429s; this costs one page most of the time.
import type { RecordReader, StoreChange } from '../core/store';
import { metricRowFromSummary, propertyKey } from '../metrics/metrics';
import type { MetricRow } from '../metrics/metrics';
import type { QueryWindowOptions } from '../query/client';
import type { FilterLeaf } from '../query/filter';
import type * as RowsModule from '../query/rows';
import type { HeliconeRow } from '../query/rows';

export const LOCAL_SOURCE_NAME = 'this machine';

let rowsModule: typeof RowsModule | undefined;
/**
 * query/rows (and the zod filter schemas it pulls in) is required on the first remote fetch, not
 * when the extension loads: most sessions never query a remote source (the proxy controller loads
 * the query API the same way).
 */
function heliconeRows(): typeof RowsModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  rowsModule ??= require('../query/rows') as typeof RowsModule;
  return rowsModule;
}

/** Helicone's filter leaf for one property value (query/filter's propertyEquals, without loading it). */
export function environmentFilter(property: string, value: string): FilterLeaf {
  return { request_response_rmt: { properties: { [property]: { equals: value } } } };
}
export const DAY_MS = 86_400_000;
/** How far back comparison data goes: the 30-day cost-by-environment chart. */
export const DEFAULT_HORIZON_MS = 30 * DAY_MS;
/** Rows kept per environment and source; the UI says when a source has more. */
export const DEFAULT_ROW_CAP = 10_000;
/** Re-read this much before the last refresh: Helicone logs some requests a few minutes late. */
export const DEFAULT_OVERLAP_MS = 15 * 60_000;

/** What the comparison needs from a query client (HeliconeQueryClient has it). */
export interface WindowQueryClient {
  queryWindow(opts: QueryWindowOptions): Promise<{ rows: HeliconeRow[]; capped: boolean }>;
}

/** One environment's rows from one source, keyed by request id so sources and refreshes merge without double counting. */
export interface SourceEnvironmentRows {
  rows: ReadonlyMap<string, MetricRow>;
  /** More rows exist than were kept: the rows are complete only from `coveredSince` on. */
  capped: boolean;
  coveredSince: number;
}

export type SourceRows = ReadonlyMap<string, SourceEnvironmentRows>;

// ---------------------------------------------------------------------------------------------
// Local

/**
 * The local store's records from `since` on, by environment. A record without the environment
 * property counts as the development environment: local traffic is development traffic unless
 * it says otherwise. Records still in flight are left out (no outcome yet).
 */
export function localSourceRows(reader: RecordReader, opts: { environmentProperty: string; devEnvironment: string; since: number; until: number }): Map<string, SourceEnvironmentRows> {
  const envOf = propertyKey(opts.environmentProperty);
  const byEnv = new Map<string, Map<string, MetricRow>>();
  for (const s of reader.list({ since: opts.since, until: opts.until })) {
    if (s.state === 'pending') continue;
    const row = metricRowFromSummary(s);
    const env = envOf(row) ?? opts.devEnvironment;
    let m = byEnv.get(env);
    if (!m) { m = new Map(); byEnv.set(env, m); }
    m.set(s.id, row);
  }
  const out = new Map<string, SourceEnvironmentRows>();
  for (const [env, rows] of byEnv) out.set(env, { rows, capped: false, coveredSince: opts.since });
  // The development column always exists locally, even before the first request.
  if (!out.has(opts.devEnvironment)) out.set(opts.devEnvironment, { rows: new Map(), capped: false, coveredSince: opts.since });
  return out;
}

/**
 * The local rows kept between rebuilds and updated from the store's change events, already
 * grouped by environment, so a rebuild under steady traffic costs a pass over the rows instead of
 * re-reading and re-mapping every record of 30 days (about 80 ms per 100k records). A 'reset'
 * (load, clear, retention) or another environment setting re-reads once.
 */
export class LocalRowCache {
  private readonly envOfId = new Map<string, string>();
  private readonly byEnv = new Map<string, Map<string, MetricRow>>();
  private loadedSince: number | null = null;
  /** environmentProperty + devEnvironment the grouping was made with. */
  private grouping = '';
  private envOf: (r: MetricRow) => string = () => '';

  constructor(private readonly reader: RecordReader) {}

  apply(change: StoreChange): void {
    if (this.loadedSince === null) return;
    switch (change.type) {
      case 'reset':
        this.loadedSince = null;
        return;
      case 'delete':
        for (const id of change.ids) this.remove(id);
        return;
      case 'upsert': {
        const s = change.summary;
        this.remove(s.id);
        if (s.state !== 'pending' && s.startedAt >= this.loadedSince) this.add(s.id, metricRowFromSummary(s));
        return;
      }
    }
  }

  /** Same answer as localSourceRows(reader, opts), from the cache. The maps are the cache's own: read them, don't keep them. */
  rowsByEnvironment(opts: { environmentProperty: string; devEnvironment: string; since: number; until: number }): Map<string, SourceEnvironmentRows> {
    const grouping = `${opts.environmentProperty}\u0000${opts.devEnvironment}`;
    if (this.loadedSince === null || opts.since < this.loadedSince || grouping !== this.grouping) {
      this.grouping = grouping;
      const key = propertyKey(opts.environmentProperty);
      this.envOf = (r) => key(r) ?? opts.devEnvironment;
      this.envOfId.clear();
      this.byEnv.clear();
      for (const s of this.reader.list({ since: opts.since })) if (s.state !== 'pending') this.add(s.id, metricRowFromSummary(s));
      this.loadedSince = opts.since;
    }
    // The horizon moves on: drop what fell out of it (a pass without allocation).
    if (opts.since > this.loadedSince) {
      for (const [id, env] of this.envOfId) {
        const row = this.byEnv.get(env)?.get(id);
        if (row && row.createdAt < opts.since) this.remove(id);
      }
      this.loadedSince = opts.since;
    }
    const out = new Map<string, SourceEnvironmentRows>();
    for (const [env, rows] of this.byEnv) {
      let view: ReadonlyMap<string, MetricRow> = rows;
      // Rows stamped in the future (clock skew) are outside [since, until]: filter only when present.
      for (const r of rows.values()) {
        if (r.createdAt > opts.until) { view = new Map([...rows].filter(([, x]) => x.createdAt <= opts.until)); break; }
      }
      if (view.size) out.set(env, { rows: view, capped: false, coveredSince: opts.since });
    }
    if (!out.has(opts.devEnvironment)) out.set(opts.devEnvironment, { rows: new Map(), capped: false, coveredSince: opts.since });
    return out;
  }

  private add(id: string, row: MetricRow): void {
    const env = this.envOf(row);
    let m = this.byEnv.get(env);
    if (!m) { m = new Map(); this.byEnv.set(env, m); }
    m.set(id, row);
    this.envOfId.set(id, env);
  }

  private remove(id: string): void {
    const env = this.envOfId.get(id);
    if (env === undefined) return;
    this.envOfId.delete(id);
    const m = this.byEnv.get(env);
    m?.delete(id);
    if (m && m.size === 0) this.byEnv.delete(env);
  }
}

// ---------------------------------------------------------------------------------------------
// Remote

export interface RemoteWindowCacheOptions {
  client: WindowQueryClient;
  environmentProperty: string;
  environments: readonly string[];
  now: () => number;
  horizonMs?: number;
  rowCap?: number;
  overlapMs?: number;
  pageSize?: number;
}

interface EnvCache {
  rows: Map<string, MetricRow>;
  coveredSince: number;
  /** `until` of the last successful query; null before the first. */
  fetchedUntil: number | null;
}

/** One remote source's rows per environment, kept between refreshes and topped up incrementally. */
export class RemoteWindowCache {
  private readonly envs = new Map<string, EnvCache>();
  private readonly horizonMs: number;
  private readonly rowCap: number;
  private readonly overlapMs: number;

  constructor(private readonly opts: RemoteWindowCacheOptions) {
    this.horizonMs = opts.horizonMs ?? DEFAULT_HORIZON_MS;
    this.rowCap = opts.rowCap ?? DEFAULT_ROW_CAP;
    this.overlapMs = opts.overlapMs ?? DEFAULT_OVERLAP_MS;
  }

  /**
   * Queries every environment (in parallel) and returns the rows kept for each. Throws the
   * client's LensError when any environment fails; environments that succeeded keep their update
   * for the next call.
   */
  async fetch(signal?: AbortSignal): Promise<SourceRows> {
    const until = this.opts.now();
    const horizonStart = until - this.horizonMs;
    await Promise.all(this.opts.environments.map((env) => this.fetchEnv(env, horizonStart, until, signal)));
    const out = new Map<string, SourceEnvironmentRows>();
    for (const env of this.opts.environments) {
      const c = this.envs.get(env)!;
      out.set(env, { rows: new Map(c.rows), capped: c.coveredSince > horizonStart, coveredSince: Math.max(c.coveredSince, horizonStart) });
    }
    return out;
  }

  private async fetchEnv(env: string, horizonStart: number, until: number, signal: AbortSignal | undefined): Promise<void> {
    const prev = this.envs.get(env);
    const since = prev?.fetchedUntil != null ? Math.max(horizonStart, prev.fetchedUntil - this.overlapMs) : horizonStart;
    const { rows, capped } = await this.opts.client.queryWindow({
      since,
      until,
      filter: environmentFilter(this.opts.environmentProperty, env),
      rowCap: this.rowCap,
      pageSize: this.opts.pageSize,
      signal,
    });
    const fresh = new Map<string, MetricRow>();
    const { metricRowFromHeliconeRow } = heliconeRows();
    for (const r of rows) {
      const m = metricRowFromHeliconeRow(r);
      if (Number.isFinite(m.createdAt)) fresh.set(r.request_id, m);
    }
    // queryWindow returns newest first and, when capped, drops the oldest: everything older than
    // the oldest row kept is a gap, so older cached rows are dropped with it rather than shown as
    // if the window were complete.
    let coveredSince = prev ? prev.coveredSince : since;
    let merged: Map<string, MetricRow>;
    if (capped) {
      let oldest = until;
      for (const m of fresh.values()) if (m.createdAt < oldest) oldest = m.createdAt;
      coveredSince = oldest;
      merged = fresh;
    } else {
      merged = new Map(prev?.rows ?? []);
      for (const [id, m] of fresh) merged.set(id, m);
      if (!prev) coveredSince = since;
    }
    for (const [id, m] of merged) if (m.createdAt < horizonStart) merged.delete(id);
    this.envs.set(env, { rows: merged, coveredSince, fetchedUntil: until });
  }
}

// ---------------------------------------------------------------------------------------------
// Merging

/** Rows of one environment from several sources, each request once (the first source wins). */
export function mergeSourceRows(parts: ReadonlyArray<SourceEnvironmentRows | undefined>): { rows: MetricRow[]; capped: boolean; coveredSince: number | null } {
  const present = parts.filter((p): p is SourceEnvironmentRows => p !== undefined);
  if (present.length === 1) return { rows: [...present[0].rows.values()], capped: present[0].capped, coveredSince: present[0].coveredSince };
  const seen = new Map<string, MetricRow>();
  let capped = false;
  let coveredSince: number | null = null;
  for (const p of parts) {
    if (!p) continue;
    for (const [id, r] of p.rows) if (!seen.has(id)) seen.set(id, r);
    if (p.capped) capped = true;
    coveredSince = coveredSince === null ? p.coveredSince : Math.max(coveredSince, p.coveredSince);
  }
  return { rows: [...seen.values()], capped, coveredSince };
}
