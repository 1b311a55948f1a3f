// Alert rules evaluated on every refresh, and the memory that turns evaluations into transitions:
// a rule that keeps firing notifies once, a rule that stops firing says so once, and a rule whose
// data is unavailable (source down, key rejected) changes nothing, so an outage of the query API
// neither "resolves" a production alert nor raises a new one.
import type { AlertRule } from '../settings/settings';
import { computeMetrics } from '../metrics/metrics';
import type { MetricRow } from '../metrics/metrics';

export type AlertState =
  /** Condition holds over the rule's window with enough requests. */
  | 'firing'
  /** Condition does not hold (or too few requests to judge: quiet by design). */
  | 'ok'
  /** No usable data for the rule's environment (source failing or not configured). */
  | 'unknown';

export interface AlertEvaluation {
  /** Stable identity of a rule across refreshes (its content, so an edited rule is a new rule). */
  key: string;
  rule: AlertRule;
  state: AlertState;
  /** The measured value (fraction, USD or ms); null when there were no rows to measure. */
  value: number | null;
  requests: number;
  /** Too few requests in the window for the rule to judge. */
  insufficient: boolean;
  windowStart: number;
  windowEnd: number;
}

export interface AlertTransition {
  kind: 'fired' | 'resolved';
  evaluation: AlertEvaluation;
}

export function alertKey(rule: AlertRule): string {
  return JSON.stringify([rule.environment, rule.metric, rule.threshold, rule.windowMinutes, rule.minRequests]);
}

/** An environment's rows as known at `asOf`: when they were fetched (remote) or now (local). */
export interface EnvironmentSample {
  rows: readonly MetricRow[];
  asOf: number;
}

/**
 * `samples` maps an environment to its rows, or to null when its data is unavailable; an
 * environment missing from the map is unavailable too (nobody queried it). A rule's window ends
 * at the sample's `asOf`, not at the wall clock: rows fetched five minutes ago say nothing about
 * the last five minutes, and sliding the window past them would read as "traffic stopped".
 */
export function evaluateAlerts(rules: readonly AlertRule[], samples: ReadonlyMap<string, EnvironmentSample | null>, now: number): AlertEvaluation[] {
  return rules.map((rule) => {
    const sample = samples.get(rule.environment);
    const windowEnd = sample ? Math.min(now, sample.asOf) : now;
    const windowStart = windowEnd - rule.windowMinutes * 60_000;
    const base = { key: alertKey(rule), rule, windowStart, windowEnd };
    if (!sample) return { ...base, state: 'unknown', value: null, requests: 0, insufficient: false };
    const inWindow = sample.rows.filter((r) => r.createdAt > windowStart && r.createdAt <= windowEnd);
    const m = computeMetrics(inWindow);
    const value = rule.metric === 'errorRate' ? m.errorRate
      : rule.metric === 'cost' ? m.costTotal
      : m.latency.p95;
    const insufficient = m.requests < rule.minRequests;
    const firing = !insufficient && value !== null && value > rule.threshold;
    return { ...base, state: firing ? 'firing' : 'ok', value, requests: m.requests, insufficient };
  });
}

/** What the user has been told about each rule, to notify on changes only. */
export class AlertTracker {
  private firingNow = new Map<string, AlertEvaluation>();

  update(evaluations: readonly AlertEvaluation[]): AlertTransition[] {
    const out: AlertTransition[] = [];
    const present = new Set<string>();
    for (const e of evaluations) {
      present.add(e.key);
      const was = this.firingNow.get(e.key);
      if (e.state === 'firing') {
        this.firingNow.set(e.key, e);
        if (!was) out.push({ kind: 'fired', evaluation: e });
      } else if (e.state === 'ok' && was) {
        this.firingNow.delete(e.key);
        out.push({ kind: 'resolved', evaluation: e });
      }
      // 'unknown' keeps whatever the user was last told.
    }
    // A rule removed from settings is forgotten without a "resolved" message it never earned.
    for (const k of [...this.firingNow.keys()]) if (!present.has(k)) this.firingNow.delete(k);
    return out;
  }

  /** The rules currently firing (latest evaluation each), for the status bar and the panel. */
  firing(): AlertEvaluation[] {
    return [...this.firingNow.values()];
  }

  clear(): void {
    this.firingNow.clear();
  }
}
