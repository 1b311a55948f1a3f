// The comparison end to end below the UI: the real HeliconeQueryClient against a fake Helicone on
// loopback and against LLM Lens's own query API (createQueryApi over a real RecordStore), the local
// store as the development source, schedulers on a fake clock.
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ComparisonEngine } from '../../src/compare/comparison';
import type { ComparisonConfig, ComparisonSnapshot, RemoteSourceConfig } from '../../src/compare/comparison';
import type { AlertTransition } from '../../src/compare/alerts';
import { comparisonBarView } from '../../src/compare/statusView';
import { buildCompareView } from '../../src/compare/view';
import { RecordingLogger } from '../../src/core/logger';
import { computeMetrics } from '../../src/metrics/metrics';
import { HeliconeQueryClient } from '../../src/query/client';
import { createQueryApi } from '../../src/query/apiServer';
import { DEFAULT_ALERTS } from '../../src/settings/settings';
import { RecordStore } from '../../src/store/recordStore';
import { startFakeHelicone } from '../support/fakeHelicone';
import type { FakeHelicone, FakeRow } from '../support/fakeHelicone';
import { FakeClock } from '../support/fakeClock';
import { makeRecord } from '../support/records';

const KEY = 'sk-helicone-test-key';
const MIN = 60_000;
const DAY = 86_400_000;

async function waitFor<T>(fn: () => T | null | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A production/staging fixture row at `t` with the given outcome, cost and latency. */
function fakeRow(id: string, env: string, t: number, over: Partial<FakeRow> = {}): FakeRow {
  return {
    request_id: id, request_created_at: new Date(t).toISOString(), response_status: 200, properties: { Environment: env }, request_properties: { Environment: env },
    request_model: 'gpt-4o', model: 'gpt-4o', delay_ms: 1000, time_to_first_token: 200, prompt_tokens: 100, completion_tokens: 50, total_tokens: 150,
    cost: 0.004, cache_reference_id: '00000000-0000-0000-0000-000000000000', cache_enabled: false, ...over,
  };
}

describe('compare: engine over real query clients', function () {
  this.timeout(20_000);
  let dir: string;
  let store: RecordStore;
  let helicone: FakeHelicone;
  let clock: FakeClock;
  let logger: RecordingLogger;
  let engine: ComparisonEngine | null;
  const servers: Server[] = [];
  const clients: HeliconeQueryClient[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lens-compare-'));
    logger = new RecordingLogger();
    store = await RecordStore.open({ dataDir: path.join(dir, 'local'), logger, retentionDays: 0 });
    clock = new FakeClock(Date.UTC(2025, 0, 31, 12, 0, 0));
    helicone = await startFakeHelicone({ apiKey: KEY });
    engine = null;
  });

  afterEach(async () => {
    engine?.dispose();
    // The engine closes its clients on dispose; closing again is harmless but rejects.
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
    await helicone.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function makeEngine(sources: RemoteSourceConfig[], over: Partial<ComparisonConfig> = {}, opts: { rowCap?: number } = {}): ComparisonEngine {
    engine = new ComparisonEngine({
      store,
      logger,
      clock,
      rowCap: opts.rowCap,
      createClient: (s) => {
        const c = new HeliconeQueryClient({ baseUrl: s.baseUrl, apiKey: s.apiKey, logger, maxRetries: 0, timeoutMs: 5000 });
        clients.push(c);
        return c;
      },
    });
    engine.configure({
      environmentProperty: 'Environment', devEnvironment: 'development', compareEnvironments: ['staging', 'production'],
      refreshMinutes: 5, alerts: DEFAULT_ALERTS.map((a) => ({ ...a })), sources, ...over,
    });
    return engine;
  }
  const heliconeSource = (apiKey: string | null = KEY): RemoteSourceConfig => ({ name: 'helicone', baseUrl: helicone.url, apiKey: apiKey ?? undefined, keyRequired: true });
  const settled = (e: ComparisonEngine, name = 'helicone'): Promise<ComparisonSnapshot> =>
    waitFor(() => { const s = e.snapshot; const src = s?.sources.find((x) => x.name === name); return s && src && !src.refreshing && src.status !== 'idle' && src.status !== 'loading' ? s : null; }, `${name} to settle`);
  const env = (s: ComparisonSnapshot, name: string) => s.environments.find((e) => e.name === name)!;
  /** Moves the fake clock in steps, letting each refresh's real HTTP round trip finish before the next step. */
  async function advance(e: ComparisonEngine, ms: number, stepMs = 15_000): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      await clock.advance(Math.min(stepMs, ms - done));
      await waitFor(() => e.snapshot && !e.snapshot.sources.some((x) => x.refreshing), 'refreshes to finish');
    }
  }
  const firstPages = (): unknown[] => helicone.requests.filter((r) => (r.body as { offset?: number }).offset === 0).map((r) => r.body);

  it('computes metrics per environment from Helicone rows and the local store', async () => {
    const now = clock.now();
    // production: 4 requests, one 500, costs 0.004 each, latencies 1..4 s
    helicone.rows = [
      fakeRow('p1', 'production', now - 1 * MIN, { delay_ms: 1000 }),
      fakeRow('p2', 'production', now - 2 * MIN, { delay_ms: 2000 }),
      fakeRow('p3', 'production', now - 3 * MIN, { delay_ms: 3000, response_status: 500 }),
      fakeRow('p4', 'production', now - 2 * DAY, { delay_ms: 4000 }),
      fakeRow('s1', 'staging', now - 5 * MIN, { cost: 0.01 }),
      // development rows in Helicone are not this machine's: the dev column is local.
      fakeRow('d1', 'development', now - 5 * MIN),
      // older than the 30-day horizon: never fetched
      fakeRow('old', 'production', now - 31 * DAY),
    ];
    // local: two untagged (development) requests and one tagged development
    await store.complete(makeRecord({ startedAt: now - 10 * MIN, costUsd: 0.001, latencyMs: 300 }));
    await store.complete(makeRecord({ startedAt: now - 9 * MIN, costUsd: 0.003, latencyMs: 500 }));
    await store.complete(makeRecord({ startedAt: now - 8 * MIN, costUsd: 0.002, latencyMs: 400, properties: { environment: 'development' } }));
    const e = makeEngine([heliconeSource()]);
    e.start();
    const s = await settled(e);

    assert.deepEqual(s.environments.map((x) => [x.name, x.role, x.status]), [['development', 'dev', 'ok'], ['staging', 'remote', 'ok'], ['production', 'remote', 'ok']]);
    const prod = computeMetrics(env(s, 'production').rows);
    assert.equal(prod.requests, 4);
    assert.equal(prod.errors, 1);
    assert.equal(prod.errorRate, 0.25);
    assert.equal(prod.costTotal.toFixed(6), '0.016000');
    assert.equal(prod.latency.p50, 2000);
    const dev = computeMetrics(env(s, 'development').rows);
    assert.equal(dev.requests, 3, 'untagged local traffic counts as development; Helicone dev rows do not');
    assert.equal(dev.costPerRequest!.toFixed(6), '0.002000');
    assert.equal(computeMetrics(env(s, 'staging').rows).costTotal, 0.01);

    // The query was the documented filter tree with the key as a bearer token.
    const queries = helicone.requests.filter((r) => r.method === 'POST');
    assert.equal(queries.filter((q) => (q.body as { offset?: number }).offset === 0).length, 2, 'one paged query per remote environment');
    assert.ok(queries.every((q) => q.headers.authorization === `Bearer ${KEY}`));
    assert.ok(JSON.stringify(queries.map((q) => q.body)).includes('"Environment":{"equals":"production"}'));

    // The panel view over the last hour: deltas against production.
    const view = buildCompareView(s, { window: '1h', groupBy: '' });
    assert.deepEqual(view.columns.map((c) => [c.environment, c.requests, c.baseline]), [['development', 3, false], ['staging', 1, false], ['production', 3, true]]);
    const all = view.groups[0];
    assert.equal(all.cells[2]!.values.costPerRequest, 0.004);
    assert.equal(all.cells[0]!.deltas!.costPerRequest!.toFixed(4), '-0.5000', 'dev costs half as much per request');
    assert.equal(all.cells[2]!.deltas, null, 'no delta for the baseline itself');

    const bar = comparisonBarView(s, { proxyState: 'running' });
    assert.equal(bar.text, '$(pulse) dev $0.002/req · prod $0.004/req');
    assert.equal(bar.state, 'ok');
  });

  it('does not query a key-less Helicone and says "no key"', async () => {
    const e = makeEngine([heliconeSource(null)]);
    e.start();
    const s = e.snapshot!;
    assert.equal(s.sources.find((x) => x.name === 'helicone')!.status, 'noKey');
    assert.equal(env(s, 'production').status, 'noKey');
    assert.match(comparisonBarView(s, { proxyState: 'stopped' }).text, /^\$\(pulse\) dev: proxy off · prod: no key$/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(helicone.requests.length, 0);
  });

  it('shows a rejected key as its own state with a fix action, and recovers when the key is replaced', async () => {
    const e = makeEngine([heliconeSource('wrong-key')]);
    e.start();
    const s = await settled(e);
    assert.equal(s.sources[1].status, 'authFailed');
    assert.equal(s.sources[1].error?.code, 'QUERY_AUTH');
    const bar = comparisonBarView(s, { proxyState: 'running' });
    assert.match(bar.text, /prod: key rejected/);
    assert.match(bar.tooltip, /\(command:llmLens\.setHeliconeApiKey\)/);
    assert.ok(bar.commands.includes('llmLens.setHeliconeApiKey'));
    assert.ok(!JSON.stringify(logger.entries).includes('wrong-key'), 'the key is never logged');

    helicone.rows = [fakeRow('p1', 'production', clock.now() - MIN)];
    e.configure({ environmentProperty: 'Environment', devEnvironment: 'development', compareEnvironments: ['staging', 'production'], refreshMinutes: 5, alerts: [], sources: [heliconeSource(KEY)] });
    const s2 = await waitFor(() => e.snapshot?.sources[1].status === 'ok' && e.snapshot, 'recovery');
    assert.equal(env(s2, 'production').rows.length, 1);
  });

  it('waits out 429 Retry-After and keeps the last data as stale with its age', async () => {
    helicone.rows = [fakeRow('p1', 'production', clock.now() - MIN)];
    const e = makeEngine([heliconeSource()], { compareEnvironments: ['production'] });
    e.start();
    const first = await settled(e);
    const fetchedAt = first.sources[1].fetchedAt!;
    helicone.script({ status: 429, retryAfter: '120' });
    await advance(e, 5 * MIN);
    const s = await waitFor(() => e.snapshot?.sources[1].status === 'stale' && e.snapshot, 'stale');
    assert.equal(s.sources[1].error?.code, 'QUERY_RATE_LIMITED');
    assert.equal(s.sources[1].nextAttemptAt! - clock.now(), 120_000);
    assert.equal(env(s, 'production').rows.length, 1, 'the last good rows stay');
    assert.equal(env(s, 'production').fresh, false);
    await advance(e, MIN);
    const bar = comparisonBarView(e.snapshot!, { proxyState: 'running', now: clock.now() });
    assert.equal(e.snapshot!.sources[1].fetchedAt, fetchedAt);
    assert.match(bar.text, /prod \$0\.004\/req \(stale 6m\)/);
    const before = helicone.requests.length;
    await e.refresh();
    assert.equal(helicone.requests.length, before, 'manual refresh inside Retry-After does not hit the server');
    await advance(e, MIN);
    assert.equal(e.snapshot!.sources[1].status, 'ok', 'fetched again once Retry-After passed');
    assert.equal(e.snapshot!.sources[1].fetchedAt, fetchedAt + 7 * MIN);
  });

  it('fetches the horizon once, then only what is new (with an overlap for late rows)', async () => {
    const now = clock.now();
    helicone.rows = [fakeRow('p1', 'production', now - 10 * DAY), fakeRow('p2', 'production', now - MIN)];
    const e = makeEngine([heliconeSource()], { compareEnvironments: ['production'] });
    e.start();
    await settled(e);
    const since = (q: unknown): string => /"gte":"([^"]+)"/.exec(JSON.stringify(q))![1];
    assert.equal(since(firstPages()[0]), new Date(now - 30 * DAY).toISOString());
    // A row that reached Helicone late (created before the last refresh), and a new one.
    helicone.rows.push(fakeRow('late', 'production', now - 2 * MIN), fakeRow('new', 'production', now + 3 * MIN));
    await advance(e, 5 * MIN);
    assert.equal(firstPages().length, 2);
    assert.equal(since(firstPages()[1]), new Date(now - 15 * MIN).toISOString());
    const ids = env(e.snapshot!, 'production').rows.length;
    assert.equal(ids, 4, 'old rows kept, late and new rows added, none twice');
  });

  it('says when a source holds more rows than the cap, and covers only what it kept', async () => {
    const now = clock.now();
    helicone.rows = Array.from({ length: 30 }, (_, i) => fakeRow(`p${i}`, 'production', now - (i + 1) * 3_600_000));
    const e = makeEngine([heliconeSource()], { compareEnvironments: ['production'] }, { rowCap: 10 });
    e.start();
    const s = await settled(e);
    const prod = env(s, 'production');
    assert.equal(prod.rows.length, 10);
    assert.equal(prod.capped, true);
    assert.equal(prod.coveredSince, now - 10 * 3_600_000, 'complete from the oldest row kept');
    const view = buildCompareView(s, { window: '24h', groupBy: '' });
    assert.equal(view.columns[1].capped, true);
    assert.ok(view.notes.some((n) => /production: more requests than the row cap/.test(n)), view.notes.join('\n'));
    assert.deepEqual(view.sources[1].cappedEnvironments.map((c) => [c.environment, c.requests]), [['production', 10]]);
    // An hour's window is inside what was kept: not capped there.
    assert.equal(buildCompareView(s, { window: '1h', groupBy: '' }).columns[1].capped, false);
  });

  it('reads another LLM Lens proxy through its own query API, with the same client', async () => {
    const remoteStore = await RecordStore.open({ dataDir: path.join(dir, 'staging-box'), logger, retentionDays: 0 });
    const now = clock.now();
    try {
      await remoteStore.complete(makeRecord({ startedAt: now - 3 * MIN, properties: { Environment: 'staging' }, costUsd: 0.02, latencyMs: 800 }));
      await remoteStore.complete(makeRecord({ startedAt: now - 2 * MIN, properties: { Environment: 'staging' }, costUsd: 0.04, latencyMs: 1200, status: 500, state: 'error', error: { kind: 'upstream_status', message: '500' } }));
      await remoteStore.complete(makeRecord({ startedAt: now - 1 * MIN, properties: { Environment: 'production' }, costUsd: 0.5 }));
      await remoteStore.complete(makeRecord({ startedAt: now - 1 * MIN })); // untagged: that box's own dev traffic
      const api = createQueryApi({ store: remoteStore, logger, token: 'box-token', now: () => clock.now() });
      const server = createServer((req, res) => { void api(req, res); });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;

      const e = makeEngine([heliconeSource(null), { name: 'staging-box', baseUrl: `http://127.0.0.1:${port}/api`, apiKey: 'box-token', keyRequired: false }]);
      e.start();
      const s = await settled(e, 'staging-box');
      assert.equal(s.sources.find((x) => x.name === 'staging-box')!.status, 'ok');
      const staging = computeMetrics(env(s, 'staging').rows);
      assert.equal(staging.requests, 2);
      assert.equal(staging.errors, 1);
      assert.equal(staging.costTotal.toFixed(4), '0.0600');
      assert.equal(staging.latency.p95, 1200);
      assert.equal(env(s, 'production').rows.length, 1);
      assert.deepEqual(env(s, 'production').sources, ['staging-box'], 'the key-less helicone source is not counted as providing data');
      assert.equal(env(s, 'production').status, 'ok', 'a key-less Helicone does not darken a source that answers');
    } finally {
      await remoteStore.close();
    }
  });

  it('notifies once when production errors cross 5 %, and once when they recover', async () => {
    const now = clock.now();
    helicone.rows = Array.from({ length: 12 }, (_, i) => fakeRow(`p${i}`, 'production', now - (i + 1) * 30_000, { response_status: i < 2 ? 500 : 200 }));
    const e = makeEngine([heliconeSource()], { compareEnvironments: ['production'] });
    const transitions: AlertTransition[] = [];
    e.onDidChangeAlert((t) => transitions.push(t));
    e.start();
    const s = await settled(e);
    assert.deepEqual(transitions.map((t) => [t.kind, t.evaluation.rule.metric, t.evaluation.requests]), [['fired', 'errorRate', 12]]);
    assert.equal(s.firing.length, 1);
    const bar = comparisonBarView(s, { proxyState: 'running' });
    assert.equal(bar.warning, true);
    assert.match(bar.text, /\$\(warning\) 1 alert$/);
    assert.match(bar.tooltip, /Production error rate above 5/);

    // Next refresh, still failing: no second notification.
    helicone.rows.push(fakeRow('p-new', 'production', now + MIN, { response_status: 500 }));
    await advance(e, 5 * MIN);
    assert.equal(firstPages().length, 2);
    assert.equal(transitions.length, 1);

    // Healthy traffic pushes the errors out of the 10-minute window.
    for (let i = 0; i < 15; i++) helicone.rows.push(fakeRow(`ok${i}`, 'production', now + 6 * MIN + i * 10_000));
    await advance(e, 10 * MIN);
    assert.deepEqual(transitions.map((t) => t.kind), ['fired', 'resolved']);
    assert.equal(comparisonBarView(e.snapshot!, { proxyState: 'running' }).warning, false);
  });

  it('does not resolve an alert when the key is removed (nothing is known, not "ok")', async () => {
    const now = clock.now();
    helicone.rows = Array.from({ length: 12 }, (_, i) => fakeRow(`p${i}`, 'production', now - (i + 1) * 30_000, { response_status: 500 }));
    const e = makeEngine([heliconeSource()], { compareEnvironments: ['production'] });
    const transitions: AlertTransition[] = [];
    e.onDidChangeAlert((t) => transitions.push(t));
    e.start();
    await settled(e);
    e.configure({ environmentProperty: 'Environment', devEnvironment: 'development', compareEnvironments: ['production'], refreshMinutes: 5, alerts: DEFAULT_ALERTS.map((a) => ({ ...a })), sources: [heliconeSource(null)] });
    await advance(e, 30 * MIN);
    assert.equal(env(e.snapshot!, 'production').fresh, false);
    assert.deepEqual(transitions.map((t) => t.kind), ['fired']);
    // Production traffic logged on this machine is all there is then, and it counts.
    await store.complete(makeRecord({ startedAt: clock.now() - MIN, properties: { Environment: 'production' } }));
    await e.refresh();
    assert.equal(env(e.snapshot!, 'production').fresh, true);
    assert.deepEqual(transitions.map((t) => t.kind), ['fired', 'resolved']);
  });

  it('keeps a Helicone outage from resolving an alert (unknown, not ok)', async () => {
    const now = clock.now();
    helicone.rows = Array.from({ length: 12 }, (_, i) => fakeRow(`p${i}`, 'production', now - (i + 1) * 30_000, { response_status: 500 }));
    const e = makeEngine([heliconeSource()], { compareEnvironments: ['production'] });
    const transitions: AlertTransition[] = [];
    e.onDidChangeAlert((t) => transitions.push(t));
    e.start();
    await settled(e);
    helicone.script(...Array.from({ length: 100 }, () => ({ status: 503 })));
    await advance(e, 30 * MIN);
    // Fresh data would now hold no request in the 10-minute window (the rule would go quiet).
    assert.equal(e.snapshot!.sources[1].status, 'stale');
    assert.deepEqual(transitions.map((t) => t.kind), ['fired']);
    assert.equal(e.snapshot!.firing.length, 1);
  });
});
