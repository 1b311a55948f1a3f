// The comparison status bar item's text, tooltip and colour, from a snapshot. Pure, so every state
// (proxy off, no key, loading, error, stale with age, alert firing) is unit-tested without VS Code.
import { formatCost, formatRelativeTime } from '../core/format';
import { computeMetrics } from '../metrics/metrics';
import type { ComparisonSnapshot, EnvironmentData } from './comparison';
import { METRIC_DEFS, baselineEnvironment, formatDelta, formatMetric, metricDeltas, metricValues, shortEnvironmentName, statusText } from './view';

export type ComparisonBarState = 'loading' | 'ok' | 'stale' | 'error' | 'noKey' | 'authFailed' | 'local';

export interface StatusBarContext {
  proxyState: 'stopped' | 'starting' | 'running' | 'error';
  /** The wall clock: ages ("stale 12m") move on between snapshots. Defaults to the snapshot's time. */
  now?: number;
}

export interface ComparisonBarView {
  text: string;
  /** Markdown; command links need the host to trust exactly the commands in `commands`. */
  tooltip: string;
  /** Warning background: an alert fires. */
  warning: boolean;
  state: ComparisonBarState;
  proxyOff: boolean;
  /** Commands the tooltip links to. */
  commands: string[];
}

/** The status bar compares the last 24 hours: long enough to hold traffic, short enough to be current. */
export const STATUS_WINDOW_MS = 24 * 3_600_000;

const SET_KEY = 'llmLens.setHeliconeApiKey';
const REFRESH = 'llmLens.refreshComparison';
const OPEN = 'llmLens.openCompare';
const START_PROXY = 'llmLens.startProxy';

/** Escapes text from settings or traffic for a markdown table cell or line. */
export function escapeMarkdown(s: string): string {
  // '(' is escaped too, which also keeps "$(name)" in a value from turning into an icon.
  return s.replace(/[\\`*_{}[\]()#+\-!|<>~]/g, '\\$&').replace(/\r?\n/g, ' ');
}

function perRequest(e: EnvironmentData, since: number, until: number): { requests: number; costPerRequest: number | null } {
  const m = computeMetrics(e.rows.filter((r) => r.createdAt >= since && r.createdAt < until));
  return { requests: m.requests, costPerRequest: m.costPerRequest };
}

export function comparisonBarView(snapshot: ComparisonSnapshot | null, ctx: StatusBarContext): ComparisonBarView {
  const proxyOff = ctx.proxyState !== 'running';
  if (!snapshot) {
    return {
      text: '$(pulse) dev vs prod $(sync~spin)', tooltip: 'Loading the dev vs production comparison…', warning: false, state: 'loading', proxyOff, commands: [],
    };
  }
  const now = Math.max(ctx.now ?? snapshot.at, snapshot.at);
  // The figures are the snapshot's (its last 24 h); only ages use the wall clock.
  const since = snapshot.at + 1 - STATUS_WINDOW_MS;
  const until = snapshot.at + 1;
  const dev = snapshot.environments.find((e) => e.role === 'dev')!;
  const baseName = baselineEnvironment(snapshot);
  const base = baseName === null ? null : snapshot.environments.find((e) => e.name === baseName) ?? null;

  const devNow = perRequest(dev, since, until);
  const devLabel = shortEnvironmentName(dev.name);
  let devPart: string;
  if (devNow.requests > 0) devPart = `${devLabel} ${formatCost(devNow.costPerRequest)}/req`;
  else devPart = proxyOff ? `${devLabel}: proxy off` : `${devLabel} —`;

  let state: ComparisonBarState = 'local';
  let basePart = '';
  if (base) {
    const label = shortEnvironmentName(base.name);
    const hasData = base.fetchedAt !== null || base.rows.length > 0;
    const b = perRequest(base, since, until);
    const value = `${label} ${b.requests > 0 ? formatCost(b.costPerRequest) : '—'}/req`;
    switch (base.status) {
      case 'noKey': state = 'noKey'; basePart = b.requests > 0 ? `${value} (no key)` : `${label}: no key`; break;
      case 'authFailed': state = 'authFailed'; basePart = `${label}: key rejected`; break;
      case 'idle':
      case 'loading': state = 'loading'; basePart = hasData ? `${value} $(sync~spin)` : `${label} $(sync~spin)`; break;
      case 'error': state = 'error'; basePart = `${label}: unreachable`; break;
      case 'stale':
        state = 'stale';
        basePart = base.fetchedAt !== null ? `${value} (stale ${formatRelativeTime(base.fetchedAt, now).replace(/ ago$/, '')})` : `${label}: unreachable`;
        break;
      case 'ok': state = 'ok'; basePart = value; break;
    }
  }
  const firing = snapshot.firing;
  const alertPart = firing.length ? ` · $(warning) ${firing.length} alert${firing.length > 1 ? 's' : ''}` : '';
  const text = `$(pulse) ${devPart}${basePart ? ` · ${basePart}` : ''}${alertPart}`;

  // Tooltip: the metrics table, then what is wrong and what to do about it.
  const lines: string[] = [];
  lines.push(`**Dev vs production** · last 24 h`, '');
  const cols = base ? [dev, base] : [dev];
  const values = cols.map((e) => {
    const rows = e.rows.filter((r) => r.createdAt >= since && r.createdAt < until);
    return rows.length ? metricValues(computeMetrics(rows)) : null;
  });
  const deltas = values[0] && values[1] ? metricDeltas(values[0], values[1]) : null;
  lines.push(`| | ${cols.map((e) => escapeMarkdown(e.name)).join(' | ')} |${base ? ' Δ |' : ''}`);
  lines.push(`|:--|${cols.map(() => '--:').join('|')}|${base ? '--:|' : ''}`);
  for (const def of METRIC_DEFS) {
    const cells = values.map((v) => escapeMarkdown(formatMetric(def.format, v ? v[def.key] : null)));
    const d = deltas ? escapeMarkdown(formatDelta(def, deltas[def.key])) : '';
    lines.push(`| ${def.label} | ${cells.join(' | ')} |${base ? ` ${d} |` : ''}`);
  }
  lines.push('');
  for (const a of firing) {
    lines.push(`$(warning) **${escapeMarkdown(a.rule.name)}**: ${escapeMarkdown(alertValueText(a.rule.metric, a.value))} over ${a.rule.windowMinutes} min (${a.requests} requests)  `);
  }
  const commands: string[] = [OPEN, REFRESH];
  for (const s of snapshot.sources) {
    if (s.kind === 'local') continue;
    const age = s.fetchedAt !== null ? `, data ${formatRelativeTime(s.fetchedAt, now)}` : '';
    const problem = s.error && s.status !== 'ok' ? `: ${escapeMarkdown(s.error.message.slice(0, 160))}` : '';
    lines.push(`Source **${escapeMarkdown(s.name)}**: ${statusText(s.status)}${age}${problem}  `);
  }
  if (state === 'noKey' || state === 'authFailed') {
    lines.push(`[$(key) ${state === 'noKey' ? 'Set' : 'Replace'} Helicone API key](command:${SET_KEY})  `);
    commands.push(SET_KEY);
  }
  if (proxyOff) {
    lines.push(`The proxy is off: new local traffic is not recorded. [Start proxy](command:${START_PROXY})  `);
    commands.push(START_PROXY);
  }
  lines.push(`[Open comparison](command:${OPEN}) · [Refresh](command:${REFRESH})`);
  return { text, tooltip: lines.join('\n'), warning: firing.length > 0, state, proxyOff, commands };
}

export function alertValueText(metric: 'errorRate' | 'cost' | 'p95LatencyMs', v: number | null): string {
  if (v === null) return 'no data';
  return formatMetric(metric === 'errorRate' ? 'percent' : metric === 'cost' ? 'usd' : 'ms', v);
}
