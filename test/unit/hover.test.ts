// Inline hovers: finding the string under the cursor, the pure hover text, and the in-memory
// index over a real RecordStore priced by the real PriceBook.
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingLogger } from '../../src/core/logger';
import type { LogRecord } from '../../src/core/types';
import { formatCost } from '../../src/core/format';
import { computeMetrics, metricRowFromSummary } from '../../src/metrics/metrics';
import { costFor, PriceBook } from '../../src/pricing/priceBook';
import { defaultSettings } from '../../src/settings/settings';
import { RecordStore } from '../../src/store/recordStore';
import { HoverIndex, type TrafficStats } from '../../src/views/hoverIndex';
import { createHoverEngine } from '../../src/views/hoverEngine';
import { findStringLiteral, modelHoverMarkdown, valueHoverMarkdown } from '../../src/views/hoverText';
import { makeRecord, makeSessionRecord, makeUsage, summaryOf } from '../support/records';

describe('hovers: findStringLiteral', () => {
  const at = (line: string, marker: string): string | undefined => findStringLiteral(line, line.indexOf(marker))?.value;

  it('finds single, double and back-quoted strings around the cursor', () => {
    assert.equal(at(`const m = 'gpt-4o-mini';`, 'gpt'), 'gpt-4o-mini');
    assert.equal(at(`client.create(model="claude-sonnet-4-5", x=1)`, 'sonnet'), 'claude-sonnet-4-5');
    assert.equal(at('headers: { `Helicone-Session-Path`: `/research` }', '/research'), '/research');
    assert.equal(findStringLiteral(`x = 'abc'`, 4)?.value, 'abc', 'on the opening quote');
    assert.equal(findStringLiteral(`x = 'abc'`, 8)?.value, 'abc', 'on the closing quote');
  });

  it('gives nothing outside strings, in comments, or for templates with placeholders', () => {
    assert.equal(at(`const model = 'gpt-4o';`, 'model'), undefined);
    assert.equal(at(`// use 'gpt-4o' here`, 'gpt'), undefined);
    assert.equal(at(`x = 1  # 'gpt-4o'`, 'gpt'), undefined);
    assert.equal(at('const m = `gpt-${size}`;', 'gpt'), undefined);
    assert.equal(at(`const m = 'unterminated`, 'unter'), undefined);
  });

  it('skips earlier strings and handles escaped quotes', () => {
    const line = `f('it\\'s', "gpt-4o")`;
    assert.equal(at(line, 'gpt'), 'gpt-4o');
    assert.equal(findStringLiteral(line, 3)?.value, "it's");
    assert.equal(at(`url = "a#b"; m = 'gpt-4o'`, 'gpt'), 'gpt-4o', 'a # inside a string is not a comment');
  });
});

function stats(partial: { requests: number; latencies: number[]; costs: number[]; prompt: number; completion: number; spend24h: number }): TrafficStats {
  const rows = partial.latencies.map((latencyMs, i) => ({
    createdAt: 0, ok: true, latencyMs, ttftMs: null, costUsd: partial.costs[i], promptTokens: partial.prompt, completionTokens: partial.completion,
    totalTokens: partial.prompt + partial.completion, cacheHit: false, model: 'm', properties: {},
  }));
  return {
    metrics: computeMetrics(rows),
    spend24hUsd: partial.spend24h,
    usage: makeUsage({ promptTokens: partial.prompt * partial.requests, completionTokens: partial.completion * partial.requests }),
    provider: 'openai', firstAt: 0, lastAt: 0,
  };
}

describe('hovers: text', () => {
  const price = { inputPerM: 2.5, cachedInputPerM: 1.25, cacheWritePerM: null, outputPerM: 10, source: 'genai-prices 0.1.8 (openai/gpt-4o)', matchedModel: 'gpt-4o' };

  it('shows the list price per 1M tokens, the dev traffic and cheaper alternatives', () => {
    const s = stats({ requests: 4, latencies: [100, 200, 300, 4000], costs: [0.01, 0.01, 0.01, 0.01], prompt: 1000, completion: 750, spend24h: 0.03 });
    const md = modelHoverMarkdown({
      model: 'gpt-4o', provider: 'openai', price, stats: s, baselineUsd: 0.04, devEnvironment: 'development',
      alternatives: [{ model: 'gpt-4o-mini', price: { ...price, inputPerM: 0.15, outputPerM: 0.6 }, costUsd: 0.0024 }],
    });
    // 4 requests, 1000/750 tokens each, $0.01 per call, p50 = 200 ms, p95 = 4 s (nearest rank), $0.03 in 24 h.
    assert.equal(md, [
      '$(sparkle) **gpt\\-4o** · openai  \n$2.50 input · $1.25 cached input · $10 output per 1M tokens',
      '---',
      '**Your development traffic:** 4 requests · $0.04 in all · $0.03 in the last 24 h  \nAvg 1k in / 750 out tokens · $0.01 per call  \nLatency p50 200 ms · p95 4.0 s',
      '**Same traffic on a cheaper model** (instead of $0.04 at list price)  \ngpt\\-4o\\-mini: $0.0024 (−94 %) · $0.15 / $0.60 per 1M',
      '_genai\\-prices 0\\.1\\.8 \\(openai/gpt\\-4o\\)_',
    ].join('\n\n'));
  });

  it('says when there is no traffic yet, and when there is no price', () => {
    const noTraffic = modelHoverMarkdown({ model: 'gpt-4o', provider: null, price, stats: null, baselineUsd: null, alternatives: [], devEnvironment: 'development' });
    assert.ok(noTraffic.includes('_No development traffic on this model logged yet._'));
    const s = stats({ requests: 1, latencies: [1500], costs: [0], prompt: 10, completion: 5, spend24h: 0 });
    const noPrice = modelHoverMarkdown({ model: 'my-local-llm', provider: 'ollama', price: null, stats: s, baselineUsd: null, alternatives: [], devEnvironment: 'dev' });
    assert.ok(noPrice.includes('_No list price known._'));
    assert.ok(noPrice.includes('1 request · $0 in all · $0 in the last 24 h  \nAvg 10 in / 5 out tokens · $0 per call  \nLatency p50 1.5 s · p95 1.5 s'), noPrice);
    assert.ok(!noPrice.includes('genai'));
  });

  it('describes property values, session names and paths, escaping them', () => {
    const s = stats({ requests: 2, latencies: [100, 300], costs: [0.5, 0.25], prompt: 100, completion: 10, spend24h: 0.75 });
    const md = valueHoverMarkdown('prod*', [{ kind: 'property', name: 'Environment', stats: s }, { kind: 'sessionPath', name: '/prod*', stats: s }]);
    assert.ok(md.includes('$(tag) Requests with property **Environment** = prod\\*  \n2 requests · $0.75 in all · $0.75 in the last 24 h'), md);
    assert.ok(md.includes('$(tag) Requests with session path **/prod\\***'), md);
    assert.ok(md.includes('Avg 100 in / 10 out tokens · $0.375 per call  \nLatency p50 100 ms · p95 300 ms'), md);
  });
});

describe('hovers: index and engine over a real store', () => {
  let dir: string;
  let store: RecordStore;
  let index: HoverIndex;
  const now = Date.now();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lens-hover-'));
    store = await RecordStore.open({ dataDir: dir, logger: new RecordingLogger() });
    index = new HoverIndex({ store, now: () => now });
  });
  afterEach(async () => {
    index.dispose();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const add = async (...rs: LogRecord[]): Promise<void> => { for (const r of rs) await store.complete(r); };

  it('counts only dev (or untagged) traffic for a model, with 24 h spend', async () => {
    await add(
      makeRecord({ requestModel: 'gpt-4o', responseModel: 'gpt-4o-2024-08-06', costUsd: 0.02, latencyMs: 100, startedAt: now - 1000 }),
      makeRecord({ requestModel: 'gpt-4o', responseModel: null, costUsd: 0.04, latencyMs: 300, properties: { Environment: 'development' }, startedAt: now - 2 * 86_400_000 }),
      makeRecord({ requestModel: 'gpt-4o', responseModel: null, costUsd: 1, properties: { environment: 'production' }, startedAt: now - 1000 }),
    );
    const s = index.modelStats('gpt-4o')!;
    assert.equal(s.metrics.requests, 2, 'production traffic is not dev traffic');
    assert.equal(s.metrics.costTotal, 0.06);
    assert.equal(s.spend24hUsd, 0.02);
    assert.equal(s.metrics.latency.p50, 100);
    assert.equal(s.provider, 'openai');
    assert.equal(index.modelStats('gpt-4o-2024-08-06')!.metrics.requests, 1, 'the answering model is indexed too');
    assert.equal(index.modelStats('never-seen'), null);
  });

  it('indexes property values, session names and session paths (a path includes the paths below it)', async () => {
    await add(
      makeSessionRecord('s1', { session: { id: 's1', path: '/research', name: 'Trip' }, properties: { Feature: 'search' } }),
      makeSessionRecord('s1', { session: { id: 's1', path: '/research/analysis', name: 'Trip' } }),
      makeSessionRecord('s2', { session: { id: 's2', path: '/writing', name: 'Other' }, properties: { Team: 'search' } }),
    );
    assert.deepEqual(index.valueStats('search').map((m) => [m.kind, m.name, m.stats.metrics.requests]), [['property', 'Feature', 1], ['property', 'Team', 1]]);
    assert.deepEqual(index.valueStats('Trip').map((m) => [m.kind, m.stats.metrics.requests]), [['sessionName', 2]]);
    assert.deepEqual(index.valueStats('/research').map((m) => [m.kind, m.stats.metrics.requests]), [['sessionPath', 2]]);
    assert.deepEqual(index.valueStats('/research/analysis/').map((m) => m.stats.metrics.requests), [1]);
    assert.deepEqual(index.valueStats('nothing'), []);
  });

  it('follows updates, deletes and pending requests without a rebuild', async () => {
    const r = makeRecord({ requestModel: 'gpt-4o', responseModel: null });
    store.begin({ ...summaryOf(r), state: 'pending' });
    assert.equal(index.modelStats('gpt-4o'), null, 'in-flight requests have no outcome yet');
    await store.complete(r);
    assert.equal(index.modelStats('gpt-4o')!.metrics.requests, 1);
    await store.delete([r.id]);
    assert.equal(index.modelStats('gpt-4o'), null);
  });

  it('builds from a loaded log, and the engine prices alternatives with the same usage', async () => {
    await add(...Array.from({ length: 10 }, () => makeRecord({ requestModel: 'gpt-4o', responseModel: null, usage: makeUsage({ promptTokens: 1000, completionTokens: 200 }) })));
    const fresh = new HoverIndex({ store, now: () => now });
    assert.equal(fresh.modelStats('gpt-4o'), null);
    await fresh.rebuild();
    assert.equal(fresh.ready, true);
    assert.equal(fresh.modelStats('gpt-4o')!.metrics.requests, 10);
    const book = new PriceBook();
    const engine = createHoverEngine({ priceBook: book, settings: { current: () => defaultSettings(), onDidChange: () => ({ dispose() {} }), changed: () => false } }, fresh);
    const md = engine.markdownFor('gpt-4o')!;
    assert.ok(md.includes('$2.50 input · $1.25 cached input · $10 output per 1M tokens'), md);
    const usage = fresh.modelStats('gpt-4o')!.usage;
    assert.equal(usage.promptTokens, 10_000);
    const baseline = costFor(book.listPrice('gpt-4o')!, usage).totalUsd;
    const cheapest = book.cheaperAlternatives('gpt-4o', 'openai', 100).at(-1)!;
    const alt = costFor(cheapest.price, usage).totalUsd;
    assert.ok(md.includes(`(instead of ${formatCost(baseline)} at list price)`), md);
    assert.ok(md.includes(`: ${formatCost(alt)} (−`), md);
    assert.ok(md.includes(cheapest.model.replace(/[-.]/g, (c) => `\\${c}`)), `${cheapest.model} in ${md}`);
    assert.ok(alt < baseline);
    assert.equal(engine.markdownFor('hello world'), undefined, 'prose is not a model');
    assert.equal(engine.markdownFor('x'), undefined);
    fresh.dispose();
  });

  it('keeps running aggregates equal to computeMetrics over the same rows, through adds and deletes', async () => {
    const rs = Array.from({ length: 40 }, (_, i) => makeRecord({
      requestModel: 'gpt-4o', responseModel: null, latencyMs: (i * 37) % 23 * 100, ttftMs: i % 3 ? 50 * i : null,
      costUsd: i % 7 ? 0.001 * i : null, state: i % 11 ? 'ok' : 'error', status: i % 11 ? 200 : 502,
      cache: i % 9 ? null : { enabled: true, hit: true, savedUsd: 0.01, bucketMaxSize: 1, seed: null },
      usage: makeUsage({ promptTokens: 100 + i, completionTokens: i }),
    }));
    await add(...rs.slice(0, 30));
    const fresh = new HoverIndex({ store, now: () => now });
    fresh.rebuildNow(); // bulk path (sorted on first read) ...
    await add(...rs.slice(30)); // ... then live inserts into sorted arrays
    await store.delete([rs[3].id, rs[31].id, rs[12].id]);
    const kept = rs.filter((r) => ![rs[3].id, rs[31].id, rs[12].id].includes(r.id));
    const expected = computeMetrics(kept.map((r) => metricRowFromSummary(summaryOf(r))));
    for (const idx of [index, fresh]) {
      const m = idx.modelStats('gpt-4o')!.metrics;
      const { costTotal, costPerRequest, latency, ...rest } = m;
      const { costTotal: eCost, costPerRequest: ePer, latency: eLat, ...eRest } = expected;
      assert.deepEqual(rest, eRest);
      assert.ok(Math.abs(costTotal - eCost) < 1e-12 && Math.abs((costPerRequest ?? 0) - (ePer ?? 0)) < 1e-12);
      assert.deepEqual({ ...latency, avg: Math.round(latency.avg!) }, { ...eLat, avg: Math.round(eLat.avg!) });
    }
    fresh.dispose();
    const hit = index.modelStats('gpt-4o')!.usage.promptTokens;
    assert.equal(hit, kept.filter((r) => !r.cache?.hit).reduce((a, r) => a + r.usage!.promptTokens, 0), 'cache hits are not re-costed on other models');
  });
});
