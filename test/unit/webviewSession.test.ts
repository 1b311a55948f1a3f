import * as assert from 'node:assert/strict';
import type { RecordSummary } from '../../src/core/types';
import { barClass, buildPathTree, layoutWaterfall, pathPrefixes, sessionTotals, tickStep, underPath } from '../../src/webviews/app/sessionModel';
import { modelOf, requestTitle, statusText } from '../../src/webviews/app/summaryText';
import { makeRecord, makeUsage } from '../support/records';

const T0 = Date.UTC(2025, 5, 1, 10, 0, 0);

function rec(startOffset: number, durationMs: number | null, over: Partial<RecordSummary> = {}): RecordSummary {
  const { bodies: _b, ...s } = makeRecord({
    startedAt: T0 + startOffset,
    latencyMs: durationMs,
    endedAt: durationMs === null ? null : T0 + startOffset + durationMs,
    ttftMs: durationMs === null ? null : Math.round(durationMs / 4),
    session: { id: 'sess-1', path: '/', name: 'Trip planner' },
    ...over,
  });
  return s;
}

describe('session panel model', () => {
  const records = [
    rec(0, 1000, { session: { id: 'sess-1', path: '/research', name: 'Trip planner' }, costUsd: 0.01, usage: makeUsage({ promptTokens: 100, completionTokens: 50 }) }),
    rec(500, 2000, { session: { id: 'sess-1', path: '/research/analysis', name: 'Trip planner' }, costUsd: 0.02, usage: makeUsage({ promptTokens: 10, completionTokens: 5 }) }),
    rec(1200, 300, { state: 'error', status: 500, error: { kind: 'upstream_status', message: 'boom' }, costUsd: null, usage: null, session: { id: 'sess-1', path: '/write', name: 'Trip planner' } }),
    rec(2600, 0, { kind: 'custom', requestModel: 'vector-search', responseModel: null, costUsd: null, usage: null, ttftMs: null, session: { id: 'sess-1', path: '/research', name: 'Trip planner' } }),
  ];

  it('totals requests, steps, errors, cost (with unknown-cost count), tokens and duration', () => {
    const t = sessionTotals(records, T0 + 10_000);
    assert.equal(t.requests, 3);
    assert.equal(t.customSteps, 1);
    assert.equal(t.errors, 1);
    assert.equal(t.pending, 0);
    assert.ok(Math.abs(t.costUsd - 0.03) < 1e-12);
    assert.equal(t.costUnknown, 0, 'a failed request is not billed and a custom step has no cost: neither is "unknown"');
    assert.equal(sessionTotals([rec(0, 10, { costUsd: null })], T0).costUnknown, 1, 'a successful request without a price is');
    assert.equal(t.promptTokens, 110);
    assert.equal(t.completionTokens, 55);
    assert.equal(t.totalTokens, 165);
    assert.equal(t.durationMs, 2600, 'from the first start to the last end (custom step at +2600)');
  });

  it('extends a pending request to "now"', () => {
    const t = sessionTotals([rec(0, 100), rec(50, null, { state: 'pending', endedAt: null })], T0 + 5000);
    assert.equal(t.pending, 1);
    assert.equal(t.durationMs, 5000);
  });

  it('builds the Helicone-Session-Path tree with counts rolled up', () => {
    const root = buildPathTree(records);
    assert.equal(root.count, 4);
    assert.deepEqual(root.children.map((c) => [c.path, c.count, c.errors]), [['/research', 3, 0], ['/write', 1, 1]]);
    const research = root.children[0];
    assert.deepEqual(research.children.map((c) => [c.name, c.path, c.count]), [['analysis', '/research/analysis', 1]]);
    assert.ok(Math.abs(research.costUsd - 0.03) < 1e-12);
    assert.deepEqual(pathPrefixes('/a//b/'), ['/a', '/a/b']);
    assert.deepEqual(pathPrefixes('/'), []);
  });

  it('matches path prefixes by segment', () => {
    assert.ok(underPath('/research/analysis', '/research'));
    assert.ok(underPath('/research', '/research'));
    assert.ok(!underPath('/researchers', '/research'));
    assert.ok(underPath('/anything', '/'));
  });

  it('lays out the waterfall on one axis: offsets, widths, first-token marks and classes', () => {
    const wf = layoutWaterfall([...records].reverse(), T0 + 10_000);
    assert.equal(wf.t0, T0);
    assert.equal(wf.spanMs, 2600);
    assert.deepEqual(wf.rows.map((r) => r.startMs), [0, 500, 1200, 2600], 'sorted by start');
    const [a, b, c, d] = wf.rows;
    assert.equal(a.leftPct, 0);
    assert.ok(Math.abs(a.widthPct - (1000 / 2600) * 100) < 1e-9);
    assert.ok(Math.abs(b.leftPct - (500 / 2600) * 100) < 1e-9);
    assert.ok(Math.abs(a.ttftPct! - (250 / 2600) * 100) < 1e-9, 'TTFT mark at start + ttft');
    assert.deepEqual(wf.rows.map((r) => r.cls), ['ok', 'ok', 'error', 'custom']);
    assert.equal(d.widthPct, 0.4, 'an instant step stays visible');
    assert.equal(d.ttftPct, null);
    assert.equal(c.label, 'gpt-4o-mini-2024-07-18');
    assert.equal(d.label, 'vector-search');
    for (const r of wf.rows) assert.ok(r.leftPct + r.widthPct <= 100.4 + 1e-9);
    assert.deepEqual(wf.ticks.map((t) => t.label), ['0 s', '0.5 s', '1.0 s', '1.5 s', '2.0 s', '2.5 s']);
  });

  it('ignores a TTFT outside the request (clock skew) and colours pending and cached bars', () => {
    const wf = layoutWaterfall([rec(0, 100, { ttftMs: 500 }), rec(10, null, { state: 'pending', endedAt: null, ttftMs: null })], T0 + 1000);
    assert.equal(wf.rows[0].ttftPct, null);
    assert.equal(wf.rows[1].cls, 'pending');
    assert.equal(wf.rows[1].durationMs, 990);
    assert.equal(barClass(rec(0, 10, { cache: { enabled: true, hit: true, savedUsd: 0.1, bucketMaxSize: 1, seed: null } })), 'cached');
  });

  it('picks 1/2/5 tick steps and survives an empty session', () => {
    assert.equal(tickStep(2600), 500);
    assert.equal(tickStep(60_000), 10_000);
    assert.equal(tickStep(7), 2);
    assert.equal(tickStep(0), 1);
    const empty = layoutWaterfall([], T0);
    assert.deepEqual(empty.rows, []);
    assert.equal(empty.spanMs, 1);
    assert.deepEqual(layoutWaterfall([rec(0, 300)], T0).ticks.map((t) => t.label), ['0 ms', '50 ms', '100 ms', '150 ms', '200 ms', '250 ms', '300 ms']);
    assert.deepEqual(layoutWaterfall([rec(0, 45_000)], T0).ticks.map((t) => t.label), ['0 s', '10 s', '20 s', '30 s', '40 s']);
  });
});

describe('panel titles and status text', () => {
  it('names a request by its model, or by its API path while no model is known', () => {
    assert.equal(requestTitle(rec(0, 10)), 'gpt-4o-mini-2024-07-18 · 200');
    assert.equal(requestTitle(rec(0, null, { state: 'pending', status: null, requestModel: null, responseModel: null, path: '/v1/chat/completions' })), 'chat/completions · pending');
    assert.equal(modelOf(rec(0, 1, { requestModel: null, responseModel: null, path: '/anthropic/v1/messages?beta=true' })), 'messages');
    assert.equal(modelOf(rec(0, 1, { kind: 'custom', requestModel: null, responseModel: null })), 'custom step');
  });
  it('says what went wrong in the status', () => {
    assert.equal(statusText(rec(0, 1, { state: 'error', status: 429, error: { kind: 'upstream_status', message: 'x' } })), '429 · upstream_status');
    assert.equal(statusText(rec(0, 1, { state: 'error', status: null, error: { kind: 'upstream_timeout', message: 'x' } })), 'upstream_timeout');
    assert.equal(statusText(rec(0, 1, { cache: { enabled: true, hit: true, savedUsd: null, bucketMaxSize: 1, seed: null } })), '200 · cache hit');
  });
});
