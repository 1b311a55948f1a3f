// The proxy end to end in plain Node: the official OpenAI and Anthropic SDKs -> LLM Lens (real
// store, price book, cache, query API) -> the mock upstream.
import * as assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { RecordingLogger } from '../../src/core/logger';
import type { LogRecord, NewRecord } from '../../src/core/types';
import { startLensRuntime } from '../../src/proxy/runtime';
import { RecordStore } from '../../src/store/recordStore';
import { startMockUpstream } from '../support/mockUpstream';
import { startProxyHarness, readAllFiles } from '../support/proxyHarness';
import type { ProxyHarness } from '../support/proxyHarness';

const KEY = 'sk-proj-SECRETabcdefghijklmnop1234567890';

function openai(h: ProxyHarness, headers: Record<string, string> = {}, apiKey = KEY): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${h.url}/v1`, maxRetries: 0, defaultHeaders: headers });
}

function anthropic(h: ProxyHarness, headers: Record<string, string> = {}): Anthropic {
  return new Anthropic({ apiKey: 'sk-ant-api03-SECRETxyzxyzxyzxyzxyz', baseURL: `${h.url}/anthropic`, maxRetries: 0, defaultHeaders: headers });
}

const chatBody = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Say hi' }] };

/** Raw node request so a test can see raw header case, stream, or abort. */
function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string> | string[]; body?: string | Buffer }): Promise<{ status: number; rawHeaders: string[]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'POST', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function expectedCost(r: LogRecord): number {
  const u = r.usage!;
  const p = r.price!;
  const uncachedInput = u.promptTokens - u.cacheReadTokens - u.cacheWriteTokens;
  return (uncachedInput * p.inputPerM! + u.cacheReadTokens * (p.cachedInputPerM ?? p.inputPerM!)
    + u.cacheWriteTokens * (p.cacheWritePerM ?? p.inputPerM!) + u.completionTokens * p.outputPerM!) / 1e6;
}

describe('proxy', function () {
  this.timeout(20_000);
  let h: ProxyHarness;
  beforeEach(async () => { h = await startProxyHarness(); });
  afterEach(async () => { await h.close(); });

  describe('OpenAI SDK', () => {
    it('forwards a chat completion and records usage, cost and the Helicone-Id', async () => {
      const { data, response } = await openai(h).chat.completions.create(chatBody).withResponse();
      assert.equal(data.choices[0].message.content, 'The quick brown fox jumps');
      const id = response.headers.get('helicone-id');
      assert.ok(id);
      const r = await h.record(id);
      assert.equal(r.state, 'ok');
      assert.equal(r.status, 200);
      assert.equal(r.provider, 'openai');
      assert.equal(r.path, '/v1/chat/completions');
      assert.equal(r.targetUrl, `${h.mock.url}/v1/chat/completions`);
      assert.equal(r.requestModel, 'gpt-4o-mini');
      assert.equal(r.responseModel, 'gpt-4o-mini');
      assert.equal(r.usage?.completionTokens, 5);
      assert.equal(r.usage?.estimated, false);
      assert.ok(r.costUsd !== null && r.costUsd > 0);
      assert.ok(Math.abs(r.costUsd - expectedCost(r)) < 1e-12);
      assert.ok(r.latencyMs !== null && r.latencyMs > 0);
      assert.ok(r.ttftMs !== null && r.ttftMs <= r.latencyMs);
      assert.ok(r.firstByteAt !== null && r.firstByteAt >= r.startedAt && r.endedAt! >= r.firstByteAt);
      assert.equal(r.bodies.request.kind, 'json');
      assert.deepEqual((r.bodies.request.json as { messages: unknown }).messages, chatBody.messages);
      assert.equal(r.bodies.response.kind, 'json');
      assert.equal(r.streamed, false);
    });

    it('streams with include_usage: usage from the last chunk, TTFT at the first content token', async () => {
      const stream = await openai(h, { 'x-mock-chunk-delay-ms': '40' }).chat.completions.create({
        ...chatBody, stream: true, stream_options: { include_usage: true },
      }).withResponse();
      let text = '';
      let usageSeen = false;
      for await (const chunk of stream.data) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usageSeen = true;
      }
      assert.equal(text, 'The quick brown fox jumps');
      assert.ok(usageSeen);
      const r = await h.record(stream.response.headers.get('helicone-id')!);
      assert.equal(r.streamed, true);
      assert.equal(r.usage?.completionTokens, 5);
      assert.equal(r.usage?.estimated, false);
      assert.ok(r.costUsd! > 0);
      // Events are 40 ms apart: the role-only chunk comes first, the first content chunk 40 ms later.
      assert.ok(r.ttftMs! >= 35, `ttft ${r.ttftMs}`);
      assert.ok(r.ttftMs! < r.latencyMs! - 100, `ttft ${r.ttftMs} latency ${r.latencyMs}`);
      const events = r.bodies.streamEvents!;
      assert.equal(events.at(-1)?.data, '[DONE]');
      assert.ok(events.every((e, i) => i === 0 || e.t >= events[i - 1].t));
      const re = r.bodies.reassembled as { choices: Array<{ message: { content: string } }> };
      assert.equal(re.choices[0].message.content, 'The quick brown fox jumps');
    });

    it('estimates usage with a tokenizer when a stream reports none', async () => {
      const stream = await openai(h).chat.completions.create({ ...chatBody, stream: true }).withResponse();
      for await (const chunk of stream.data) void chunk;
      const r = await h.record(stream.response.headers.get('helicone-id')!);
      assert.equal(r.usage?.estimated, true);
      assert.ok(r.usage!.completionTokens > 0);
    });

    it('prices cached prompt tokens at the cached rate', async () => {
      const { response } = await openai(h, { 'x-mock-prompt-tokens': '2000', 'x-mock-cached-tokens': '1500' })
        .chat.completions.create(chatBody).withResponse();
      const r = await h.record(response.headers.get('helicone-id')!);
      assert.equal(r.usage?.promptTokens, 2000);
      assert.equal(r.usage?.cacheReadTokens, 1500);
      assert.ok(r.price!.cachedInputPerM! < r.price!.inputPerM!);
      assert.ok(Math.abs(r.costUsd! - expectedCost(r)) < 1e-12, `${r.costUsd} vs ${expectedCost(r)}`);
    });

    it('records the Responses API, streamed and not', async () => {
      const client = openai(h, { 'x-mock-reasoning-tokens': '7' });
      const { data, response } = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi' }).withResponse();
      assert.equal(data.output_text, 'The quick brown fox jumps');
      const r1 = await h.record(response.headers.get('helicone-id')!);
      assert.equal(r1.usage?.reasoningTokens, 7);
      const s = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi', stream: true }).withResponse();
      let deltas = 0;
      for await (const ev of s.data) if (ev.type === 'response.output_text.delta') deltas++;
      assert.equal(deltas, 5);
      const r2 = await h.record(s.response.headers.get('helicone-id')!);
      assert.equal(r2.streamed, true);
      assert.equal(r2.usage?.completionTokens, 12);
      assert.ok(r2.ttftMs !== null);
    });

    it('passes a gzip-compressed answer through untouched and logs it decoded', async () => {
      const { data, response } = await openai(h, { 'x-mock-gzip': 'true' }).chat.completions.create(chatBody).withResponse();
      assert.equal(data.choices[0].message.content, 'The quick brown fox jumps');
      const r = await h.record(response.headers.get('helicone-id')!);
      assert.equal(r.responseHeaders['content-encoding'], 'gzip');
      assert.equal(r.bodies.response.kind, 'json');
      assert.equal(r.usage?.completionTokens, 5);
      assert.ok(r.responseBytes < JSON.stringify(r.bodies.response.json).length, 'the byte count is what went over the wire');
    });

    it('records embeddings and passes GET /models through', async () => {
      const client = openai(h, { 'x-mock-prompt-tokens': '11' });
      const { data, response } = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] }).withResponse();
      assert.equal(data.data.length, 2);
      const r = await h.record(response.headers.get('helicone-id')!);
      assert.equal(r.usage?.promptTokens, 11);
      assert.ok(r.costUsd! > 0);
      const models = await client.models.list();
      assert.ok(models.data.some((m) => m.id === 'gpt-4o-mini'));
      assert.equal(h.mock.requests.at(-1)?.path, '/v1/models');
    });
  });

  describe('Anthropic SDK', () => {
    it('records messages with cache read and write tokens, priced at their rates', async () => {
      const { data, response } = await anthropic(h, { 'x-mock-prompt-tokens': '100', 'x-mock-cached-tokens': '1000', 'x-mock-cache-write-tokens': '500' })
        .messages.create({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
      assert.equal(data.content[0].type === 'text' && data.content[0].text, 'The quick brown fox jumps');
      const r = await h.record(response.headers.get('helicone-id')!);
      assert.equal(r.provider, 'anthropic');
      assert.equal(r.targetUrl, `${h.mock.url}/v1/messages`);
      assert.deepEqual([r.usage?.promptTokens, r.usage?.cacheReadTokens, r.usage?.cacheWriteTokens, r.usage?.completionTokens], [1600, 1000, 500, 5]);
      assert.ok(Math.abs(r.costUsd! - expectedCost(r)) < 1e-12, `${r.costUsd} vs ${expectedCost(r)}`);
      // This SDK version sends the key as a bearer token; either way it reaches the upstream unchanged.
      assert.equal(h.mock.requests.at(-1)?.headers.authorization, 'Bearer sk-ant-api03-SECRETxyzxyzxyzxyzxyz');
    });

    it('streams messages: usage merged from message_start and message_delta', async () => {
      const stream = anthropic(h, { 'x-mock-prompt-tokens': '40', 'x-mock-cached-tokens': '10', 'x-mock-chunk-delay-ms': '20' })
        .messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
      const msg = await stream.finalMessage();
      assert.equal(msg.usage.output_tokens, 5);
      const list = h.runtime.store.list({ provider: 'anthropic' });
      const r = await h.record(list[0].id);
      assert.equal(r.streamed, true);
      assert.deepEqual([r.usage?.promptTokens, r.usage?.cacheReadTokens, r.usage?.completionTokens], [50, 10, 5]);
      assert.ok(r.ttftMs! >= 15 && r.ttftMs! < r.latencyMs!);
    });

    it('passes count_tokens through', async () => {
      const res = await anthropic(h, { 'x-mock-prompt-tokens': '42' }).messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(res.input_tokens, 42);
      assert.equal(h.mock.requests.at(-1)?.path, '/v1/messages/count_tokens');
    });

    it('routes a bare /v1/messages (Anthropic SDK without /anthropic) to Anthropic', async () => {
      const client = new Anthropic({ apiKey: 'k', baseURL: h.url, maxRetries: 0 });
      const { response } = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).withResponse();
      const r = await h.record(response.headers.get('helicone-id')!);
      assert.equal(r.provider, 'anthropic');
    });
  });

  describe('Helicone headers', () => {
    it('records properties, user and session, and strips every Helicone-* header before forwarding', async () => {
      const rid = '0b7e3a52-5d2b-4c57-9d3e-3f1a2b4c5d6e';
      const { response } = await openai(h, {
        'Helicone-Property-Environment': 'dev', 'Helicone-Property-Feature': 'search', 'Helicone-User-Id': 'alice',
        'Helicone-Session-Id': 'sess-42', 'Helicone-Session-Path': '/plan/step-1', 'Helicone-Session-Name': 'Trip planner',
        'Helicone-Request-Id': rid, 'Helicone-Auth': 'Bearer sk-helicone-SECRETSECRETSECRET',
      }).chat.completions.create(chatBody).withResponse();
      assert.equal(response.headers.get('helicone-id'), rid);
      const r = await h.record(rid);
      // fetch-based SDKs lower-case header names on the wire; raw case is kept when sent (see the raw test).
      assert.deepEqual(r.properties, { environment: 'dev', feature: 'search' });
      assert.equal(r.userId, 'alice');
      assert.deepEqual(r.session, { id: 'sess-42', path: '/plan/step-1', name: 'Trip planner' });
      assert.deepEqual(r.warnings, []);
      const sent = h.mock.requests.at(-1)!;
      assert.deepEqual(Object.keys(sent.headers).filter((k) => k.startsWith('helicone-')), []);
      assert.equal(r.requestHeaders['helicone-auth'], 'Bearer [REDACTED]');
      assert.equal(h.runtime.store.session('sess-42')?.requestCount, 1);
    });

    it('uses a fresh id and warns for a Helicone-Request-Id that is not a UUID', async () => {
      const { response } = await openai(h, { 'Helicone-Request-Id': 'my-id-1' }).chat.completions.create(chatBody).withResponse();
      const id = response.headers.get('helicone-id')!;
      assert.notEqual(id, 'my-id-1');
      const r = await h.record(id);
      assert.match(r.warnings.join(), /not a UUID/);
    });

    it('omits bodies for Helicone-Omit-Request/Response but keeps tokens and cost', async () => {
      const { response } = await openai(h, { 'Helicone-Omit-Request': 'true', 'Helicone-Omit-Response': 'true' }).chat.completions.create(chatBody).withResponse();
      const r = await h.record(response.headers.get('helicone-id')!);
      assert.equal(r.bodies.request.kind, 'omitted');
      assert.equal(r.bodies.response.kind, 'omitted');
      assert.equal(r.omitRequest, true);
      assert.equal(r.usage?.completionTokens, 5);
      assert.ok(r.costUsd! > 0);
      assert.equal(r.requestModel, 'gpt-4o-mini');
      await h.runtime.store.flush();
      const disk = readAllFiles(h.dataDir).map((f) => f.bytes.toString('latin1')).join('\n');
      assert.ok(!disk.includes('Say hi'), 'the omitted request text is not on disk');
      assert.ok(!disk.includes('quick brown fox'), 'the omitted response text is not on disk');
    });

    it('records invalid header values as warnings and still forwards', async () => {
      const { response } = await openai(h, {
        'Helicone-Cache-Enabled': 'true', 'Helicone-Cache-Bucket-Max-Size': '99', 'Cache-Control': 'max-age=soon',
        'Helicone-Omit-Response': 'yes',
      }).chat.completions.create(chatBody).withResponse();
      const r = await h.record(response.headers.get('helicone-id')!);
      assert.equal(r.status, 200);
      assert.equal(r.cache?.bucketMaxSize, 20);
      assert.equal(r.warnings.length, 3, r.warnings.join('\n'));
    });

    it('forwards Helicone-* headers (Helicone-Auth included) to a Helicone gateway upstream', async () => {
      await h.runtime.close();
      const rt = await startLensRuntime({ dataDir: h.dataDir, logger: h.logger, port: 0, upstreams: { helicone: `${h.mock.url}/v1` }, heliconeUpstreams: ['helicone'] });
      try {
        const client = new OpenAI({ apiKey: KEY, baseURL: `${rt.proxy.url}/helicone`, maxRetries: 0, defaultHeaders: { 'Helicone-Auth': 'Bearer sk-helicone-abcdefabcdef', 'Helicone-Property-App': 'x' } });
        await client.chat.completions.create(chatBody);
        const sent = h.mock.requests.at(-1)!;
        assert.equal(sent.path, '/v1/chat/completions');
        assert.equal(sent.headers['helicone-auth'], 'Bearer sk-helicone-abcdefabcdef');
        assert.equal(sent.headers['helicone-property-app'], 'x');
      } finally {
        await rt.close();
      }
    });

    it('sends a request to Helicone-Target-Url instead of the route upstream', async () => {
      const other = await startMockUpstream();
      try {
        const { response } = await openai(h, { 'Helicone-Target-Url': other.url }).chat.completions.create(chatBody).withResponse();
        assert.equal(other.requests.length, 1);
        assert.equal(other.requests[0].path, '/v1/chat/completions');
        assert.equal(h.mock.requests.length, 0);
        const r = await h.record(response.headers.get('helicone-id')!);
        assert.equal(r.targetUrl, `${other.url}/v1/chat/completions`);
      } finally {
        await other.close();
      }
    });
  });

  describe('forwarding', () => {
    it('keeps raw header case and order, drops hop-by-hop headers, passes the query string', async () => {
      const res = await rawRequest(`${h.url}/v1/chat/completions?api-version=2024-01-01&x=1`, {
        // A header array gets no automatic Host; node's server requires one.
        headers: ['Host', '127.0.0.1', 'Content-Type', 'application/json', 'X-Custom-Header', 'Value', 'Connection', 'keep-alive, X-Drop-Me', 'X-Drop-Me', '1',
          'Keep-Alive', 'timeout=5', 'Authorization', `Bearer ${KEY}`],
        body: JSON.stringify(chatBody),
      });
      assert.equal(res.status, 200, res.body.toString());
      const sent = h.mock.requests.at(-1)!;
      assert.equal(sent.path, '/v1/chat/completions?api-version=2024-01-01&x=1');
      const names = sent.rawHeaders.filter((_, i) => i % 2 === 0);
      assert.ok(names.includes('X-Custom-Header'));
      assert.ok(names.includes('Authorization'));
      assert.ok(!names.some((n) => /^(x-drop-me|keep-alive)$/i.test(n)));
      const resNames = res.rawHeaders.filter((_, i) => i % 2 === 0);
      assert.ok(resNames.includes('X-Mock-Served-By'), resNames.join());
      assert.ok(resNames.includes('Helicone-Id'));
    });

    it('records Helicone property names with the case the client sent', async () => {
      await rawRequest(`${h.url}/v1/chat/completions`, {
        headers: { 'Content-Type': 'application/json', 'Helicone-Property-CamelCase': 'v', 'helicone-property-lower': 'w' },
        body: JSON.stringify(chatBody),
      });
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.deepEqual(r.properties, { CamelCase: 'v', lower: 'w' });
    });

    it('records header lines as sent: raw case, repeated ones joined, credentials redacted however they come', async () => {
      // What the proxy hands the store, before the store's own redaction pass runs on top.
      const handed: NewRecord[] = [];
      const store = h.runtime.store;
      const complete = store.complete.bind(store);
      store.complete = (r: NewRecord): Promise<boolean> => { handed.push(structuredClone(r)); return complete(r); };
      const res = await rawRequest(`${h.url}/v1/chat/completions`, {
        headers: [
          'Host', '127.0.0.1', 'Content-Type', 'application/json', 'X-Multi', 'a', 'X-Multi', 'b', 'constructor', 'c', 'toString', 'd',
          'X-Api-Key', 'sk-ant-api03-REPEATEDKEYONE0001', 'X-Api-Key', 'sk-ant-api03-REPEATEDKEYTWO0002',
        ],
        body: JSON.stringify(chatBody),
      });
      assert.equal(res.status, 200, res.body.toString());
      const r = await h.record(res.rawHeaders[res.rawHeaders.findIndex((n) => n.toLowerCase() === 'helicone-id') + 1]);
      assert.equal(r.requestHeaders['X-Multi'], 'a, b');
      // Names that Object.prototype also has are plain headers, not inherited values.
      assert.equal(r.requestHeaders.constructor, 'c');
      assert.equal(r.requestHeaders.toString, 'd');
      assert.equal(r.requestHeaders['X-Api-Key'], '[REDACTED]');
      assert.doesNotMatch(JSON.stringify(r.requestHeaders), /REPEATEDKEY/);
      const mine = handed.find((x) => x.id === r.id);
      assert.ok(mine, 'the record went through store.complete');
      assert.equal(mine.requestHeaders['X-Api-Key'], '[REDACTED]', 'redacted by the proxy already, not only by the store');
      assert.equal(mine.requestHeaders['X-Multi'], 'a, b');
      assert.doesNotMatch(JSON.stringify(mine), /REPEATEDKEY/);
    });

    it('forwards a non-JSON body untouched and logs it raw', async () => {
      const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x42, 0x80, 0x0a]);
      const res = await rawRequest(`${h.url}/v1/echo`, { headers: { 'Content-Type': 'application/octet-stream' }, body: bytes });
      assert.deepEqual(res.body, bytes);
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.bodies.request.kind, 'base64');
      assert.deepEqual(Buffer.from(r.bodies.request.text!, 'base64'), bytes);
      const text = await rawRequest(`${h.url}/v1/echo`, { headers: { 'Content-Type': 'text/plain' }, body: 'plain {not json' });
      assert.equal(text.body.toString(), 'plain {not json');
      await h.waitRecords(2);
      const r2 = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r2.bodies.request.kind, 'text');
      assert.equal(r2.bodies.request.text, 'plain {not json');
    });

    it('streams a 1 MB request body up and logs a capped copy', async () => {
      const big = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(3 * 1024 * 1024) }] });
      const res = await rawRequest(`${h.url}/v1/chat/completions`, { headers: { 'Content-Type': 'application/json' }, body: big });
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(h.mock.requests.at(-1)!.body.length, big.length);
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.requestBytes, big.length);
      assert.equal(r.bodies.request.truncated, true);
      assert.equal(r.bodies.request.size, big.length);
    });

    it('spills a large request body to the store\'s spool as it streams, and logs it exactly, model read after the prompt', async () => {
      // The OpenAI Python SDK sends "messages" before "model": the model sits after the megabyte.
      const big = JSON.stringify({ messages: [{ role: 'user', content: 'a "quoted" \\ prompt\n'.repeat(50_000) }], model: 'gpt-4o-mini', stream: false });
      const store = h.runtime.store as RecordStore;
      const open = store.openSpool.bind(store);
      let spools = 0;
      store.openSpool = () => { spools++; return open(); };
      const res = await rawRequest(`${h.url}/v1/chat/completions`, { headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, body: big });
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(h.mock.requests.at(-1)!.body.toString(), big, 'forwarded untouched');
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.requestModel, 'gpt-4o-mini');
      assert.equal(r.requestBytes, Buffer.byteLength(big));
      assert.equal(r.bodies.request.kind, 'text', 'over the parse limit: shown as text, byte for byte');
      assert.equal(r.bodies.request.text, big);
      assert.equal(r.bodies.request.truncated, false);
      assert.ok(r.usage && r.costUsd !== null, 'usage and cost as for any request');
      assert.equal(spools, 1, 'the body went through a spool file, not memory');
      await h.runtime.store.flush();
      const spool = path.join(h.dataDir, 'records', 'spool');
      for (let i = 0; i < 50 && readdirSync(spool).length; i++) await new Promise((ok) => setTimeout(ok, 20));
      assert.deepEqual(readdirSync(spool), [], 'the spool file goes once its bytes are in the log');
    });

    it('spills an omitted large body without keeping it, and still reads its model', async () => {
      const big = JSON.stringify({ messages: [{ role: 'user', content: 'y'.repeat(600_000) }], model: 'gpt-4o-mini' });
      await rawRequest(`${h.url}/v1/chat/completions`, { headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Helicone-Omit-Request': 'true' }, body: big });
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.bodies.request.kind, 'omitted');
      assert.equal(r.requestModel, 'gpt-4o-mini');
      assert.ok(!r.warnings.some((w) => /over .* bytes/.test(w)), `an omitted body is not "cut": ${r.warnings.join('; ')}`);
      assert.deepEqual(readdirSync(path.join(h.dataDir, 'records', 'spool')), []);
      assert.ok(!readAllFiles(h.dataDir).some((f) => f.bytes.includes('y'.repeat(1000))), 'the omitted prompt is nowhere on disk');
    });

    it('answers 404 naming the routes for an unknown path, and logs it', async () => {
      const res = await rawRequest(`${h.url}/nowhere/v1/chat`, { body: '{}' });
      assert.equal(res.status, 404);
      assert.match(res.body.toString(), /no upstream for \/nowhere/);
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.error?.kind, 'bad_request');
    });

    it('mounts the query API under /api', async () => {
      const res = await rawRequest(`${h.url}/api/health`, { method: 'GET' });
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(h.runtime.store.count(), 0, 'API calls are not logged as LLM traffic');
    });

    it('shows a request as pending while it streams', async () => {
      const client = openai(h, { 'x-mock-chunk-delay-ms': '100' });
      const p = client.chat.completions.create({ ...chatBody, stream: true }).withResponse();
      const { data, response } = await p;
      const id = response.headers.get('helicone-id')!;
      assert.equal(h.runtime.store.get(id)?.state, 'pending');
      for await (const c of data) void c;
      assert.equal((await h.record(id)).state, 'ok');
    });
  });

  describe('upstream failures', () => {
    it('passes a 429 through with its body and Retry-After, and logs an error', async () => {
      const client = openai(h, { 'x-mock-fault': 'status-429' });
      await assert.rejects(client.chat.completions.create(chatBody), (e: unknown) => {
        assert.ok(e instanceof OpenAI.RateLimitError);
        assert.equal(e.headers.get('retry-after'), '1');
        assert.equal((e.error as { message: string }).message, 'mock 429');
        return true;
      });
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.status, 429);
      assert.equal(r.state, 'error');
      assert.deepEqual(r.error, { kind: 'upstream_status', message: '429: mock 429' });
    });

    it('passes a 500 through', async () => {
      const res = await rawRequest(`${h.url}/anthropic/v1/messages`, { headers: { 'x-mock-fault': 'status-500' }, body: '{}' });
      assert.equal(res.status, 500);
      assert.match(res.body.toString(), /api_error/);
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.error?.kind, 'upstream_status');
    });

    it('answers 502 naming the upstream when it is down', async () => {
      await h.mock.close();
      const res = await rawRequest(`${h.url}/v1/chat/completions`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(chatBody) });
      assert.equal(res.status, 502);
      const body = JSON.parse(res.body.toString()) as { error: { type: string; message: string; upstream: string } };
      assert.equal(body.error.type, 'upstream_unreachable');
      assert.equal(body.error.upstream, 'openai');
      assert.match(body.error.message, /openai \(http:\/\/127\.0\.0\.1:\d+\).*ECONNREFUSED/);
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.status, 502);
      assert.equal(r.error?.kind, 'upstream_unreachable');
    });
  });

  describe('client abort', () => {
    it('aborts the upstream request mid-stream and logs the partial record', async () => {
      const gotFirst = new Promise<string>((resolve, reject) => {
        const req = http.request(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-mock-chunk-delay-ms': '100', 'x-mock-chunks': '20' } }, (res) => {
          res.once('data', (c: Buffer) => { req.destroy(); resolve(c.toString()); });
        });
        req.on('error', () => undefined);
        req.on('close', () => reject(new Error('closed before data')));
        req.end(JSON.stringify({ ...chatBody, stream: true }));
      });
      assert.match(await gotFirst, /^data: /);
      await h.mock.waitIdle();
      assert.equal(h.mock.abortedCount(), 1, 'the upstream request was aborted');
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.state, 'error');
      assert.equal(r.error?.kind, 'client_aborted');
      assert.equal(r.status, 200);
      assert.ok(r.bodies.streamEvents!.length >= 1 && r.bodies.streamEvents!.length < 10);
      assert.equal(h.runtime.proxy.inFlight(), 0);
    });

    it('aborts an upstream request still waiting for headers', async () => {
      await new Promise<void>((resolve) => {
        const req = http.request(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-mock-fault': 'stall-first-byte' } });
        req.on('error', () => resolve());
        req.end(JSON.stringify(chatBody));
        void h.mock.waitForRequests(1).then(() => req.destroy());
      });
      await h.mock.waitIdle();
      assert.equal(h.mock.abortedCount(), 1);
      const r = await h.record(h.runtime.store.list()[0].id);
      assert.equal(r.error?.kind, 'client_aborted');
    });
  });

  describe('response cache', () => {
    const cached = { 'Helicone-Cache-Enabled': 'true' };

    it('answers the second identical request from the cache: HIT, cost 0, cost saved recorded', async () => {
      const client = openai(h, cached);
      const a = await client.chat.completions.create(chatBody).withResponse();
      assert.equal(a.response.headers.get('helicone-cache'), 'MISS');
      const b = await client.chat.completions.create(chatBody).withResponse();
      assert.equal(b.response.headers.get('helicone-cache'), 'HIT');
      assert.deepEqual(b.data, a.data);
      assert.equal(h.mock.requests.length, 1);
      const first = await h.record(a.response.headers.get('helicone-id')!);
      const hit = await h.record(b.response.headers.get('helicone-id')!);
      assert.equal(hit.cache?.hit, true);
      assert.equal(hit.costUsd, 0);
      assert.equal(hit.cache?.savedUsd, first.costUsd);
      assert.equal(hit.usage?.completionTokens, 5);
      assert.equal(h.runtime.store.list({ status: 'cached' }).length, 1);
    });

    it('never shares an entry between two API keys', async () => {
      await openai(h, cached, 'sk-key-one-aaaaaaaaaaaa').chat.completions.create(chatBody);
      const b = await openai(h, cached, 'sk-key-two-bbbbbbbbbbbb').chat.completions.create(chatBody).withResponse();
      assert.equal(b.response.headers.get('helicone-cache'), 'MISS');
      assert.equal(h.mock.requests.length, 2);
    });

    it('replays a cached stream as the same SSE bytes', async () => {
      const client = openai(h, cached);
      const body = { ...chatBody, stream: true as const, stream_options: { include_usage: true } };
      const collect = async (): Promise<string> => {
        let t = '';
        for await (const c of await client.chat.completions.create(body)) t += c.choices[0]?.delta?.content ?? '';
        return t;
      };
      assert.equal(await collect(), 'The quick brown fox jumps');
      await h.waitRecords(1);
      const raw1 = await rawRequest(`${h.url}/v1/chat/completions`, { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}`, ...cached }, body: JSON.stringify(body) });
      assert.equal(h.mock.requests.length, 1);
      assert.match(raw1.body.toString(), /^data: .*\n\n[\s\S]*data: \[DONE\]\n\n$/);
      assert.equal(await collect(), 'The quick brown fox jumps');
      assert.equal(h.mock.requests.length, 1);
      await h.waitRecords(3);
      const hit = await h.record(h.runtime.store.list()[0].id);
      assert.equal(hit.streamed, true);
      assert.equal(hit.cache?.hit, true);
      assert.equal(hit.usage?.completionTokens, 5);
    });

    it('fills a bucket of 2 before it hits', async () => {
      const client = openai(h, { ...cached, 'Helicone-Cache-Bucket-Max-Size': '2' });
      const states: string[] = [];
      for (let i = 0; i < 4; i++) states.push((await client.chat.completions.create(chatBody).withResponse()).response.headers.get('helicone-cache')!);
      assert.deepEqual(states, ['MISS', 'MISS', 'HIT', 'HIT']);
      assert.equal(h.mock.requests.length, 2);
    });

    it('expires entries after Cache-Control max-age', async () => {
      const client = openai(h, { ...cached, 'Cache-Control': 'max-age=1' });
      await client.chat.completions.create(chatBody);
      assert.equal((await client.chat.completions.create(chatBody).withResponse()).response.headers.get('helicone-cache'), 'HIT');
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await client.chat.completions.create(chatBody).withResponse()).response.headers.get('helicone-cache'), 'MISS');
    });

    it('survives a restart', async () => {
      await openai(h, cached).chat.completions.create(chatBody);
      await h.waitRecords(1);
      await h.restart();
      const b = await openai(h, cached).chat.completions.create(chatBody).withResponse();
      assert.equal(b.response.headers.get('helicone-cache'), 'HIT');
      assert.equal(h.mock.requests.length, 1);
    });

    it('keeps seeds apart and shares an entry across ignored body keys', async () => {
      const seeded = (seed: string) => openai(h, { ...cached, 'Helicone-Cache-Seed': seed });
      await seeded('user-1').chat.completions.create(chatBody);
      const other = await seeded('user-2').chat.completions.create(chatBody).withResponse();
      assert.equal(other.response.headers.get('helicone-cache'), 'MISS');
      const same = await seeded('user-1').chat.completions.create(chatBody).withResponse();
      assert.equal(same.response.headers.get('helicone-cache'), 'HIT');
      const ignoring = openai(h, { ...cached, 'Helicone-Cache-Ignore-Keys': 'user' });
      await ignoring.chat.completions.create({ ...chatBody, user: 'a' });
      const b = await ignoring.chat.completions.create({ ...chatBody, user: 'b' }).withResponse();
      assert.equal(b.response.headers.get('helicone-cache'), 'HIT');
      assert.equal(h.mock.requests.length, 3);
    });

    it('reads only with Helicone-Cache-Read and saves only with Helicone-Cache-Save', async () => {
      const readOnly = openai(h, { 'Helicone-Cache-Read': 'true' });
      await readOnly.chat.completions.create(chatBody);
      assert.equal((await readOnly.chat.completions.create(chatBody).withResponse()).response.headers.get('helicone-cache'), 'MISS');
      await openai(h, { 'Helicone-Cache-Save': 'true' }).chat.completions.create(chatBody);
      assert.equal((await readOnly.chat.completions.create(chatBody).withResponse()).response.headers.get('helicone-cache'), 'MISS', 'Save and Read send different helicone-cache headers, so different keys');
      assert.equal(h.mock.requests.length, 4);
    });

    it('does not cache errors', async () => {
      const client = openai(h, { ...cached, 'x-mock-fault': 'status-500' });
      await assert.rejects(client.chat.completions.create(chatBody));
      await assert.rejects(client.chat.completions.create(chatBody));
      assert.equal(h.mock.requests.length, 2);
    });
  });

  describe('secrets', () => {
    it('writes no API key in any header form to the data dir', async () => {
      const secrets = {
        authorization: 'sk-proj-LEAKCHECKauthorization0001',
        xApiKey: 'sk-ant-api03-LEAKCHECKxapikey0002',
        apiKey: 'azureLEAKCHECKapikey0003',
        helicone: 'sk-helicone-LEAKCHECKhelicone0004',
        cookie: 'session=LEAKCHECKcookie0005',
        custom: 'LEAKCHECKcustomtoken0006',
      };
      const headers = {
        'Content-Type': 'application/json', Authorization: `Bearer ${secrets.authorization}`, 'x-api-key': secrets.xApiKey,
        'api-key': secrets.apiKey, 'Helicone-Auth': `Bearer ${secrets.helicone}`, Cookie: secrets.cookie, 'X-Custom-Token': secrets.custom,
        'Helicone-Cache-Enabled': 'true',
      };
      await rawRequest(`${h.url}/v1/chat/completions`, { headers, body: JSON.stringify(chatBody) });
      await rawRequest(`${h.url}/v1/chat/completions`, { headers, body: JSON.stringify({ ...chatBody, stream: true }) });
      await rawRequest(`${h.url}/anthropic/v1/messages`, { headers: { ...headers, 'x-mock-fault': 'status-401' }, body: '{}' });
      await h.waitRecords(3);
      await h.runtime.store.flush();
      await h.restart();
      const files = readAllFiles(h.dataDir);
      assert.ok(files.length > 0);
      for (const { file, bytes } of files) {
        for (const s of Object.values(secrets)) assert.equal(bytes.indexOf(s), -1, `${s} found in ${file}`);
        assert.equal(bytes.indexOf('LEAKCHECK'), -1, `a secret fragment found in ${file}`);
      }
    });
  });

  describe('shutdown', () => {
    it('drains an in-flight stream before closing and keeps its record', async () => {
      const res = rawRequest(`${h.url}/v1/chat/completions`, { headers: { 'Content-Type': 'application/json', 'x-mock-chunk-delay-ms': '50' }, body: JSON.stringify({ ...chatBody, stream: true }) });
      await h.mock.waitForRequests(1);
      const closing = h.runtime.close({ drainMs: 5000 });
      const done = await res;
      assert.match(done.body.toString(), /\[DONE\]/);
      await closing;
      const store = await RecordStore.open({ dataDir: h.dataDir, logger: new RecordingLogger() });
      try {
        const list = store.list();
        assert.equal(list.length, 1);
        assert.equal(list[0].state, 'ok');
      } finally {
        await store.close();
      }
    });
  });
});
