// The in-memory index (listing, filters, pagination, session aggregates), the line codec and the
// body cap, each checked against a straightforward model of what it should compute.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RecordQuery, SessionSummary } from '../../src/core/store';
import type { RecordSummary } from '../../src/core/types';
import { capBodies, capBody, truncateUtf8 } from '../../src/store/bodyCap';
import { compactSummary, decodeIndexLine, DictionaryWriter, encodeRecordLine, IndexDictionary } from '../../src/store/codec';
import { MemoryIndex } from '../../src/store/memoryIndex';
import { makeRecord, makeUsage, summaryOf } from '../support/records';

function s(overrides: Partial<RecordSummary> = {}): RecordSummary {
  return { ...summaryOf(makeRecord(overrides)), requestHeaders: {}, responseHeaders: {} };
}

/** The obvious, slow answer: filter everything, sort newest first, slice. */
function modelList(all: RecordSummary[], q: RecordQuery): RecordSummary[] {
  const matches = all.filter((r) => {
    if (q.sessionId === null && r.session !== null) return false;
    if (typeof q.sessionId === 'string' && r.session?.id !== q.sessionId) return false;
    if (q.model !== undefined && r.requestModel !== q.model && r.responseModel !== q.model) return false;
    if (q.provider !== undefined && r.provider !== q.provider) return false;
    if (q.status !== undefined) {
      const st = r.state === 'pending' ? 'pending' : r.state === 'error' ? 'error' : r.cache?.hit ? 'cached' : 'ok';
      if (st !== q.status) return false;
    }
    if (q.since !== undefined && r.startedAt < q.since) return false;
    if (q.until !== undefined && r.startedAt > q.until) return false;
    if (q.properties && !Object.entries(q.properties).every(([k, v]) => r.properties[k] === v)) return false;
    return true;
  });
  matches.sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : -1));
  const off = q.offset ?? 0;
  return matches.slice(off, q.limit === undefined ? undefined : off + q.limit);
}

function modelSession(all: RecordSummary[], id: string): SessionSummary | undefined {
  const rs = all.filter((r) => r.session?.id === id).sort((a, b) => a.startedAt - b.startedAt);
  if (!rs.length) return undefined;
  const named = rs.filter((r) => r.session?.name != null);
  return {
    id,
    name: named.length ? named[named.length - 1].session!.name : null,
    requestCount: rs.length,
    errorCount: rs.filter((r) => r.state === 'error').length,
    pendingCount: rs.filter((r) => r.state === 'pending').length,
    costUsd: rs.reduce((n, r) => n + (r.state !== 'pending' && r.costUsd !== null ? r.costUsd : 0), 0),
    costUnknown: rs.filter((r) => r.state !== 'pending' && r.costUsd === null).length,
    promptTokens: rs.reduce((n, r) => n + (r.usage?.promptTokens ?? 0), 0),
    completionTokens: rs.reduce((n, r) => n + (r.usage?.completionTokens ?? 0), 0),
    totalTokens: rs.reduce((n, r) => n + (r.usage?.totalTokens ?? 0), 0),
    startedAt: rs[0].startedAt,
    endedAt: Math.max(...rs.map((r) => r.endedAt ?? r.startedAt)),
  };
}

function approxSession(actual: SessionSummary | undefined, expected: SessionSummary | undefined): void {
  if (!expected) { assert.equal(actual, undefined); return; }
  assert.ok(actual);
  assert.ok(Math.abs(actual.costUsd - expected.costUsd) < 1e-9, `cost ${actual.costUsd} vs ${expected.costUsd}`);
  assert.deepEqual({ ...actual, costUsd: 0 }, { ...expected, costUsd: 0 });
}

describe('store index', () => {
  describe('MemoryIndex', () => {
    it('lists newest first with offset/limit, by session, and counts', () => {
      const idx = new MemoryIndex();
      const base = 1_000_000;
      const recs = Array.from({ length: 50 }, (_, i) => s({ startedAt: base + ((i * 37) % 50) * 10, session: i % 2 ? { id: 'A', path: '/', name: 'a' } : null }));
      for (const r of recs) idx.upsert(r);
      const sorted = [...recs].sort((a, b) => b.startedAt - a.startedAt);
      assert.deepEqual(idx.list({ limit: 5 }), sorted.slice(0, 5));
      assert.deepEqual(idx.list({ offset: 45, limit: 10 }), sorted.slice(45));
      assert.deepEqual(idx.list({ offset: 60 }), []);
      assert.deepEqual(idx.list({ limit: 0 }), []);
      assert.equal(idx.count(), 50);
      assert.equal(idx.count({ sessionId: 'A' }), 25);
      assert.equal(idx.count({ sessionId: null }), 25);
      assert.deepEqual(idx.list({ sessionId: 'A', limit: 3 }), sorted.filter((r) => r.session?.id === 'A').slice(0, 3));
      assert.deepEqual(idx.list({ sessionId: 'nope' }), []);
      assert.deepEqual(idx.list({ since: base + 100, until: base + 200 }).map((r) => r.startedAt), [200, 190, 180, 170, 160, 150, 140, 130, 120, 110, 100].map((d) => base + d));
    });

    it('matches a reference model for random queries over random records (property test)', () => {
      const models = ['gpt-4o', 'gpt-4o-mini', 'claude'];
      const recArb = fc.record({
        t: fc.integer({ min: 0, max: 200 }),
        model: fc.constantFrom(...models),
        provider: fc.constantFrom('openai', 'anthropic'),
        state: fc.constantFrom('ok', 'error', 'pending') as fc.Arbitrary<'ok' | 'error' | 'pending'>,
        hit: fc.boolean(),
        session: fc.option(fc.constantFrom('s1', 's2', 's3'), { nil: null }),
        env: fc.constantFrom('dev', 'prod'),
        cost: fc.option(fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000), { nil: null }),
      });
      const qArb = fc.record({
        sessionId: fc.option(fc.constantFrom('s1', 's2', 's3', null), { nil: undefined }),
        model: fc.option(fc.constantFrom(...models), { nil: undefined }),
        provider: fc.option(fc.constantFrom('openai', 'anthropic'), { nil: undefined }),
        status: fc.option(fc.constantFrom('ok', 'error', 'cached', 'pending') as fc.Arbitrary<RecordQuery['status']>, { nil: undefined }),
        since: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
        until: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
        properties: fc.option(fc.constantFrom({ env: 'dev' }, { env: 'prod' }), { nil: undefined }),
        offset: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
        limit: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
      }, { requiredKeys: [] });
      fc.assert(fc.property(fc.array(recArb, { maxLength: 40 }), fc.array(qArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), (specs, queries, deletes) => {
        const idx = new MemoryIndex();
        let all = specs.map((x) => s({
          startedAt: x.t, endedAt: x.state === 'pending' ? null : x.t + 5, requestModel: x.model, provider: x.provider, state: x.state,
          cache: x.hit ? { enabled: true, hit: true, savedUsd: null, bucketMaxSize: 1, seed: null } : null,
          session: x.session ? { id: x.session, path: '/', name: x.t % 2 ? `n${x.t}` : null } : null,
          properties: { env: x.env }, costUsd: x.state === 'pending' ? null : x.cost, usage: x.state === 'pending' ? null : makeUsage({ promptTokens: x.t }),
        }));
        for (const r of all) idx.upsert(r);
        // Complete some pending ones (the proxy's hot path), delete a few.
        all = all.map((r) => {
          if (r.state !== 'pending' || r.startedAt % 3) return r;
          const done = { ...r, state: 'ok' as const, endedAt: r.startedAt + 9, costUsd: 0.5, usage: makeUsage() };
          idx.upsert(done);
          return done;
        });
        for (const d of deletes) {
          if (!all.length) break;
          const victim = all[d % all.length];
          idx.remove(victim.id);
          all = all.filter((r) => r !== victim);
        }
        for (const q of queries) {
          assert.deepEqual(idx.list(q).map((r) => r.id), modelList(all, q).map((r) => r.id), JSON.stringify(q));
          assert.equal(idx.count(q), modelList(all, { ...q, offset: 0, limit: undefined }).length);
        }
        for (const id of ['s1', 's2', 's3']) approxSession(idx.session(id), modelSession(all, id));
        const ids = idx.sessions().map((x) => x.id);
        assert.deepEqual([...ids].sort(), ['s1', 's2', 's3'].filter((id) => all.some((r) => r.session?.id === id)));
        const ends = idx.sessions().map((x) => x.endedAt);
        assert.deepEqual(ends, [...ends].sort((a, b) => b - a), 'sessions newest activity first');
      }), { numRuns: 300 });
    });

    it('filters by session path prefix, kind, user and free text', () => {
      const idx = new MemoryIndex();
      const a = s({ session: { id: 'x', path: '/research/analysis', name: 'Deep Dive' }, userId: 'alice', properties: { feature: 'Summarise' } });
      const b = s({ session: { id: 'x', path: '/researcher', name: 'Deep Dive' }, kind: 'custom' });
      const c = s({ requestModel: 'claude-3-5-haiku', path: '/anthropic/v1/messages' });
      for (const r of [a, b, c]) idx.upsert(r);
      assert.deepEqual(idx.list({ sessionPath: '/research' }).map((r) => r.id), [a.id]);
      assert.deepEqual(idx.list({ sessionPath: '/' }).map((r) => r.id), [b.id, a.id]);
      assert.deepEqual(idx.list({ kind: 'custom' }).map((r) => r.id), [b.id]);
      assert.deepEqual(idx.list({ userId: 'alice' }).map((r) => r.id), [a.id]);
      assert.deepEqual(idx.list({ text: 'SUMMARISE' }).map((r) => r.id), [a.id]);
      assert.deepEqual(idx.list({ text: 'haiku' }).map((r) => r.id), [c.id]);
      assert.deepEqual(idx.list({ text: 'deep dive' }).map((r) => r.id), [b.id, a.id]);
      assert.deepEqual(idx.list({ text: c.id.slice(0, 8) }).map((r) => r.id), [c.id]);
      assert.equal(idx.count({ text: '   ' }), 3);
    });

    it('keeps session aggregates right through begin, complete, replace and delete', () => {
      const idx = new MemoryIndex();
      const session = { id: 'S', path: '/', name: 'first' };
      const p = s({ session, state: 'pending', endedAt: null, costUsd: null, usage: null, startedAt: 100 });
      idx.upsert(p);
      assert.equal(idx.session('S')?.pendingCount, 1);
      assert.equal(idx.session('S')?.costUnknown, 0, 'a pending record is not an unknown cost');
      const done = { ...p, state: 'ok' as const, endedAt: 500, costUsd: 0.25, usage: makeUsage({ promptTokens: 10, completionTokens: 5 }) };
      idx.upsert(done);
      const later = s({ session: { ...session, name: 'renamed' }, startedAt: 1000, endedAt: 1200, state: 'error', costUsd: null });
      idx.upsert(later);
      approxSession(idx.session('S'), {
        id: 'S', name: 'renamed', requestCount: 2, errorCount: 1, pendingCount: 0, costUsd: 0.25, costUnknown: 1,
        promptTokens: 10 + later.usage!.promptTokens, completionTokens: 5 + later.usage!.completionTokens,
        totalTokens: 15 + later.usage!.totalTokens, startedAt: 100, endedAt: 1200,
      });
      idx.remove(later.id);
      approxSession(idx.session('S'), modelSession([done], 'S'));
      idx.remove(done.id);
      assert.equal(idx.session('S'), undefined);
      assert.deepEqual(idx.sessions(), []);
    });

    it('moves a record between sessions when its session changes', () => {
      const idx = new MemoryIndex();
      const r = s({ session: { id: 'A', path: '/', name: null } });
      idx.upsert(r);
      idx.upsert({ ...r, session: { id: 'B', path: '/', name: null } });
      assert.equal(idx.session('A'), undefined);
      assert.equal(idx.session('B')?.requestCount, 1);
      assert.equal(idx.count({ sessionId: 'B' }), 1);
    });

    it('returns copies of session summaries (callers cannot corrupt the aggregates)', () => {
      const idx = new MemoryIndex();
      idx.upsert(s({ session: { id: 'A', path: '/', name: null } }));
      const got = idx.session('A')!;
      got.requestCount = 99;
      idx.sessions()[0].requestCount = 98;
      assert.equal(idx.session('A')?.requestCount, 1);
    });
  });

  describe('codec', () => {
    it('round-trips summaries through index lines, sharing repeated strings through the dictionary', () => {
      const dict = new IndexDictionary();
      const dw = new DictionaryWriter(dict);
      const a = s({ session: { id: 'S', path: '/a', name: 'n' }, properties: { k: 'v' }, cache: { enabled: true, hit: false, savedUsd: null, bucketMaxSize: 2, seed: 'x' } });
      const b = s({ firstByteAt: null, endedAt: null, latencyMs: null, error: { kind: 'upstream_timeout', message: 'no headers in 30s' }, state: 'error' });
      const la = encodeRecordLine(a, { seg: 3, off: 10, len: 20 }, dw);
      dw.commit();
      const lb = encodeRecordLine(b, { seg: 3, off: 31, len: 5 }, dw);
      dw.commit();
      assert.ok(la.split('\n').length > 1, 'the first record brings its dictionary lines');
      assert.equal(lb.split('\n').length, 2, 'the second only adds the new error kind');
      const read = new IndexDictionary();
      const out = [...la.split('\n'), ...lb.split('\n')].map((l) => decodeIndexLine(l, read)).filter((l) => l.type === 'record');
      assert.deepEqual(out, [
        { type: 'record', ref: { seg: 3, off: 10, len: 20 }, summary: a },
        { type: 'record', ref: { seg: 3, off: 31, len: 5 }, summary: b },
      ]);
      if (out[0].type === 'record' && out[1].type === 'record') {
        assert.equal(out[0].summary.price, out[1].summary.price, 'one shared price object');
        assert.ok(Object.isFrozen(out[0].summary.price));
      }
    });

    it('compactSummary keeps every field, in decodeIndexLine\'s key order, shares what the dictionary holds, and copies the rest', () => {
      const dict = new IndexDictionary();
      const dw = new DictionaryWriter(dict);
      const a = s({ session: { id: 'S', path: '/a', name: 'n' }, properties: { k: 'v' }, warnings: ['w'], cache: { enabled: true, hit: false, savedUsd: null, bucketMaxSize: 2, seed: 'x' } });
      const line = encodeRecordLine(a, { seg: 1, off: 0, len: 1 }, dw);
      const before = compactSummary(a, dict);
      assert.deepEqual(before, a, 'nothing lost before the dictionary knows the strings');
      assert.notEqual(before.price, a.price, 'copied, not aliased to the caller\'s object');
      dw.commit();
      const decoded = line.split('\n').map((l) => decodeIndexLine(l, new IndexDictionary())).find((l) => l.type === 'record');
      assert.ok(decoded?.type === 'record');
      const b = { ...a, id: 'other', usage: { ...a.usage! }, price: { ...a.price! }, session: { ...a.session! } };
      const x = compactSummary(b, dict);
      const y = compactSummary({ ...b, id: 'third' }, dict);
      assert.deepEqual(Object.keys(x), Object.keys(decoded.summary), 'one key order: live and reloaded summaries share a hidden class');
      assert.deepEqual(x, b);
      assert.equal(x.price, y.price, 'one shared price object once the dictionary holds it');
      assert.ok(Object.isFrozen(x.price));
      assert.equal(x.session, y.session, 'one shared session ref');
      b.usage.promptTokens = 999;
      assert.notEqual(x.usage?.promptTokens, 999, 'nested values are copies');
      const extra = compactSummary({ ...b, futureField: 1 } as typeof b, dict);
      assert.equal((extra as unknown as { futureField: number }).futureField, 1, 'unknown fields ride along');
    });

    it('does not commit dictionary entries of a batch that was never written', () => {
      const dict = new IndexDictionary();
      const dw = new DictionaryWriter(dict);
      encodeRecordLine(s(), { seg: 1, off: 0, len: 1 }, dw);
      assert.equal(dict.size, 0);
      const again = new DictionaryWriter(dict);
      const line = encodeRecordLine(s(), { seg: 1, off: 0, len: 1 }, again);
      assert.ok(line.startsWith('[3,1,0,'), 'numbering restarts: the failed batch left nothing behind');
    });

    it('refuses malformed lines', () => {
      const dict = new IndexDictionary();
      for (const bad of ['', '{}', '[]', '[1,1]', '[1,99,0,0,0]', '[2,1,"x"]', '[3,1,-1,"x"]', 'garbage', '[1,1,1,0,0,5,0,0]']) {
        assert.throws(() => decodeIndexLine(bad, dict), Error, bad);
      }
    });
  });

  describe('body cap', () => {
    it('truncateUtf8 never splits a character and never exceeds the limit', () => {
      fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.nat({ max: 64 }), (str, max) => {
        const cut = truncateUtf8(str, max);
        assert.ok(Buffer.byteLength(cut) <= max || cut === str && Buffer.byteLength(str) <= max);
        assert.ok(str.startsWith(cut));
        assert.ok(!cut.endsWith('\ud800') && Buffer.from(cut, 'utf8').toString('utf8') === cut);
      }));
    });

    it('turns an oversized JSON body into marked text and cuts base64 on a 4-character boundary', () => {
      const json = capBody({ kind: 'json', json: { a: 'x'.repeat(100) }, size: 110, truncated: false }, 50);
      assert.equal(json.kind, 'text');
      assert.equal(json.truncated, true);
      assert.equal(json.size, 110);
      const b64 = capBody({ kind: 'base64', text: Buffer.alloc(100, 7).toString('base64'), size: 100, truncated: false }, 30);
      assert.equal((b64.text ?? '').length % 4, 0);
      assert.ok(Buffer.from(b64.text ?? '', 'base64').every((x) => x === 7));
      const omitted = { kind: 'omitted' as const, size: 5000, truncated: false };
      assert.equal(capBody(omitted, 10), omitted);
    });

    it('caps stream events as part of the response and drops an oversized reassembled message', () => {
      const { bodies, warnings } = capBodies({
        request: { kind: 'empty', size: 0, truncated: false },
        response: { kind: 'empty', size: 0, truncated: false },
        streamEvents: Array.from({ length: 10 }, (_, t) => ({ t, event: 'delta', data: 'd'.repeat(40) })),
        reassembled: { text: 'r'.repeat(500) },
      }, 200);
      assert.ok((bodies.streamEvents ?? []).length < 10 && (bodies.streamEvents ?? []).length > 0);
      assert.equal(bodies.response.truncated, true);
      assert.equal(bodies.reassembled, null);
      assert.equal(warnings.length, 2);
    });
  });
});
