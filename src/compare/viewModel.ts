// What the compare panel is sent: plain, serialisable data, computed by the host from a snapshot
// (src/compare/view.ts) so the browser bundle only draws. Types only: protocol.ts re-exports them
// for the browser side.

export type WindowKey = '1h' | '24h' | '7d' | '30d';

export interface OptionView { value: string; label: string }

export type MetricKey =
  | 'requests'
  | 'errorRate'
  | 'latencyAvg'
  | 'latencyP50'
  | 'latencyP95'
  | 'latencyP99'
  | 'ttftP50'
  | 'ttftP95'
  | 'costTotal'
  | 'costPerRequest'
  | 'tokensPerRequest'
  | 'cacheHitRate';

export type MetricFormat = 'count' | 'usd' | 'ms' | 'percent' | 'number';

export interface MetricDef {
  key: MetricKey;
  label: string;
  format: MetricFormat;
  /** Which direction is an improvement, for colouring deltas; null when neither is. */
  better: 'lower' | 'higher' | null;
  /** 'relative': (v - base) / base; 'points': v - base (for rates, shown in percentage points). */
  delta: 'relative' | 'points';
}

export type MetricValues = Record<MetricKey, number | null>;

export type ColumnStatus = 'ok' | 'idle' | 'loading' | 'stale' | 'error' | 'authFailed' | 'noKey';

export interface ColumnView {
  environment: string;
  role: 'dev' | 'remote';
  /** Deltas are computed against this column (production, or the last remote environment). */
  baseline: boolean;
  sources: string[];
  status: ColumnStatus;
  fresh: boolean;
  fetchedAt: number | null;
  capped: boolean;
  coveredSince: number | null;
  /** Requests in the selected window. */
  requests: number;
}

export interface CellView {
  values: MetricValues;
  /** Against the baseline column of the same group; null in the baseline column or without a baseline. */
  deltas: MetricValues | null;
}

export interface GroupView {
  /** null for the "all requests" group. */
  key: string | null;
  label: string;
  /** Aligned with `columns`; null when the environment has no request in this group. */
  cells: Array<CellView | null>;
}

export interface SeriesView {
  environment: string;
  values: Array<number | null>;
}

export interface ChartView {
  id: 'cost' | 'p95' | 'errorRate';
  title: string;
  format: MetricFormat;
  series: SeriesView[];
}

export interface SourceView {
  name: string;
  kind: 'local' | 'remote';
  baseUrl: string | null;
  status: ColumnStatus;
  refreshing: boolean;
  fetchedAt: number | null;
  nextAttemptAt: number | null;
  error: string | null;
  errorCode: string | null;
  /** Requests kept per environment (whole horizon). */
  requests: Record<string, number>;
  /** "Showing the newest 10,000 production requests (since …)". */
  cappedEnvironments: Array<{ environment: string; requests: number; coveredSince: number }>;
}

export interface AlertView {
  name: string;
  environment: string;
  metric: 'errorRate' | 'cost' | 'p95LatencyMs';
  threshold: number;
  windowMinutes: number;
  state: 'firing' | 'ok' | 'unknown';
  value: number | null;
  requests: number;
  insufficient: boolean;
}

export interface CompareView {
  generatedAt: number;
  window: WindowKey;
  windowOptions: OptionView[];
  since: number;
  until: number;
  /** '' = no grouping, 'model', or 'property:<name>'. */
  groupBy: string;
  groupByOptions: OptionView[];
  environmentProperty: string;
  columns: ColumnView[];
  metrics: MetricDef[];
  /** The first group is all requests; grouped views add one per group value. */
  groups: GroupView[];
  /** Metrics shown per group below "All requests" (the panel keeps groups short; CSV has every metric). */
  groupMetricKeys: MetricKey[];
  /** Group values left out (only the busiest are shown). */
  groupsOmitted: number;
  timeline: { bucketMs: number; bucketLabel: string; t: number[]; charts: ChartView[] };
  /** Cost per local calendar day over the last 30 days, per environment. */
  cost30d: { t: number[]; series: SeriesView[]; totals: Array<{ environment: string; costTotal: number; requests: number }> };
  sources: SourceView[];
  alerts: AlertView[];
  /** Plain sentences worth saying above the table (capped sources, stale data). */
  notes: string[];
}
