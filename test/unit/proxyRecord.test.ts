import * as assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { BodySpool } from '../../src/core/store';
import type { NewRecord, RecordBodies, RecordSummary } from '../../src/core/types';
import { decodeBlob, encodeBlob } from '../../src/store/codec';
import { STORE_PARSED_JSON_MAX_BYTES, storedBodyFromBytes } from '../../src/store/bodyDecode';
import { PriceBook } from '../../src/pricing/priceBook';
import fc from 'fast-check';
import { Capture, buildRecord, decodeBody, decodeContent, jsonSkeleton } from '../../src/proxy/record';

/** The bodies as a reader gets them back from the store's codec. */
function read(r: NewRecord): RecordBodies {
  const e = encodeBlob({ id: r.id, requestHeaders: r.requestHeaders, responseHeaders: r.responseHeaders, bodies: r.bodies });
  const side = (f: { path: string } | undefined): Buffer | null => (f ? readFileSync(f.path) : null);
  return decodeBlob(Buffer.concat(e.parts), { request: side(e.side.request), response: side(e.side.response) }).bodies;
}

function shown(buf: Buffer, size: number, truncated: boolean, contentType: string | undefined): ReturnType<typeof storedBodyFromBytes> {
  const d = decodeBody(buf, size, truncated, contentType);
  return storedBodyFromBytes(Buffer.concat(d.stored.chunks), d.stored.size, d.stored.truncated, contentType);
}

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
    assert.deepEqual(decodeBody(Buffer.from('{"a":1}'), 7, false, 'application/json').json, { a: 1 });
    assert.equal(shown(Buffer.from('{"a":1}'), 7, false, 'application/json').kind, 'json');
    assert.equal(shown(Buffer.from('{"a":'), 5, false, 'application/json').kind, 'text');
    assert.equal(shown(Buffer.from([0xff, 0x00]), 2, false, undefined).kind, 'base64');
    assert.equal(shown(Buffer.alloc(0), 0, false, undefined).kind, 'empty');
    const cut = Buffer.from('{"t":"日本"}').subarray(0, 9);
    const d = { stored: shown(cut, 20, true, 'application/json') };
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
    assert.deepEqual(read(r).streamEvents!.map((e) => e.t), [5, 31, 50, 60]);
    assert.equal(r.ttftMs, 31);
    assert.equal(r.requestModel, 'gpt-4o-mini');
    assert.equal(r.usage?.estimated, true);
    assert.ok(r.costUsd! > 0);
  });

  it('builds the same record from a compacted capture, late chunks included', () => {
    const build = (res: Capture, streamed: boolean): NewRecord => buildRecord({
      summary: summary(), t0: 0, request: capture([]), response: res, requestEncoding: undefined, requestContentType: undefined,
      responseEncoding: undefined, responseContentType: streamed ? 'text/event-stream' : 'application/json', streamed,
      bodyCapBytes: 300, modelOverride: null, priceBook: new PriceBook(),
    });
    const part = fc.tuple(fc.string({ minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 5 }));
    fc.assert(fc.property(fc.array(part, { maxLength: 12 }), fc.array(part, { maxLength: 2 }), fc.boolean(), (early, late, streamed) => {
      let t = 0;
      const timed = (ps: Array<[string, number]>): Array<[string, number]> => ps.map(([p, dt]) => [`data: ${p}\n\n`, (t += dt)]);
      const before = timed(early);
      const after = timed(late);
      const plain = capture(before);
      const compacted = capture(before);
      compacted.compact();
      for (const [p, at] of after) { plain.push(Buffer.from(p), at); compacted.push(Buffer.from(p), at); }
      assert.deepEqual(compacted.chunks().map(String), plain.chunks().map(String));
      assert.equal(compacted.bytes().toString(), plain.bytes().toString());
      assert.equal(Buffer.concat(compacted.slices(100)).toString(), Buffer.concat(plain.slices(100)).toString());
      const a = build(plain, streamed);
      const b = build(compacted, streamed);
      assert.deepEqual(read(b), read(a));
      assert.deepEqual({ ...b, bodies: null }, { ...a, bodies: null });
    }), { numRuns: 200 });
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

  describe('large JSON bodies', () => {
    it('reads the skeleton of any JSON object exactly as JSON.parse does (property)', () => {
      fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.constantFrom('', ' ', '\n\t '), (obj, ws) => {
        const text = ws + JSON.stringify(obj, null, ws.length ? 1 : 0) + ws;
        const sk = jsonSkeleton(text, Infinity);
        const expected = JSON.parse(text) as Record<string, unknown>;
        delete expected.__proto__;
        assert.deepEqual(sk, JSON.parse(JSON.stringify(expected)));
      }), { numRuns: 300 });
    });

    it('leaves out large values and refuses what is not one object', () => {
      assert.deepEqual(jsonSkeleton('{"model":"m","messages":[{"content":"' + 'x'.repeat(100) + '"}],"n":1}', 20), { model: 'm', n: 1 });
      assert.deepEqual(jsonSkeleton('{"a":"q\\"uote\\\\","b":2}', 100), { a: 'q"uote\\', b: 2 });
      for (const bad of ['[1]', '{"a":1', '{"a" 1}', '{"a":1}x', '', '{"a":"unterminated}']) assert.equal(jsonSkeleton(bad, 100), null, bad);
    });

    it('stores a large JSON body as its raw text and reads model and usage from the skeleton', () => {
      const prompt = 'word '.repeat(STORE_PARSED_JSON_MAX_BYTES / 4);
      const reqText = JSON.stringify({ messages: [{ role: 'user', content: prompt }], model: 'gpt-4o-mini' });
      const resText = JSON.stringify({ id: 'x', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }], usage: { prompt_tokens: 70000, completion_tokens: 1, total_tokens: 70001 } });
      // In pieces, as a socket delivers them; built twice so the reused scratch buffer is proved clean.
      const pieces = (t: string): Array<[string, number]> => [[t.slice(0, 1000), 0], [t.slice(1000, 90_000), 0], [t.slice(90_000), 0]];
      const build = (text: string): ReturnType<typeof buildRecord> => buildRecord({
        summary: summary(), t0: 0, request: capture(pieces(text), 1 << 22), response: capture([[resText, 1]]), requestEncoding: undefined,
        requestContentType: 'application/json', responseEncoding: undefined, responseContentType: 'application/json', streamed: false,
        bodyCapBytes: 1 << 22, modelOverride: null, priceBook: new PriceBook(),
      });
      assert.equal(build(reqText.replace('gpt-4o-mini', 'gpt-4o') + '  ').requestModel, 'gpt-4o');
      const r = build(reqText);
      assert.equal(r.bodies.request.kind, 'raw', 'kept as the bytes that were sent');
      const back = read(r).request;
      assert.equal(back.kind, 'text');
      assert.equal(back.text, reqText);
      assert.equal(r.requestModel, 'gpt-4o-mini');
      assert.equal(r.usage?.promptTokens, 70000);
      assert.equal(r.usage?.estimated, false);
    });

    it('spills past the threshold: holds nothing, caps what it spools, and builds the same record from the scanner and the file', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'lens-spill-'));
      try {
        const file = path.join(dir, 'x.body');
        let ended = false;
        const spool: BodySpool = {
          write: (c) => { assert.ok(!ended, 'no write after end'); appendFileSync(file, c); },
          end: () => { ended = true; return Promise.resolve({ path: file, bytes: existsSync(file) ? statSync(file).size : 0 }); },
          discard: () => undefined,
          queuedBytes: 0,
        };
        const prompt = 'word '.repeat(STORE_PARSED_JSON_MAX_BYTES / 4);
        const reqText = JSON.stringify({ messages: [{ role: 'user', content: prompt }], model: 'gpt-4o-mini' });
        const resText = JSON.stringify({ id: 'x', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'short answer' } }] });
        const req = new Capture(200_000);
        req.enableSpill({ threshold: 50_000, keep: true, open: () => spool });
        const bytes = Buffer.from(reqText);
        for (let i = 0; i < bytes.length; i += 30_000) req.push(bytes.subarray(i, i + 30_000), 0);
        assert.ok(req.spilled);
        assert.equal(req.held, 0);
        assert.deepEqual(req.chunks(), []);
        assert.equal(req.total, bytes.length);
        assert.equal(req.captured, 200_000, 'spooled up to the limit only');
        await req.settle();
        const r = buildRecord({
          summary: summary(), t0: 0, request: req, response: capture([[resText, 1]]), requestEncoding: undefined,
          requestContentType: 'application/json', responseEncoding: undefined, responseContentType: 'application/json', streamed: false,
          bodyCapBytes: 200_000, modelOverride: null, priceBook: new PriceBook(),
        });
        assert.equal(r.requestModel, 'gpt-4o-mini', 'read from bytes past the cap');
        assert.equal(r.bodies.request.kind, 'raw');
        const back = read(r).request;
        assert.equal(back.text, reqText.slice(0, 200_000));
        assert.equal(back.truncated, true);
        assert.equal(back.size, bytes.length);
        assert.ok(r.warnings.some((w) => /request body over 200000 bytes/.test(w)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('never opens a spool for a chunk that arrives after the record was settled', async () => {
      let opened = 0;
      const c = new Capture(1 << 20);
      c.enableSpill({ threshold: 1000, keep: true, open: () => { opened++; return null; } });
      c.push(Buffer.alloc(500, 0x61), 0);
      await c.settle();
      c.discard();
      c.push(Buffer.alloc(5000, 0x61), 0);
      assert.equal(opened, 0);
      assert.equal(c.total, 5500);
    });

    it('keeps the body in memory when the store has no spool, and only scans an omitted one', () => {
      const big = Buffer.from(JSON.stringify({ model: 'm', messages: ['x'.repeat(100_000)] }));
      const noSpool = new Capture(1 << 20);
      noSpool.enableSpill({ threshold: 10_000, keep: true, open: () => null });
      noSpool.push(big, 0);
      assert.ok(!noSpool.spilled);
      assert.equal(noSpool.held, big.length);
      const omitted = new Capture(1 << 20);
      let opened = 0;
      omitted.enableSpill({ threshold: 10_000, keep: false, open: () => { opened++; return null; } });
      omitted.push(big, 0);
      assert.ok(omitted.spilled);
      assert.equal(opened, 0);
      assert.equal(omitted.held, 0);
      assert.deepEqual(omitted.scanner?.result(), { model: 'm' });
    });

    it('counts a spilled body as held only while its spool queues it for a slow disk', () => {
      let queued = 0;
      const spool: BodySpool = {
        write: (c) => { queued += c.length; },
        end: () => Promise.resolve({ path: 'x', bytes: queued }),
        discard: () => undefined,
        get queuedBytes() { return queued; },
      };
      const c = new Capture(1 << 20);
      c.enableSpill({ threshold: 10_000, keep: true, open: () => spool });
      c.push(Buffer.alloc(20_000, 0x61), 0);
      assert.ok(c.spilled);
      assert.equal(c.held, 20_000, 'bytes the spool still queues are in memory');
      queued = 0; // written through, or drained
      c.push(Buffer.alloc(5_000, 0x61), 0);
      assert.equal(c.held, 5_000);
      queued = 0;
      assert.equal(c.held, 0);
    });

    it('parses the whole large body when tokens must be estimated', () => {
      const prompt = 'word '.repeat(STORE_PARSED_JSON_MAX_BYTES / 4);
      const reqText = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
      const resText = JSON.stringify({ id: 'x', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'short answer' } }] });
      const r = buildRecord({
        summary: summary(), t0: 0, request: capture([[reqText, 0]], 1 << 22), response: capture([[resText, 1]]), requestEncoding: undefined,
        requestContentType: 'application/json', responseEncoding: undefined, responseContentType: 'application/json', streamed: false,
        bodyCapBytes: 1 << 22, modelOverride: null, priceBook: new PriceBook(),
      });
      assert.equal(r.usage?.estimated, true);
      assert.ok(r.usage!.promptTokens > 60000, String(r.usage?.promptTokens));
    });
  });
});
