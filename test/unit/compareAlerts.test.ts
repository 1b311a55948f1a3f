// Alert rules on hand-computed fixtures, and the fire-once / resolve-once memory.
import * as assert from 'node:assert/strict';
import { AlertTracker, evaluateAlerts } from '../../src/compare/alerts';
import type { AlertEvaluation, EnvironmentSample } from '../../src/compare/alerts';
import type { MetricRow } from '../../src/metrics/metrics';
import { DEFAULT_ALERTS } from '../../src/settings/settings';
import type { AlertRule } from '../../src/settings/settings';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const MIN = 60_000;

function row(over: Partial<MetricRow> & { ago: number }): MetricRow {
  const { ago, ...rest } = over;
  return {
    createdAt: NOW - ago, ok: true, latencyMs: 500, ttftMs: 100, costUsd: 0.01, promptTokens: 10, completionTokens: 5, totalTokens: 15,
    cacheHit: false, model: 'gpt-4o-mini', properties: {}, ...rest,
  };
}
const rules = DEFAULT_ALERTS.map((r) => ({ ...r }));
const devCost = rules.find((r) => r.metric === 'cost')!;
const prodErrors = rules.find((r) => r.metric === 'errorRate')!;
const prodP95 = rules.find((r) => r.metric === 'p95LatencyMs')!;
function samples(by: Record<string, MetricRow[] | null>, asOf = NOW): Map<string, EnvironmentSample | null> {
  return new Map(Object.entries(by).map(([k, v]) => [k, v === null ? null : { rows: v, asOf }]));
}
const only = (e: AlertEvaluation[], rule: AlertRule): AlertEvaluation => e.find((x) => x.rule === rule)!;

describe('compare: alert rules', () => {
  it('has the issue\'s defaults', () => {
    assert.deepEqual(
      rules.map((r) => [r.environment, r.metric, r.threshold, r.windowMinutes, r.minRequests]),
      [['development', 'cost', 50, 1440, 1], ['production', 'errorRate', 0.05, 10, 10], ['production', 'p95LatencyMs', 10_000, 30, 20]],
    );
  });

  it('fires prod error rate > 5 % over 10 min only with >= 10 requests in the window', () => {
    // 10 requests in the last 10 min, 1 error = 10 % > 5 %: fires.
    const ten = Array.from({ length: 10 }, (_, i) => row({ ago: i * MIN, ok: i !== 3 }));
    let e = only(evaluateAlerts([prodErrors], samples({ production: ten }), NOW), prodErrors);
    assert.equal(e.state, 'firing');
    assert.equal(e.requests, 10);
    assert.equal(e.value, 0.1);
    // 9 requests (the 10th is 11 min old, outside the window): too few to judge, quiet.
    const nine = ten.map((r, i) => (i === 9 ? { ...r, createdAt: NOW - 11 * MIN } : r));
    e = only(evaluateAlerts([prodErrors], samples({ production: nine }), NOW), prodErrors);
    assert.equal(e.state, 'ok');
    assert.equal(e.insufficient, true);
    assert.equal(e.requests, 9);
    // 20 requests, 1 error = exactly 5 %: not above the threshold.
    const twenty = Array.from({ length: 20 }, (_, i) => row({ ago: i * 20_000, ok: i !== 0 }));
    e = only(evaluateAlerts([prodErrors], samples({ production: twenty }), NOW), prodErrors);
    assert.equal(e.value, 0.05);
    assert.equal(e.state, 'ok');
  });

  it('measures p95 latency by nearest rank over 30 min', () => {
    // 20 requests: latencies 1..20 s; nearest-rank p95 = ceil(0.95*20) = 19th = 19 s > 10 s.
    const rows = Array.from({ length: 20 }, (_, i) => row({ ago: i * MIN, latencyMs: (i + 1) * 1000 }));
    const e = only(evaluateAlerts([prodP95], samples({ production: rows }), NOW), prodP95);
    assert.equal(e.value, 19_000);
    assert.equal(e.state, 'firing');
    // The same but 19 of them: fewer than 20 requests, quiet.
    const e2 = only(evaluateAlerts([prodP95], samples({ production: rows.slice(1) }), NOW), prodP95);
    assert.equal(e2.state, 'ok');
    assert.equal(e2.insufficient, true);
  });

  it('sums dev cost over a day, leaving out older rows and unknown costs', () => {
    const rows = [
      row({ ago: 60 * MIN, costUsd: 30 }),
      row({ ago: 23 * 60 * MIN, costUsd: 20.5 }),
      row({ ago: 25 * 60 * MIN, costUsd: 1000 }), // yesterday
      row({ ago: MIN, costUsd: null }), // unknown model: not $0, left out
    ];
    const e = only(evaluateAlerts([devCost], samples({ development: rows }), NOW), devCost);
    assert.equal(e.value, 50.5);
    assert.equal(e.requests, 3);
    assert.equal(e.state, 'firing');
  });

  it('ends the window when the data was fetched, not at the wall clock', () => {
    // Fetched 5 min ago: the 10 requests of the 10 minutes before the fetch still count.
    const ten = Array.from({ length: 10 }, (_, i) => row({ ago: 5 * MIN + i * MIN, ok: i > 1 }));
    const e = only(evaluateAlerts([prodErrors], samples({ production: ten }, NOW - 5 * MIN), NOW), prodErrors);
    assert.equal(e.windowEnd, NOW - 5 * MIN);
    assert.equal(e.requests, 10);
    assert.equal(e.state, 'firing');
  });

  it('is unknown when the environment has no data source', () => {
    const e = evaluateAlerts(rules, samples({ development: [], production: null }), NOW);
    assert.deepEqual(e.map((x) => x.state), ['ok', 'unknown', 'unknown']);
  });
});

describe('compare: alert tracker', () => {
  const rows = (errors: number, total = 20): MetricRow[] => Array.from({ length: total }, (_, i) => row({ ago: i * 10_000, ok: i >= errors }));
  const evalAt = (r: MetricRow[] | null): AlertEvaluation[] => evaluateAlerts([prodErrors], samples({ production: r }), NOW);

  it('fires once, stays quiet while firing, resolves once', () => {
    const t = new AlertTracker();
    assert.deepEqual(t.update(evalAt(rows(0))), []);
    const fired = t.update(evalAt(rows(5)));
    assert.deepEqual(fired.map((x) => x.kind), ['fired']);
    assert.equal(fired[0].evaluation.value, 0.25);
    assert.deepEqual(t.update(evalAt(rows(6))), [], 'still firing: no second notification');
    assert.deepEqual(t.update(evalAt(rows(7))), []);
    assert.equal(t.firing().length, 1);
    assert.equal(t.firing()[0].value, 0.35, 'the status bar sees the latest value');
    assert.deepEqual(t.update(evalAt(rows(0))).map((x) => x.kind), ['resolved']);
    assert.deepEqual(t.update(evalAt(rows(0))), []);
    assert.deepEqual(t.update(evalAt(rows(5))).map((x) => x.kind), ['fired'], 'a new episode notifies again');
  });

  it('neither resolves nor fires while the data is unavailable', () => {
    const t = new AlertTracker();
    t.update(evalAt(rows(5)));
    assert.deepEqual(t.update(evalAt(null)), []);
    assert.equal(t.firing().length, 1, 'an outage of the source does not resolve the alert');
    const fresh = new AlertTracker();
    assert.deepEqual(fresh.update(evalAt(null)), []);
    assert.equal(fresh.firing().length, 0);
  });

  it('forgets a rule removed from settings without a resolved message', () => {
    const t = new AlertTracker();
    t.update(evalAt(rows(5)));
    assert.deepEqual(t.update([]), []);
    assert.equal(t.firing().length, 0);
  });

  it('treats an edited rule as a new rule', () => {
    const t = new AlertTracker();
    t.update(evalAt(rows(5)));
    const stricter = { ...prodErrors, threshold: 0.01 };
    const out = t.update(evaluateAlerts([stricter], samples({ production: rows(5) }), NOW));
    assert.deepEqual(out.map((x) => x.kind), ['fired']);
  });
});
