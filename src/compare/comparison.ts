// The comparison as a whole, without VS Code: which sources exist, when each refreshes, how their
// rows become environments, and when alerts are evaluated. The extension feeds it settings and
// keys (configure) and renders its snapshots; tests drive it with a fake clock against a fake
// Helicone and against LLM Lens's own query API.
import type { Event } from '../core/event';
import { Emitter } from '../core/event';
import type { Logger } from '../core/logger';
import type { RecordReader } from '../core/store';
import type { MetricRow } from '../metrics/metrics';
import type { AlertRule } from '../settings/settings';
import { AlertTracker, evaluateAlerts } from './alerts';
import type { AlertEvaluation, AlertTransition, EnvironmentSample } from './alerts';
import type { Clock } from './clock';
import { systemClock } from './clock';
import { RefreshScheduler } from './scheduler';
import type { RefreshError, RefreshStatus } from './scheduler';
import { DEFAULT_HORIZON_MS, LOCAL_SOURCE_NAME, LocalRowCache, RemoteWindowCache, mergeSourceRows } from './sources';
import type { SourceEnvironmentRows, SourceRows, WindowQueryClient } from './sources';

export interface RemoteSourceConfig {
  name: string;
  baseUrl: string;
  /** From SecretStorage; never logged. */
  apiKey: string | undefined;
  /** Without a key the source is not queried (Helicone always wants one; another LLM Lens /api may not). */
  keyRequired: boolean;
}

export interface ComparisonConfig {
  environmentProperty: string;
  devEnvironment: string;
  /** Remote environments, in column order (e.g. staging, production). */
  compareEnvironments: string[];
  refreshMinutes: number;
  alerts: AlertRule[];
  sources: RemoteSourceConfig[];
}

export type SourceStatus = RefreshStatus | 'noKey';

export interface SourceState {
  name: string;
  kind: 'local' | 'remote';
  baseUrl: string | null;
  status: SourceStatus;
  refreshing: boolean;
  fetchedAt: number | null;
  error: RefreshError | null;
  nextAttemptAt: number | null;
  /** Rows kept per environment, and whether the source had more (row cap). */
  environments: Record<string, { requests: number; capped: boolean; coveredSince: number }>;
}

export interface EnvironmentData {
  name: string;
  role: 'dev' | 'remote';
  rows: MetricRow[];
  /** Sources that contributed rows or are expected to. */
  sources: string[];
  capped: boolean;
  /** Rows are complete from here on (the horizon start unless a source was capped). */
  coveredSince: number | null;
  /**
   * The data is current: some source that should provide it answered on its last refresh. False
   * while loading, when every source is failing (the rows shown are stale or none) or has no key.
   */
  fresh: boolean;
  /** Oldest fetch time among the sources providing it (for "stale, 12 min old"); null for local only. */
  fetchedAt: number | null;
  /** Newest successful fetch among them: alert windows end here (null: local, i.e. now). */
  asOf: number | null;
  /** Worst state among the remote sources expected to provide it (local-only: 'ok'). */
  status: SourceStatus;
}

export interface ComparisonSnapshot {
  at: number;
  config: ComparisonConfig;
  horizonMs: number;
  /** Development first, then the remote environments in configured order. */
  environments: EnvironmentData[];
  sources: SourceState[];
  /** Latest evaluation of every rule (empty before the first refresh). */
  alerts: AlertEvaluation[];
  /** Rules firing now. */
  firing: AlertEvaluation[];
}

export interface ComparisonEngineDeps {
  store: RecordReader;
  logger: Logger;
  createClient: (source: RemoteSourceConfig) => WindowQueryClient & { close?: () => Promise<void> };
  clock?: Clock;
  horizonMs?: number;
  rowCap?: number;
  /** Store changes are coalesced over this long before the snapshot is rebuilt (default 1 s). */
  storeDebounceMs?: number;
}

interface RemoteHandle {
  config: RemoteSourceConfig;
  /** Everything whose change invalidates the cached rows. */
  identity: string;
  client: (WindowQueryClient & { close?: () => Promise<void> }) | null;
  scheduler: RefreshScheduler<SourceRows> | null;
  subscription: { dispose(): void } | null;
}

/** Order of badness when several sources feed one environment: the column shows the worst. */
const STATUS_RANK: Record<SourceStatus, number> = { ok: 0, idle: 1, loading: 2, stale: 3, error: 4, authFailed: 5, noKey: 6 };

export class ComparisonEngine {
  private readonly clock: Clock;
  private readonly horizonMs: number;
  private readonly changed = new Emitter<ComparisonSnapshot>();
  private readonly alertChanged = new Emitter<AlertTransition>();
  /** Fires with every new snapshot (after refreshes, store changes and configuration changes). */
  readonly onDidChange: Event<ComparisonSnapshot> = this.changed.event;
  /** Fires once when a rule starts firing and once when it resolves. */
  readonly onDidChangeAlert: Event<AlertTransition> = this.alertChanged.event;

  private config: ComparisonConfig | null = null;
  private remotes = new Map<string, RemoteHandle>();
  private readonly tracker = new AlertTracker();
  private lastEvaluations: AlertEvaluation[] = [];
  private current: ComparisonSnapshot | null = null;
  private localTimer: unknown = null;
  private storeTimer: unknown = null;
  private storeSub: { dispose(): void } | null = null;
  private started = false;
  private disposed = false;
  private readonly local: LocalRowCache;

  constructor(private readonly deps: ComparisonEngineDeps) {
    this.clock = deps.clock ?? systemClock;
    this.horizonMs = deps.horizonMs ?? DEFAULT_HORIZON_MS;
    this.local = new LocalRowCache(deps.store);
    // Subscribed from the start so the cache never misses a change between two rebuilds.
    this.storeSub = deps.store.onDidChange((e) => { this.local.apply(e); if (this.started) this.storeChanged(); });
  }

  get snapshot(): ComparisonSnapshot | null { return this.current; }

  /** Applies settings and keys; only what changed is refetched. */
  configure(config: ComparisonConfig): void {
    if (this.disposed) return;
    const prev = this.config;
    this.config = { ...config, compareEnvironments: [...new Set(config.compareEnvironments.filter((e) => e !== config.devEnvironment))] };
    const wanted = new Map(this.config.sources.map((s) => [s.name, s]));
    for (const [name, h] of this.remotes) {
      if (!wanted.has(name)) { this.disposeRemote(h); this.remotes.delete(name); }
    }
    for (const s of this.config.sources) {
      const identity = JSON.stringify([s.baseUrl, s.apiKey ?? null, s.keyRequired, this.config.environmentProperty, this.config.compareEnvironments]);
      const h = this.remotes.get(s.name);
      if (h && h.identity === identity) { h.config = s; continue; }
      if (h) this.disposeRemote(h);
      this.remotes.set(s.name, this.createRemote(s, identity));
    }
    if (prev && prev.refreshMinutes !== this.config.refreshMinutes) {
      for (const h of this.remotes.values()) h.scheduler?.setIntervalMs(this.intervalMs());
      if (this.started) this.scheduleLocalTick();
    }
    this.rebuild(true);
  }

  /** Starts periodic refreshes and store watching. */
  start(): void {
    if (this.started || this.disposed) return;
    if (!this.config) throw new Error('ComparisonEngine.start() before configure()');
    this.started = true;
    for (const h of this.remotes.values()) h.scheduler?.start();
    this.scheduleLocalTick();
    this.rebuild(true);
  }

  /** The manual refresh: every source now (rate-limited ones keep waiting), then alerts. */
  async refresh(): Promise<void> {
    if (this.disposed) return;
    this.started = true;
    await Promise.all([...this.remotes.values()].map((h) => h.scheduler?.refresh()));
    this.rebuild(true);
  }

  /** Which rules fire now. */
  firing(): AlertEvaluation[] { return this.tracker.firing(); }

  dispose(): void {
    this.disposed = true;
    for (const h of this.remotes.values()) this.disposeRemote(h);
    this.remotes.clear();
    if (this.localTimer !== null) this.clock.clearTimeout(this.localTimer);
    if (this.storeTimer !== null) this.clock.clearTimeout(this.storeTimer);
    this.storeSub?.dispose();
    this.changed.dispose();
    this.alertChanged.dispose();
  }

  private intervalMs(): number {
    return Math.max(30_000, (this.config?.refreshMinutes ?? 5) * 60_000);
  }

  private createRemote(s: RemoteSourceConfig, identity: string): RemoteHandle {
    const handle: RemoteHandle = { config: s, identity, client: null, scheduler: null, subscription: null };
    if (s.keyRequired && !s.apiKey) return handle;
    const cfg = this.config!;
    let client: WindowQueryClient & { close?: () => Promise<void> };
    try {
      client = this.deps.createClient(s);
    } catch (err) {
      // A bad URL is a state of this source, not a failure of the comparison.
      const scheduler = new RefreshScheduler<SourceRows>({
        clock: this.clock, logger: this.deps.logger, name: s.name, intervalMs: this.intervalMs(), fetch: () => Promise.reject(err),
      });
      handle.scheduler = scheduler;
      handle.subscription = scheduler.onDidChange((st) => { if (!st.refreshing) this.rebuild(true); });
      if (this.started) scheduler.start();
      return handle;
    }
    const cache = new RemoteWindowCache({
      client,
      environmentProperty: cfg.environmentProperty,
      environments: cfg.compareEnvironments,
      now: () => this.clock.now(),
      horizonMs: this.horizonMs,
      rowCap: this.deps.rowCap,
    });
    const scheduler = new RefreshScheduler<SourceRows>({
      clock: this.clock, logger: this.deps.logger, name: s.name, intervalMs: this.intervalMs(), fetch: () => cache.fetch(),
    });
    handle.client = client;
    handle.scheduler = scheduler;
    // A finished fetch (success or failure) is a refresh: rebuild and evaluate alerts. The
    // "refreshing" edge only updates the UI's spinner.
    handle.subscription = scheduler.onDidChange((st) => this.rebuild(!st.refreshing));
    if (this.started) scheduler.start();
    return handle;
  }

  private disposeRemote(h: RemoteHandle): void {
    h.subscription?.dispose();
    h.scheduler?.dispose();
    const c = h.client;
    if (c?.close) void c.close().catch((err: unknown) => this.deps.logger.debug(`compare: closing ${h.config.name} client failed`, err));
  }

  private scheduleLocalTick(): void {
    if (this.localTimer !== null) this.clock.clearTimeout(this.localTimer);
    this.localTimer = this.clock.setTimeout(() => {
      this.localTimer = null;
      this.rebuild(true);
      if (!this.disposed) this.scheduleLocalTick();
    }, this.intervalMs());
  }

  private storeChanged(): void {
    if (this.storeTimer !== null || this.disposed) return;
    this.storeTimer = this.clock.setTimeout(() => {
      this.storeTimer = null;
      this.rebuild(false);
    }, this.deps.storeDebounceMs ?? 1000);
  }

  /** Recomputes the snapshot; `evaluate` also runs the alert rules (on refreshes, not on every store write). */
  private rebuild(evaluate: boolean): void {
    if (this.disposed || !this.config) return;
    const cfg = this.config;
    const now = this.clock.now();
    const since = now - this.horizonMs;
    let local: Map<string, SourceEnvironmentRows>;
    try {
      local = this.local.rowsByEnvironment({ environmentProperty: cfg.environmentProperty, devEnvironment: cfg.devEnvironment, since, until: now + 1 });
    } catch (err) {
      this.deps.logger.error(`compare: reading the local store failed: ${err instanceof Error ? err.message : String(err)}`);
      local = new Map();
    }

    const sources: SourceState[] = [{
      name: LOCAL_SOURCE_NAME, kind: 'local', baseUrl: null, status: 'ok', refreshing: false, fetchedAt: now, error: null, nextAttemptAt: null,
      environments: Object.fromEntries([...local].map(([env, r]) => [env, { requests: r.rows.size, capped: false, coveredSince: r.coveredSince }])),
    }];
    const remoteData: Array<{ name: string; status: SourceStatus; fetchedAt: number | null; data: SourceRows | null }> = [];
    for (const h of this.remotes.values()) {
      const st = h.scheduler?.state;
      const status: SourceStatus = st ? st.status : 'noKey';
      const data = st?.data ?? null;
      remoteData.push({ name: h.config.name, status, fetchedAt: st?.fetchedAt ?? null, data });
      sources.push({
        name: h.config.name, kind: 'remote', baseUrl: h.config.baseUrl, status, refreshing: st?.refreshing ?? false,
        fetchedAt: st?.fetchedAt ?? null, error: st?.error ?? null, nextAttemptAt: st?.nextAttemptAt ?? null,
        environments: data ? Object.fromEntries([...data].map(([env, r]) => [env, { requests: r.rows.size, capped: r.capped, coveredSince: r.coveredSince }])) : {},
      });
    }

    const active = remoteData.filter((r) => r.status !== 'noKey');
    const environments: EnvironmentData[] = [];
    const dev = mergeSourceRows([local.get(cfg.devEnvironment)]);
    environments.push({
      name: cfg.devEnvironment, role: 'dev', rows: dev.rows, sources: [LOCAL_SOURCE_NAME], capped: false, coveredSince: since,
      fresh: true, fetchedAt: null, asOf: null, status: 'ok',
    });
    for (const env of cfg.compareEnvironments) {
      const parts = [local.get(env), ...remoteData.map((r) => r.data?.get(env))];
      const merged = mergeSourceRows(parts);
      const contributing = remoteData.filter((r) => r.data?.has(env)).map((r) => r.name);
      const localHas = (local.get(env)?.rows.size ?? 0) > 0;
      const expected = active.length > 0 ? active : remoteData;
      const worst = expected.reduce<SourceStatus>((w, r) => (STATUS_RANK[r.status] > STATUS_RANK[w] ? r.status : w), 'ok');
      const fetchedTimes = active.filter((r) => r.fetchedAt !== null).map((r) => r.fetchedAt as number);
      const okTimes = active.filter((r) => r.status === 'ok' && r.fetchedAt !== null).map((r) => r.fetchedAt as number);
      environments.push({
        name: env,
        role: 'remote',
        rows: merged.rows,
        sources: [...(localHas ? [LOCAL_SOURCE_NAME] : []), ...new Set([...contributing, ...expected.map((r) => r.name)])],
        capped: merged.capped,
        coveredSince: merged.coveredSince,
        // With no remote source able to answer, local rows tagged with this environment are all
        // there is, and they are current; without any, nothing is known (an alert must not
        // "resolve" because the key was removed).
        fresh: active.some((r) => r.status === 'ok' && r.data !== null) || (active.length === 0 && localHas),
        fetchedAt: fetchedTimes.length ? Math.min(...fetchedTimes) : null,
        asOf: okTimes.length ? Math.max(...okTimes) : null,
        status: remoteData.length === 0 ? 'ok' : worst,
      });
    }

    if (evaluate) {
      const samples = new Map<string, EnvironmentSample | null>();
      for (const e of environments) samples.set(e.name, e.fresh ? { rows: e.rows, asOf: e.asOf ?? now } : null);
      this.lastEvaluations = evaluateAlerts(cfg.alerts, samples, now);
      const transitions = this.tracker.update(this.lastEvaluations);
      for (const t of transitions) {
        this.deps.logger.info(`compare: alert ${t.kind}: ${t.evaluation.rule.name} (value ${t.evaluation.value ?? 'n/a'}, ${t.evaluation.requests} requests)`);
      }
      this.current = { at: now, config: cfg, horizonMs: this.horizonMs, environments, sources, alerts: this.lastEvaluations, firing: this.tracker.firing() };
      this.changed.fire(this.current);
      for (const t of transitions) this.alertChanged.fire(t);
      return;
    }
    this.current = { at: now, config: cfg, horizonMs: this.horizonMs, environments, sources, alerts: this.lastEvaluations, firing: this.tracker.firing() };
    this.changed.fire(this.current);
  }
}
