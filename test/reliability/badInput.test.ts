// Hostile and broken input against the real CLI process: the answer is a clear error or a warning
// on the record, never a crash, and the request is still forwarded where the upstream would take
// it. After every test the same process must still be alive and serving (afterEach), and at the
// end its RSS is compared with the start. Sizes are the ones a careless client or a hostile page
// can really produce: 30 MB bodies up and down, 100,000 levels of JSON nesting, 10,000
// properties, thousands of headers, bytes that are not UTF-8, and random bytes on the socket.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { nullLogger } from '../../src/core/logger';
import { RecordStore } from '../../src/store/recordStore';
import { startMockUpstream } from '../support/mockUpstream';
import type { MockUpstream } from '../support/mockUpstream';
import { chatBody, rawRequest, recordFigure, replyText } from './support/http';
import type { RawResult } from './support/http';
import { MB, buildCli, killAll, rssBytes, sleep, startCli } from './support/proc';
import type { CliProcess } from './support/proc';

interface ApiRecord {
  request_id: string; response_status: number; properties: Record<string, string>; request_body: unknown; response_body: unknown;
  warnings?: string[]; [k: string]: unknown;
}

/** Raw bytes on a fresh socket; resolves with everything the server sent before closing. */
function rawSocket(port: number, bytes: Buffer | string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => { sock.destroy(); resolve(out); }, timeoutMs);
    sock.on('data', (c: Buffer) => { out += c.toString('latin1'); });
    sock.on('close', () => { clearTimeout(t); resolve(out); });
    sock.on('error', () => undefined);
    // write, not end: node's HTTP server takes a half-closed connection for an aborted request.
    sock.write(bytes);
  });
}

function requestBytes(target: string, extraHeaders: string, body: Buffer | string): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\nConnection: close\r\n${extraHeaders}\r\n`, 'latin1'),
    b,
  ]);
}

describe('reliability: bad input against the real CLI process', function () {
  this.timeout(120_000);
  let mock: MockUpstream;
  let cli: CliProcess;
  let dataDir: string;
  let rssStart = 0;
  let peakRss = 0;
  const tried: string[] = [];

  before(async () => {
    await buildCli();
    mock = await startMockUpstream();
    dataDir = mkdtempSync(path.join(tmpdir(), 'lens-bad-'));
    // A small body cap so the cap is exercised without storing tens of MB per test.
    cli = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    await rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody('warm', true) });
    rssStart = rssBytes(cli.pid);
  });
  after(async () => {
    recordFigure('badInput', { tried, count: tried.length, rssStartMb: +(rssStart / MB).toFixed(1), rssPeakAfterTestMb: +(peakRss / MB).toFixed(1) });
    await killAll();
    await mock?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  afterEach(async function () {
    assert.equal(cli.child.exitCode, null, `the proxy process died: ${cli.stderr().slice(-2000)}`);
    assert.equal(cli.child.signalCode, null);
    const res = await rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody('still-ok', true), headers: { 'x-mock-reply': 'still ok' } });
    assert.equal(res.status, 200, `not serving after "${this.currentTest?.title}"`);
    assert.equal(replyText(res.body), 'still ok');
    peakRss = Math.max(peakRss, rssBytes(cli.pid));
    if (this.currentTest?.state === 'passed') tried.push(this.currentTest.title);
  });

  const port = (): number => Number(new URL(cli.url).port);
  const upstreamSaw = (marker: string): typeof mock.requests => mock.requests.filter((r) => r.body.includes(marker) || JSON.stringify(r.headers).includes(marker));

  async function record(id: string): Promise<ApiRecord> {
    for (let i = 0; i < 200; i++) {
      const res = await rawRequest(`${cli.url}/api/v1/request/${id}`);
      if (res.status === 200) return (JSON.parse(res.body.toString()) as { data: ApiRecord }).data;
      await sleep(25);
    }
    throw new Error(`record ${id} not found`);
  }
  const idOf = (res: RawResult): string => { const id = res.headers['helicone-id']; assert.equal(typeof id, 'string', `no Helicone-Id (status ${res.status})`); return id as string; };
  /** The record's warnings, from the store (the query API row does not carry them). */
  async function warningsOf(id: string): Promise<string[]> {
    // A second store on the same data dir follows the proxy's writes without taking the writer lock.
    for (let i = 0; i < 100; i++) {
      const s = await RecordStore.open({ dataDir, logger: nullLogger });
      const r = s.get(id);
      await s.close();
      if (r) return r.warnings;
      await sleep(50);
    }
    throw new Error(`record ${id} not on disk`);
  }

  it('a 30 MB request body is forwarded whole and stored capped (truncation marked)', async () => {
    const marker = 'big-up-' + Date.now();
    const body = JSON.stringify({ model: 'gpt-4o-mini', marker, messages: [{ role: 'user', content: 'x'.repeat(30 * MB) }] });
    const res = await rawRequest(`${cli.url}/v1/echo`, { body, timeoutMs: 60_000 });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, Buffer.byteLength(body), 'the whole body went up and came back');
    assert.ok(res.body.equals(Buffer.from(body)));
    const r = await record(idOf(res));
    assert.equal(r.response_status, 200);
    const stored = JSON.stringify(r.request_body ?? '');
    assert.ok(stored.length < 3 * MB, `stored ${stored.length} bytes of a 30 MB body`);
  });

  it('100,000 levels of JSON nesting, in a request body and in a response body: forwarded, stored as text, no crash', async () => {
    const deep = '{"model":"gpt-4o-mini","x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    // Up: the mock parses it (or not) and answers; the proxy only has to pass it on.
    const up = await rawRequest(`${cli.url}/v1/chat/completions`, { body: deep });
    assert.ok(up.status === 200 || up.status === 400, `status ${up.status}`);
    assert.equal(upstreamSaw('"x":[[[[').at(-1)?.bytes.length, deep.length, 'forwarded byte for byte');
    // Down: /v1/echo answers with the same bytes as application/json.
    const down = await rawRequest(`${cli.url}/v1/echo`, { body: deep });
    assert.equal(down.status, 200);
    assert.equal(down.body.toString(), deep);
    const r = await record(idOf(down));
    assert.equal(r.response_status, 200);
    // The query API reads the deep request itself: a 400 with a message, never a 500 or a hang.
    const q = await rawRequest(`${cli.url}/api/v1/request/query`, { body: '{"filter":' + '{"left":'.repeat(100_000) + '"all"' + '}'.repeat(100_000) + '}' });
    assert.equal(q.status, 400, q.body.toString().slice(0, 300));
    assert.equal(JSON.parse(q.body.toString()).data, null);
  });

  it('10,000 properties: a clear 431 (the headers exceed 64 KB); 2,500 properties: forwarded, the first 200 kept, with a warning', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `Helicone-Property-P${i}: v${i}\r\n`).join('');
    const res = await rawSocket(port(), requestBytes('/v1/chat/completions', many, chatBody('props10k', false)));
    assert.match(res, /^HTTP\/1\.1 431 /);
    const marker = 'props2500';
    const some = Array.from({ length: 2_500 }, (_, i) => `Helicone-Property-P${i}: v\r\n`).join('');
    const ok = await rawSocket(port(), requestBytes('/v1/chat/completions', some + 'Authorization: Bearer sk-after-2500-headers\r\n', chatBody(marker, false)));
    assert.match(ok, /^HTTP\/1\.1 200 /);
    const saw = upstreamSaw(marker).at(-1);
    assert.ok(saw, 'forwarded');
    assert.equal(saw.headers.authorization, 'Bearer sk-after-2500-headers', 'a header after 2,500 others still reaches the upstream (none dropped silently)');
    const id = /helicone-id: ([0-9a-f-]{36})/i.exec(ok)![1];
    const r = await record(id);
    assert.equal(Object.keys(r.properties).filter((k) => k.startsWith('P')).length, 200);
    assert.ok((await warningsOf(id)).some((w) => /2300 Helicone-Property-\* headers beyond the first 200/.test(w)));
  });

  it('invalid request ids, bucket sizes out of range and Cache-Control garbage: forwarded, each reported as a warning', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'Helicone-Request-Id': 'not-a-uuid' }, /Helicone-Request-Id "not-a-uuid" is not a UUID/],
      [{ 'Helicone-Request-Id': '00000000-0000-0000-0000-00000000000g' }, /is not a UUID/],
      [{ 'Helicone-Request-Id': "'; DROP TABLE requests; --" }, /is not a UUID/],
      [{ 'Helicone-Cache-Enabled': 'true', 'Helicone-Cache-Bucket-Max-Size': '0' }, /Bucket-Max-Size "0" is not a whole number from 1 to 20; 1 is used/],
      [{ 'Helicone-Cache-Enabled': 'true', 'Helicone-Cache-Bucket-Max-Size': '1e9' }, /Bucket-Max-Size "1e9" is not a whole number from 1 to 20; 20 is used/],
      [{ 'Helicone-Cache-Enabled': 'true', 'Helicone-Cache-Bucket-Max-Size': '-5' }, /1 is used/],
      [{ 'Helicone-Cache-Enabled': 'true', 'Helicone-Cache-Bucket-Max-Size': 'NaN' }, /1 is used/],
      [{ 'Helicone-Cache-Enabled': 'true', 'Cache-Control': 'max-age=banana' }, /Cache-Control max-age "banana" is not a whole number/],
      [{ 'Helicone-Cache-Enabled': 'true', 'Cache-Control': 'max-age=-1' }, /is not a whole number of seconds/],
      [{ 'Helicone-Cache-Enabled': 'true', 'Cache-Control': 'max-age=99999999999999999999' }, /over 365 days/],
      [{ 'Helicone-Cache-Enabled': 'true', 'Cache-Control': ',,,=,=;;"' }, /has no max-age or s-maxage/],
      [{ 'Helicone-Cache-Enabled': 'maybe' }, /Helicone-Cache-Enabled: "maybe" is not "true" or "false"/],
      [{ 'Helicone-Omit-Response': 'TRUE' }, /is not exactly "true"/],
      [{ 'Helicone-Target-Url': 'javascript:alert(1)' }, /Helicone-Target-Url .* is not an http\(s\) URL/],
      [{ 'Helicone-Session-Path': 'a b' }, /without Helicone-Session-Id/],
    ];
    for (const [headers, warning] of cases) {
      const marker = `w${Math.random().toString(36).slice(2)}`;
      const res = await rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody(marker, false), headers: { ...headers, 'x-mock-reply': marker } });
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.equal(replyText(res.body), marker);
      assert.equal(upstreamSaw(marker).length, 1, `${JSON.stringify(headers)}: forwarded once`);
      const w = await warningsOf(idOf(res));
      assert.ok(w.some((x) => warning.test(x)), `${JSON.stringify(headers)}: warnings ${JSON.stringify(w)}`);
    }
  });

  it('non-UTF-8 bytes in header values and bodies: forwarded byte for byte, stored without loss', async () => {
    const body = Buffer.concat([Buffer.from('{"model":"gpt-4o-mini","b":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]), Buffer.from('"}')]);
    const res = await rawSocket(port(), requestBytes('/v1/echo', 'X-Latin: caf\xe9 \xff\r\nHelicone-Property-Lieu: \xe9t\xe9\r\n', body));
    assert.match(res, /^HTTP\/1\.1 200 /);
    const echoed = Buffer.from(res.slice(res.indexOf('\r\n\r\n') + 4), 'latin1');
    assert.ok(echoed.equals(body), 'the body came back byte for byte');
    const saw = mock.requests.at(-1)!;
    assert.equal(saw.headers['x-latin'], 'caf\xe9 \xff');
    const id = /helicone-id: ([0-9a-f-]{36})/i.exec(res)![1];
    const r = await record(id);
    assert.equal(r.properties.Lieu, '\xe9t\xe9');
  });

  it('a Helicone-Property-__proto__ header and a __proto__ property filter: no pollution, no crash, no silent loss', async () => {
    const res = await rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody('proto', false), headers: { 'Helicone-Property-__proto__': '{"polluted":true}', 'Helicone-Property-constructor': 'c' } });
    assert.equal(res.status, 200);
    const id = idOf(res);
    const r = await record(id);
    assert.equal(r.properties.constructor, 'c');
    const kept = Object.prototype.hasOwnProperty.call(r.properties, '__proto__');
    const warned = (await warningsOf(id)).some((w) => w.includes('__proto__'));
    assert.ok(kept || warned, `Helicone-Property-__proto__ vanished without a warning: ${JSON.stringify(r.properties)}`);
    const q = await rawRequest(`${cli.url}/api/v1/request/query`, { body: '{"filter":{"properties":{"__proto__":{"equals":"x"}}}}' });
    assert.ok(q.status === 200 || q.status === 400, `status ${q.status}`);
    const log = await rawRequest(`${cli.url}/api/custom/v1/log`, { body: JSON.stringify({
      providerRequest: { url: 'custom://tool', json: {}, meta: { 'Helicone-Property-__proto__': 'x', 'Helicone-Session-Id': 's1' } },
      providerResponse: { json: {}, status: 200, headers: {} }, timing: { startTime: { seconds: 1, milliseconds: 0 }, endTime: { seconds: 2, milliseconds: 0 } },
    }) });
    assert.ok(log.status === 200 || log.status === 400, `custom log status ${log.status}: ${log.body.toString().slice(0, 200)}`);
  });

  it('random bytes on the socket (300 fast-check cases, 25 at a time): a 4xx or a closed connection, never a crash', async () => {
    const headerLine = fc.oneof(
      fc.constantFrom('Content-Length: -1', 'Content-Length: 99999999999999999999', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked',
        'Content-Length: 5\r\nContent-Length: 6', 'Host:', 'Helicone-Property-: x', 'Expect: 100-continue', 'Connection: upgrade\r\nUpgrade: websocket'),
      fc.string({ maxLength: 40 }).map((s) => `X-${s.replace(/[\r\n]/g, '')}: ${s}`),
    );
    const start = fc.constantFrom('POST /v1/chat/completions HTTP/1.1', 'GET /api/health HTTP/1.1', 'POST /api/v1/request/query HTTP/1.1', 'GET / HTTP/1.0', 'PRI * HTTP/2.0', 'POST /v1/../../etc/passwd HTTP/1.1', '');
    const arb = fc.tuple(start, fc.array(headerLine, { maxLength: 5 }), fc.uint8Array({ maxLength: 200 }), fc.boolean());
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
    // Sampled, then sent 25 at a time: half of the cases are unfinished requests that only end
    // when the client gives up, and one at a time that is minutes of waiting.
    const cases = fc.sample(arb, { numRuns: 300, seed });
    let answered = 0;
    const bad: string[] = [];
    for (let i = 0; i < cases.length; i += 25) {
      await Promise.all(cases.slice(i, i + 25).map(async ([line, headers, tail, terminate]) => {
        const head = `${line}\r\nHost: 127.0.0.1\r\n${headers.join('\r\n')}${headers.length ? '\r\n' : ''}${terminate ? '\r\n' : ''}`;
        const out = await rawSocket(port(), Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(tail)]), 1500);
        if (out.startsWith('HTTP/1.')) answered++;
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(out)?.[1] ?? 0);
        if (!(status === 0 || status < 500 || status === 502 || status === 504)) bad.push(`${status} for ${JSON.stringify(head.slice(0, 120))}`);
      }));
      assert.equal(cli.child.exitCode, null, `the proxy process died (seed ${seed})`);
    }
    assert.deepEqual(bad, [], `seed ${seed}`);
    assert.ok(answered > 30, `only ${answered} of 300 got any HTTP answer`);
  });

  it('after all of it, memory is back within bounds', async () => {
    await sleep(1000);
    const rss = rssBytes(cli.pid);
    // The 30 MB body is the largest single input; the process must not keep its copies.
    assert.ok(rss < rssStart + 120 * MB, `RSS ${Math.round(rss / MB)} MB, started at ${Math.round(rssStart / MB)} MB`);
  });
});
