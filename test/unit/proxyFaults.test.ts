// Upstream faults: the client sees the right thing, the record says what happened, the proxy goes on.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { startProxyHarness } from '../support/proxyHarness';
import type { ProxyHarness } from '../support/proxyHarness';

interface RawResult { status: number; body: string; error: string | null; headers: http.IncomingHttpHeaders }

function post(url: string, headers: Record<string, string>, body: unknown): Promise<RawResult> {
  return new Promise((resolve) => {
    let status = 0;
    let text = '';
    let hdrs: http.IncomingHttpHeaders = {};
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      status = res.statusCode ?? 0;
      hdrs = res.headers;
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status, body: text, error: null, headers: hdrs }));
      res.on('error', (e) => resolve({ status, body: text, error: e.message, headers: hdrs }));
      res.on('aborted', () => resolve({ status, body: text, error: 'aborted', headers: hdrs }));
    });
    req.on('error', (e) => resolve({ status, body: text, error: e.message, headers: hdrs }));
    req.end(JSON.stringify(body));
  });
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
const stream = { ...chat, stream: true, stream_options: { include_usage: true } };

describe('proxy faults', function () {
  this.timeout(20_000);
  let h: ProxyHarness;
  beforeEach(async () => { h = await startProxyHarness({ runtime: { timeouts: { headersMs: 400, bodyIdleMs: 400 } }, mock: { stallMs: 5000 } }); });
  afterEach(async () => { await h.close(); });

  const last = async () => h.record(h.runtime.store.list()[0].id);

  it('upstream resets before answering: 502 upstream_reset', async () => {
    const res = await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': 'reset-before' }, chat);
    assert.equal(res.status, 502);
    assert.match(res.body, /upstream_reset/);
    const r = await last();
    assert.equal(r.error?.kind, 'upstream_reset');
  });

  it('upstream resets mid-stream: the client stream breaks, the record keeps what came', async () => {
    const res = await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': 'reset-mid' }, stream);
    assert.equal(res.status, 200);
    assert.ok(res.error, 'the client sees a broken stream, not a clean end');
    assert.ok(!res.body.includes('[DONE]'));
    const r = await last();
    assert.equal(r.error?.kind, 'upstream_reset');
    assert.equal(r.bodies.streamEvents?.length, 2);
  });

  it('upstream resets mid-JSON body: broken response, upstream_reset', async () => {
    const res = await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': 'reset-mid' }, chat);
    assert.ok(res.error);
    const r = await last();
    assert.equal(r.error?.kind, 'upstream_reset');
    assert.equal(r.bodies.response.kind, 'text');
  });

  it('upstream stalls before the first byte: 504 after the headers timeout', async () => {
    const t = Date.now();
    const res = await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': 'stall-first-byte' }, chat);
    assert.equal(res.status, 504);
    assert.ok(Date.now() - t < 3000);
    assert.match(JSON.parse(res.body).error.message, /no response headers within the timeout/);
    const r = await last();
    assert.equal(r.error?.kind, 'upstream_timeout');
    await h.mock.waitIdle();
    assert.equal(h.mock.abortedCount(), 1, 'the stalled upstream request was closed');
  });

  it('upstream stalls mid-stream: the stream is cut after the idle timeout', async () => {
    const res = await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': 'stall-mid' }, stream);
    assert.equal(res.status, 200);
    assert.ok(res.error);
    const r = await last();
    assert.equal(r.error?.kind, 'upstream_timeout');
    assert.equal(r.bodies.streamEvents?.length, 2);
  });

  it('a malformed SSE stream is forwarded byte for byte and logged', async () => {
    const direct = await post(`${h.mock.url}/v1/chat/completions`, { 'x-mock-fault': 'malformed-sse' }, stream);
    const res = await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': 'malformed-sse' }, stream);
    const strip = (s: string): string => s.replace(/chatcmpl-[0-9a-f]+/g, 'ID').replace(/"created":\d+/g, '');
    assert.equal(strip(res.body), strip(direct.body));
    const r = await last();
    assert.equal(r.state, 'ok');
    assert.ok(r.bodies.streamEvents!.some((e) => e.data.startsWith('{"id":"broken"')));
    assert.equal(r.usage?.completionTokens, 5);
  });

  it('truncated JSON is forwarded as sent and stored as text', async () => {
    const res = await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': 'truncated-json' }, chat);
    assert.equal(res.status, 200);
    assert.throws(() => JSON.parse(res.body));
    const r = await last();
    assert.equal(r.bodies.response.kind, 'text');
    assert.equal(r.usage, null);
  });

  it('429 and 503 pass through with Retry-After', async () => {
    const a = await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': 'status-429' }, chat);
    assert.equal(a.status, 429);
    assert.equal(a.headers['retry-after'], '1');
    const b = await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': 'status-503' }, chat);
    assert.equal(b.status, 503);
    assert.equal(b.headers['retry-after'], '2');
  });

  it('keeps serving normal requests after every kind of fault, with no upstream request left open', async () => {
    for (const fault of ['reset-before', 'reset-mid', 'stall-first-byte', 'stall-mid', 'malformed-sse', 'truncated-json', 'status-500']) {
      await post(`${h.url}/v1/chat/completions`, { 'x-mock-fault': fault }, stream);
    }
    const ok = await post(`${h.url}/v1/chat/completions`, {}, chat);
    assert.equal(ok.status, 200);
    await h.waitRecords(8);
    await h.mock.waitIdle();
    assert.equal(h.mock.active(), 0);
    assert.equal(h.runtime.proxy.inFlight(), 0);
  });

  it('a client that sends a body and leaves before the upstream answers is logged, and its upstream request aborted', async () => {
    await new Promise<void>((resolve) => {
      const req = http.request(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-mock-latency-ms': '300' } });
      req.on('error', () => resolve());
      req.end(JSON.stringify(chat));
      void h.mock.waitForRequests(1).then(() => { req.destroy(); });
    });
    await h.mock.waitIdle();
    assert.equal(h.mock.abortedCount(), 1);
    const r = await last();
    assert.equal(r.error?.kind, 'client_aborted');
  });

  it('a client that leaves while still uploading is logged and nothing reaches the upstream', async () => {
    await new Promise<void>((resolve) => {
      const req = http.request(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '100000' } });
      req.on('error', () => resolve());
      req.write('{"model":"gpt-4o-mini","messages":[');
      setTimeout(() => { req.destroy(); resolve(); }, 100);
    });
    await h.waitRecords(1);
    const r = await last();
    assert.equal(r.error?.kind, 'client_aborted');
    assert.equal(h.mock.requests.length, 0);
  });

  describe('bad input', () => {
    /** Sends raw bytes (no half-close: a FIN would read as the client leaving) and returns the whole answer. */
    function rawHttp(port: number, data: Buffer): Promise<string> {
      return new Promise((resolve) => {
        const sock = net.connect(port, '127.0.0.1', () => sock.write(data));
        let out = '';
        sock.on('data', (c: Buffer) => { out += c.toString('latin1'); });
        sock.on('close', () => resolve(out));
        sock.on('error', () => resolve(out));
      });
    }
    const port = (): number => Number(new URL(h.url).port);
    const requestBytes = (extraHeaders: string, body: string | Buffer): Buffer => Buffer.concat([
      Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extraHeaders}\r\n`, 'latin1'),
      Buffer.isBuffer(body) ? body : Buffer.from(body),
    ]);
    const okBody = JSON.stringify(chat);

    it('forwards non-UTF-8 header bytes unchanged and records them', async () => {
      const res = await rawHttp(port(), requestBytes('X-Bin: caf\xe9 \xff\r\nHelicone-Property-Place: \xe9t\xe9\r\n', okBody));
      assert.match(res, /^HTTP\/1\.1 200/);
      assert.equal(h.mock.requests[0].headers['x-bin'], 'caf\xe9 \xff');
      const r = await last();
      assert.equal(r.properties.Place, '\xe9t\xe9');
    });

    it('answers 431 to oversized headers and keeps serving', async () => {
      const res = await rawHttp(port(), requestBytes(`X-Big: ${'a'.repeat(70_000)}\r\n`, okBody));
      assert.match(res, /^HTTP\/1\.1 431/);
      assert.equal((await post(`${h.url}/v1/chat/completions`, {}, chat)).status, 200);
    });

    it('forwards deeply nested JSON and stores it as text', async () => {
      const deep = '{"model":"gpt-4o-mini","x":' + '['.repeat(50_000) + ']'.repeat(50_000) + '}';
      const res = await rawHttp(port(), requestBytes('', deep));
      assert.match(res, /^HTTP\/1\.1 200/);
      assert.equal(h.mock.requests[0].body.length, deep.length);
      const r = await last();
      assert.equal(r.bodies.request.kind, 'text');
      assert.equal(r.requestModel, 'gpt-4o-mini');
      assert.equal(r.state, 'ok');
    });

    it('forwards a body that is not valid JSON or UTF-8 and logs it raw', async () => {
      const res = await rawHttp(port(), requestBytes('', Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22])));
      assert.match(res, /^HTTP\/1\.1 400/, 'the upstream judges the body, not the proxy');
      const r = await last();
      assert.equal(r.bodies.request.kind, 'base64');
      assert.equal(r.error?.kind, 'upstream_status');
    });

    it('keeps the first 200 of 300 properties with a warning', async () => {
      const props = Array.from({ length: 300 }, (_, i) => `Helicone-Property-P${i}: v${i}\r\n`).join('');
      const res = await rawHttp(port(), requestBytes(props, okBody));
      assert.match(res, /^HTTP\/1\.1 200/);
      const r = await last();
      assert.equal(Object.keys(r.properties).length, 200);
      assert.match(r.warnings.join(), /100 Helicone-Property-\* headers beyond the first 200/);
    });

    it('answers 400 to a malformed request line without logging or crashing', async () => {
      const res = await rawHttp(port(), Buffer.from('GARBAGE\r\n\r\n'));
      assert.match(res, /^HTTP\/1\.1 400/);
      assert.equal((await post(`${h.url}/v1/chat/completions`, {}, chat)).status, 200);
    });
  });
});
