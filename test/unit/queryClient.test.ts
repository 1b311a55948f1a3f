// The Helicone query client against a fake Helicone (paging, cap, auth, rate limits, retries,
// timeouts, schema errors, cancellation, key hygiene) and against LLM Lens's own query API, both
// served by a plain HTTP server and by the full proxy runtime.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isLensError } from '../../src/core/errors';
import { RecordingLogger } from '../../src/core/logger';
import type { LogRecord } from '../../src/core/types';
import { metricRowFromSummary } from '../../src/metrics/metrics';
import { startLensRuntime } from '../../src/proxy/runtime';
import type { LensRuntime } from '../../src/proxy/runtime';
import { createQueryApi } from '../../src/query/apiServer';
import { HeliconeQueryClient, parseRetryAfter } from '../../src/query/client';
import type { QueryError } from '../../src/query/client';
import { modelEquals, propertyEquals } from '../../src/query/filter';
import { metricRowFromHeliconeRow } from '../../src/query/rows';
import { RecordStore } from '../../src/store/recordStore';
import { makeHeliconeRows, startFakeHelicone } from '../support/fakeHelicone';
import type { FakeHelicone } from '../support/fakeHelicone';
import { makeRecord, makeSessionRecord } from '../support/records';

const KEY = 'sk-helicone-test-abcdefghijklmnop1234';
const HOUR = 3600_000;
const SINCE = Date.UTC(2025, 5, 1);
const UNTIL = SINCE + 24 * HOUR;

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try { await p; } catch (e) { return e; }
  assert.fail('expected a rejection');
}

describe('query client against a fake Helicone', function () {
  this.timeout(30_000);
  let fake: FakeHelicone;
  let logger: RecordingLogger;
  const clients: HeliconeQueryClient[] = [];
  const client = (over: Partial<ConstructorParameters<typeof HeliconeQueryClient>[0]> = {}): HeliconeQueryClient => {
    const c = new HeliconeQueryClient({ baseUrl: fake.url, apiKey: KEY, logger, retryBaseMs: 20, retryMaxMs: 100, maxRetries: 2, timeoutMs: 5000, ...over });
    clients.push(c);
    return c;
  };

  // 2,500 rows in the window (development, staging, production in turn) and 30 outside it.
  const inWindow = makeHeliconeRows({ count: 2500, since: SINCE, until: UNTIL, errorEvery: 10 });
  const outside = [
    ...makeHeliconeRows({ count: 15, since: SINCE - 2 * HOUR, until: SINCE, idPrefix: 'aaaaaaaa' }),
    ...makeHeliconeRows({ count: 15, since: UNTIL, until: UNTIL + HOUR, idPrefix: 'bbbbbbbb' }),
  ];

  beforeEach(async () => {
    logger = new RecordingLogger();
    fake = await startFakeHelicone({ apiKey: KEY, rows: [...inWindow, ...outside] });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await fake.close();
  });

  it('sends Helicone\'s request shape with a Bearer key and returns normalised rows (unknown fields kept)', async () => {
    const rows = await client().queryRequests({ filter: 'all', limit: 5, offset: 0, sort: { created_at: 'desc' } });
    assert.equal(rows.length, 5);
    const req = fake.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/v1/request/query-clickhouse');
    assert.equal(req.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(req.body, { filter: 'all', limit: 5, offset: 0, sort: { created_at: 'desc' } });
    const r = rows[0];
    const newest = outside[outside.length - 1];
    assert.equal(r.request_id, newest.request_id);
    assert.equal(r.cache_hit, false);
    assert.equal(r.provider, newest.provider);
    assert.equal(r.model, newest.model);
    assert.equal(r.delay_ms, newest.delay_ms);
    assert.equal(r.cost, newest.cost);
    assert.deepEqual(r.properties, newest.properties);
    assert.equal((r as unknown as Record<string, unknown>).country_code, 'US', 'unknown fields pass through');
  });

  it('queryWindow pages with offsets until the window is covered, filter applied, newest first', async () => {
    const c = client();
    const { rows, capped } = await c.queryWindow({ since: SINCE, until: UNTIL, filter: propertyEquals('Environment', 'production'), pageSize: 300 });
    const expected = inWindow.filter((r) => r.properties.Environment === 'production');
    assert.equal(capped, false);
    assert.equal(rows.length, expected.length);
    assert.deepEqual(new Set(rows.map((r) => r.request_id)), new Set(expected.map((r) => r.request_id)));
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].request_created_at >= rows[i].request_created_at);
    // ceil(834 / 300) = 3 pages with rows, then one empty page proves the end.
    assert.deepEqual(fake.requests.map((q) => (q.body as { offset: number }).offset), [0, 300, 600, 900]);
    for (const q of fake.requests) assert.equal((q.body as { limit: number }).limit, 300);
  });

  it('queryWindow covers a whole window across full pages of 1000', async () => {
    const { rows, capped } = await client().queryWindow({ since: SINCE, until: UNTIL });
    assert.equal(capped, false);
    assert.equal(rows.length, 2500);
    assert.equal(fake.requests.length, 4);
  });

  it('queryWindow stops at the row cap, keeps the newest rows and says capped', async () => {
    const { rows, capped } = await client().queryWindow({ since: SINCE, until: UNTIL, rowCap: 1200, pageSize: 500 });
    assert.equal(capped, true);
    assert.equal(rows.length, 1200);
    const newest = [...inWindow].sort((a, b) => Date.parse(b.request_created_at) - Date.parse(a.request_created_at)).slice(0, 1200);
    assert.deepEqual(rows.map((r) => r.request_id), newest.map((r) => r.request_id));
    assert.equal(fake.requests.length, 3);
  });

  it('queryWindow with a model filter and a cap that equals the match count is not capped', async () => {
    const expected = inWindow.filter((r) => r.model === 'gpt-4o');
    const { rows, capped } = await client().queryWindow({ since: SINCE, until: UNTIL, filter: modelEquals('gpt-4o'), rowCap: expected.length, pageSize: 1000 });
    assert.equal(rows.length, expected.length);
    assert.equal(capped, false);
  });

  it('401: QUERY_AUTH "API key rejected", no retry', async () => {
    const e = await rejects(client({ apiKey: 'sk-helicone-wrong-key-000000000000' }).queryRequests({ filter: 'all' }));
    assert.ok(isLensError(e, 'QUERY_AUTH'));
    assert.match((e as Error).message, /API key rejected/);
    assert.equal((e as QueryError).status, 401);
    assert.equal(fake.requests.length, 1);
  });

  it('403 is an auth failure too', async () => {
    fake.script({ status: 403 });
    const e = await rejects(client().queryRequests({ filter: 'all' }));
    assert.ok(isLensError(e, 'QUERY_AUTH'));
  });

  it('429 with Retry-After in seconds: waits that long, then succeeds', async () => {
    fake.script({ status: 429, retryAfter: '1' });
    const rows = await client().queryRequests({ filter: 'all', limit: 3 });
    assert.equal(rows.length, 3);
    assert.equal(fake.requests.length, 2);
    const waited = fake.requests[1].at - fake.requests[0].at;
    assert.ok(waited >= 950, `waited only ${waited} ms`);
  });

  it('429 with Retry-After as an HTTP date is honoured', async () => {
    fake.script({ status: 429, retryAfter: new Date(Date.now() + 2000).toUTCString() });
    await client().queryRequests({ filter: 'all', limit: 1 });
    const waited = fake.requests[1].at - fake.requests[0].at;
    // HTTP dates have whole-second resolution: the wait is between 1 and 2 s.
    assert.ok(waited >= 950, `waited only ${waited} ms`);
  });

  it('429 every time: QUERY_RATE_LIMITED carrying Retry-After, after the retries', async () => {
    fake.script({ status: 429, retryAfter: '0' }, { status: 429, retryAfter: '0' }, { status: 429, retryAfter: '0' });
    const e = await rejects(client({ maxRetries: 2 }).queryRequests({ filter: 'all' }));
    assert.ok(isLensError(e, 'QUERY_RATE_LIMITED'));
    assert.equal((e as QueryError).retryAfterMs, 0);
    assert.equal(fake.requests.length, 3);
  });

  it('429 with a Retry-After beyond the cap is not waited out here: the caller gets it at once', async () => {
    fake.script({ status: 429, retryAfter: '3600' });
    const started = Date.now();
    const e = await rejects(client({ maxRetryAfterMs: 5000 }).queryRequests({ filter: 'all' }));
    assert.ok(isLensError(e, 'QUERY_RATE_LIMITED'));
    assert.equal((e as QueryError).retryAfterMs, 3_600_000);
    assert.ok(Date.now() - started < 2000);
    assert.equal(fake.requests.length, 1);
  });

  it('5xx: retried with backoff, then success', async () => {
    fake.script({ status: 502 }, { status: 503 });
    const rows = await client({ maxRetries: 2 }).queryRequests({ filter: 'all', limit: 2 });
    assert.equal(rows.length, 2);
    assert.equal(fake.requests.length, 3);
    assert.ok(logger.messages('debug').some((m) => /HTTP 502.*retry 1 of 2/.test(m)));
  });

  it('5xx every time: QUERY_UNAVAILABLE after maxRetries + 1 attempts', async () => {
    fake.script({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const e = await rejects(client({ maxRetries: 3 }).queryRequests({ filter: 'all' }));
    assert.ok(isLensError(e, 'QUERY_UNAVAILABLE'));
    assert.match((e as Error).message, /HTTP 500/);
    assert.equal(fake.requests.length, 4);
  });

  it('a slow answer times out and is retried, then QUERY_UNAVAILABLE', async () => {
    fake.delayMs = 1500;
    const started = Date.now();
    const e = await rejects(client({ timeoutMs: 200, maxRetries: 1 }).queryRequests({ filter: 'all' }));
    assert.ok(isLensError(e, 'QUERY_UNAVAILABLE'));
    assert.match((e as Error).message, /did not answer within 200 ms/);
    assert.ok(Date.now() - started < 1400, 'gave up before the slow answers came');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fake.requests.length, 2);
  });

  it('a slow answer within the timeout is fine', async () => {
    fake.script({ delayMs: 300 });
    assert.equal((await client({ timeoutMs: 2000 }).queryRequests({ filter: 'all', limit: 1 })).length, 1);
  });

  it('a missing required field is QUERY_BAD_RESPONSE naming it', async () => {
    fake.script({ dropField: 'request_id' });
    const e = await rejects(client().queryRequests({ filter: 'all', limit: 3 }));
    assert.ok(isLensError(e, 'QUERY_BAD_RESPONSE'));
    assert.match((e as Error).message, /data\[0\]\.request_id: required field missing/);
  });

  it('a wrongly typed field is QUERY_BAD_RESPONSE naming it; so is a body that is not JSON', async () => {
    fake.script({ status: 200, body: JSON.stringify({ data: [{ request_id: 'x', request_created_at: 'not a date', response_status: 200 }], error: null }) });
    const e = await rejects(client().queryRequests({ filter: 'all' }));
    assert.match((e as Error).message, /data\[0\]\.request_created_at: expected an ISO 8601 timestamp/);
    fake.script({ status: 200, body: '<html>gateway</html>' });
    const e2 = await rejects(client().queryRequests({ filter: 'all' }));
    assert.ok(isLensError(e2, 'QUERY_BAD_RESPONSE'));
    assert.match((e2 as Error).message, /not JSON/);
  });

  it('reads ClickHouse-style numbers sent as strings and a costUSD-only row', async () => {
    fake.script({ status: 200, body: JSON.stringify({ data: [{ request_id: 'x', request_created_at: '2025-06-01 10:00:00.000', response_status: '200', total_tokens: '42', costUSD: 0.5, cache_reference_id: 'c0ffee00-0000-4000-8000-000000000000', request_properties: { Environment: 'production' } }], error: null }) });
    const [r] = await client().queryRequests({ filter: 'all' });
    assert.equal(r.request_created_at, '2025-06-01T10:00:00.000Z');
    assert.equal(r.response_status, 200);
    assert.equal(r.total_tokens, 42);
    assert.equal(r.cost, 0.5);
    assert.equal(r.cache_hit, true);
    assert.equal(r.properties.Environment, 'production');
  });

  it('a 400 from the server is QUERY_BAD_REQUEST with its message, the key scrubbed from it', async () => {
    fake.script({ status: 400, body: JSON.stringify({ data: null, error: `bad filter sent with ${KEY}` }) });
    const e = await rejects(client().queryRequests({ filter: 'all' }));
    assert.ok(isLensError(e, 'QUERY_BAD_REQUEST'));
    assert.match((e as Error).message, /bad filter sent with/);
    assert.equal((e as Error).message.includes(KEY), false);
  });

  it('never logs the key', async () => {
    fake.script({ status: 500 }, { status: 429, retryAfter: '0' });
    await client({ maxRetries: 2 }).queryRequests({ filter: 'all', limit: 1 });
    await rejects(client({ apiKey: `${KEY}x` }).queryRequests({ filter: 'all' }));
    assert.ok(logger.entries.length > 0);
    for (const e of logger.entries) assert.equal(JSON.stringify(e).includes(KEY), false, e.message);
  });

  it('can be cancelled mid-request and mid-wait', async () => {
    fake.delayMs = 2000;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    let started = Date.now();
    const e = await rejects(client().queryRequests({ filter: 'all' }, { signal: ac.signal }));
    assert.equal((e as Error).name, 'AbortError');
    assert.ok(Date.now() - started < 1000);

    fake.delayMs = 0;
    fake.script({ status: 429, retryAfter: '30' });
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 300);
    started = Date.now();
    const e2 = await rejects(client({ maxRetryAfterMs: 60_000 }).queryWindow({ since: SINCE, until: UNTIL, signal: ac2.signal }));
    assert.equal((e2 as Error).name, 'AbortError');
    assert.ok(Date.now() - started < 2000);
    assert.equal(fake.requests.length, 2);
  });

  it('an unreachable source is QUERY_UNAVAILABLE', async () => {
    const port = fake.port;
    await fake.close();
    const e = await rejects(client({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 1 }).queryRequests({ filter: 'all' }));
    assert.ok(isLensError(e, 'QUERY_UNAVAILABLE'));
    assert.match((e as Error).message, /unreachable/);
    fake = await startFakeHelicone({ apiKey: KEY, rows: [] });
  });

  it('refuses a base URL that is not http(s)', () => {
    assert.throws(() => new HeliconeQueryClient({ baseUrl: 'ftp://example.com', logger }), (e: unknown) => isLensError(e, 'BAD_CONFIG'));
    assert.throws(() => new HeliconeQueryClient({ baseUrl: 'not a url', logger }), (e: unknown) => isLensError(e, 'BAD_CONFIG'));
    assert.throws(() => new HeliconeQueryClient({ baseUrl: fake.url, apiKey: `${KEY}\nX-Injected: 1`, logger }),
      (e: unknown) => isLensError(e, 'BAD_CONFIG') && !(e as Error).message.includes(KEY));
  });

  it('refuses a window that is not a pair of epoch milliseconds with a typed error, sending nothing', async () => {
    const e = await rejects(client().queryWindow({ since: Number.NaN, until: Date.now() }));
    assert.ok(isLensError(e, 'QUERY_BAD_REQUEST'));
    assert.equal(fake.requests.length, 0);
  });

  it('parseRetryAfter: seconds, HTTP dates, garbage', () => {
    const now = Date.UTC(2025, 0, 1, 0, 0, 0);
    assert.equal(parseRetryAfter('5', now), 5000);
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
  });
});

describe('query client against LLM Lens\'s own query API', function () {
  this.timeout(30_000);
  const NOW = Date.now();
  let dir: string;
  let logger: RecordingLogger;
  let records: LogRecord[];

  function seedRecords(): LogRecord[] {
    const out: LogRecord[] = [];
    const envs = ['development', 'staging', 'production'];
    for (let i = 0; i < 45; i++) {
      const startedAt = NOW - 6 * HOUR + i * 60_000;
      const over: Partial<LogRecord> = {
        startedAt,
        latencyMs: 100 + i,
        costUsd: i % 7 === 0 ? null : 0.001 * i,
        status: i % 9 === 0 ? 500 : 200,
        state: i % 9 === 0 ? 'error' : 'ok',
        error: i % 9 === 0 ? { kind: 'upstream_status', message: 'HTTP 500' } : null,
        properties: { Environment: envs[i % 3], Version: `v${i % 2}` },
      };
      out.push(i % 5 === 0 ? makeSessionRecord(`s-${i % 2}`, over) : makeRecord(over));
    }
    // Outside the window asked for below.
    out.push(makeRecord({ startedAt: NOW - 30 * HOUR, properties: { Environment: 'development' } }));
    return out;
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lens-query-client-'));
    logger = new RecordingLogger();
    records = seedRecords();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function checkSource(baseUrl: string, apiKey: string | undefined): Promise<void> {
    const c = new HeliconeQueryClient({ baseUrl, apiKey, logger, maxRetries: 0 });
    try {
      const { rows, capped } = await c.queryWindow({ since: NOW - 12 * HOUR, until: NOW, filter: propertyEquals('Environment', 'development'), pageSize: 4 });
      const expected = records.filter((r) => r.startedAt >= NOW - 12 * HOUR && r.startedAt < NOW && r.properties.Environment === 'development');
      assert.equal(capped, false);
      assert.deepEqual(rows.map((r) => r.request_id), [...expected].sort((a, b) => b.startedAt - a.startedAt).map((r) => r.id));
      // The metrics module sees the same numbers through the API as from the store.
      const byId = new Map(expected.map((r) => [r.id, r]));
      for (const row of rows) {
        const direct = metricRowFromSummary(byId.get(row.request_id)!);
        const viaApi = metricRowFromHeliconeRow(row);
        assert.deepEqual({ ...viaApi, properties: direct.properties }, direct);
      }
      const capped2 = await c.queryWindow({ since: NOW - 12 * HOUR, until: NOW, rowCap: 10, pageSize: 4 });
      assert.equal(capped2.capped, true);
      assert.equal(capped2.rows.length, 10);

      const one = await c.getRequest(expected[0].id);
      assert.deepEqual(one?.request_body, expected[0].bodies.request.json);
      assert.equal(await c.getRequest('00000000-0000-4000-8000-00000000dead'), null);

      const sessions = await c.querySessions({});
      assert.deepEqual(sessions.map((s) => s.session_id).sort(), ['s-0', 's-1']);
      assert.equal(sessions.reduce((n, s) => n + s.total_requests, 0), records.filter((r) => r.session).length);

      const bad = await rejects(c.queryRequests({ filter: { request_response_rmt: { model: { equal: 'x' } } } as never }));
      assert.ok(isLensError(bad, 'QUERY_BAD_REQUEST'));
      assert.match((bad as Error).message, /body\.filter\.request_response_rmt\.model: unknown operator "equal"/);
    } finally {
      await c.close();
    }
  }

  it('works against createQueryApi served by a plain HTTP server (the /api prefix in the base URL)', async () => {
    const store = await RecordStore.open({ dataDir: dir, logger });
    let server: Server | undefined;
    try {
      for (const r of records) await store.complete(r);
      const handler = createQueryApi({ store, logger });
      server = createServer((req, res) => { void handler(req, res); });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      await checkSource(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, undefined);
    } finally {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await store.close();
    }
  });

  it('stops paging an LLM Lens source on its X-Total-Count, without the extra empty page Helicone needs', async () => {
    const store = await RecordStore.open({ dataDir: dir, logger });
    let server: Server | undefined;
    try {
      for (const r of records) await store.complete(r);
      const handler = createQueryApi({ store, logger });
      let queries = 0;
      server = createServer((req, res) => { if (req.method === 'POST') queries++; void handler(req, res); });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const client = new HeliconeQueryClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, logger });
      const { rows, capped } = await client.queryWindow({ since: NOW - 12 * HOUR, until: NOW, filter: propertyEquals('Environment', 'development'), pageSize: 4 });
      await client.close();
      assert.equal(rows.length, 15);
      assert.equal(capped, false);
      assert.equal(queries, 4, 'pages of 4, 4, 4 and 3 rows');
    } finally {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await store.close();
    }
  });

  it('works against the full proxy runtime with a token; a wrong key is QUERY_AUTH', async () => {
    let runtime: LensRuntime | undefined;
    try {
      runtime = await startLensRuntime({ dataDir: dir, logger, port: 0, apiToken: 'runtime-token-123', cache: { enabled: false } });
      for (const r of records) await runtime.store.complete(r);
      await checkSource(`${runtime.proxy.url}/api`, 'runtime-token-123');
      const c = new HeliconeQueryClient({ baseUrl: `${runtime.proxy.url}/api`, apiKey: 'nope', logger, maxRetries: 0 });
      const e = await rejects(c.queryRequests({ filter: 'all' }));
      await c.close();
      assert.ok(isLensError(e, 'QUERY_AUTH'));
    } finally {
      await runtime?.close();
    }
  });
});
