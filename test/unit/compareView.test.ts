// The panel's view model, its CSV and the status bar wording, from hand-built snapshots with
// hand-computed expectations.
import * as assert from 'node:assert/strict';
import { comparisonBarView, escapeMarkdown } from '../../src/compare/statusView';
import { buildCompareView, compareViewCsv, localDayStart, metricDeltas, METRIC_DEFS } from '../../src/compare/view';
import type { MetricRow } from '../../src/metrics/metrics';
import { DEFAULT_ALERTS } from '../../src/settings/settings';
import { DAY, HOUR, MIN, NOW, env, mrow, snapshot } from '../support/compareFixtures';

describe('compare: panel view', () => {
  const dev = env('development', [mrow(MIN, { costUsd: 0.001, latencyMs: 400 }), mrow(2 * MIN, { costUsd: 0.003, latencyMs: 600 }), mrow(2 * DAY, { costUsd: 1 })]);
  const prod = env('production', [
    mrow(MIN, { costUsd: 0.004, latencyMs: 1000 }), mrow(3 * MIN, { costUsd: 0.004, latencyMs: 2000, ok: false }),
    mrow(30 * MIN, { costUsd: 0.004, latencyMs: 3000 }), mrow(50 * MIN, { costUsd: 0.004, latencyMs: 4000, cacheHit: true }),
  ]);
  const staging = env('staging', [], { status: 'noKey', fresh: false, fetchedAt: null });

  it('puts development first, measures deltas against production, and leaves empty columns empty', () => {
    const v = buildCompareView(snapshot([dev, staging, prod]), { window: '1h', groupBy: '' });
    assert.deepEqual(v.columns.map((c) => [c.environment, c.requests, c.baseline, c.status]), [
      ['development', 2, false, 'ok'], ['staging', 0, false, 'noKey'], ['production', 4, true, 'ok'],
    ]);
    const [d, s, p] = v.groups[0].cells;
    assert.equal(s, null);
    // production: cost 0.004 * 3 (the cache hit costs 0) over 4 requests; error rate 1/4; p50 by nearest rank = 2 s
    assert.equal(p!.values.costTotal!.toFixed(4), '0.0120');
    assert.equal(p!.values.costPerRequest!.toFixed(4), '0.0030');
    assert.equal(p!.values.errorRate, 0.25);
    assert.equal(p!.values.latencyP50, 2000);
    assert.equal(p!.values.cacheHitRate, 0.25);
    assert.equal(p!.deltas, null);
    // development: 0.002 per request: one third cheaper than 0.003; error rate 0 vs 25 %: -25 points
    assert.equal(d!.values.costPerRequest, 0.002);
    assert.equal(d!.deltas!.costPerRequest!.toFixed(4), '-0.3333');
    assert.equal(d!.deltas!.errorRate, -0.25);
    assert.equal(d!.deltas!.latencyP50, (400 - 2000) / 2000);
  });

  it('relative deltas against zero are unknown, except zero against zero', () => {
    const base = { ...Object.fromEntries(METRIC_DEFS.map((m) => [m.key, 0])) } as Parameters<typeof metricDeltas>[0];
    const d = metricDeltas({ ...base, costTotal: 5, latencyP95: 0 }, base);
    assert.equal(d.costTotal, null);
    assert.equal(d.latencyP95, 0);
  });

  it('groups by model or by any property, busiest first, with "(not set)" for rows without it', () => {
    const rows = (e: string): MetricRow[] => [
      mrow(MIN, { model: 'gpt-4o', properties: { Environment: e, Version: 'v2' } }),
      mrow(2 * MIN, { model: 'gpt-4o', properties: { Environment: e, version: 'v2' } }),
      mrow(3 * MIN, { model: 'gpt-4o-mini', properties: { Environment: e, Version: 'v1' } }),
      mrow(4 * MIN, { model: 'gpt-4o-mini', properties: { Environment: e, 'Helicone-Session-Id': 's1' } }),
    ];
    const s = snapshot([env('development', rows('development')), env('production', rows('production').slice(0, 2))]);
    const v = buildCompareView(s, { window: '1h', groupBy: 'property:Version' });
    assert.deepEqual(v.groups.map((g) => g.label), ['All requests', 'v2', '(not set)', 'v1']);
    assert.deepEqual(v.groups.map((g) => g.cells.map((c) => c?.values.requests ?? 0)), [[4, 2], [2, 2], [1, 0], [1, 0]]);
    assert.equal(v.groups[2].cells[1], null, 'production has no request without a Version');
    const opts = v.groupByOptions.map((o) => o.value);
    assert.deepEqual(opts.slice(0, 2), ['', 'model']);
    assert.ok(opts.includes('property:Version') && opts.includes('property:PromptVersion'));
    assert.ok(!opts.some((o) => /Environment|Session/i.test(o)), 'not the environment itself, not per-session ids');
    const byModel = buildCompareView(s, { window: '1h', groupBy: 'model' });
    assert.deepEqual(byModel.groups.slice(1).map((g) => [g.label, g.cells.map((c) => c?.values.requests ?? 0)]), [['gpt-4o', [2, 2]], ['gpt-4o-mini', [2, 0]]]);
    assert.equal(buildCompareView(s, { window: '1h', groupBy: 'bogus' }).groupBy, '', 'an unknown grouping falls back to none');
  });

  it('draws the timeline in window buckets, null where an environment had no request', () => {
    const v = buildCompareView(snapshot([dev, prod]), { window: '1h', groupBy: '' });
    assert.equal(v.timeline.bucketMs, 5 * MIN);
    assert.equal(v.timeline.t.length, 12);
    const cost = v.timeline.charts.find((c) => c.id === 'cost')!;
    const prodCost = cost.series[1].values;
    // the last bucket holds the requests 1 and 3 minutes ago
    assert.equal(prodCost[11]!.toFixed(4), '0.0080');
    assert.equal(prodCost[1], 0, '50 minutes ago: only the cache hit, which cost nothing');
    assert.equal(prodCost[3], null, 'no request: a gap, not a zero');
    const err = v.timeline.charts.find((c) => c.id === 'errorRate')!;
    assert.equal(err.series[1].values[11], 0.5);
  });

  it('sums cost per local calendar day over the last 30 days, whatever the window', () => {
    const v = buildCompareView(snapshot([dev, prod]), { window: '1h', groupBy: '' });
    assert.equal(v.cost30d.t.length, 30);
    assert.equal(v.cost30d.t[29], localDayStart(NOW));
    const devDays = v.cost30d.series[0].values;
    const twoDaysAgo = v.cost30d.t.findIndex((t) => t === localDayStart(NOW - 2 * DAY));
    assert.equal(devDays[twoDaysAgo], 1);
    assert.deepEqual(v.cost30d.totals.map((t) => [t.environment, +t.costTotal.toFixed(4), t.requests]), [['development', 1.004, 3], ['production', 0.012, 4]]);
  });

  it('marks a capped column only when the window reaches past what was kept, and says so', () => {
    const capped = env('production', prod.rows, { capped: true, coveredSince: NOW - 2 * HOUR });
    const s = snapshot([dev, capped]);
    assert.equal(buildCompareView(s, { window: '1h', groupBy: '' }).columns[1].capped, false);
    const v = buildCompareView(s, { window: '24h', groupBy: '' });
    assert.equal(v.columns[1].capped, true);
    assert.match(v.notes.join('\n'), /production: more requests than the row cap; figures cover 2h back/);
  });

  it('exports the same numbers as CSV, one line per group and metric, deltas against the baseline', () => {
    const v = buildCompareView(snapshot([dev, prod]), { window: '1h', groupBy: '' });
    const lines = compareViewCsv(v).trimEnd().split('\r\n');
    assert.equal(lines[0], 'group,metric,development,production,development vs production (Δ)');
    assert.equal(lines.length, 1 + METRIC_DEFS.length);
    assert.equal(lines.find((l) => l.startsWith('all,Requests,')), 'all,Requests,2,4,-0.5');
    assert.equal(lines.find((l) => l.startsWith('all,Error rate')), 'all,Error rate (fraction),0,0.25,-0.25');
    const grouped = buildCompareView(snapshot([env('development', [mrow(MIN, { model: '=cmd|calc' })]), prod]), { window: '1h', groupBy: 'model' });
    assert.ok(compareViewCsv(grouped).includes("\r\n'=cmd|calc,Requests,1,,\r\n"), 'a model name cannot become a spreadsheet formula');
  });
});

describe('compare: status bar', () => {
  const dev = env('development', [mrow(MIN, { costUsd: 0.0021 })]);
  const prod = env('production', [mrow(MIN, { costUsd: 0.0034 })]);

  it('shows cost per request for dev and prod, and a table of both with deltas', () => {
    const v = comparisonBarView(snapshot([dev, prod]), { proxyState: 'running' });
    assert.equal(v.text, '$(pulse) dev $0.0021/req · prod $0.0034/req');
    assert.equal(v.state, 'ok');
    assert.equal(v.warning, false);
    assert.match(v.tooltip, /\| \| development \| production \| Δ \|/);
    assert.match(v.tooltip, /\| Cost per request \| \$0\.0021 \| \$0\.0034 \| −38 % \|/);
    assert.match(v.tooltip, /\| Requests \| 1 \| 1 \| ±0 % \|/);
  });

  it('says loading before the first snapshot and while the first fetch runs', () => {
    assert.match(comparisonBarView(null, { proxyState: 'running' }).text, /\$\(sync~spin\)/);
    const v = comparisonBarView(snapshot([dev, env('production', [], { status: 'loading', fresh: false, fetchedAt: null })]), { proxyState: 'running' });
    assert.equal(v.text, '$(pulse) dev $0.0021/req · prod $(sync~spin)');
    assert.equal(v.state, 'loading');
  });

  it('names each failure state and offers the fix', () => {
    const noKey = comparisonBarView(snapshot([dev, env('production', [], { status: 'noKey', fresh: false, fetchedAt: null })]), { proxyState: 'running' });
    assert.equal(noKey.text, '$(pulse) dev $0.0021/req · prod: no key');
    assert.ok(noKey.commands.includes('llmLens.setHeliconeApiKey'));
    const rejected = comparisonBarView(snapshot([dev, env('production', [], { status: 'authFailed', fresh: false, fetchedAt: null })]), { proxyState: 'running' });
    assert.equal(rejected.text, '$(pulse) dev $0.0021/req · prod: key rejected');
    assert.match(rejected.tooltip, /\[\$\(key\) Replace Helicone API key\]\(command:llmLens\.setHeliconeApiKey\)/);
    const down = comparisonBarView(snapshot([dev, env('production', [], { status: 'error', fresh: false, fetchedAt: null })]), { proxyState: 'running' });
    assert.equal(down.text, '$(pulse) dev $0.0021/req · prod: unreachable');
    const stale = comparisonBarView(snapshot([dev, env('production', prod.rows, { status: 'stale', fresh: false, fetchedAt: NOW - 12 * MIN })]), { proxyState: 'running', now: NOW + 60_000 });
    assert.equal(stale.text, '$(pulse) dev $0.0021/req · prod $0.0034/req (stale 13m)');
    assert.equal(stale.state, 'stale');
  });

  it('says the proxy is off when there is no local traffic to show', () => {
    const v = comparisonBarView(snapshot([env('development', []), prod]), { proxyState: 'stopped' });
    assert.equal(v.text, '$(pulse) dev: proxy off · prod $0.0034/req');
    assert.equal(v.proxyOff, true);
    assert.match(v.tooltip, /command:llmLens\.startProxy/);
    // History still counts with the proxy off.
    assert.equal(comparisonBarView(snapshot([dev, prod]), { proxyState: 'stopped' }).text, '$(pulse) dev $0.0021/req · prod $0.0034/req');
  });

  it('turns to the warning colour while an alert fires and lists it', () => {
    const rule = DEFAULT_ALERTS[1];
    const firing = [{ key: 'k', rule, state: 'firing' as const, value: 0.25, requests: 12, insufficient: false, windowStart: NOW - 10 * MIN, windowEnd: NOW }];
    const v = comparisonBarView(snapshot([dev, prod], { firing, alerts: firing }), { proxyState: 'running' });
    assert.equal(v.warning, true);
    assert.equal(v.text, '$(pulse) dev $0.0021/req · prod $0.0034/req · $(warning) 1 alert');
    assert.match(v.tooltip, /\$\(warning\) \*\*Production error rate above 5 %\*\*: 25 % over 10 min \(12 requests\)/);
  });

  it('escapes environment names in the markdown tooltip', () => {
    assert.equal(escapeMarkdown('prod|[x](command:evil)'), 'prod\\|\\[x\\]\\(command:evil\\)');
    const v = comparisonBarView(snapshot([dev, env('prod|[x](command:evil)', prod.rows)]), { proxyState: 'running' });
    assert.ok(!v.tooltip.includes('[x](command:evil)'));
  });
});
