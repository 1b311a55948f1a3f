import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { RecordingLogger } from '../../src/core/logger';
import { startLensRuntime } from '../../src/proxy/runtime';
import type { LensRuntime } from '../../src/proxy/runtime';
import type { RecordSummary } from '../../src/core/types';
import { requestIdFromArg, sessionIdFromArg } from '../../src/webviews/commandArgs';
import { checkReplayBody, envVarForProvider, planReplay, withKey } from '../../src/webviews/replayPlan';
import { startMockUpstream } from '../support/mockUpstream';
import type { MockUpstream } from '../support/mockUpstream';
import { makeRecord } from '../support/records';

function summary(over: Partial<RecordSummary> = {}): RecordSummary {
  const { bodies: _b, ...s } = makeRecord(over);
  return s;
}

describe('replay plan', () => {
  it('keeps non-secret headers, drops hop-by-hop and cache headers, and marks where the key goes', () => {
    const s = summary({
      id: 'orig-1',
      path: '/v1/chat/completions?api-version=1',
      requestHeaders: {
        Host: '127.0.0.1:8787', 'Content-Length': '42', Connection: 'keep-alive', 'Accept-Encoding': 'gzip',
        'Content-Type': 'application/json', Authorization: 'Bearer [REDACTED]', 'OpenAI-Organization': 'org-1',
        'Helicone-Session-Id': 'sess', 'Helicone-Property-App': 'demo', 'Helicone-Request-Id': 'old-id',
        'Helicone-Cache-Enabled': 'true', 'Helicone-Auth': 'Bearer [REDACTED]', Cookie: '[REDACTED]',
        'X-Custom-Token': '[REDACTED]',
      },
    });
    const plan = planReplay(s, 'http://127.0.0.1:8787/', 'new-uuid');
    assert.equal(plan.url, 'http://127.0.0.1:8787/v1/chat/completions?api-version=1');
    assert.equal(plan.method, 'POST');
    assert.equal(plan.headers['Authorization'], undefined, 'the plan itself never holds the key');
    assert.deepEqual(plan.headers, {
      'Content-Type': 'application/json', 'OpenAI-Organization': 'org-1', 'Helicone-Session-Id': 'sess', 'Helicone-Property-App': 'demo',
      'Helicone-Request-Id': 'new-uuid', 'Helicone-Property-Replay-Of': 'orig-1',
    });
    assert.deepEqual(plan.keySlots, [{ name: 'Authorization', format: 'bearer' }]);
    assert.deepEqual(plan.dropped.map((d) => d.name).sort(), ['Cookie', 'Helicone-Auth', 'Helicone-Cache-Enabled', 'X-Custom-Token']);
    assert.deepEqual(withKey(plan, 'sk-test')['Authorization'], 'Bearer sk-test');
  });

  it('fills x-api-key (Anthropic) and api-key (Azure) raw, and needs no key when none was sent', () => {
    const a = planReplay(summary({ provider: 'anthropic', path: '/anthropic/v1/messages', requestHeaders: { 'x-api-key': '[REDACTED]', 'anthropic-version': '2023-06-01' } }), 'http://h:1', 'id');
    assert.deepEqual(a.keySlots, [{ name: 'x-api-key', format: 'raw' }]);
    assert.equal(withKey(a, 'k')['x-api-key'], 'k');
    assert.equal(a.headers['anthropic-version'], '2023-06-01');
    assert.equal(a.headers['content-type'], 'application/json', 'added when the original had none');
    const local = planReplay(summary({ requestHeaders: { 'content-type': 'application/json' } }), 'http://h:1', 'id');
    assert.deepEqual(local.keySlots, []);
  });

  it('names the SDKs\' environment variables', () => {
    assert.equal(envVarForProvider('openai'), 'OPENAI_API_KEY');
    assert.equal(envVarForProvider('anthropic'), 'ANTHROPIC_API_KEY');
    assert.equal(envVarForProvider('my-groq'), 'MY_GROQ_API_KEY');
  });

  it('accepts only a JSON object as the edited body', () => {
    assert.deepEqual(checkReplayBody('{\n  "model": "x"\n}'), { ok: true, body: '{"model":"x"}' });
    const bad = checkReplayBody('{"model": ');
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.error, /not valid JSON/);
    assert.equal(checkReplayBody('[1]').ok, false);
    assert.equal(checkReplayBody('null').ok, false);
  });
});

describe('command arguments', () => {
  const known = summary({ id: 'req-1', session: { id: 'sess-1', path: '/a', name: null } });
  const store = {
    get: (id: string) => (id === 'req-1' ? known : undefined),
    session: (id: string) => (id === 'sess-1' ? ({ id } as never) : undefined),
  };

  it('finds the request id in strings and in the tree nodes of every caller', () => {
    assert.equal(requestIdFromArg('req-1', store), 'req-1');
    assert.equal(requestIdFromArg({ kind: 'request', id: 'r/req-1', requestId: 'req-1' }, store), 'req-1');
    assert.equal(requestIdFromArg({ recordId: 'req-1' }, store), 'req-1');
    assert.equal(requestIdFromArg({ summary: { id: 'req-1' } }, store), 'req-1');
    assert.equal(requestIdFromArg({ id: 'nope', recordId: 'req-1' }, store), 'req-1');
    assert.equal(requestIdFromArg({ id: 'unknown' }, store), 'unknown', 'an unknown id is passed on, to be reported');
    assert.equal(requestIdFromArg(42, store), undefined);
    assert.equal(requestIdFromArg('', store), undefined);
  });

  it('finds the session from a session id, a session/path node or a request', () => {
    assert.equal(sessionIdFromArg('sess-1', store), 'sess-1');
    assert.equal(sessionIdFromArg('req-1', store), 'sess-1');
    assert.equal(sessionIdFromArg({ kind: 'path', id: 'p/x', sessionId: 'sess-1', path: '/a' }, store), 'sess-1');
    assert.equal(sessionIdFromArg({ kind: 'request', id: 'r/req-1', requestId: 'req-1' }, store), 'sess-1');
    assert.equal(sessionIdFromArg({ summary: { id: 'x', session: { id: 'sess-9' } } }, store), 'sess-9');
    assert.equal(sessionIdFromArg({ requestId: 'unknown' }, store), undefined);
  });
});

describe('replay plan against the real proxy and store', function () {
  // The plan's promises, checked on the real parts: the proxy takes Helicone-Request-Id as the new
  // record's id (so the panel can follow the replay), records Replay-Of, forwards the filled-in key
  // upstream, and stores it nowhere.
  let dataDir = '';
  let runtime: LensRuntime | undefined;
  let mock: MockUpstream | undefined;

  afterEach(async () => {
    await runtime?.close();
    await mock?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs the replay under the planned id, linked to the original, with the key forwarded but not stored', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'lens-replay-'));
    mock = await startMockUpstream();
    runtime = await startLensRuntime({ dataDir, logger: new RecordingLogger(), port: 0, upstreams: { openai: mock.url } });
    const proxyUrl = runtime.proxy.url;

    // The original, as an SDK sends it.
    const originalKey = 'sk-original-aaaaaaaaaaaaaaaaaaaa';
    const first = await request(`${proxyUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${originalKey}`, 'Helicone-Session-Id': 'sess-r', 'Helicone-Property-App': 'demo', 'Helicone-Cache-Enabled': 'true' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await first.body.text();
    const done = await waitForRecord(() => runtime!.store.list({ sessionId: 'sess-r' }).find((r) => r.state !== 'pending'));
    // As the panel does: headers live beside the bodies, not in the in-memory summary.
    const original = (await runtime.store.getRecord(done.id))!;
    assert.equal(original.requestHeaders.authorization, 'Bearer [REDACTED]');

    const replayId = randomUUID();
    const plan = planReplay(original, proxyUrl, replayId);
    const replayKey = 'sk-replay-bbbbbbbbbbbbbbbbbbbbbb';
    const res = await request(plan.url, { method: 'POST', headers: withKey(plan, replayKey), body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'edited' }] }) });
    assert.equal(res.statusCode, 200);
    await res.body.text();
    const replay = await waitForRecord(() => { const r = runtime!.store.get(replayId); return r && r.state !== 'pending' ? r : undefined; });
    assert.equal(replay.properties['Replay-Of'], original.id);
    assert.equal(replay.properties.App, 'demo');
    assert.equal(replay.session?.id, 'sess-r');
    assert.equal(replay.cache?.hit ?? false, false);
    const upstream = mock.requests.at(-1)!;
    assert.equal(upstream.headers.authorization, `Bearer ${replayKey}`);
    assert.deepEqual(JSON.parse(upstream.body).messages, [{ role: 'user', content: 'edited' }]);

    await runtime.store.flush();
    const walk = (d: string): string[] => readdirSync(d).flatMap((f) => { const p = path.join(d, f); return statSync(p).isDirectory() ? walk(p) : [p]; });
    const leaks = walk(dataDir).filter((f) => { const b = readFileSync(f); return b.includes(replayKey) || b.includes(originalKey); });
    assert.deepEqual(leaks, []);
  });
});

async function waitForRecord<T>(fn: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting for the record');
    await new Promise((r) => setTimeout(r, 20));
  }
}
