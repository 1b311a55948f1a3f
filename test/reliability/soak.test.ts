// A soak at a steady request rate through the real CLI process, bounded in time:
// SOAK_SECONDS (default 45; `npm run soak` sets 600) at SOAK_RPS requests per second (default 40),
// a mix of streamed and JSON completions, upstream 500s and clients leaving mid-stream.
// Every 2 s the proxy's RSS and open fds are read from /proc/<pid>. At the end:
//   - no record lost: every request a client got an id for is on disk (read back after a restart),
//   - no fd growth: at rest, the proxy holds the same fds as at the start, plus its idle pool,
//   - memory bounded: the RSS the process ends with is compared with a fresh process that loads
//     the same records (what the data itself needs), so growth from the in-memory index is not
//     mistaken for a leak, and a leak is not hidden by it.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startMockUpstream } from '../support/mockUpstream';
import type { MockUpstream } from '../support/mockUpstream';
import { chatBody, queryAllRows, rawRequest, recordFigure, replyText } from './support/http';
import type { LeaveAt } from './support/http';
import { MB, buildCli, fdCount, killAll, rssBytes, sleep, startCli } from './support/proc';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 45);
const RPS = Number(process.env.SOAK_RPS ?? 40);

type Kind = 'stream' | 'json' | 'status-500' | 'leave-mid-stream';
function kindOf(i: number): Kind {
  const k = i % 20;
  return k === 0 ? 'status-500' : k === 1 ? 'leave-mid-stream' : k < 6 ? 'json' : 'stream';
}

describe(`reliability: soak, ${SECONDS} s at ${RPS} requests/s through the real CLI`, function () {
  this.timeout((SECONDS + 180) * 1000);
  let mock: MockUpstream;
  let dataDir: string;

  before(async () => {
    await buildCli();
    mock = await startMockUpstream();
    dataDir = mkdtempSync(path.join(tmpdir(), 'lens-soak-'));
  });
  after(async () => {
    await killAll();
    await mock?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('holds a steady rate with no record lost, no fd growth and memory bounded by what the records need', async () => {
    const cli = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    let agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    const send = (i: number): Promise<{ kind: Kind; id: string | null; ok: boolean; detail: string }> => {
      const kind = kindOf(i);
      const marker = `soak${i}`;
      const leaveAt: LeaveAt | undefined = kind === 'leave-mid-stream' ? 'mid-body' : undefined;
      return rawRequest(`${cli.url}/v1/chat/completions`, {
        agent, leaveAt, body: chatBody(marker, kind !== 'json'),
        headers: {
          'x-mock-reply': `reply ${marker} end`, 'Helicone-Property-Marker': marker,
          ...(kind === 'status-500' ? { 'x-mock-fault': 'status-500' } : {}),
          ...(kind === 'leave-mid-stream' ? { 'x-mock-chunk-delay-ms': '30', 'x-mock-chunks': '10' } : { 'x-mock-chunk-delay-ms': '5' }),
        },
      }).then((res) => {
        const id = (res.headers['helicone-id'] as string | undefined) ?? null;
        const ok = kind === 'status-500' ? res.status === 500 : kind === 'leave-mid-stream' ? res.status === 200 : res.status === 200 && res.error === null && replyText(res.body) === `reply ${marker} end`;
        return { kind, id, ok, detail: `${res.status} ${res.error ?? ''}` };
      });
    };

    // Warm-up, then the baseline at rest (no client connection open, as at the end).
    await Promise.all(Array.from({ length: 40 }, (_, i) => send(1_000_000 + i * 20 + 6)));
    agent.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    await sleep(1000);
    const restFds = (): number => fdCount(cli.pid) - mock.openSockets();
    const start = { rss: rssBytes(cli.pid), fds: fdCount(cli.pid), restFds: restFds() };

    const samples: Array<{ t: number; rssMb: number; fds: number; inFlight: number }> = [];
    const results: Array<Promise<{ kind: Kind; id: string | null; ok: boolean; detail: string }>> = [];
    let inFlight = 0;
    const t0 = Date.now();
    let nextSample = t0;
    let i = 0;
    // Open loop: request i starts at t0 + i / RPS whatever the others are doing.
    while (Date.now() - t0 < SECONDS * 1000) {
      const due = t0 + (i * 1000) / RPS;
      const now = Date.now();
      if (now >= nextSample) {
        samples.push({ t: Math.round((now - t0) / 1000), rssMb: +(rssBytes(cli.pid) / MB).toFixed(1), fds: fdCount(cli.pid), inFlight });
        nextSample += 2000;
      }
      if (now < due) { await sleep(Math.min(due - now, 50)); continue; }
      inFlight++;
      results.push(send(i++).finally(() => { inFlight--; }));
    }
    const all = await Promise.all(results);
    const seconds = (Date.now() - t0) / 1000;
    agent.destroy();
    await mock.waitIdle(10_000);
    await sleep(1500);
    const end = { rss: rssBytes(cli.pid), fds: fdCount(cli.pid), restFds: restFds() };

    const failed = all.filter((r) => !r.ok);
    const withId = all.filter((r) => r.id !== null);
    cli.child.kill('SIGTERM');
    assert.equal((await cli.exit).code, 0, cli.stderr().slice(-1000));

    // What the same records need in a fresh process: restart on the data dir, touch the index once.
    const fresh = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    const rows = await queryAllRows(fresh.url);
    await sleep(500);
    const freshRss = rssBytes(fresh.pid);
    await fresh.kill('SIGTERM');
    const stored = new Set(rows.map((r) => r.request_id));
    const lost = withId.filter((r) => !stored.has(r.id!));
    const counts: Record<string, number> = {};
    for (const r of all) counts[r.kind] = (counts[r.kind] ?? 0) + 1;

    const figure = {
      seconds: +seconds.toFixed(1), targetRps: RPS, achievedRps: +(all.length / seconds).toFixed(1), requests: all.length, counts,
      failed: failed.length, lost: lost.length, records: rows.length,
      rssStartMb: +(start.rss / MB).toFixed(1), rssEndMb: +(end.rss / MB).toFixed(1), rssMaxMb: Math.max(...samples.map((s) => s.rssMb)),
      rssFreshProcessSameRecordsMb: +(freshRss / MB).toFixed(1),
      fdStart: start.fds, fdEnd: end.fds, fdMax: Math.max(...samples.map((s) => s.fds)), restFdsStart: start.restFds, restFdsEnd: end.restFds,
      samples: SECONDS > 120 ? samples.filter((_, k) => k % 5 === 0) : samples,
    };
    recordFigure(SECONDS >= 300 ? 'soak.long' : 'soak.short', figure);
    console.log(`      soak: ${JSON.stringify({ ...figure, samples: undefined })}`);

    assert.deepEqual(failed.slice(0, 5).map((r) => `${r.kind}: ${r.detail}`), [], `${failed.length} requests did not get the expected answer`);
    assert.ok(all.length >= SECONDS * RPS * 0.9, `the rate was not held: ${all.length} requests in ${seconds} s`);
    assert.deepEqual(lost.map((r) => r.id), [], `${lost.length} of ${withId.length} records lost`);
    assert.ok(end.restFds <= start.restFds + 2, `fd growth at rest: ${start.restFds} -> ${end.restFds} (fds other than pooled upstream connections)`);
    // Memory: the soaked process may hold what a fresh one holds for the same records, plus
    // allocator slack that V8 has not returned, but not a growth proportional to traffic.
    assert.ok(end.rss <= freshRss * 1.5 + 40 * MB, `RSS ${Math.round(end.rss / MB)} MB after the soak vs ${Math.round(freshRss / MB)} MB for a fresh process with the same ${rows.length} records`);
  });
});
