// Benchmark: opening the Sessions view and hovering over a model id with 100,000 stored requests.
// Run: npx tsx test/perf/treeOpen.ts [--records 100000] [--json]
// Targets (issue 4): the view opens in < 200 ms, a hover answers in < 20 ms.
//
// It fills a real RecordStore on disk, reopens it (as VS Code does at activation), then times what
// the tree does when the view first shows: the root's children and the items on screen, then
// expanding the first session; and what a hover does, cold (first after load) and warm.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { nullLogger } from '../../src/core/logger';
import type { LogRecord } from '../../src/core/types';
import { PriceBook } from '../../src/pricing/priceBook';
import { defaultSettings } from '../../src/settings/settings';
import { RecordStore } from '../../src/store/recordStore';
import { createHoverEngine } from '../../src/views/hoverEngine';
import { HoverIndex } from '../../src/views/hoverIndex';
import { SessionTreeModel } from '../../src/views/sessionTreeModel';

const args = process.argv.slice(2);
const N = Number(args[args.indexOf('--records') + 1]) || 100_000;
const asJson = args.includes('--json');

const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-5', 'gpt-4.1-nano', 'claude-haiku-4-5'];
const PATHS = ['/', '/research', '/research/analysis', '/writing', '/writing/review'];

function record(i: number, t0: number): LogRecord {
  const startedAt = t0 + i * 1000;
  const model = MODELS[i % MODELS.length];
  const inSession = i % 10 < 3;
  const sessionNo = Math.floor(i / 10);
  const prompt = 200 + (i % 500);
  const completion = 50 + (i % 200);
  const latency = 300 + ((i * 7919) % 4000);
  const ok = i % 37 !== 0;
  return {
    id: randomUUID(), kind: 'llm', state: ok ? 'ok' : 'error', startedAt, firstByteAt: startedAt + 150, endedAt: startedAt + latency,
    latencyMs: latency, ttftMs: 150, provider: model.startsWith('claude') ? 'anthropic' : 'openai',
    targetUrl: 'https://api.openai.com/v1/chat/completions', method: 'POST', path: '/v1/chat/completions',
    requestModel: model, responseModel: model, status: ok ? 200 : 500, error: ok ? null : { kind: 'upstream_status', message: 'HTTP 500' },
    streamed: i % 2 === 0,
    usage: { promptTokens: prompt, completionTokens: completion, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, totalTokens: prompt + completion, estimated: false },
    costUsd: ok ? (prompt * 0.15 + completion * 0.6) / 1e6 : null, cost: null, price: null,
    properties: { Environment: i % 4 === 0 ? 'production' : 'development', Feature: `feature-${i % 20}` },
    userId: `user-${i % 50}`,
    session: inSession ? { id: `session-${sessionNo}`, path: PATHS[i % PATHS.length], name: `Agent run ${sessionNo}` } : null,
    cache: null, omitRequest: false, omitResponse: false, requestHeaders: { 'content-type': 'application/json' }, responseHeaders: {},
    requestBytes: 120, responseBytes: 300, warnings: [],
    bodies: {
      request: { kind: 'json', json: { model, messages: [{ role: 'user', content: `question ${i}` }] }, size: 120, truncated: false },
      response: { kind: 'json', json: { choices: [{ message: { role: 'assistant', content: `answer ${i}` } }] }, size: 300, truncated: false },
      streamEvents: null, reassembled: null,
    },
  };
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lens-perf-tree-'));
  try {
    const fillStart = performance.now();
    const writer = await RecordStore.open({ dataDir: dir, logger: nullLogger, retentionDays: 0, retentionMb: 0 });
    const t0 = Date.now() - N * 1000;
    const BATCH = 2000;
    for (let i = 0; i < N; i += BATCH) {
      await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => writer.complete(record(i + j, t0))));
    }
    await writer.close();
    const fillMs = performance.now() - fillStart;

    // What activation does: construct, then load in the background.
    const store = new RecordStore({ dataDir: dir, logger: nullLogger, retentionDays: 0, retentionMb: 0 });
    const load = performance.now();
    await store.load();
    const loadMs = performance.now() - load;

    // Opening the view: root children + the tree items of the first page, then expanding the first session.
    const model = new SessionTreeModel({ store });
    const open = time(() => {
      const root = model.getChildren();
      for (const n of root) model.getItem(n);
      return root;
    });
    const firstSession = open.value.find((n) => n.kind === 'session')!;
    const expand = time(() => { const c = model.getChildren(firstSession); for (const n of c) model.getItem(n); return c.length; });
    const reopen = time(() => { const root = model.getChildren(); for (const n of root) model.getItem(n); return root.length; });
    const filtered = time(() => { model.setFilter({ model: 'gpt-4o', status: 'error' }); const root = model.getChildren(); for (const n of root) model.getItem(n); return model.matchCount(); });
    const filteredEnv = time(() => { model.setFilter({ environment: 'development', text: 'agent run 99' }); const root = model.getChildren(); for (const n of root) model.getItem(n); return model.matchCount(); });
    model.setFilter(null);

    // A live update: one new request arrives; the model refreshes and the tree re-reads the root.
    let refreshed = 0;
    model.onDidChange(() => refreshed++);
    // Measured from the store's change event (the proxy calls complete() when the response ends)
    // to the tree having re-read its root, with the model's real coalescing delay.
    let liveStart = 0;
    const sub = store.onDidChange(() => { liveStart ||= performance.now(); });
    const refreshedAt = new Promise<number>((resolve) => { const d = model.onDidChange(() => { d.dispose(); resolve(performance.now()); }); });
    const written = store.complete(record(N, t0));
    await refreshedAt;
    const live = time(() => { const root = model.getChildren(); for (const n of root) model.getItem(n); return root.length; });
    const liveMs = performance.now() - liveStart;
    sub.dispose();
    await written;

    // Hovers.
    const index = new HoverIndex({ store });
    const build = time(() => index.rebuildNow());
    const book = new PriceBook();
    const settings = { current: () => defaultSettings(), onDidChange: () => ({ dispose() {} }), changed: () => false };
    const engine = createHoverEngine({ priceBook: book, settings }, index);
    // The extension preloads the price table after activation; time that apart from the hover.
    const preload = time(() => book.preload());
    const cold = time(() => engine.markdownFor('gpt-4o-mini'));
    const warm: number[] = [];
    const perValue = new Map<string, number>();
    const values = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-5', 'feature-3', 'Agent run 42', '/research', 'not-a-model-or-value'];
    for (let i = 0; i < 700; i++) {
      const v = values[i % values.length];
      const ms = time(() => engine.markdownFor(v)).ms;
      warm.push(ms);
      perValue.set(v, Math.max(perValue.get(v) ?? 0, ms));
    }
    // After a change to its bucket, the next hover recomputes percentiles once.
    await store.complete(record(N + 1, t0));
    const afterChange = time(() => engine.markdownFor('gpt-4o-mini'));
    warm.sort((a, b) => a - b);

    const result = {
      records: store.count(),
      sessions: store.sessions().length,
      fillMs: Math.round(fillMs),
      storeLoadMs: Math.round(loadMs),
      treeOpenMs: +open.ms.toFixed(1),
      treeRootItems: open.value.length,
      expandFirstSessionMs: +expand.ms.toFixed(1),
      treeReopenMs: +reopen.ms.toFixed(1),
      filterModelStatusMs: +filtered.ms.toFixed(1),
      filterModelStatusMatches: filtered.value,
      filterEnvTextMs: +filteredEnv.ms.toFixed(1),
      filterEnvTextMatches: filteredEnv.value,
      liveNewRequestMs: +liveMs.toFixed(1),
      liveRootReadMs: +live.ms.toFixed(1),
      liveRefreshEvents: refreshed,
      hoverIndexBuildMs: Math.round(build.ms),
      priceTablePreloadMs: Math.round(preload.ms),
      hoverColdMs: +cold.ms.toFixed(1),
      hoverWarmP50Ms: +pct(warm, 50).toFixed(2),
      hoverWarmP95Ms: +pct(warm, 95).toFixed(2),
      hoverWarmMaxMs: +warm[warm.length - 1].toFixed(2),
      hoverAfterChangeMs: +afterChange.ms.toFixed(1),
      hoverMaxByValueMs: Object.fromEntries([...perValue].map(([k, v]) => [k, +v.toFixed(1)])),
      targets: { treeOpenMs: 200, hoverMs: 20 },
    };
    if (asJson) console.log(JSON.stringify(result));
    else {
      console.log(`tree/hover benchmark over ${result.records.toLocaleString('en-US')} stored requests (${result.sessions.toLocaleString('en-US')} sessions)`);
      for (const [k, v] of Object.entries(result)) if (k !== 'targets') console.log(`  ${k.padEnd(26)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
      const ok = result.treeOpenMs < 200 && result.hoverColdMs < 20 && result.hoverWarmP95Ms < 20;
      console.log(ok ? 'PASS: view opens < 200 ms, hovers < 20 ms' : 'FAIL: a target was missed');
      process.exitCode = ok ? 0 : 1;
    }
    index.dispose();
    model.dispose();
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
