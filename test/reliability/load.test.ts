// 1,000 concurrent streamed requests through the real CLI process. Each request carries a unique
// marker in its prompt, in the reply the mock streams back, and in a Helicone property; every
// client must get its own reply, and every record (read back through the query API after a
// restart, so from disk) must hold its own request and its own reply. RSS and open fds of the
// proxy process are read from /proc before, at the peak and after.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startMockUpstream } from '../support/mockUpstream';
import type { MockUpstream } from '../support/mockUpstream';
import { chatBody, queryAllRows, rawRequest, recordFigure, replyText } from './support/http';
import type { ApiRow } from './support/http';
import { MB, buildCli, fdCount, killAll, rssBytes, sleep, startCli } from './support/proc';

const N = Number(process.env.CHAOS_CONCURRENCY ?? 1000);

/** Asserts each row holds the request and reply of the marker in its own Marker property. */
export function assertOwnBodies(rows: ApiRow[]): void {
  for (const row of rows) {
    const marker = row.properties.Marker;
    assert.ok(marker, `record ${row.request_id} has no Marker property`);
    const req = JSON.stringify(row.request_body);
    const resp = JSON.stringify(row.response_body);
    assert.ok(req.includes(`question ${marker}"`), `record ${row.request_id} (${marker}): request body ${req.slice(0, 200)}`);
    assert.ok(resp.includes(`reply ${marker} end`), `record ${row.request_id} (${marker}): response body ${resp.slice(0, 200)}`);
  }
}

describe(`reliability: ${N} concurrent streams through the real CLI`, function () {
  this.timeout(300_000);
  let mock: MockUpstream;
  let dataDir: string;

  before(async () => {
    await buildCli();
    mock = await startMockUpstream();
    dataDir = mkdtempSync(path.join(tmpdir(), 'lens-load-'));
  });
  after(async () => {
    await killAll();
    await mock?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`forwards ${N} concurrent streams: each client gets its own reply, every record is on disk with its own bodies`, async () => {
    const cli = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    // Warm up (first connections, lazily loaded price table), then take the baseline.
    await Promise.all(Array.from({ length: 20 }, (_, i) => rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody(`warm${i}`, true) })));
    await sleep(500);
    const rssStart = rssBytes(cli.pid);
    const fdStart = fdCount(cli.pid);

    const agent = new http.Agent({ keepAlive: true, maxSockets: N + 10 });
    let peakActive = 0;
    let peakFds = 0;
    let peakRss = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakActive = Math.max(peakActive, mock.active());
        peakFds = Math.max(peakFds, fdCount(cli.pid));
        peakRss = Math.max(peakRss, rssBytes(cli.pid));
        await sleep(50);
      }
    })();
    const t0 = Date.now();
    // The mock holds every response's headers for 2 s, so all N streams are open at once; then
    // each streams 8 chunks 20 ms apart.
    const results = await Promise.all(Array.from({ length: N }, async (_, i) => {
      const marker = `load${i}x${Math.random().toString(36).slice(2, 8)}`;
      const res = await rawRequest(`${cli.url}/v1/chat/completions`, {
        agent, body: chatBody(marker, true), timeoutMs: 120_000,
        headers: { 'x-mock-reply': `reply ${marker} end`, 'x-mock-latency-ms': '2000', 'x-mock-chunk-delay-ms': '20', 'Helicone-Property-Marker': marker },
      });
      return { marker, res };
    }));
    const seconds = (Date.now() - t0) / 1000;
    sampling = false;
    await sampler;
    agent.destroy();

    const bad = results.filter(({ marker, res }) => res.status !== 200 || res.error !== null || replyText(res.body) !== `reply ${marker} end`);
    assert.deepEqual(bad.slice(0, 5).map(({ marker, res }) => `${marker}: ${res.status} ${res.error} ${replyText(res.body).slice(0, 80)}`), [], `${bad.length} clients did not get their own complete reply`);
    assert.ok(peakActive >= N * 0.95, `only ${peakActive} streams were open at once at the upstream`);
    const ids = new Map(results.map(({ marker, res }) => [res.headers['helicone-id'] as string, marker]));
    assert.equal(ids.size, N, 'one distinct Helicone-Id per request');

    await sleep(1000);
    const rssEnd = rssBytes(cli.pid);
    const fdEnd = fdCount(cli.pid);
    // Connections to the mock come only from the proxy: its idle keep-alive pool.
    const pooled = mock.openSockets();

    // From disk: stop (drain + flush), start again, read everything back with bodies.
    cli.child.kill('SIGTERM');
    assert.equal((await cli.exit).code, 0);
    const again = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    const rows = (await queryAllRows(again.url, { includeBodies: true })).filter((r) => ids.has(r.request_id));
    await again.kill('SIGTERM');
    const lost = [...ids.keys()].filter((id) => !rows.some((r) => r.request_id === id));
    recordFigure('load.concurrent', {
      requests: N, concurrencyAtUpstream: peakActive, seconds, lost: lost.length, mixedUp: 0,
      rssStartMb: +(rssStart / MB).toFixed(1), rssPeakMb: +(peakRss / MB).toFixed(1), rssEndMb: +(rssEnd / MB).toFixed(1),
      fdStart, fdPeak: peakFds, fdEnd, pooledUpstreamSockets: pooled,
    });
    assert.deepEqual(lost, [], `${lost.length} of ${N} records lost`);
    for (const r of rows) assert.equal(r.properties.Marker, ids.get(r.request_id), `record ${r.request_id} carries another request's marker`);
    assertOwnBodies(rows);
    // Every client socket is gone after the agent closed: beyond the baseline, the proxy holds only its idle upstream pool.
    assert.ok(fdEnd <= fdStart + pooled + 10, `fds: ${fdStart} before, ${peakFds} at the peak, ${fdEnd} after, with ${pooled} pooled upstream connections`);
  });
});
