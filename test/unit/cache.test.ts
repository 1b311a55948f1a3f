import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingLogger } from '../../src/core/logger';
import { ResponseCache, cacheKey, type CacheKeyInput } from '../../src/proxy/cache';
import { parseHeliconeHeaders, type CacheSettings } from '../../src/proxy/heliconeHeaders';

function settings(extra: Record<string, string> = {}): CacheSettings {
  const s = parseHeliconeHeaders(Object.entries({ 'Helicone-Cache-Enabled': 'true', ...extra }).flat()).cache;
  assert.ok(s);
  return s;
}

function input(over: Partial<CacheKeyInput> = {}): CacheKeyInput {
  return {
    method: 'POST', upstreamUrl: 'https://api.openai.com/v1/chat/completions',
    body: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], request_id: 'a1' })),
    rawHeaders: ['Authorization', 'Bearer sk-one', 'Helicone-Cache-Enabled', 'true'],
    settings: settings(),
    ...over,
  };
}

const entry = (text: string) => ({
  status: 200, headers: [['Content-Type', 'application/json'], ['Set-Cookie', 'a=b'], ['x-api-key', 'k'], ['Content-Length', '9']] as Array<[string, string]>,
  body: Buffer.from(text), streamed: false,
  meta: { requestId: 'r-' + text, costUsd: 0.5, usage: null, model: 'gpt-4o-mini', latencyMs: 12 },
});

describe('cache', () => {
  let dir: string;
  let logger: RecordingLogger;
  let clock: number;
  const open = (extra: Partial<ConstructorParameters<typeof ResponseCache>[0]> = {}) =>
    ResponseCache.open({ dir, logger, now: () => clock, ...extra });

  beforeEach(() => {
    dir = path.join(mkdtempSync(path.join(tmpdir(), 'lens-cache-')), 'cache');
    logger = new RecordingLogger();
    clock = 1_000_000;
  });
  afterEach(() => {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  describe('key', () => {
    it('is stable for the same request', () => assert.equal(cacheKey(input()), cacheKey(input())));

    it('differs by API key, in any credential header', () => {
      assert.notEqual(cacheKey(input()), cacheKey(input({ rawHeaders: ['Authorization', 'Bearer sk-two', 'Helicone-Cache-Enabled', 'true'] })));
      assert.notEqual(cacheKey(input({ rawHeaders: ['x-api-key', 'a'] })), cacheKey(input({ rawHeaders: ['x-api-key', 'b'] })));
      assert.notEqual(cacheKey(input({ rawHeaders: ['api-key', 'a'] })), cacheKey(input({ rawHeaders: [] })));
    });

    it('does not contain the API key', () => {
      assert.ok(!cacheKey(input()).includes('sk-one'));
    });

    it('differs by seed, method, URL, body and helicone-cache headers', () => {
      const base = cacheKey(input());
      assert.notEqual(base, cacheKey(input({ settings: settings({ 'Helicone-Cache-Seed': 'u1' }) })));
      assert.notEqual(base, cacheKey(input({ method: 'PUT' })));
      assert.notEqual(base, cacheKey(input({ upstreamUrl: 'https://api.openai.com/v1/chat/completions?x=1' })));
      assert.notEqual(base, cacheKey(input({ body: Buffer.from('{"model":"gpt-4o"}') })));
      assert.notEqual(base, cacheKey(input({ settings: settings({ 'Helicone-Cache-Bucket-Max-Size': '2' }) })));
    });

    it('leaves ignored keys out of the body', () => {
      const s = settings({ 'Helicone-Cache-Ignore-Keys': 'request_id' });
      const a = cacheKey(input({ settings: s }));
      const b = cacheKey(input({ settings: s, body: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], request_id: 'zz' })) }));
      assert.equal(a, b);
      assert.notEqual(cacheKey(input()), cacheKey(input({ body: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], request_id: 'zz' })) })));
    });

    it('hashes a non-JSON body as raw bytes even with ignore keys', () => {
      const s = settings({ 'Helicone-Cache-Ignore-Keys': 'a' });
      assert.notEqual(cacheKey(input({ settings: s, body: Buffer.from('plain one') })), cacheKey(input({ settings: s, body: Buffer.from('plain two') })));
    });
  });

  it('misses until a size-1 bucket is filled, then hits and replays headers without secrets', async () => {
    const c = await open();
    const k = cacheKey(input());
    assert.equal(await c.lookup(k, 1), null);
    assert.equal(await c.save(k, 1, 60_000, entry('one')), true);
    const hit = await c.lookup(k, 1);
    assert.ok(hit);
    assert.equal(hit.body.toString(), 'one');
    assert.equal(hit.meta.costUsd, 0.5);
    assert.deepEqual(hit.headers, [['Content-Type', 'application/json']]);
    assert.equal(await c.save(k, 1, 60_000, entry('two')), false, 'a full bucket takes no more');
  });

  it('fills a bucket of 3 before hitting, then returns each of the 3 at random', async () => {
    let r = 0;
    const c = await open({ random: () => r });
    const k = cacheKey(input());
    for (const t of ['a', 'b', 'c']) {
      assert.equal(await c.lookup(k, 3), null);
      assert.equal(await c.save(k, 3, 60_000, entry(t)), true);
    }
    const seen = new Set<string>();
    for (r of [0, 0.34, 0.67, 0.99]) seen.add((await c.lookup(k, 3))!.body.toString());
    assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
  });

  it('expires entries after their TTL and deletes the file', async () => {
    const c = await open();
    const k = cacheKey(input());
    await c.save(k, 1, 1000, entry('x'));
    clock += 999;
    assert.ok(await c.lookup(k, 1));
    clock += 1;
    assert.equal(await c.lookup(k, 1), null);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(readdirSync(dir), []);
  });

  it('survives a restart, and drops what expired meanwhile', async () => {
    const c = await open();
    await c.save('a'.repeat(64), 1, 10_000, entry('long'));
    await c.save('b'.repeat(64), 1, 1_000, entry('short'));
    clock += 5_000;
    const again = await open();
    assert.equal((await again.lookup('a'.repeat(64), 1))?.body.toString(), 'long');
    assert.equal(await again.lookup('b'.repeat(64), 1), null);
    assert.equal(again.stats().entries, 1);
  });

  it('stays within its byte bound, evicting the least recently used', async () => {
    const c = await open({ maxBytes: 1500 });
    const body = (n: string) => ({ ...entry(n), body: Buffer.alloc(400, n) });
    await c.save('1'.repeat(64), 1, 60_000, body('1'));
    clock++;
    await c.save('2'.repeat(64), 1, 60_000, body('2'));
    clock++;
    assert.ok(await c.lookup('1'.repeat(64), 1)); // 1 is now more recent than 2
    clock++;
    await c.save('3'.repeat(64), 1, 60_000, body('3'));
    assert.ok(c.stats().bytes <= 1500);
    assert.equal(await c.lookup('2'.repeat(64), 1), null);
    assert.ok(await c.lookup('1'.repeat(64), 1));
    assert.ok(await c.lookup('3'.repeat(64), 1));
    assert.equal(readdirSync(dir).length, 2);
  });

  it('does not cache an entry larger than maxEntryBytes', async () => {
    const c = await open({ maxEntryBytes: 10 });
    assert.equal(await c.save('a'.repeat(64), 1, 60_000, entry('more than ten bytes')), false);
  });

  it('cleans crash leftovers and drops corrupt entries with a warning', async () => {
    const c = await open();
    await c.save('a'.repeat(64), 1, 60_000, entry('x'));
    writeFileSync(path.join(dir, 'deadbeef.tmp'), 'half');
    const file = readdirSync(dir).find((f) => f.endsWith('.bin'))!;
    writeFileSync(path.join(dir, file), 'not json\nbody');
    const again = await open();
    assert.ok(!readdirSync(dir).includes('deadbeef.tmp'));
    assert.equal(await again.lookup('a'.repeat(64), 1), null);
    assert.match(logger.messages('warn').join(), /unreadable entry/);
  });

  it('stores the streamed SSE bytes as they were', async () => {
    const c = await open();
    const sse = 'data: {"a":1}\n\ndata: [DONE]\n\n';
    await c.save('e'.repeat(64), 1, 60_000, { ...entry(''), body: Buffer.from(sse), streamed: true });
    const hit = await c.lookup('e'.repeat(64), 1);
    assert.equal(hit?.streamed, true);
    assert.equal(hit?.body.toString(), sse);
    const file = readdirSync(dir)[0];
    assert.ok(readFileSync(path.join(dir, file), 'utf8').endsWith(sse));
  });

  it('reports an unwritable folder once and keeps answering', async () => {
    const c = await open();
    // A file where the folder was: fails for root too, unlike a chmod.
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a folder');
    assert.equal(await c.save('a'.repeat(64), 1, 60_000, entry('x')), false);
    assert.equal(await c.save('b'.repeat(64), 1, 60_000, entry('x')), false);
    assert.equal(logger.messages('error').length, 1);
    assert.equal(await c.lookup('a'.repeat(64), 1), null);
  });
});
