// The local Helicone-compatible query API over HTTP on loopback, against a real RecordStore:
// every filter, paging, sorting, bad bodies, by-id, sessions, the custom log, Host/Origin
// refusal and the optional token.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingLogger } from '../../src/core/logger';
import type { LogRecord } from '../../src/core/types';
import { createQueryApi } from '../../src/query/apiServer';
import type { QueryApiDeps } from '../../src/query/apiServer';
import type { HeliconeRow, HeliconeSessionRow } from '../../src/query/rows';
import { RecordStore } from '../../src/store/recordStore';
import { makeRecord, makeSessionRecord, makeUsage } from '../support/records';

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: { data: unknown; error: string | null } }

const HOUR = 3600_000;
// Two days ago on the hour: recent enough for the store's default retention.
const T0 = Math.floor((Date.now() - 2 * 24 * HOUR) / HOUR) * HOUR;
const at = (minutes: number): number => T0 + minutes * 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const prop = (name: string, ops: object): object => ({ request_response_rmt: { properties: { [name]: ops } } });
const rmt = (field: string, ops: object): object => ({ request_response_rmt: { [field]: ops } });

describe('query API (local, over HTTP, real store)', function () {
  this.timeout(20_000);
  let dir: string;
  let store: RecordStore;
  let server: Server;
  let port: number;
  let logger: RecordingLogger;
  const recs: Record<string, LogRecord> = {};

  async function serve(extra: Partial<QueryApiDeps> = {}): Promise<void> {
    const handler = createQueryApi({ store, logger, ...extra });
    server = createServer((req, res) => { void handler(req, res); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  }

  function call(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1', port, method, path: urlPath,
        headers: { host: `127.0.0.1:${port}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Answer['body'] });
          } catch { reject(new Error(`not JSON (${res.statusCode}): ${text}`)); }
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  const query = async (body: unknown): Promise<HeliconeRow[]> => {
    const a = await call('POST', '/api/v1/request/query', body);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.error, null);
    return a.body.data as HeliconeRow[];
  };
  const ids = (rows: HeliconeRow[]): string[] => rows.map((r) => r.request_id);
  const names = (rows: HeliconeRow[]): string[] => rows.map((r) => Object.keys(recs).find((k) => recs[k].id === r.request_id) ?? r.request_id);

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lens-query-api-'));
    logger = new RecordingLogger();
    store = await RecordStore.open({ dataDir: dir, logger });
    // a..f: a small, hand-checkable data set (oldest first).
    recs.a = makeRecord({ startedAt: at(0), latencyMs: 300, costUsd: 0.001, properties: { Environment: 'development', Version: 'v1' }, userId: 'alice' });
    recs.b = makeRecord({ startedAt: at(10), latencyMs: 1500, costUsd: 0.02, requestModel: 'gpt-4o', responseModel: 'gpt-4o-2024-08-06', properties: { Environment: 'production', Version: 'v2' }, userId: 'bob' });
    recs.c = makeRecord({ startedAt: at(20), latencyMs: 900, costUsd: null, status: 500, state: 'error', error: { kind: 'upstream_status', message: 'HTTP 500' }, properties: { Environment: 'production' }, usage: null });
    recs.d = makeRecord({ startedAt: at(30), latencyMs: null, costUsd: 0.005, provider: 'anthropic', requestModel: 'claude-3-5-sonnet-latest', responseModel: 'claude-3-5-sonnet-20241022', targetUrl: 'https://api.anthropic.com/v1/messages', properties: { Environment: 'staging' }, userId: 'alice' });
    recs.e = makeSessionRecord('sess-1', { startedAt: at(40), latencyMs: 200, costUsd: 0.003, usage: makeUsage({ promptTokens: 100, completionTokens: 50, totalTokens: 150 }), properties: { Environment: 'development' } });
    recs.f = makeSessionRecord('sess-1', { startedAt: at(50), latencyMs: 400, costUsd: 0.004, usage: makeUsage({ promptTokens: 10, completionTokens: 5, totalTokens: 15 }), properties: { Environment: 'development' }, cache: { enabled: true, hit: true, savedUsd: 0.004, bucketMaxSize: 1, seed: null } });
    for (const r of Object.values(recs)) assert.equal(await store.complete(r), true);
    await store.flush();
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server ? server.close(() => resolve()) : resolve());
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('request query', () => {
    beforeEach(() => serve());

    it('answers {data, error: null} with Helicone rows, newest first, Helicone default limit 10', async () => {
      const a = await call('POST', '/api/v1/request/query', { filter: 'all' });
      assert.equal(a.status, 200);
      assert.equal(a.body.error, null);
      const rows = a.body.data as HeliconeRow[];
      assert.deepEqual(names(rows), ['f', 'e', 'd', 'c', 'b', 'a']);
      assert.equal(a.headers['x-total-count'], '6');
      const b = rows.find((r) => r.request_id === recs.b.id)!;
      assert.equal(b.request_created_at, iso(at(10)));
      assert.equal(b.model, 'gpt-4o');
      assert.equal(b.delay_ms, 1500);
      assert.equal(b.cost, 0.02);
      assert.equal(b.properties.Environment, 'production');
      assert.equal(b.request_user_id, 'bob');
      assert.equal('request_body' in b, false);
    });

    it('serves the -clickhouse path and a missing filter the same way', async () => {
      const a = await call('POST', '/api/v1/request/query-clickhouse', { filter: 'all', limit: 100 });
      const b = await call('POST', '/api/v1/request/query', {});
      assert.deepEqual(ids(a.body.data as HeliconeRow[]), ids(b.body.data as HeliconeRow[]));
    });

    const filters: Array<[string, unknown, string[]]> = [
      ['model equals', rmt('model', { equals: 'gpt-4o' }), ['b']],
      ['model like', rmt('model', { like: 'claude%' }), ['d']],
      ['model ilike', rmt('model', { ilike: 'GPT-4O' }), ['b']],
      ['model contains', rmt('model', { contains: 'MINI' }), ['f', 'e', 'c', 'a']],
      ['model not-contains', rmt('model', { 'not-contains': 'mini' }), ['d', 'b']],
      ['status equals', rmt('status', { equals: 500 }), ['c']],
      ['status gte', rmt('status', { gte: 400 }), ['c']],
      ['status not-equals', rmt('status', { 'not-equals': 200 }), ['c']],
      ['latency gt', rmt('latency', { gt: 800 }), ['c', 'b']],
      ['latency lte', rmt('latency', { lte: 300 }), ['e', 'a']],
      ['cost lt', rmt('cost', { lt: 0.004 }), ['e', 'a']],
      ['cost gte (unknown cost never matches)', rmt('cost', { gte: 0 }), ['f', 'e', 'd', 'b', 'a']],
      ['user_id equals', rmt('user_id', { equals: 'alice' }), ['d', 'a']],
      ['provider equals', rmt('provider', { equals: 'ANTHROPIC' }), ['d']],
      ['request_created_at gte', rmt('request_created_at', { gte: iso(at(30)) }), ['f', 'e', 'd']],
      ['request_created_at lt', rmt('request_created_at', { lt: iso(at(10)) }), ['a']],
      ['request_created_at window', { left: rmt('request_created_at', { gt: iso(at(10)) }), operator: 'and', right: rmt('request_created_at', { lte: iso(at(30)) }) }, ['d', 'c']],
      ['property equals', prop('Environment', { equals: 'production' }), ['c', 'b']],
      ['property not-equals', prop('Environment', { 'not-equals': 'development' }), ['d', 'c', 'b']],
      ['property like', prop('Version', { like: 'v%' }), ['b', 'a']],
      ['property contains', prop('Environment', { contains: 'PROD' }), ['c', 'b']],
      ['top-level properties table', { properties: { Environment: { equals: 'staging' } } }, ['d']],
      ['session id as a property', prop('Helicone-Session-Id', { equals: 'sess-1' }), ['f', 'e']],
      ['session id through the sessions table', { sessions_request_response_rmt: { session_session_id: { equals: 'sess-1' } } }, ['f', 'e']],
      ['or', { left: prop('Environment', { equals: 'staging' }), operator: 'or', right: rmt('user_id', { equals: 'bob' }) }, ['d', 'b']],
      ['and', { left: prop('Environment', { equals: 'development' }), operator: 'and', right: rmt('latency', { gte: 300 }) }, ['f', 'a']],
    ];
    for (const [what, filter, expected] of filters) {
      it(`filters: ${what}`, async () => {
        assert.deepEqual(names(await query({ filter, limit: 100 })), expected);
      });
    }

    it('filters by request_id', async () => {
      assert.deepEqual(names(await query({ filter: rmt('request_id', { equals: recs.c.id }) })), ['c']);
    });

    it('pages with limit and offset, stably', async () => {
      const p1 = await query({ filter: 'all', limit: 4, offset: 0 });
      const p2 = await query({ filter: 'all', limit: 4, offset: 4 });
      const p3 = await query({ filter: 'all', limit: 4, offset: 8 });
      assert.deepEqual(names(p1), ['f', 'e', 'd', 'c']);
      assert.deepEqual(names(p2), ['b', 'a']);
      assert.deepEqual(p3, []);
      assert.deepEqual(await query({ filter: 'all', limit: 0 }), []);
    });

    it('sees a new record at once, although paging reuses the last matches', async () => {
      assert.deepEqual(names(await query({ filter: 'all', limit: 2 })), ['f', 'e']);
      const g = makeRecord({ startedAt: at(59) });
      await store.complete(g);
      const page = await query({ filter: 'all', limit: 2 });
      assert.deepEqual(ids(page), [g.id, recs.f.id]);
      // A caller changing a row it got must not change the next answer.
      page[1].properties.Environment = 'tampered';
      assert.equal((await query({ filter: 'all', limit: 2 }))[1].properties.Environment, 'development');
      await store.delete([g.id]);
      assert.deepEqual(names(await query({ filter: 'all', limit: 2 })), ['f', 'e']);
    });

    it('sorts by created_at, latency and cost in both directions, missing values last', async () => {
      assert.deepEqual(names(await query({ filter: 'all', sort: { created_at: 'asc' } })), ['a', 'b', 'c', 'd', 'e', 'f']);
      assert.deepEqual(names(await query({ filter: 'all', sort: { latency: 'desc' } })), ['b', 'c', 'f', 'a', 'e', 'd']);
      assert.deepEqual(names(await query({ filter: 'all', sort: { latency: 'asc' } })), ['e', 'a', 'f', 'c', 'b', 'd']);
      assert.deepEqual(names(await query({ filter: 'all', sort: { cost: 'desc' } })), ['b', 'd', 'f', 'e', 'a', 'c']);
      assert.deepEqual(names(await query({ filter: 'all', sort: { cost: 'asc' } })), ['a', 'e', 'f', 'd', 'b', 'c']);
      assert.deepEqual(names(await query({ filter: prop('Environment', { equals: 'development' }), sort: { total_tokens: 'desc' } })), ['e', 'a', 'f']);
    });

    it('isCached finds cache hits; isScored / isPartOfExperiment find nothing locally', async () => {
      assert.deepEqual(names(await query({ filter: 'all', isCached: true })), ['f']);
      assert.deepEqual(await query({ filter: 'all', isScored: true }), []);
      assert.deepEqual(names(await query({ filter: 'all', isScored: false })), ['f', 'e', 'd', 'c', 'b', 'a']);
    });

    it('leaves in-flight requests out', async () => {
      const pending = makeRecord({ startedAt: at(55) });
      store.begin({ ...pending, state: 'pending', endedAt: null, latencyMs: null, status: null });
      assert.equal(store.get(pending.id)?.state, 'pending');
      assert.deepEqual(names(await query({ filter: 'all' })), ['f', 'e', 'd', 'c', 'b', 'a']);
    });

    it('includes bodies only when asked, read lazily from the store', async () => {
      const [row] = await query({ filter: rmt('request_id', { equals: recs.a.id }), includeBodies: true });
      assert.deepEqual(row.request_body, recs.a.bodies.request.json);
      assert.deepEqual(row.response_body, recs.a.bodies.response.json);
    });

    const bad: Array<[string, unknown, RegExp]> = [
      ['invalid JSON', '{"filter": ', /body: not valid JSON/],
      ['an unknown operator', { filter: rmt('model', { equal: 'x' }) }, /^body\.filter\.request_response_rmt\.model: unknown operator "equal"/],
      ['a nested bad leaf', { filter: { left: 'all', operator: 'and', right: rmt('cost', { gt: 'x' }) } }, /^body\.filter\.right\.request_response_rmt\.cost\.gt: expected a finite number/],
      ['limit over 1000', { filter: 'all', limit: 1001 }, /^body\.limit: must be at most 1000/],
      ['a negative offset', { filter: 'all', offset: -1 }, /^body\.offset: must be at least 0/],
      ['a fractional limit', { filter: 'all', limit: 2.5 }, /^body\.limit: expected a whole number/],
      ['an unknown sort key', { filter: 'all', sort: { random: true } }, /^body\.sort: unsupported sort key "random"/],
      ['a bad sort direction', { filter: 'all', sort: { created_at: 'up' } }, /^body\.sort\.created_at: expected "asc" or "desc"/],
      ['a session aggregate', { filter: { sessions_request_response_rmt: { session_total_cost: { gt: 1 } } } }, /session aggregate can only be used/],
      ['an array body', [], /^body: /],
    ];
    for (const [what, body, message] of bad) {
      it(`400 for ${what}, naming the field`, async () => {
        const a = await call('POST', '/api/v1/request/query', body);
        assert.equal(a.status, 400);
        assert.equal(a.body.data, null);
        assert.match(a.body.error ?? '', message);
      });
    }

    it('404 for unknown routes and 405 for wrong methods, as JSON', async () => {
      const a = await call('GET', '/api/v1/nothing');
      assert.equal(a.status, 404);
      assert.equal(a.body.data, null);
      const b = await call('GET', '/api/v1/request/query');
      assert.equal(b.status, 405);
      assert.equal(b.headers.allow, 'POST');
    });
  });

  describe('request by id, health', () => {
    beforeEach(() => serve());

    it('GET /api/v1/request/{id} returns the row with bodies', async () => {
      const a = await call('GET', `/api/v1/request/${recs.b.id}`);
      assert.equal(a.status, 200);
      const row = a.body.data as HeliconeRow;
      assert.equal(row.request_id, recs.b.id);
      assert.deepEqual(row.request_body, recs.b.bodies.request.json);
      assert.deepEqual(row.response_body, recs.b.bodies.response.json);
    });

    it('404 {data: null, error} for an unknown id', async () => {
      const a = await call('GET', '/api/v1/request/00000000-0000-4000-8000-000000000000');
      assert.equal(a.status, 404);
      assert.equal(a.body.data, null);
      assert.match(a.body.error ?? '', /not found/);
    });

    it('GET /api/health', async () => {
      const a = await call('GET', '/api/health');
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, { data: { status: 'ok', requests: 6 }, error: null });
    });
  });

  describe('session query', () => {
    beforeEach(async () => {
      for (const r of [
        makeSessionRecord('sess-2', { startedAt: at(60), latencyMs: 100, costUsd: 0.5, usage: makeUsage({ promptTokens: 1, completionTokens: 2, totalTokens: 3 }), session: { id: 'sess-2', path: '/', name: 'Research' } }),
        makeSessionRecord('sess-2', { startedAt: at(70), latencyMs: 300, costUsd: null, usage: null, session: { id: 'sess-2', path: '/analysis', name: 'Research' } }),
      ]) await store.complete(r);
      await serve();
    });

    const sessions = async (body: unknown): Promise<HeliconeSessionRow[]> => {
      const a = await call('POST', '/api/v1/session/query', body);
      assert.equal(a.status, 200, JSON.stringify(a.body));
      return a.body.data as HeliconeSessionRow[];
    };

    it('aggregates sessions as Helicone does, newest first', async () => {
      const s = await sessions({});
      assert.deepEqual(s.map((x) => x.session_id), ['sess-2', 'sess-1']);
      const [two, one] = s;
      assert.equal(two.session_name, 'Research');
      assert.equal(two.created_at, iso(at(60)));
      assert.equal(two.latest_request_created_at, iso(at(70)));
      assert.equal(two.total_requests, 2);
      assert.equal(two.total_cost, 0.5);
      assert.equal(two.total_tokens, 3);
      assert.equal(two.avg_latency, 200);
      assert.equal(one.total_requests, 2);
      assert.ok(Math.abs(one.total_cost - 0.007) < 1e-12);
      assert.equal(one.prompt_tokens, 110);
      assert.equal(one.completion_tokens, 55);
      assert.equal(one.total_tokens, 165);
    });

    it('filters by aggregates, name, search and time', async () => {
      assert.deepEqual((await sessions({ filter: { sessions_request_response_rmt: { session_total_cost: { gt: 0.1 } } } })).map((x) => x.session_id), ['sess-2']);
      assert.deepEqual((await sessions({ nameEquals: 'Research' })).map((x) => x.session_id), ['sess-2']);
      assert.deepEqual((await sessions({ search: 'SESS-1' })).map((x) => x.session_id), ['sess-1']);
      const windowed = await sessions({ timeFilter: { startTimeUnixMs: at(45), endTimeUnixMs: at(65) }, timezoneDifference: 0 });
      assert.deepEqual(windowed.map((x) => [x.session_id, x.total_requests]), [['sess-2', 1], ['sess-1', 1]]);
      const rowFiltered = await sessions({ filter: { request_response_rmt: { latency: { gte: 300 } } } });
      assert.deepEqual(rowFiltered.map((x) => [x.session_id, x.total_requests]), [['sess-2', 1], ['sess-1', 1]]);
    });

    it('400 for a bad session body', async () => {
      const a = await call('POST', '/api/v1/session/query', { timeFilter: { startTimeUnixMs: 'yesterday', endTimeUnixMs: 1 } });
      assert.equal(a.status, 400);
      assert.match(a.body.error ?? '', /^body\.timeFilter\.startTimeUnixMs: expected epoch milliseconds/);
    });
  });

  describe('custom log', () => {
    beforeEach(() => serve());

    const toolLog = {
      providerRequest: { url: 'custom-model-nopath', json: { _type: 'tool', toolName: 'weather_api', input: { location: 'Paris' } }, meta: {} },
      providerResponse: { json: { _type: 'tool', toolName: 'weather_api', temperature: 18.5 }, status: 200, headers: { 'content-type': 'application/json' } },
      timing: { startTime: { seconds: Math.floor(at(80) / 1000), milliseconds: 500 }, endTime: { seconds: Math.floor(at(80) / 1000) + 1, milliseconds: 750 } },
    };

    it('logs a tool step as a custom record that shows up in lists, sessions and by id', async () => {
      const id = '7b2c9a4e-3f1d-4c8b-9e6a-1d2f3a4b5c6d';
      const a = await call('POST', '/api/custom/v1/log', toolLog, {
        authorization: 'Bearer sk-helicone-abcdefghijklmnopqrstuvwxyz',
        'Helicone-Request-Id': id,
        'Helicone-Session-Id': 'sess-1',
        'Helicone-Session-Path': '/tools/weather',
        'Helicone-Property-Environment': 'development',
        'Helicone-User-Id': 'carol',
      });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.deepEqual(a.body, { data: { request_id: id }, error: null });
      assert.equal(a.headers['helicone-id'], id);

      const rows = await query({ filter: prop('Helicone-Session-Id', { equals: 'sess-1' }), sort: { created_at: 'desc' } });
      assert.deepEqual(names(rows).slice(0, 1), [id]);
      const row = rows[0];
      assert.equal(row.provider, 'CUSTOM');
      assert.equal(row.lens_kind, 'custom');
      assert.equal(row.model, 'tool:weather_api');
      assert.equal(row.response_status, 200);
      assert.equal(row.delay_ms, 1250);
      assert.equal(row.request_created_at, iso(at(80) + 500));
      assert.equal(row.cost, 0);
      assert.equal(row.request_user_id, 'carol');
      assert.equal(row.properties.Environment, 'development');
      assert.equal(row.properties['Helicone-Session-Path'], '/tools/weather');

      const s = store.get(id)!;
      assert.equal(s.kind, 'custom');
      assert.equal(s.session?.id, 'sess-1');
      assert.equal(JSON.stringify(s.requestHeaders).includes('abcdefghijklmnop'), false, 'the key is not stored');
      const byId = await call('GET', `/api/v1/request/${id}`);
      assert.deepEqual((byId.body.data as HeliconeRow).request_body, toolLog.providerRequest.json);
      assert.equal(store.session('sess-1')?.requestCount, 3);
    });

    it('reads Helicone settings from providerRequest.meta too; real headers win', async () => {
      const body = { ...toolLog, providerRequest: { ...toolLog.providerRequest, meta: { 'Helicone-Property-Environment': 'staging', 'Helicone-Property-Team': 'search' } } };
      const a = await call('POST', '/api/custom/v1/log', body, { 'Helicone-Property-Environment': 'production' });
      const s = store.get((a.body.data as { request_id: string }).request_id)!;
      assert.deepEqual(s.properties, { Environment: 'production', Team: 'search' });
    });

    it('an LLM call logged by hand: usage read, cost unknown, error status recorded', async () => {
      const a = await call('POST', '/api/custom/v1/log', {
        providerRequest: { url: 'custom-model-nopath', json: { model: 'my-llama', messages: [] }, meta: {} },
        providerResponse: { json: { model: 'my-llama-3', usage: { prompt_tokens: 11, completion_tokens: 7 } }, status: 503, headers: {} },
      });
      assert.equal(a.status, 200);
      const s = store.get((a.body.data as { request_id: string }).request_id)!;
      assert.equal(s.state, 'error');
      assert.equal(s.requestModel, 'my-llama');
      assert.equal(s.responseModel, 'my-llama-3');
      assert.equal(s.costUsd, null);
      assert.deepEqual([s.usage?.promptTokens, s.usage?.completionTokens, s.usage?.totalTokens], [11, 7, 18]);
    });

    it('400 naming the field for a bad log body, and nothing is stored', async () => {
      const before = store.count();
      const a = await call('POST', '/api/custom/v1/log', { providerRequest: { url: 'x', json: {} }, providerResponse: { json: {} } });
      assert.equal(a.status, 400);
      assert.match(a.body.error ?? '', /^body\.providerResponse\.status: required field missing/);
      const b = await call('POST', '/api/custom/v1/log', { ...toolLog, timing: { startTime: { seconds: 'soon' }, endTime: toolLog.timing.endTime } });
      assert.match(b.body.error ?? '', /^body\.timing\.startTime\.seconds: expected epoch seconds/);
      assert.equal(store.count(), before);
    });
  });

  describe('Host / Origin protection and the token', () => {
    it('refuses a Host that is not loopback on our port (DNS rebinding), and serves nothing', async () => {
      await serve();
      for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, `127.0.0.2:${port}`, `localhost.:${port}`, `0.0.0.0:${port}`]) {
        const a = await call('POST', '/api/v1/request/query', { filter: 'all' }, { host });
        assert.equal(a.status, 403, host);
        assert.equal(a.body.data, null);
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
        const a = await call('GET', '/api/health', undefined, { host });
        assert.equal(a.status, 200, host);
      }
      assert.ok(logger.messages('warn').some((m) => /refused a request with Host/.test(m)));
    });

    it('refuses a non-local Origin (browser drive-by), including on the custom log', async () => {
      await serve();
      const before = store.count();
      for (const origin of ['http://evil.example', 'https://evil.example', 'null', 'http://127.0.0.1.evil.example', 'vscode-webview://abc']) {
        const a = await call('POST', '/api/custom/v1/log', { providerRequest: { json: {} }, providerResponse: { status: 200 } }, { origin });
        assert.equal(a.status, 403, origin);
      }
      assert.equal(store.count(), before);
      const ok = await call('POST', '/api/v1/request/query', { filter: 'all' }, { origin: 'http://localhost:3000' });
      assert.equal(ok.status, 200);
      // A cross-site page load (an <img> or a navigation) sends no Origin but says where it comes from.
      assert.equal((await call('GET', `/api/v1/request/${recs.a.id}`, undefined, { 'sec-fetch-site': 'cross-site' })).status, 403);
      assert.equal((await call('GET', `/api/v1/request/${recs.a.id}`, undefined, { 'sec-fetch-site': 'same-origin' })).status, 200);
    });

    it('requires the token when one is set (health stays open)', async () => {
      await serve({ token: 'local-secret-token' });
      assert.equal((await call('POST', '/api/v1/request/query', { filter: 'all' })).status, 401);
      const wrong = await call('POST', '/api/v1/request/query', { filter: 'all' }, { authorization: 'Bearer local-secret-tokeX' });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers['www-authenticate'], 'Bearer');
      assert.equal((await call('POST', '/api/v1/request/query', { filter: 'all' }, { authorization: 'Bearer local-secret-token-longer' })).status, 401);
      const right = await call('POST', '/api/v1/request/query', { filter: 'all' }, { authorization: 'Bearer local-secret-token' });
      assert.equal(right.status, 200);
      assert.equal((await call('GET', '/api/health')).status, 200);
    });

    it('answers a non-local Host only with the token (a remote LLM Lens source), never without it', async () => {
      await serve({ token: 'local-secret-token' });
      const host = `staging-box.internal:${port}`;
      assert.equal((await call('POST', '/api/v1/request/query', { filter: 'all' }, { host })).status, 403);
      assert.equal((await call('POST', '/api/v1/request/query', { filter: 'all' }, { host, authorization: 'Bearer wrong-token-here' })).status, 403);
      const right = await call('POST', '/api/v1/request/query', { filter: 'all' }, { host, authorization: 'Bearer local-secret-token' });
      assert.equal(right.status, 200);
      assert.ok(Array.isArray(right.body.data));
      // The token opens the Host check only: a browser page from elsewhere is still refused.
      const drive = await call('POST', '/api/v1/request/query', { filter: 'all' }, { host, authorization: 'Bearer local-secret-token', origin: 'http://evil.example' });
      assert.equal(drive.status, 403);
    });

    it('413 for a body over the limit', async () => {
      await serve({ maxBodyBytes: 1000 });
      const a = await call('POST', '/api/custom/v1/log', { providerRequest: { json: { x: 'y'.repeat(2000) } }, providerResponse: { status: 200 } });
      assert.equal(a.status, 413);
      assert.equal(a.body.data, null);
    });
  });
});
