// Builders for comparison snapshots (rows, environments, sources) shared by the compare view,
// status bar and panel tests: each test states only what it cares about.
import type { ComparisonSnapshot, EnvironmentData, SourceState } from '../../src/compare/comparison';
import type { MetricRow } from '../../src/metrics/metrics';
import { DEFAULT_ALERTS } from '../../src/settings/settings';

export const NOW = Date.UTC(2025, 5, 15, 15, 30, 0);
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function mrow(ago: number, over: Partial<MetricRow> = {}): MetricRow {
  return {
    createdAt: NOW - ago, ok: true, latencyMs: 1000, ttftMs: 200, costUsd: 0.002, promptTokens: 100, completionTokens: 20, totalTokens: 120,
    cacheHit: false, model: 'gpt-4o-mini', properties: {}, ...over,
  };
}

export function env(name: string, rows: MetricRow[], over: Partial<EnvironmentData> = {}): EnvironmentData {
  const dev = name === 'development';
  return {
    name, role: dev ? 'dev' : 'remote', rows, sources: [dev ? 'this machine' : 'helicone'], capped: false, coveredSince: NOW - 30 * DAY,
    fresh: true, fetchedAt: dev ? null : NOW, asOf: dev ? null : NOW, status: 'ok', ...over,
  };
}

export function snapshot(envs: EnvironmentData[], over: Partial<ComparisonSnapshot> = {}, sources?: SourceState[]): ComparisonSnapshot {
  return {
    at: NOW,
    config: { environmentProperty: 'Environment', devEnvironment: 'development', compareEnvironments: envs.filter((e) => e.role === 'remote').map((e) => e.name), refreshMinutes: 5, alerts: DEFAULT_ALERTS.map((a) => ({ ...a })), sources: [] },
    horizonMs: 30 * DAY,
    environments: envs,
    sources: sources ?? [
      { name: 'this machine', kind: 'local', baseUrl: null, status: 'ok', refreshing: false, fetchedAt: NOW, error: null, nextAttemptAt: null, environments: {} },
      { name: 'helicone', kind: 'remote', baseUrl: 'https://api.helicone.ai', status: 'ok', refreshing: false, fetchedAt: NOW, error: null, nextAttemptAt: null, environments: {} },
    ],
    alerts: [],
    firing: [],
    ...over,
  };
}
