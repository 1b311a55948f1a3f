// Security at the process level, through the real CLI:
//  - secrets: one run sends fresh random keys in every form a client or an upstream uses
//    (Authorization, x-api-key, api-key, Helicone-Auth, Cookie, Proxy-Authorization, any *-Key /
//    *-Token header, ?key= and ?api_key= query strings, URL userinfo, a custom log's headers, a
//    Set-Cookie answer), streamed, JSON, cached, failing; then every byte of every file in the
//    data dir, of the JSONL / HAR exports, of every cURL copy, of the query API's answers and of
//    the process's own log output (at trace level) is searched for each key: 0 hits allowed.
//    The keys are checked to have reached the upstream first, so 0 means redacted, not absent.
//  - network: the CLI binds 127.0.0.1 unless --host says otherwise, and then warns; the query API
//    refuses a non-local Host (DNS rebinding) or Origin (drive-by), and with a token set, asks for it.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingLogger, nullLogger } from '../../src/core/logger';
import type { LogRecord } from '../../src/core/types';
import { startLensRuntime } from '../../src/proxy/runtime';
import { exportToFile, toCurl, toHar, toJsonl } from '../../src/store/export';
import { RecordStore } from '../../src/store/recordStore';
import { startMockUpstream } from '../support/mockUpstream';
import type { MockUpstream } from '../support/mockUpstream';
import { RESPONSE_COOKIE_SECRET, deadPort, startFaultServer } from './support/faultServer';
import type { FaultServer } from './support/faultServer';
import { chatBody, queryAllRows, rawRequest, recordFigure } from './support/http';
import { buildCli, killAll, sleep, startCli } from './support/proc';

/** 24 random letters and digits: no shape a text pattern would know, so only the header name can protect it. */
const rand = (): string => randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 24).padEnd(24, 'q');

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p)); else out.push(p);
  }
  return out;
}

/** Local addresses of sockets listening on `port`, as /proc/net/tcp{,6} write them (hex). */
function listenAddresses(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue;
      const [addr, p] = cols[1].split(':');
      if (parseInt(p, 16) === port) out.push(addr);
    }
  }
  return out;
}

describe('reliability: security (real CLI process)', function () {
  this.timeout(120_000);
  let mock: MockUpstream;
  let faults: FaultServer;
  const dirs: string[] = [];
  const tmp = (n: string): string => { const d = mkdtempSync(path.join(tmpdir(), `lens-sec-${n}-`)); dirs.push(d); return d; };

  before(async () => {
    await buildCli();
    mock = await startMockUpstream();
    faults = await startFaultServer();
  });
  after(async () => {
    await killAll();
    await mock?.close();
    await faults?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('no key, in any header form, query string, URL or answer, is found in any byte on disk, in exports, cURL, API answers or logs', async () => {
    const K = {
      authorization: `sk-proj-${rand()}`,
      xApiKey: `sk-ant-api03-${rand()}`,
      azureApiKey: rand(),
      heliconeAuth: `sk-helicone-${rand()}`,
      cookie: rand(),
      proxyAuthorization: rand(),
      googApiKey: rand(),
      customToken: rand(),
      queryKey: `AIza${rand()}${rand().slice(0, 11)}`,
      queryApiKey: rand(),
      userinfo: rand(),
      customLogAuth: `sk-${rand()}`,
      customLogMetaAuth: `sk-helicone-${rand()}`,
      apiCallToken: `sk-proj-${rand()}`,
      response: RESPONSE_COOKIE_SECRET,
    };
    const dataDir = tmp('keys');
    const dead = await deadPort();
    const cli = await startCli({
      dataDir, logLevel: 'trace',
      upstreams: { openai: `${mock.url}/v1`, anthropic: mock.url, azure: mock.url, raw: faults.url, dead: `http://127.0.0.1:${dead}` },
    });
    const all = {
      Authorization: `Bearer ${K.authorization}`, 'Helicone-Auth': `Bearer ${K.heliconeAuth}`, Cookie: `session=${K.cookie}; theme=dark`,
      'Proxy-Authorization': `Basic ${K.proxyAuthorization}`, 'X-Goog-Api-Key': K.googApiKey, 'X-Custom-Token': K.customToken,
    };
    const sent: Array<Promise<unknown>> = [
      rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody('json', false), headers: all }),
      rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody('stream', true), headers: all }),
      rawRequest(`${cli.url}/v1/chat/completions?key=${K.queryKey}&api_key=${K.queryApiKey}&api-version=1`, { body: chatBody('query', false), headers: { Authorization: `Bearer ${K.authorization}` } }),
      rawRequest(`${cli.url}/anthropic/v1/messages`, { body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] }), headers: { 'x-api-key': K.xApiKey, 'anthropic-version': '2023-06-01' } }),
      rawRequest(`${cli.url}/azure/chat/completions?api-version=2024-02-01`, { body: chatBody('azure', false), headers: { 'api-key': K.azureApiKey } }),
      rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody('cached', false), headers: { ...all, 'Helicone-Cache-Enabled': 'true' } }),
      rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody('cached', false), headers: { ...all, 'Helicone-Cache-Enabled': 'true' } }),
      rawRequest(`${cli.url}/dead/v1/chat/completions?key=${K.queryKey}`, { body: chatBody('dead', false), headers: all }),
      rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody('target', false), headers: { ...all, 'Helicone-Target-Url': `http://user:${K.userinfo}@127.0.0.1:${mock.port}` } }),
      rawRequest(`${cli.url}/raw/set-cookie`, { body: chatBody('cookie', false), headers: all }),
      rawRequest(`${cli.url}/api/custom/v1/log`, {
        headers: { Authorization: `Bearer ${K.customLogAuth}` },
        body: JSON.stringify({
          providerRequest: { url: 'custom://retrieval', json: { query: 'q' }, meta: { 'Helicone-Auth': `Bearer ${K.customLogMetaAuth}`, 'Helicone-Session-Id': 'sec', 'Helicone-Property-Step': 'retrieve' } },
          providerResponse: { json: { hits: 3 }, status: 200, headers: { 'x-api-key': K.customLogMetaAuth } },
          timing: { startTime: { seconds: Math.floor(Date.now() / 1000) - 1, milliseconds: 0 }, endTime: { seconds: Math.floor(Date.now() / 1000), milliseconds: 0 } },
        }),
      }),
    ];
    const answers = (await Promise.all(sent)) as Array<{ status: number }>;
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200, 200, 502, 200, 200, 200], 'every request answered as expected');
    await rawRequest(`${cli.url}/api/v1/request/query`, { body: '{"filter":"all"}', headers: { Authorization: `Bearer ${K.apiCallToken}` } });

    // The keys really went through (so finding none on disk means redaction, not absence).
    const up = mock.requests.map((r) => JSON.stringify(r.headers) + r.path).join('\n');
    for (const k of [K.authorization, K.xApiKey, K.azureApiKey, K.cookie, K.googApiKey, K.customToken, K.queryKey, K.queryApiKey]) assert.ok(up.includes(k), `key ${k.slice(0, 8)}… never reached the upstream`);
    assert.ok(!up.includes(K.heliconeAuth), 'Helicone-Auth was forwarded to a non-Helicone upstream');

    cli.child.kill('SIGTERM');
    assert.equal((await cli.exit).code, 0);
    await cli.closed;

    // Exports and cURL copies of every record, and the query API's answers from a fresh process.
    const store = await RecordStore.open({ dataDir, logger: nullLogger });
    const records = (await Promise.all(store.list({ limit: 100_000 }).map((s) => store.getRecord(s.id)))).filter((r): r is LogRecord => !!r);
    assert.ok(records.length >= 11, `${records.length} records`);
    const exportDir = tmp('exports');
    await exportToFile(store, path.join(exportDir, 'all.jsonl'), 'jsonl');
    await exportToFile(store, path.join(exportDir, 'all.har'), 'har');
    await store.close();
    const again = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    const apiRows = JSON.stringify(await queryAllRows(again.url, { includeBodies: true }));
    const byId = (await Promise.all(records.map((r) => rawRequest(`${again.url}/api/v1/request/${r.id}`)))).map((r) => r.body.toString()).join('\n');
    await again.kill('SIGTERM');

    const haystacks: Array<{ what: string; bytes: Buffer }> = [
      ...filesUnder(dataDir).map((f) => ({ what: path.relative(dataDir, f), bytes: readFileSync(f) })),
      ...filesUnder(exportDir).map((f) => ({ what: `export ${path.basename(f)}`, bytes: readFileSync(f) })),
      { what: 'toJsonl()', bytes: Buffer.from(toJsonl(records)) },
      { what: 'toHar()', bytes: Buffer.from(JSON.stringify(toHar(records))) },
      { what: 'toCurl() of every record', bytes: Buffer.from(records.map((r) => toCurl(r, { baseUrl: 'http://127.0.0.1:8787' })).join('\n')) },
      { what: 'query API rows with bodies', bytes: Buffer.from(apiRows) },
      { what: 'query API request by id', bytes: Buffer.from(byId) },
      { what: 'CLI stdout+stderr (trace)', bytes: Buffer.from(cli.stdout() + cli.stderr()) },
    ];
    assert.ok(haystacks.some((h) => h.what.startsWith('cache')), `the cached answer left no file in the data dir's cache: ${haystacks.map((h) => h.what).join(', ')}`);
    const hits: string[] = [];
    let bytes = 0;
    for (const h of haystacks) {
      bytes += h.bytes.length;
      for (const [name, key] of Object.entries(K)) {
        // The whole key, and its distinctive part (after a known prefix) cut to 12 characters: a
        // partly masked key ("sk-proj-abc…xyz") is still a leak.
        const tail = key.replace(/^(sk-proj-|sk-ant-api03-|sk-helicone-|sk-|AIza)/, '');
        for (const needle of [key, tail.slice(0, 12), tail.slice(-12)]) {
          if (h.bytes.includes(needle)) { hits.push(`${name} in ${h.what}`); break; }
        }
      }
    }
    recordFigure('security.secrets', {
      keys: Object.keys(K).length, forms: Object.keys(K), records: records.length, haystacks: haystacks.length, files: filesUnder(dataDir).length + 2,
      bytesScanned: bytes, hits: hits.length,
    });
    assert.deepEqual(hits, [], 'keys found');
    // Exports keep the records useful: the redaction marker is there, the method and URL too.
    assert.match(toCurl(records.find((r) => r.provider === 'openai' && r.status === 200)!, { baseUrl: 'http://127.0.0.1:8787' }), /\$OPENAI_API_KEY/);
  });

  it('binds 127.0.0.1 by default, silently; a non-loopback --host is bound as asked and warned about', async () => {
    const a = await startCli({ dataDir: tmp('host-default'), upstreams: { openai: `${mock.url}/v1` } });
    const port = Number(new URL(a.url).port);
    assert.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(listenAddresses(port), ['0100007F'], 'listening on 127.0.0.1 only');
    assert.doesNotMatch(a.stderr(), /warning/i);
    await a.kill('SIGTERM');

    const b = await startCli({ dataDir: tmp('host-localhost'), host: 'localhost', upstreams: { openai: `${mock.url}/v1` } });
    assert.doesNotMatch(b.stderr(), /warning/i);
    await b.kill('SIGTERM');

    // Bound for a moment on every interface, on a random port, to see the warning; only loopback is used to talk to it.
    const c = await startCli({ dataDir: tmp('host-any'), host: '0.0.0.0', upstreams: { openai: `${mock.url}/v1` } });
    try {
      await sleep(200);
      assert.match(c.stderr(), /warning: listening on 0\.0\.0\.0, not loopback: anyone who can reach this address can send requests through it/);
      assert.deepEqual(listenAddresses(Number(new URL(c.url).port)), ['00000000']);
      // Beyond loopback a forged "Host: 127.0.0.1" would pass the Host check, so /api needs a token,
      // made for the run and printed once (the logs stay unreadable without it).
      const token = /Query API token: (\S+)/.exec(c.stdout())?.[1];
      assert.ok(token && token.length >= 24, `a printed token in: ${c.stdout()}`);
      const query = { method: 'POST', body: JSON.stringify({ filter: 'all' }), headers: { 'content-type': 'application/json' } };
      const without = (await rawRequest(`${c.url}/api/v1/request/query`, query)).status;
      assert.ok(without === 401 || without === 403, `refused without the token: ${without}`);
      const ok = await rawRequest(`${c.url}/api/v1/request/query`, { ...query, headers: { ...query.headers, authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
    } finally {
      await c.kill('SIGTERM');
    }
  });

  it('the query API refuses non-local Host (DNS rebinding) and Origin (drive-by), writes nothing for them, and serves local callers', async () => {
    const dataDir = tmp('api');
    const cli = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    const port = Number(new URL(cli.url).port);
    const logBody = JSON.stringify({
      providerRequest: { url: 'custom://x', json: {}, meta: {} }, providerResponse: { json: {}, status: 200, headers: {} },
      timing: { startTime: { seconds: 1_700_000_000, milliseconds: 0 }, endTime: { seconds: 1_700_000_001, milliseconds: 0 } },
    });
    const refused: Array<[string, Record<string, string>]> = [
      ['rebinding Host', { Host: `attacker.example:${port}` }],
      ['Host of another port', { Host: `127.0.0.1:${port + 1}` }],
      ['Host without a port', { Host: 'attacker.example' }],
      ['a foreign Origin', { Origin: 'https://attacker.example' }],
      ['the opaque Origin of a sandboxed page', { Origin: 'null' }],
      ['a look-alike Origin', { Origin: 'http://127.0.0.1.attacker.example' }],
      ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ];
    for (const [what, headers] of refused) {
      for (const [method, p, body] of [['GET', '/api/health', undefined], ['POST', '/api/v1/request/query', '{"filter":"all"}'], ['POST', '/api/custom/v1/log', logBody]] as const) {
        const res = await rawRequest(`${cli.url}${p}`, { method, headers, body });
        assert.equal(res.status, 403, `${what}: ${method} ${p} answered ${res.status}`);
        assert.equal(JSON.parse(res.body.toString()).data, null);
      }
    }
    const health = JSON.parse((await rawRequest(`${cli.url}/api/health`)).body.toString()) as { data: { requests: number } };
    assert.equal(health.data.requests, 0, 'a refused custom log wrote nothing');
    const allowed: Array<Record<string, string>> = [{ Host: `localhost:${port}` }, { Host: `[::1]:${port}` }, { Origin: 'http://localhost:5173' }, { Origin: `http://127.0.0.1:${port}` }];
    for (const headers of allowed) {
      const res = await rawRequest(`${cli.url}/api/v1/request/query`, { headers, body: '{"filter":"all"}' });
      assert.equal(res.status, 200, JSON.stringify(headers));
    }
    await cli.kill('SIGTERM');
  });

  it('with a token set (runtime option apiToken), the query API on the proxy port asks for it; health stays open', async () => {
    const token = rand();
    const rt = await startLensRuntime({ dataDir: tmp('token'), logger: new RecordingLogger(), port: 0, upstreams: { openai: `${mock.url}/v1` }, apiToken: token });
    try {
      const q = (headers: Record<string, string>): Promise<number> => rawRequest(`${rt.proxy.url}/api/v1/request/query`, { headers, body: '{"filter":"all"}' }).then((r) => r.status);
      assert.equal(await q({}), 401);
      assert.equal(await q({ Authorization: `Bearer ${token}x` }), 401);
      assert.equal(await q({ Authorization: `Bearer ${token.slice(0, -1)}` }), 401);
      assert.equal(await q({ Authorization: token }), 401);
      assert.equal(await q({ Authorization: `Bearer ${token}` }), 200);
      assert.equal((await rawRequest(`${rt.proxy.url}/api/health`)).status, 200);
      // The forwarding routes are not the API's: a client's own key still goes upstream.
      assert.equal((await rawRequest(`${rt.proxy.url}/v1/chat/completions`, { body: chatBody('t', false) })).status, 200);
    } finally {
      await rt.close();
    }
  });
});
