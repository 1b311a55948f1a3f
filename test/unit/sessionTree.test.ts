// The session explorer's model against a real RecordStore in a temp dir: structure, paging,
// filters, item text and which nodes a store change refreshes.
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingLogger } from '../../src/core/logger';
import type { LogRecord } from '../../src/core/types';
import { RecordStore } from '../../src/store/recordStore';
import { describeFilter, SessionTreeModel, type TreeNode } from '../../src/views/sessionTreeModel';
import { makeRecord, makeSessionRecord, makeUsage, summaryOf } from '../support/records';

const HOUR = 3_600_000;

describe('session tree model', () => {
  let dir: string;
  let store: RecordStore;
  let model: SessionTreeModel;
  let now: number;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lens-tree-'));
    store = await RecordStore.open({ dataDir: dir, logger: new RecordingLogger() });
    now = Date.now();
    model = new SessionTreeModel({ store, requestPageSize: 100, sessionPageSize: 3, coalesceMs: 10, now: () => now });
  });

  afterEach(async () => {
    model.dispose();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function add(...records: LogRecord[]): Promise<void> {
    for (const r of records) assert.equal(await store.complete(r), true);
  }

  const labels = (nodes: TreeNode[]): string[] => nodes.map((n) => model.getItem(n).label);
  const descriptions = (nodes: TreeNode[]): string[] => nodes.map((n) => model.getItem(n).description);

  /** The model's next change event (it coalesces, so this is one batch of store changes). */
  function nextChange(): Promise<TreeNode[] | undefined> {
    return new Promise((resolve) => { const d = model.onDidChange((e) => { d.dispose(); resolve(e); }); });
  }

  it('is empty for an empty store', () => {
    assert.deepEqual(model.getChildren(), []);
  });

  it('lists sessions (newest activity first) before requests outside any session (newest first)', async () => {
    const t = now - 10 * 60_000;
    await add(
      makeRecord({ startedAt: t, requestModel: 'gpt-4o-mini', responseModel: null }),
      makeSessionRecord('s-old', { startedAt: t + 1000, session: { id: 's-old', path: '/', name: 'Old session' } }),
      makeRecord({ startedAt: t + 2000, requestModel: 'claude-sonnet-4', responseModel: null, provider: 'anthropic' }),
      makeSessionRecord('s-new', { startedAt: t + 3000, session: { id: 's-new', path: '/', name: null } }),
    );
    const root = model.getChildren();
    assert.deepEqual(labels(root), ['s-new', 'Old session', 'claude-sonnet-4', 'gpt-4o-mini'], 'a session without a name shows its id');
    assert.deepEqual(root.map((n) => n.kind), ['session', 'session', 'request', 'request']);
    assert.match(descriptions(root)[0], /^1 req · \$[\d.]+ · 420 ms$/);
    assert.match(descriptions(root)[2], /^420 ms · \$[\d.]+ · 9m ago$/);
  });

  it('nests the Helicone-Session-Path hierarchy as folders, requests in call order, with aggregates', async () => {
    const t = now - HOUR;
    const s = (p: string, i: number, extra: Partial<LogRecord> = {}): LogRecord =>
      makeSessionRecord('trip', { startedAt: t + i * 1000, session: { id: 'trip', path: p, name: 'Trip planner' }, costUsd: 0.01, ...extra });
    await add(
      s('/', 0, { requestModel: 'planner', responseModel: null }),
      s('/research', 1, { requestModel: 'r1', responseModel: null }),
      s('/research/analysis', 2, { requestModel: 'a1', responseModel: null }),
      s('/research', 3, { requestModel: 'r2', responseModel: null, state: 'error', status: 500, costUsd: null }),
      s('/writing/', 4, { requestModel: 'w1', responseModel: null }),
    );
    const [session] = model.getChildren();
    assert.equal(model.getItem(session).label, 'Trip planner');
    assert.match(model.getItem(session).description, /^5 req · \$0\.04\+ · 4\.4 s$/, '+ marks a failed request with unknown cost');
    const top = model.getChildren(session);
    assert.deepEqual(labels(top), ['research', 'writing', 'planner'], 'folders first (in order of first call), then requests');
    const research = top[0];
    assert.equal(model.getItem(research).description, '3 req · $0.02+', 'a folder counts everything below it');
    assert.equal(model.getItem(research).icon.color, 'list.errorForeground');
    const inResearch = model.getChildren(research);
    assert.deepEqual(labels(inResearch), ['analysis', 'r1', 'r2']);
    assert.deepEqual(labels(model.getChildren(inResearch[0])), ['a1']);
    assert.deepEqual(labels(model.getChildren(top[1])), ['w1'], 'a trailing slash is the same path');
    assert.equal(model.getParent(inResearch[1]), research);
    assert.equal(model.getParent(research), session);
    const errorItem = model.getItem(inResearch[2]);
    assert.match(errorItem.description, /^500 · 420 ms · 59m ago$/, 'no cost for a failed call without one');
    assert.equal(errorItem.icon.id, 'error');
    assert.equal(errorItem.contextValue, 'llmLens.request.error.inSession');
    // Reveal: the chain from the top to a deep request is the nodes the tree already shows.
    const chain = model.pathToRequest(model.getChildren(inResearch[0])[0].kind === 'request' ? (model.getChildren(inResearch[0])[0] as { requestId: string }).requestId : '');
    assert.deepEqual(chain?.map((n) => n.id), [session.id, research.id, inResearch[0].id, model.getChildren(inResearch[0])[0].id]);
  });

  it('pages long lists with a "Load more…" node, keeping node identity across refreshes', async () => {
    const t = now - HOUR;
    const loose = Array.from({ length: 250 }, (_, i) => makeRecord({ startedAt: t + i * 1000 }));
    const sessions = Array.from({ length: 5 }, (_, i) => makeSessionRecord(`s${i}`, { startedAt: t + 300_000 + i * 1000, session: { id: `s${i}`, path: '/', name: `S${i}` } }));
    await add(...loose, ...sessions);
    let root = model.getChildren();
    assert.deepEqual(labels(root.slice(0, 4)), ['S4', 'S3', 'S2', 'Load more…'], 'sessions page size is 3 in this test');
    assert.equal(model.getItem(root[3]).description, '2 more sessions');
    assert.equal(root.length, 3 + 1 + 100 + 1);
    const more = root[root.length - 1];
    assert.equal(more.kind, 'loadMore');
    assert.equal(model.getItem(more).description, '150 more requests');
    assert.equal(model.getItem(more).command?.command, 'llmLens.loadMore');
    const firstRequest = root[4];
    const changed = nextChange();
    if (more.kind === 'loadMore') model.loadMore(more);
    assert.equal(await changed, undefined, 'loading more at the top level refreshes the root');
    root = model.getChildren();
    assert.equal(root.length, 3 + 1 + 200 + 1);
    assert.equal(root[4], firstRequest, 'same node object for the same request');
    assert.equal(model.getItem(root[root.length - 1]).description, '50 more requests');
    assert.equal(new Set(root.map((n) => n.id)).size, root.length, 'ids are unique');
  });

  it('filters by model, status, user, property, environment and text, keeping session structure', async () => {
    const t = now - HOUR;
    await add(
      makeRecord({ startedAt: t, requestModel: 'gpt-4o', responseModel: null, properties: { environment: 'production' } }),
      makeRecord({ startedAt: t + 1000, requestModel: 'gpt-4o-mini', responseModel: null, userId: 'alice' }),
      makeRecord({ startedAt: t + 2000, requestModel: 'gpt-4o', responseModel: null, state: 'error', status: 429, properties: { Feature: 'search' } }),
      makeSessionRecord('s1', { startedAt: t + 3000, requestModel: 'gpt-4o', responseModel: null, session: { id: 's1', path: '/a', name: 'Agent run' } }),
      makeSessionRecord('s1', { startedAt: t + 4000, requestModel: 'gpt-4o-mini', responseModel: null, session: { id: 's1', path: '/b', name: 'Agent run' } }),
      makeRecord({ startedAt: t + 5000, requestModel: 'gpt-4o-mini', responseModel: null, cache: { enabled: true, hit: true, savedUsd: 0.001, bucketMaxSize: 1, seed: null } }),
    );
    const rootFor = (f: Parameters<SessionTreeModel['setFilter']>[0]): string[] => { model.setFilter(f); return labels(model.getChildren()); };

    assert.deepEqual(rootFor({ model: 'gpt-4o' }), ['Agent run', 'gpt-4o', 'gpt-4o']);
    const [session] = model.getChildren();
    assert.match(model.getItem(session).description, /^1 of 2 req · /);
    assert.deepEqual(labels(model.getChildren(session)), ['a'], 'only the folder holding a match');
    assert.equal(model.matchCount(), 3);

    assert.deepEqual(rootFor({ status: 'error' }), ['gpt-4o']);
    assert.deepEqual(rootFor({ status: 'cached' }), ['gpt-4o-mini']);
    assert.deepEqual(rootFor({ userId: 'alice' }), ['gpt-4o-mini']);
    assert.deepEqual(rootFor({ properties: { Feature: 'search' } }), ['gpt-4o']);
    assert.deepEqual(rootFor({ environment: 'production' }), ['gpt-4o'], 'property names match in any case (fetch SDKs send lower-case headers)');
    assert.deepEqual(rootFor({ properties: { feature: 'search' } }), ['gpt-4o']);
    assert.deepEqual(rootFor({ environment: 'development' }), ['Agent run', 'gpt-4o-mini', 'gpt-4o', 'gpt-4o-mini'], 'the dev environment also matches untagged requests');
    assert.deepEqual(rootFor({ text: 'AGENT' }), ['Agent run'], 'text matches the session name, case-insensitively');
    assert.deepEqual(rootFor({ model: 'nothing-like-this' }), []);
    assert.equal(model.matchCount(), 0);
    assert.equal(rootFor(null).length, 5);
    assert.equal(model.getFilter(), null);
    assert.equal(rootFor({}).length, 5, 'an empty filter is no filter');
    assert.equal(describeFilter({ environment: 'production', model: 'gpt-4o', status: 'error', text: 'retry', properties: { Feature: 'x' } }),
      'Environment: production · Feature: x · model: gpt-4o · status: error · "retry"');
  });

  it('keeps a filtered tree current from store changes without rescanning', async () => {
    await add(makeRecord({ startedAt: now - 5000, requestModel: 'gpt-4o', responseModel: null }));
    model.setFilter({ status: 'pending' });
    assert.deepEqual(model.getChildren(), []);
    let events = 0;
    const d = model.onDidChange(() => events++);
    await add(makeRecord({ startedAt: now - 4000 }));
    model.flush();
    assert.equal(events, 0, 'a change that does not match a filtered tree refreshes nothing');
    const rec = makeSessionRecord('s', { startedAt: now - 3000, session: { id: 's', path: '/deep/er', name: 'Live' } });
    store.begin({ ...summaryOf(rec), state: 'pending' });
    model.flush();
    assert.equal(events, 1);
    const [session] = model.getChildren();
    assert.equal(model.getItem(session).label, 'Live');
    assert.deepEqual(labels(model.getChildren(model.getChildren(session)[0])), ['er']);
    assert.equal(model.matchCount(), 1);
    await store.complete(rec);
    model.flush();
    assert.equal(events, 2, 'it stops matching: the tree refreshes and it is gone');
    assert.deepEqual(model.getChildren(), []);
    assert.equal(model.matchCount(), 0);
    d.dispose();
  });

  it('shows a pending request with a spinner, then its outcome, refreshing only that node', async () => {
    const rec = makeRecord({ startedAt: now - 1000 });
    const pendingSummary = { ...summaryOf(rec), state: 'pending' as const, firstByteAt: null, endedAt: null, latencyMs: null, usage: null, costUsd: null, status: null };
    let change = nextChange();
    store.begin(pendingSummary);
    assert.equal(await change, undefined, 'a new request at the top level refreshes the root');
    const [node] = model.getChildren();
    assert.equal(model.getItem(node).icon.id, 'loading~spin');
    assert.match(model.getItem(node).description, /^waiting… · just now$/);
    change = nextChange();
    await store.complete(rec);
    assert.deepEqual(await change, [node], 'finishing it refreshes that node only');
    assert.equal(model.getItem(node).icon.id, 'pass');
  });

  it('refreshes only the session node for activity in the first session, the root otherwise', async () => {
    const t = now - 60_000;
    await add(
      makeSessionRecord('a', { startedAt: t, session: { id: 'a', path: '/', name: 'A' } }),
      makeSessionRecord('b', { startedAt: t + 1000, session: { id: 'b', path: '/', name: 'B' } }),
    );
    model.flush(); // the refresh for the setup above
    const root = model.getChildren();
    assert.deepEqual(labels(root), ['B', 'A']);
    let change = nextChange();
    await add(makeSessionRecord('b', { startedAt: t + 2000, session: { id: 'b', path: '/x', name: 'B' } }));
    assert.deepEqual(await change, [root[0]], 'B is already first: only B refreshes');
    assert.deepEqual(labels(model.getChildren(root[0])), ['x', 'gpt-4o-mini-2024-07-18']);
    change = nextChange();
    await add(makeSessionRecord('a', { startedAt: t + 3000, session: { id: 'a', path: '/', name: 'A' } }));
    assert.equal(await change, undefined, 'A moves to the top: the root refreshes');
    assert.deepEqual(labels(model.getChildren()), ['A', 'B']);
  });

  it('coalesces a burst of changes into one refresh', async () => {
    let events = 0;
    const d = model.onDidChange(() => events++);
    const change = nextChange();
    await Promise.all(Array.from({ length: 50 }, () => store.complete(makeRecord())));
    await change;
    await new Promise((r) => setTimeout(r, 30));
    d.dispose();
    assert.equal(events, 1);
  });

  it('describes requests with usage, properties and ids in the tooltip, escaping what came from the request', async () => {
    const rec = makeRecord({
      startedAt: now - 5000, streamed: true, ttftMs: 150, userId: 'bob_*',
      usage: makeUsage({ promptTokens: 1200, completionTokens: 300, cacheReadTokens: 1000, reasoningTokens: 100 }),
      properties: { Feature: '<img src=x onerror=alert(1)>' },
    });
    await add(rec);
    const node = model.getChildren()[0];
    const item = { ...model.getItem(node), tooltip: model.getTooltip(node) };
    assert.match(item.tooltip, /Tokens 1,200 in \(1,000 cached\) · 300 out \(100 reasoning\)/);
    assert.match(item.tooltip, /TTFT 150 ms · streamed/);
    assert.ok(item.tooltip.includes('Feature = \\<img src=x onerror=alert\\(1\\)\\>'), item.tooltip);
    assert.ok(item.tooltip.includes('User: bob\\_\\*'));
    assert.ok(item.tooltip.includes(`Id: \`${rec.id}\``));
    assert.equal(item.command?.command, 'llmLens.openRequest');
    assert.deepEqual(item.command?.arguments, [rec.id]);
    assert.equal(item.contextValue, 'llmLens.request.ok');
  });

  it('drops deleted requests and rebuilds after a clear', async () => {
    const a = makeRecord({ startedAt: now - 2000 });
    const b = makeRecord({ startedAt: now - 1000 });
    await add(a, b);
    assert.equal(model.getChildren().length, 2);
    let change = nextChange();
    await store.delete([a.id]);
    assert.equal(await change, undefined);
    assert.deepEqual(model.getChildren().map((n) => (n.kind === 'request' ? n.requestId : '')), [b.id]);
    change = nextChange();
    await store.clear();
    await change;
    assert.deepEqual(model.getChildren(), []);
  });
});
