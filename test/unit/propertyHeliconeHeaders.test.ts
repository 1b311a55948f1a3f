// Property tests for the Helicone header parser (src/proxy/heliconeHeaders.ts) beyond "never
// throws" (proxyHeaders.test.ts has that one): what it returns must be exactly what the headers
// say, for any names and values a client can send, including names that mean something to
// JavaScript objects.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_CACHE_TTL_S, MAX_BUCKET_SIZE, MAX_CACHE_TTL_S, parseHeliconeHeaders } from '../../src/proxy/heliconeHeaders';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~".split('');
/** Names that are special to plain JS objects (accessors, inherited methods). */
const OBJECT_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
/** A header token (RFC 9110 tchar), as node accepts in a header name. */
const tokenArb = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...TOKEN_CHARS), { minLength: 1, maxLength: 16 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.constantFrom(...OBJECT_NAMES) },
);
/** A header value node would forward: visible ASCII and spaces, no leading/trailing space (node trims them). */
const valueArb = fc.array(fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), { maxLength: 40 })
  .map((a) => a.join('').trim());

describe('property: Helicone header parser', () => {
  it('properties: every Helicone-Property-<name> comes back under its raw name with its value, whatever the name', () => {
    // Distinct names, case-insensitively (a repeated header keeps its first value, tested elsewhere).
    const propsArb = fc.uniqueArray(fc.tuple(tokenArb, valueArb), { maxLength: 30, selector: ([n]) => n.toLowerCase() });
    fc.assert(fc.property(propsArb, (props) => {
      const raw = props.flatMap(([n, v]) => [`Helicone-Property-${n}`, v]);
      const s = parseHeliconeHeaders(raw);
      // "__proto__" is the one name refused (with a warning): see the next test.
      const kept = props.filter(([n]) => n !== '__proto__');
      assert.deepEqual(Object.keys(s.properties).sort(), kept.map(([n]) => n).sort());
      for (const [n, v] of kept) {
        assert.ok(Object.prototype.hasOwnProperty.call(s.properties, n), `property ${n} missing`);
        assert.equal(s.properties[n], v);
      }
      assert.deepEqual(s.warnings, props.length === kept.length ? [] : ['Helicone-Property-__proto__: the property name "__proto__" is not supported; ignored']);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getPrototypeOf({}), Object.prototype);
    }), { numRuns: 400 });
  });

  it('a Helicone-Property-__proto__ header neither pollutes nor vanishes silently', () => {
    const s = parseHeliconeHeaders(['Helicone-Property-__proto__', '{"polluted":"yes"}', 'Helicone-Property-Env', 'dev']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(s.properties) === Object.prototype || Object.getPrototypeOf(s.properties) === null, true);
    // Either kept as a plain own property, or refused with a warning that says so: never lost without a word.
    const kept = Object.prototype.hasOwnProperty.call(s.properties, '__proto__') && s.properties['__proto__'] === '{"polluted":"yes"}';
    const warned = s.warnings.some((w) => w.includes('__proto__'));
    assert.ok(kept || warned, `lost without a warning: properties ${JSON.stringify(s.properties)}, warnings ${JSON.stringify(s.warnings)}`);
    assert.equal(s.properties.Env, 'dev');
    // The record is serialised as JSON on its way to the store: what is kept must survive that.
    const back = JSON.parse(JSON.stringify(s.properties)) as Record<string, string>;
    assert.deepEqual(Object.keys(back).sort(), Object.keys(s.properties).sort());
  });

  it('request id: any UUID (any case, padded) is the record id, lower-cased; anything else gets a fresh UUID and one warning', () => {
    const upperOrLower = fc.uuid().chain((u) => fc.constantFrom(u, u.toUpperCase()));
    const pad = fc.constantFrom('', ' ', '  ', '\t');
    fc.assert(fc.property(upperOrLower, pad, pad, (u, a, b) => {
      const s = parseHeliconeHeaders(['helicone-request-id', a + u + b]);
      assert.equal(s.requestId, u.toLowerCase());
      assert.deepEqual(s.warnings, []);
    }), { numRuns: 200 });
    const notUuid = fc.string({ maxLength: 60 }).filter((x) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(x.trim()));
    fc.assert(fc.property(notUuid, (x) => {
      let n = 0;
      const s = parseHeliconeHeaders(['Helicone-Request-Id', x], () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`);
      assert.equal(s.requestId, '00000000-0000-4000-8000-000000000001');
      assert.equal(s.warnings.length, 1);
      assert.match(s.warnings[0], /Helicone-Request-Id .* is not a UUID; the request was logged as 00000000-0000-4000-8000-000000000001/s);
    }), { numRuns: 300 });
  });

  it(`bucket size: a whole number is clamped to 1..${MAX_BUCKET_SIZE} with a warning exactly when it was outside; garbage gives a warning`, () => {
    fc.assert(fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), (n) => {
      const s = parseHeliconeHeaders(['Helicone-Cache-Enabled', 'true', 'Helicone-Cache-Bucket-Max-Size', String(n)]);
      assert.equal(s.cache?.bucketMaxSize, Math.min(MAX_BUCKET_SIZE, Math.max(1, n)));
      assert.equal(s.warnings.length, n >= 1 && n <= MAX_BUCKET_SIZE ? 0 : 1, JSON.stringify(s.warnings));
    }), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ maxLength: 20 }).filter((x) => !/^\s*\d+\s*$/.test(x)), (x) => {
      const s = parseHeliconeHeaders(['Helicone-Cache-Enabled', 'true', 'Helicone-Cache-Bucket-Max-Size', x]);
      const b = s.cache!.bucketMaxSize;
      assert.ok(Number.isInteger(b) && b >= 1 && b <= MAX_BUCKET_SIZE);
      assert.equal(s.warnings.filter((w) => w.startsWith('Helicone-Cache-Bucket-Max-Size')).length, 1, `${JSON.stringify(x)}: ${JSON.stringify(s.warnings)}`);
    }), { numRuns: 300 });
  });

  it('Cache-Control: max-age / s-maxage give the TTL (s-maxage wins, capped at 365 days); garbage gives the default and a warning', () => {
    const secs = fc.oneof(fc.nat({ max: 10_000 }), fc.integer({ min: 0, max: 2 * MAX_CACHE_TTL_S }));
    const other = fc.constantFrom('public', 'private', 'no-cache', 'must-revalidate', 'stale-while-revalidate=30');
    fc.assert(fc.property(secs, fc.option(secs, { nil: undefined }), fc.array(other, { maxLength: 3 }), (maxAge, sMaxAge, extras) => {
      const parts = [...extras, `max-age=${maxAge}`, ...(sMaxAge === undefined ? [] : [`s-maxage=${sMaxAge}`])];
      const s = parseHeliconeHeaders(['Helicone-Cache-Enabled', 'true', 'Cache-Control', parts.join(', ')]);
      const want = Math.min(sMaxAge ?? maxAge, MAX_CACHE_TTL_S);
      assert.equal(s.cache?.ttlMs, want * 1000);
      assert.equal(s.warnings.length, (sMaxAge ?? maxAge) > MAX_CACHE_TTL_S ? 1 : 0, JSON.stringify(s.warnings));
    }), { numRuns: 300 });
    // Whole numbers past the safe-integer range are over the cap too, not garbage.
    fc.assert(fc.property(fc.bigInt({ min: 10n ** 15n, max: 10n ** 40n }), (n) => {
      const s = parseHeliconeHeaders(['Helicone-Cache-Enabled', 'true', 'Cache-Control', `max-age=${n}`]);
      assert.equal(s.cache?.ttlMs, MAX_CACHE_TTL_S * 1000);
      assert.deepEqual(s.warnings.map((w) => /over 365 days/.test(w)), [true]);
    }), { numRuns: 100 });
    fc.assert(fc.property(fc.string({ maxLength: 40 }).filter((x) => x.trim() !== '' && !/(^|,)\s*(s-)?max-?age\s*=\s*"?\d+"?\s*(,|$)/i.test(x)), (x) => {
      const s = parseHeliconeHeaders(['Helicone-Cache-Enabled', 'true', 'Cache-Control', x]);
      assert.equal(s.cache?.ttlMs, DEFAULT_CACHE_TTL_S * 1000, JSON.stringify(x));
      assert.equal(s.warnings.filter((w) => w.startsWith('Cache-Control')).length, 1, `${JSON.stringify(x)}: ${JSON.stringify(s.warnings)}`);
    }), { numRuns: 300 });
  });

  it('the order of headers with distinct names does not change the settings', () => {
    const name = fc.constantFrom('Helicone-User-Id', 'Helicone-Session-Id', 'Helicone-Session-Path', 'Helicone-Session-Name', 'Helicone-Omit-Request',
      'Helicone-Cache-Enabled', 'Helicone-Cache-Seed', 'Helicone-Cache-Bucket-Max-Size', 'Cache-Control', 'Helicone-Property-A', 'Helicone-Property-b');
    const pairs = fc.uniqueArray(fc.tuple(name, fc.oneof(valueArb, fc.constantFrom('true', 'false', '3', 'max-age=60', '/a/b'))), { selector: ([n]) => n.toLowerCase(), maxLength: 11 });
    fc.assert(fc.property(pairs, fc.infiniteStream(fc.nat()), (ps, rnd) => {
      const shuffled = [...ps];
      const it = rnd[Symbol.iterator]();
      for (let i = shuffled.length - 1; i > 0; i--) { const j = (it.next().value as number) % (i + 1); [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]; }
      const id = (): string => '00000000-0000-4000-8000-000000000000';
      const a = parseHeliconeHeaders(ps.flat(), id);
      const b = parseHeliconeHeaders(shuffled.flat(), id);
      assert.deepEqual({ ...b, warnings: [...b.warnings].sort() }, { ...a, warnings: [...a.warnings].sort() });
    }), { numRuns: 300 });
  });
});
