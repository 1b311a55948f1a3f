// Metrics against hand-computed fixtures: every expected number below is worked out in the comment
// next to it, so a change of method (say, interpolated percentiles) shows up as a failure here.
import * as assert from 'node:assert/strict';
import {
  computeMetrics, groupKey, groupMetrics, metricRowFromSummary, percentile, propertyKey, timeSeries,
} from '../../src/metrics/metrics';
import type { MetricRow } from '../../src/metrics/metrics';
import { makeRecord, makeUsage, summaryOf } from '../support/records';

function row(r: Partial<MetricRow> = {}): MetricRow {
  return {
    createdAt: 0, ok: true, latencyMs: null, ttftMs: null, costUsd: null,
    promptTokens: 0, completionTokens: 0, totalTokens: 0, cacheHit: false, model: null, properties: {}, ...r,
  };
}

function close(actual: number | null, expected: number, msg?: string): void {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${msg ?? ''} ${actual} != ${expected}`);
}

describe('percentile (nearest rank)', () => {
  const tens = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000];

  it('picks sorted[ceil(p/100 * n) - 1]', () => {
    assert.equal(percentile(tens, 50), 500); // ceil(5) = 5th
    assert.equal(percentile(tens, 95), 1000); // ceil(9.5) = 10th
    assert.equal(percentile(tens, 90), 900); // ceil(9) = 9th
    assert.equal(percentile(tens, 91), 1000); // ceil(9.1) = 10th
    assert.equal(percentile(tens, 0), 100);
    assert.equal(percentile(tens, 100), 1000);
    const twenty = Array.from({ length: 20 }, (_, i) => (i + 1) * 10);
    assert.equal(percentile(twenty, 95), 190); // ceil(19) = 19th
    assert.equal(percentile(twenty, 99), 200); // ceil(19.8) = 20th
    assert.equal(percentile(twenty, 50), 100); // ceil(10) = 10th: an observed value, not 105
    // rank = ceil(7 * 100 / 100) = 7; (7 / 100) * 100 would be 7.000000000000001 and pick the 8th
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(hundred, 7), 7);
    assert.equal(percentile(hundred, 95), 95);
  });

  it('handles empty and single-element data', () => {
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([7], 0), 7);
    assert.equal(percentile([7], 99), 7);
  });

  it('rejects p outside [0, 100] (0.95 is not "p95")', () => {
    assert.throws(() => percentile(tens, -1), RangeError);
    assert.throws(() => percentile(tens, 101), RangeError);
    assert.throws(() => percentile(tens, Number.NaN), RangeError);
  });
});

describe('computeMetrics', () => {
  // Five requests:
  //   a ok      latency 100 ttft 40  cost 0.010  tokens 100+20
  //   b ok      latency 300 ttft 60  cost null   tokens 200+40   (unknown model)
  //   c error   latency 200 ttft -   cost 0      tokens 0        (status 500)
  //   d ok      latency 400 ttft 50  cost 0.030  tokens 300+60
  //   e ok hit  latency 5   ttft 5   cost 0.050  tokens 100+20   (cache hit: counts as $0)
  const rows = [
    row({ latencyMs: 100, ttftMs: 40, costUsd: 0.01, promptTokens: 100, completionTokens: 20, totalTokens: 120 }),
    row({ latencyMs: 300, ttftMs: 60, costUsd: null, promptTokens: 200, completionTokens: 40, totalTokens: 240 }),
    row({ ok: false, latencyMs: 200, costUsd: 0 }),
    row({ latencyMs: 400, ttftMs: 50, costUsd: 0.03, promptTokens: 300, completionTokens: 60, totalTokens: 360 }),
    row({ latencyMs: 5, ttftMs: 5, costUsd: 0.05, cacheHit: true, promptTokens: 100, completionTokens: 20, totalTokens: 120 }),
  ];
  const m = computeMetrics(rows);

  it('counts requests, errors and cache hits', () => {
    assert.equal(m.requests, 5);
    assert.equal(m.errors, 1);
    assert.equal(m.errorRate, 0.2);
    assert.equal(m.cacheHits, 1);
    assert.equal(m.cacheHitRate, 0.2);
  });

  it('computes latency over rows that have one: avg and nearest-rank percentiles', () => {
    // sorted 5, 100, 200, 300, 400: avg 1005/5 = 201; p50 = 3rd = 200; p95 = ceil(4.75) = 5th = 400; p99 = 400
    assert.deepEqual(m.latency, { avg: 201, p50: 200, p95: 400, p99: 400, count: 5 });
    // ttft sorted 5, 40, 50, 60 (c has none): p50 = ceil(2) = 2nd = 40; p95 = 4th = 60
    assert.deepEqual(m.ttft, { p50: 40, p95: 60, count: 4 });
  });

  it('totals cost over known costs, with the cache hit at $0, and says how many were unknown', () => {
    // known: a 0.01, c 0, d 0.03, e 0 (hit) = 0.04 over 4 requests; b unknown
    close(m.costTotal, 0.04);
    assert.equal(m.costKnown, 4);
    assert.equal(m.costUnknown, 1);
    close(m.costPerRequest, 0.01);
  });

  it('averages tokens over all requests', () => {
    // prompt 700, completion 140, total 840 over 5
    assert.equal(m.promptTokens, 700);
    assert.equal(m.completionTokens, 140);
    assert.equal(m.totalTokens, 840);
    assert.equal(m.tokensPerRequest, 168);
    assert.equal(m.promptTokensPerRequest, 140);
    assert.equal(m.completionTokensPerRequest, 28);
  });

  it('gives nulls (not zeros or NaN) for rates and averages of nothing', () => {
    const e = computeMetrics([]);
    assert.equal(e.requests, 0);
    assert.equal(e.errorRate, null);
    assert.equal(e.costPerRequest, null);
    assert.equal(e.costTotal, 0);
    assert.equal(e.tokensPerRequest, null);
    assert.equal(e.cacheHitRate, null);
    assert.deepEqual(e.latency, { avg: null, p50: null, p95: null, p99: null, count: 0 });
    const allUnknown = computeMetrics([row({ costUsd: null }), row({ costUsd: null })]);
    assert.equal(allUnknown.costPerRequest, null);
    assert.equal(allUnknown.costUnknown, 2);
  });
});

describe('metricRowFromSummary', () => {
  it('maps a finished record', () => {
    const rec = summaryOf(makeRecord({
      startedAt: 1_700_000_000_000, latencyMs: 420, ttftMs: 180, costUsd: 0.002, requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18',
      usage: makeUsage({ promptTokens: 12, completionTokens: 8 }), properties: { Environment: 'development' },
    }));
    assert.deepEqual(metricRowFromSummary(rec), {
      createdAt: 1_700_000_000_000, ok: true, latencyMs: 420, ttftMs: 180, costUsd: 0.002,
      promptTokens: 12, completionTokens: 8, totalTokens: 20, cacheHit: false,
      model: 'gpt-4o-mini', properties: { Environment: 'development' },
    });
  });

  it('treats status >= 400 and recorded failures as errors', () => {
    assert.equal(metricRowFromSummary(summaryOf(makeRecord({ status: 429 }))).ok, false);
    assert.equal(metricRowFromSummary(summaryOf(makeRecord({ status: 399 }))).ok, true);
    assert.equal(metricRowFromSummary(summaryOf(makeRecord({ state: 'error', status: null, error: { kind: 'upstream_unreachable', message: 'ECONNREFUSED' } }))).ok, false);
    // A stream that broke after a 200 is still an error.
    assert.equal(metricRowFromSummary(summaryOf(makeRecord({ status: 200, error: { kind: 'upstream_reset', message: 'reset' } }))).ok, false);
  });

  it('counts a cache hit at $0 and uses zero tokens when usage is unknown', () => {
    const hit = metricRowFromSummary(summaryOf(makeRecord({ costUsd: 0.5, cache: { enabled: true, hit: true, savedUsd: 0.5, bucketMaxSize: 1, seed: null } })));
    assert.equal(hit.cacheHit, true);
    assert.equal(hit.costUsd, 0);
    const noUsage = metricRowFromSummary(summaryOf(makeRecord({ usage: null, costUsd: null, requestModel: null, responseModel: 'x' })));
    assert.deepEqual([noUsage.promptTokens, noUsage.completionTokens, noUsage.totalTokens, noUsage.costUsd, noUsage.model], [0, 0, 0, null, 'x']);
  });
});

describe('groupMetrics', () => {
  const rows = [
    row({ properties: { Environment: 'production', Version: 'v2' }, ok: false }),
    row({ properties: { Environment: 'development', Version: 'v1' }, costUsd: 0.01 }),
    row({ properties: { Environment: 'production', Version: 'v1' }, costUsd: 0.03 }),
    row({ properties: { environment: 'development' }, costUsd: 0.02 }),
    row({ properties: {} }),
  ];

  it('groups by a property (header names are case-insensitive), in order of first appearance, skipping rows without it', () => {
    const g = groupMetrics(rows, propertyKey('Environment'));
    assert.deepEqual([...g.keys()], ['production', 'development']);
    const prod = g.get('production');
    const dev = g.get('development');
    assert.ok(prod && dev);
    assert.equal(prod.requests, 2);
    assert.equal(prod.errorRate, 0.5);
    close(prod.costTotal, 0.03);
    assert.equal(dev.requests, 2);
    close(dev.costPerRequest, 0.015);
  });

  it('groups by two dimensions', () => {
    const g = groupMetrics(rows, (r) => groupKey(propertyKey('Environment')(r), propertyKey('Version')(r)));
    assert.deepEqual([...g.keys()], [groupKey('production', 'v2'), groupKey('development', 'v1'), groupKey('production', 'v1')]);
    assert.equal(groupKey('a', null), null);
    assert.notEqual(groupKey('a', 'bc'), groupKey('ab', 'c'));
  });
});

describe('timeSeries', () => {
  const H = 3_600_000;
  const rows = [
    row({ createdAt: -1, costUsd: 9 }), // before the window
    row({ createdAt: 0, costUsd: 0.01, latencyMs: 100 }),
    row({ createdAt: H - 1, costUsd: 0.02, latencyMs: 300, ok: false }),
    row({ createdAt: H, costUsd: 0.04, latencyMs: 200 }),
    row({ createdAt: 3 * H - 1, costUsd: 0.08 }),
    row({ createdAt: 3 * H, costUsd: 9 }), // at `until`: outside [since, until)
  ];

  it('buckets [since, until) evenly, empty buckets included', () => {
    const s = timeSeries(rows, H, 0, 3 * H);
    assert.deepEqual(s.map((b) => b.t), [0, H, 2 * H]);
    assert.deepEqual(s.map((b) => b.metrics.requests), [2, 1, 0 + 1]);
    close(s[0].metrics.costTotal, 0.03);
    assert.equal(s[0].metrics.errorRate, 0.5);
    assert.equal(s[0].metrics.latency.p95, 300);
    close(s[1].metrics.costTotal, 0.04);
    close(s[2].metrics.costTotal, 0.08);
    const withGap = timeSeries(rows.slice(1, 4), H, 0, 4 * H);
    assert.deepEqual(withGap.map((b) => b.metrics.requests), [2, 1, 0, 0]);
    assert.equal(withGap[3].metrics.errorRate, null);
  });

  it('cuts the last bucket at until', () => {
    const s = timeSeries(rows, H, 0, 2.5 * H);
    assert.deepEqual(s.map((b) => [b.t, b.metrics.requests]), [[0, 2], [H, 1], [2 * H, 0]]);
  });

  it('rejects nonsensical windows and runaway bucket counts', () => {
    assert.throws(() => timeSeries(rows, 0, 0, H), RangeError);
    assert.throws(() => timeSeries(rows, H, H, 0), RangeError);
    assert.throws(() => timeSeries(rows, 1, 0, 365 * 24 * H), RangeError);
    assert.deepEqual(timeSeries(rows, H, 5, 5), []);
  });
});
