import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_CACHE_TTL_S, MAX_CACHE_TTL_S, isHeliconeHeader, parseHeliconeHeaders } from '../../src/proxy/heliconeHeaders';

const raw = (h: Record<string, string>): string[] => Object.entries(h).flat();
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('proxy Helicone headers', () => {
  it('reads properties with their raw name case, user and session', () => {
    const s = parseHeliconeHeaders(raw({
      'Helicone-Property-Environment': 'dev', 'helicone-property-feature_Flag': 'on', 'Helicone-User-Id': 'alice@example.com',
      'Helicone-Session-Id': 'sess-1', 'Helicone-Session-Path': '/research/analysis', 'Helicone-Session-Name': 'Course plan',
      'Content-Type': 'application/json',
    }));
    assert.deepEqual(s.properties, { Environment: 'dev', feature_Flag: 'on' });
    assert.equal(s.userId, 'alice@example.com');
    assert.deepEqual(s.session, { id: 'sess-1', path: '/research/analysis', name: 'Course plan' });
    assert.deepEqual(s.warnings, []);
    assert.equal(s.cache, null);
  });

  it('defaults the session path to "/" and normalises a path without a leading slash', () => {
    assert.deepEqual(parseHeliconeHeaders(raw({ 'Helicone-Session-Id': 'x' })).session, { id: 'x', path: '/', name: null });
    const s = parseHeliconeHeaders(raw({ 'Helicone-Session-Id': 'x', 'Helicone-Session-Path': 'a//b/' }));
    assert.equal(s.session?.path, '/a/b');
    assert.equal(s.warnings.length, 1);
  });

  it('warns about a session path without a session id', () => {
    const s = parseHeliconeHeaders(raw({ 'Helicone-Session-Path': '/a' }));
    assert.equal(s.session, null);
    assert.match(s.warnings[0], /without Helicone-Session-Id/);
  });

  it('uses Helicone-Request-Id when it is a UUID, otherwise a fresh id and a warning', () => {
    const id = '123E4567-E89B-12D3-A456-426614174000';
    const ok = parseHeliconeHeaders(raw({ 'Helicone-Request-Id': id }));
    assert.equal(ok.requestId, id.toLowerCase());
    assert.deepEqual(ok.warnings, []);
    const bad = parseHeliconeHeaders(raw({ 'Helicone-Request-Id': 'not-a-uuid' }));
    assert.match(bad.requestId, UUID_RE);
    assert.match(bad.warnings[0], /not a UUID/);
    assert.match(parseHeliconeHeaders([]).requestId, UUID_RE);
  });

  it('omits bodies only for exactly "true"', () => {
    const s = parseHeliconeHeaders(raw({ 'Helicone-Omit-Request': 'true', 'Helicone-Omit-Response': 'TRUE' }));
    assert.equal(s.omitRequest, true);
    assert.equal(s.omitResponse, false);
    assert.match(s.warnings.join(), /Omit-Response.*not exactly "true"/);
    assert.deepEqual(parseHeliconeHeaders(raw({ 'Helicone-Omit-Response': 'false' })).warnings, []);
  });

  it('reads cache settings with Helicone defaults', () => {
    const s = parseHeliconeHeaders(raw({ 'Helicone-Cache-Enabled': 'true' }));
    assert.deepEqual(s.cache, {
      read: true, save: true, ttlMs: DEFAULT_CACHE_TTL_S * 1000, bucketMaxSize: 1, seed: null, ignoreKeys: [],
      keyHeaders: [['helicone-cache-enabled', 'true']],
    });
  });

  it('reads TTL, bucket size, seed and ignore keys', () => {
    const s = parseHeliconeHeaders(raw({
      'Helicone-Cache-Enabled': 'True', 'Cache-Control': 'public, max-age=3600', 'Helicone-Cache-Bucket-Max-Size': '3',
      'Helicone-Cache-Seed': 'user-123', 'Helicone-Cache-Ignore-Keys': 'request_id, timestamp,,',
    }));
    assert.equal(s.cache?.ttlMs, 3600_000);
    assert.equal(s.cache?.bucketMaxSize, 3);
    assert.equal(s.cache?.seed, 'user-123');
    assert.deepEqual(s.cache?.ignoreKeys, ['request_id', 'timestamp']);
    assert.deepEqual(s.warnings, []);
  });

  it('prefers s-maxage, caps the TTL at 365 days and reports garbage', () => {
    const on = { 'Helicone-Cache-Enabled': 'true' };
    assert.equal(parseHeliconeHeaders(raw({ ...on, 'Cache-Control': 'max-age=10, s-maxage=20' })).cache?.ttlMs, 20_000);
    const big = parseHeliconeHeaders(raw({ ...on, 'Cache-Control': 'max-age=999999999' }));
    assert.equal(big.cache?.ttlMs, MAX_CACHE_TTL_S * 1000);
    assert.match(big.warnings[0], /365 days/);
    for (const cc of ['max-age=abc', 'max-age=-5', 'no-store', 'max-age=1.5']) {
      const g = parseHeliconeHeaders(raw({ ...on, 'Cache-Control': cc }));
      assert.equal(g.cache?.ttlMs, DEFAULT_CACHE_TTL_S * 1000, cc);
      assert.equal(g.warnings.length, 1, cc);
    }
  });

  it('clamps the bucket size to 1..20 with a warning', () => {
    const on = { 'Helicone-Cache-Enabled': 'true' };
    for (const [v, want] of [['0', 1], ['21', 20], ['-3', 1], ['abc', 1], ['2.5', 3], ['', 1]] as const) {
      const s = parseHeliconeHeaders(raw({ ...on, 'Helicone-Cache-Bucket-Max-Size': v }));
      assert.equal(s.cache?.bucketMaxSize, want, v);
      assert.equal(s.warnings.length, 1, v);
    }
  });

  it('supports read-only and save-only caching', () => {
    assert.deepEqual([parseHeliconeHeaders(raw({ 'Helicone-Cache-Read': 'true' })).cache?.read, parseHeliconeHeaders(raw({ 'Helicone-Cache-Read': 'true' })).cache?.save], [true, false]);
    assert.deepEqual([parseHeliconeHeaders(raw({ 'Helicone-Cache-Save': 'true' })).cache?.read, parseHeliconeHeaders(raw({ 'Helicone-Cache-Save': 'true' })).cache?.save], [false, true]);
    const bad = parseHeliconeHeaders(raw({ 'Helicone-Cache-Enabled': 'yes' }));
    assert.equal(bad.cache, null);
    assert.equal(bad.warnings.length, 1);
  });

  it('keeps Helicone-Auth and a valid Helicone-Target-Url, and rejects a bad one', () => {
    const s = parseHeliconeHeaders(raw({ 'Helicone-Auth': 'Bearer sk-helicone-abc', 'Helicone-Target-Url': 'https://api.together.xyz' }));
    assert.equal(s.heliconeAuth, 'Bearer sk-helicone-abc');
    assert.equal(s.targetUrl?.origin, 'https://api.together.xyz');
    for (const bad of ['ftp://x.y', 'not a url', 'javascript:alert(1)']) {
      const b = parseHeliconeHeaders(raw({ 'Helicone-Target-Url': bad }));
      assert.equal(b.targetUrl, null);
      assert.equal(b.warnings.length, 1);
    }
  });

  it('caps the number of properties and the length of values', () => {
    const many: string[] = [];
    for (let i = 0; i < 250; i++) many.push(`Helicone-Property-P${i}`, String(i));
    many.push('Helicone-Property-Long', 'x'.repeat(10_000));
    const s = parseHeliconeHeaders(many);
    assert.equal(Object.keys(s.properties).length, 200);
    assert.match(s.warnings.join('\n'), /51 Helicone-Property-\* headers/);
  });

  it('reports a repeated Helicone header and keeps the first value', () => {
    const s = parseHeliconeHeaders(['Helicone-User-Id', 'a', 'helicone-user-id', 'b']);
    assert.equal(s.userId, 'a');
    assert.equal(s.warnings.length, 1);
  });

  it('knows which headers are Helicone headers', () => {
    assert.ok(isHeliconeHeader('Helicone-Auth'));
    assert.ok(isHeliconeHeader('helicone-property-x'));
    assert.ok(!isHeliconeHeader('x-helicone'));
    assert.ok(!isHeliconeHeader('Authorization'));
  });

  it('never throws and always yields sane settings for arbitrary headers (property)', () => {
    const name = fc.oneof(
      fc.constantFrom('Helicone-Request-Id', 'Helicone-Cache-Enabled', 'Helicone-Cache-Bucket-Max-Size', 'Cache-Control', 'Helicone-Session-Id',
        'Helicone-Session-Path', 'Helicone-Omit-Request', 'Helicone-Target-Url', 'Helicone-Cache-Ignore-Keys', 'Helicone-Property-', 'Helicone-Cache-Seed'),
      fc.string({ maxLength: 30 }).map((s) => 'Helicone-Property-' + s),
      fc.string({ maxLength: 20 }),
    );
    const value = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('true', 'max-age=99999999999', 's-maxage=-1', '21', '0', 'http://x', ''));
    fc.assert(fc.property(fc.array(fc.tuple(name, value), { maxLength: 25 }), fc.boolean(), (pairs, withCache) => {
      const list = pairs.flat();
      if (withCache) list.push('Helicone-Cache-Enabled', 'true');
      const s = parseHeliconeHeaders(list);
      assert.match(s.requestId, UUID_RE);
      if (s.cache) {
        assert.ok(s.cache.bucketMaxSize >= 1 && s.cache.bucketMaxSize <= 20);
        assert.ok(s.cache.ttlMs >= 0 && s.cache.ttlMs <= MAX_CACHE_TTL_S * 1000);
      }
      if (s.session) assert.ok(s.session.path.startsWith('/'));
      for (const w of s.warnings) assert.equal(typeof w, 'string');
    }), { numRuns: 500 });
  });
});
