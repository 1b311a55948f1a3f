import * as assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import type { RecordSummary } from '../../src/core/types';
import { PriceBook } from '../../src/pricing/priceBook';
import { Capture, buildRecord, decodeBody, decodeContent } from '../../src/proxy/record';

function summary(over: Partial<RecordSummary> = {}): RecordSummary {
  return {
    id: 'r1', kind: 'llm', state: 'ok', startedAt: 1_700_000_000_000, firstByteAt: null, endedAt: null, latencyMs: 100, ttftMs: null,
    provider: 'openai', targetUrl: 'https://api.openai.com/v1/chat/completions', method: 'POST', path: '/v1/chat/completions',
    requestModel: null, responseModel: null, status: 200, error: null, streamed: false, usage: null, costUsd: null, cost: null, price: null,
    properties: {}, userId: null, session: null, cache: null, omitRequest: false, omitResponse: false, requestHeaders: {}, responseHeaders: {},
    requestBytes: 0, responseBytes: 0, warnings: [], ...over,
  };
}

function capture(parts: Array<[string | Buffer, number]>, limit = 1 << 20): Capture {
  const c = new Capture(limit);
  for (const [p, t] of parts) c.push(Buffer.isBuffer(p) ? p : Buffer.from(p), t);
  return c;
}

describe('proxy record building', () => {
  it('decodes JSON, text, non-UTF-8 and empty bodies', () => {
    assert.equal(decodeBody(Buffer.from('{"a":1}'), 7, false, 'application/json').stored.kind, 'json');
    assert.equal(decodeBody(Buffer.from('{"a":'), 5, false, 'application/json').stored.kind, 'text');
    assert.equal(decodeBody(Buffer.from([0xff, 0x00]), 2, false, undefined).stored.kind, 'base64');
    assert.equal(decodeBody(Buffer.alloc(0), 0, false, undefined).stored.kind, 'empty');
    const cut = Buffer.from('{"t":"日本"}').subarray(0, 9);
    const d = decodeBody(cut, 20, true, 'application/json');
    assert.equal(d.stored.kind, 'text');
    assert.equal(d.stored.truncated, true);
    assert.equal(d.stored.size, 20);
  });

  it('undoes gzip, deflate and brotli for the stored copy, even when cut', () => {
    const text = JSON.stringify({ hello: 'world'.repeat(100) });
    assert.equal(decodeContent(zlib.gzipSync(text), 'gzip', 1 << 20).buf.toString(), text);
    assert.equal(decodeContent(zlib.deflateSync(text), 'deflate', 1 << 20).buf.toString(), text);
    assert.equal(decodeContent(zlib.brotliCompressSync(text), 'br', 1 << 20).buf.toString(), text);
    const gz = zlib.gzipSync(text);
    const partial = decodeContent(gz.subarray(0, Math.floor(gz.length / 2)), 'gzip', 1 << 20);
    assert.ok(text.startsWith(partial.buf.toString()) && partial.buf.length > 0);
    assert.match(decodeContent(Buffer.from('x'), 'zstd-nope', 100).warning!, /unsupported/);
  });

  it('stamps stream events with the arrival of their chunk and takes TTFT from the first content event', () => {
    const chunk = (content: string | null): string => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: content === null ? { role: 'assistant', content: '' } : { content }, finish_reason: null }] })}\n\n`;
    const t0 = 1000;
    const res = capture([[chunk(null), t0 + 5], [chunk('Hel').slice(0, 20), t0 + 30], [chunk('Hel').slice(20), t0 + 31], [chunk('lo'), t0 + 50], ['data: [DONE]\n\n', t0 + 60]]);
    const req = capture([[JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }), 0]]);
    const r = buildRecord({
      summary: summary(), t0, request: req, response: res, requestEncoding: undefined, requestContentType: 'application/json',
      responseEncoding: undefined, responseContentType: 'text/event-stream', streamed: true, bodyCapBytes: 1 << 20, modelOverride: null, priceBook: new PriceBook(),
    });
    assert.deepEqual(r.bodies.streamEvents!.map((e) => e.t), [5, 31, 50, 60]);
    assert.equal(r.ttftMs, 31);
    assert.equal(r.requestModel, 'gpt-4o-mini');
    assert.equal(r.usage?.estimated, true);
    assert.ok(r.costUsd! > 0);
  });

  it('marks a body beyond the capture limit as truncated, with its full size', () => {
    const res = capture([['{"a":"' + 'x'.repeat(100), 1], ['x'.repeat(100) + '"}', 2]], 50);
    const r = buildRecord({
      summary: summary(), t0: 0, request: capture([]), response: res, requestEncoding: undefined, requestContentType: undefined,
      responseEncoding: undefined, responseContentType: 'application/json', streamed: false, bodyCapBytes: 50, modelOverride: null, priceBook: new PriceBook(),
    });
    assert.equal(r.bodies.response.truncated, true);
    assert.equal(r.bodies.response.size, 208);
    assert.equal(r.responseBytes, 208);
    assert.match(r.warnings.join(), /stored copy is cut/);
  });

  it('prices with Helicone-Model-Override and takes the message of an upstream error', () => {
    const res = capture([[JSON.stringify({ model: 'x', usage: { prompt_tokens: 1000, completion_tokens: 10, total_tokens: 1010 } }), 1]]);
    const r = buildRecord({
      summary: summary(), t0: 0, request: capture([['{"model":"my-finetune"}', 0]]), response: res, requestEncoding: undefined, requestContentType: undefined,
      responseEncoding: undefined, responseContentType: 'application/json', streamed: false, bodyCapBytes: 1 << 20, modelOverride: 'gpt-4o', priceBook: new PriceBook(),
    });
    assert.equal(r.price?.matchedModel, 'gpt-4o');
    const err = buildRecord({
      summary: summary({ status: 400, state: 'error', error: { kind: 'upstream_status', message: 'x' } }), t0: 0, request: capture([]),
      response: capture([[JSON.stringify({ error: { message: 'Invalid model' } }), 1]]), requestEncoding: undefined, requestContentType: undefined,
      responseEncoding: undefined, responseContentType: 'application/json', streamed: false, bodyCapBytes: 1 << 20, modelOverride: null, priceBook: new PriceBook(),
    });
    assert.deepEqual(err.error, { kind: 'upstream_status', message: '400: Invalid model' });
    assert.equal(err.costUsd, null);
  });
});
