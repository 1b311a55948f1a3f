// Collections the proxy asks V8 for: the collectors are V8's real ones, the pacer counts what the
// proxy passes on in both directions, and the quiet collector runs once per quiet spell.
import * as assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { request } from 'undici';
import { QuietCollector, YoungGcPacer, v8Collectors } from '../../src/proxy/gcPacing';
import { startProxyHarness } from '../support/proxyHarness';

function gcKinds(run: () => void): Promise<number[]> {
  const kinds: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
  });
  obs.observe({ entryTypes: ['gc'] });
  run();
  // gc entries are delivered asynchronously
  return new Promise((resolve) => setTimeout(() => { obs.disconnect(); resolve(kinds); }, 50));
}

describe('GC pacing', function () {
  this.timeout(30_000);

  it('v8Collectors runs real young and full collections and leaves no gc on this realm', async () => {
    const hadGc = typeof (globalThis as { gc?: unknown }).gc;
    const c = v8Collectors();
    assert.ok(c, 'Node 20 provides gc() through a vm context');
    const young = await gcKinds(() => { c.young(); c.young(); });
    assert.ok(young.filter((k) => k === constants.NODE_PERFORMANCE_GC_MINOR).length >= 2, `gc kinds seen: ${young.join(',')}`);
    assert.ok(!young.includes(constants.NODE_PERFORMANCE_GC_MAJOR), 'young() never runs a full collection');
    const full = await gcKinds(() => { c.full(); });
    assert.ok(full.includes(constants.NODE_PERFORMANCE_GC_MAJOR), `gc kinds seen: ${full.join(',')}`);
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, hadGc, 'the expose-gc flag is cleared again');
  });

  it('collects once per everyBytes, however the bytes are split', () => {
    let n = 0;
    const p = new YoungGcPacer({ everyBytes: 1000, collect: () => { n++; } });
    p.note(999);
    assert.equal(n, 0);
    p.note(1);
    assert.equal(n, 1);
    for (let i = 0; i < 30; i++) p.note(100);
    assert.equal(n, 4);
    p.note(5000); // one large piece is one collection: what matters is that dead buffers get freed
    assert.equal(n, 5);
    assert.throws(() => new YoungGcPacer({ everyBytes: 0, collect: () => undefined }), RangeError);
  });

  it('collects once per quiet spell that followed traffic', () => {
    let t = 0;
    let seen = 0;
    let inFlight = 0;
    let n = 0;
    const q = new QuietCollector({ quietMs: 10_000, activity: () => seen, busy: () => inFlight > 0, collect: () => { n++; }, now: () => t });
    t = 60_000; q.tick();
    assert.equal(n, 0, 'nothing to give back before the first request');
    seen = 1; t += 1000; q.tick(); // traffic
    t += 9_000; q.tick();
    assert.equal(n, 0, 'not yet quiet for 10 s');
    t += 1_000; q.tick();
    assert.equal(n, 1);
    t += 60_000; q.tick();
    assert.equal(n, 1, 'once per quiet spell');
    inFlight = 1; t += 1000; q.tick(); // a long stream is traffic
    t += 30_000; q.tick();
    assert.equal(n, 1, 'not while a request is in flight');
    inFlight = 0; t += 1000; q.tick();
    t += 10_000; q.tick();
    assert.equal(n, 2, 'after the stream, a new quiet spell');
    assert.throws(() => new QuietCollector({ quietMs: 0, activity: () => 0, busy: () => false, collect: () => undefined }), RangeError);
  });

  it('the proxy counts request and response body bytes, streamed or read whole', async () => {
    let collections = 0;
    const h = await startProxyHarness({ runtime: { youngGc: { everyBytes: 64 * 1024, collect: () => { collections++; } } } });
    try {
      // 1 MB up, streamed through (above the 64 KB read-whole limit). A collection resets the count,
      // so each one covers 64 KB to 128 KB of pieces: 8 to 17 collections.
      const prompt = 'x'.repeat(1024 * 1024);
      const big = await request(`${h.url}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }),
      });
      assert.equal(big.statusCode, 200);
      await big.body.text();
      assert.ok(collections >= 8 && collections <= 17, `1 MB up: ${collections} collections`);

      // A long stream down, for a small request: the response side counts too.
      const before = collections;
      const down = await request(`${h.url}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-mock-chunks': '4000' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const text = await down.body.text();
      assert.ok(text.length > 128 * 1024);
      assert.ok(collections - before >= 2, `${text.length} bytes down: ${collections - before} collections`);
      await h.waitRecords(2, 10_000);
    } finally {
      await h.close();
    }
  });
});
