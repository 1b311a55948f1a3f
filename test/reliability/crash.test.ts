// The real `llm-lens proxy` process killed with SIGKILL while 200 streamed requests are in flight
// and being written. Which records were acknowledged is read from the proxy's own trace line
// ("proxy: recorded <id>"), logged only after the store resolved complete() with true, i.e. after
// both of the record's lines were handed to the OS. After a restart on the same data dir:
//   - every acknowledged record is there, with its own bodies (0 lost),
//   - at most the requests in flight at the kill are missing: those still being forwarded, and
//     those answered but still being built or written (a window that must stay bounded),
//   - the store opens (the dead process's writer lock is taken over) and the proxy serves.
// Then the index file is cut at random byte offsets and the real CLI opens each copy, keeping
// exactly the records whose index line is whole.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startMockUpstream } from '../support/mockUpstream';
import type { MockUpstream } from '../support/mockUpstream';
import { chatBody, queryAllRows, rawRequest, recordFigure, replyText } from './support/http';
import { buildCli, killAll, sleep, startCli } from './support/proc';
import type { CliProcess } from './support/proc';

const CONCURRENCY = 200;
const ACK_LINE = /proxy: recorded ([0-9a-f-]{36})/;

/** Byte offset of each index line's newline, with the record id when it is a record line (type 1). */
function indexLines(file: string): Array<{ end: number; id: string | null }> {
  const buf = readFileSync(file);
  const out: Array<{ end: number; id: string | null }> = [];
  let pos = 0;
  for (;;) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) break;
    let id: string | null = null;
    try {
      const arr = JSON.parse(buf.toString('utf8', pos, nl)) as unknown[];
      if (arr[0] === 1) id = arr[5] as string;
    } catch { /* a torn line in the middle (the kill): not a record */ }
    out.push({ end: nl, id });
    pos = nl + 1;
  }
  return out;
}

describe('reliability: SIGKILL while writing, and torn store files (real CLI process)', function () {
  this.timeout(180_000);
  let mock: MockUpstream;
  const dirs: string[] = [];
  const tmp = (name: string): string => { const d = mkdtempSync(path.join(tmpdir(), `lens-crash-${name}-`)); dirs.push(d); return d; };
  let crashedDir: string | null = null;

  before(async () => {
    await buildCli();
    mock = await startMockUpstream();
  });
  after(async () => {
    await killAll();
    await mock?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it(`keeps every acknowledged record when killed with ${CONCURRENCY} requests in flight; at most those in flight are missing`, async () => {
    const dataDir = tmp('kill');
    const cli = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` }, logLevel: 'trace' });
    const acked = new Set<string>();
    cli.onStderrLine((l) => { const m = ACK_LINE.exec(l); if (m) acked.add(m[1]); });

    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const answered = new Map<string, string>();
    let inFlight = 0;
    let killed = false;
    let seq = 0;
    const worker = async (w: number): Promise<void> => {
      while (!killed) {
        const marker = `w${w}n${seq++}`;
        inFlight++;
        const res = await rawRequest(`${cli.url}/v1/chat/completions`, {
          agent, body: chatBody(marker, true),
          headers: { 'x-mock-reply': `reply ${marker} end`, 'x-mock-chunk-delay-ms': '3', 'Helicone-Property-Marker': marker },
        });
        inFlight--;
        if (res.status === 200 && res.error === null && replyText(res.body) === `reply ${marker} end`) answered.set(res.headers['helicone-id'] as string, marker);
        else if (!killed) throw new Error(`request ${marker} failed before the kill: ${res.status} ${res.error}`);
      }
    };
    const workers = Array.from({ length: CONCURRENCY }, (_, w) => worker(w));
    const t0 = Date.now();
    // Long enough for a recording backlog that grows with time to show (a few seconds at full
    // speed), and killed with the pipe full of writes. Answered-but-not-acknowledged is sampled
    // meanwhile: the recording lag, which must stay bounded.
    const lag: number[] = [];
    let nextSample = Date.now();
    while ((acked.size < 4000 || inFlight < CONCURRENCY * 0.75) && Date.now() - t0 < 90_000) {
      if (Date.now() >= nextSample) { lag.push(answered.size - [...answered.keys()].filter((id) => acked.has(id)).length); nextSample += 250; }
      await sleep(5);
    }
    const inFlightAtKill = inFlight;
    const ackedAtKill = acked.size;
    process.kill(cli.pid, 'SIGKILL');
    killed = true;
    await cli.closed;
    assert.equal((await cli.exit).signal, 'SIGKILL');
    await Promise.all(workers);
    agent.destroy();
    assert.ok(inFlightAtKill >= CONCURRENCY * 0.75, `only ${inFlightAtKill} requests in flight at the kill`);
    // Without acknowledgements the check below would pass on nothing.
    assert.ok(ackedAtKill >= 500, `only ${ackedAtKill} "proxy: recorded <id>" trace lines before the kill (stderr tail: ${cli.stderr().slice(-500)})`);

    const cli2 = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    const rows = await queryAllRows(cli2.url);
    const stored = new Map(rows.map((r) => [r.request_id, r]));
    const lost = [...acked].filter((id) => !stored.has(id));
    const answeredMissing = [...answered.keys()].filter((id) => !stored.has(id));
    recordFigure('crash.sigkill', {
      concurrency: CONCURRENCY, inFlightAtKill, ackedAtKill, acked: acked.size, answered: answered.size, stored: rows.length,
      ackedLost: lost.length, answeredNotStored: answeredMissing.length, recordingLagMax: Math.max(...lag), recordingLag: lag, seconds: (Date.now() - t0) / 1000,
    });
    assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged records lost`);
    // Answered but not yet acknowledged: records still being built or written (as seen from here,
    // so the delivery of the trace lines to this busy process is in it too). It moves with the
    // machine's load (0 to ~600 here, on a shared 2-core box) but must not grow with run time: a
    // backlog that grew reached 1,600 to 2,000 at this point before it was bounded.
    assert.ok(answeredMissing.length <= 3 * CONCURRENCY, `${answeredMissing.length} answered requests missing (recording lag samples: ${lag.join(' ')})`);
    assert.ok(Math.max(...lag) <= 5 * CONCURRENCY, `the recording lag grew: ${lag.join(' ')}`);
    assert.ok(rows.length >= acked.size);

    // Bodies are the request's own (a torn write must not splice two records).
    const sample = [...acked].filter((_, i) => i % Math.max(1, Math.floor(acked.size / 150)) === 0);
    for (const id of sample) {
      const res = await rawRequest(`${cli2.url}/api/v1/request/${id}`);
      assert.equal(res.status, 200);
      const row = (JSON.parse(res.body.toString()) as { data: { properties: Record<string, string>; request_body: unknown; response_body: unknown } }).data;
      const marker = row.properties.Marker;
      assert.ok(marker, `record ${id} has no Marker property`);
      assert.ok(JSON.stringify(row.request_body).includes(`question ${marker}"`), `record ${id}: request body of another request`);
      assert.ok(JSON.stringify(row.response_body).includes(`reply ${marker} end`), `record ${id}: response body of another request`);
    }

    // The restarted proxy records again, and a clean stop keeps that too.
    const after = await rawRequest(`${cli2.url}/v1/chat/completions`, { body: chatBody('after-restart', false) });
    assert.equal(after.status, 200);
    const newId = after.headers['helicone-id'] as string;
    cli2.child.kill('SIGTERM');
    assert.equal((await cli2.exit).code, 0, cli2.stderr());
    const cli3 = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    const rows3 = await queryAllRows(cli3.url);
    assert.equal(rows3.length, rows.length + 1);
    assert.ok(rows3.some((r) => r.request_id === newId));
    cli3.child.kill('SIGTERM');
    await cli3.exit;
    crashedDir = dataDir;
  });

  it('opens an index cut at random byte offsets keeping exactly the whole records, and a bodies segment cut anywhere', async () => {
    let source = crashedDir;
    if (!source) {
      // The first test failed before leaving a data dir: make one with a short run.
      source = tmp('fill');
      const cli = await startCli({ dataDir: source, upstreams: { openai: `${mock.url}/v1` } });
      await Promise.all(Array.from({ length: 300 }, (_, i) => rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody(`f${i}`, true) })));
      cli.child.kill('SIGTERM');
      await cli.exit;
    }
    const indexFile = path.join(source, 'records', 'index.jsonl');
    const lines = indexLines(indexFile);
    const size = statSync(indexFile).size;
    // Random per run (printed in the figures and in a failure message), or fixed with CHAOS_SEED.
    const seed0 = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
    let seed = seed0;
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    const mid = lines[Math.floor(lines.length / 2)].end;
    const cuts = [mid, mid + 1, ...Array.from({ length: 5 }, () => 1 + Math.floor(rnd() * (size - 1)))];
    const results: Array<{ cut: number; expected: number; got: number }> = [];
    for (const cut of cuts) {
      const dataDir = tmp(`cut${cut}`);
      cpSync(path.join(source, 'records'), path.join(dataDir, 'records'), { recursive: true });
      rmSync(path.join(dataDir, 'records', 'writer.lock'), { force: true });
      truncateSync(path.join(dataDir, 'records', 'index.jsonl'), cut);
      const expected = new Set(lines.filter((l) => l.end < cut && l.id !== null).map((l) => l.id!));
      const cli = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
      const got = new Set((await queryAllRows(cli.url)).map((r) => r.request_id));
      results.push({ cut, expected: expected.size, got: got.size });
      assert.deepEqual([...expected].filter((id) => !got.has(id)), [], `cut at ${cut} of ${size} (seed ${seed0}): whole records lost`);
      assert.deepEqual([...got].filter((id) => !expected.has(id)), [], `cut at ${cut}: records that were not whole came back`);
      // And it appends after the cut.
      const res = await rawRequest(`${cli.url}/v1/chat/completions`, { body: chatBody('after-cut', false) });
      assert.equal(res.status, 200);
      cli.child.kill('SIGTERM');
      assert.equal((await cli.exit).code, 0);
      const again = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
      const gotAgain = new Set((await queryAllRows(again.url)).map((r) => r.request_id));
      assert.equal(gotAgain.size, expected.size + 1, `cut at ${cut}: the record written after the cut is missing on reopen`);
      again.child.kill('SIGTERM');
      await again.exit;
      rmSync(dataDir, { recursive: true, force: true });
    }
    recordFigure('crash.tornIndex', { indexBytes: size, lines: lines.length, cuts: results, seed: seed0 });

    // A bodies segment cut anywhere: every record is still listed, each one answers by id (its
    // bodies, or marked lost), none makes the API fail.
    const seg = path.join(source, 'records', 'bodies-000001.jsonl');
    const segSize = statSync(seg).size;
    const bodyCut = 1 + Math.floor(rnd() * (segSize - 1));
    const dataDir = tmp('bodycut');
    cpSync(path.join(source, 'records'), path.join(dataDir, 'records'), { recursive: true });
    rmSync(path.join(dataDir, 'records', 'writer.lock'), { force: true });
    truncateSync(path.join(dataDir, 'records', 'bodies-000001.jsonl'), bodyCut);
    const all = new Set(lines.filter((l) => l.id !== null).map((l) => l.id!));
    const cli = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    const got = new Set((await queryAllRows(cli.url)).map((r) => r.request_id));
    assert.equal(got.size, all.size, `bodies cut at ${bodyCut} of ${segSize} (seed ${seed0}): records lost from the list`);
    const ids = [...all];
    let withBodies = 0;
    for (const id of ids.filter((_, i) => i % Math.max(1, Math.floor(ids.length / 100)) === 0)) {
      const res = await rawRequest(`${cli.url}/api/v1/request/${id}`);
      assert.equal(res.status, 200, `record ${id} after the bodies cut: ${res.status} ${res.body.toString().slice(0, 200)}`);
      if ((JSON.parse(res.body.toString()) as { data: { request_body?: unknown } }).data.request_body) withBodies++;
    }
    assert.ok(withBodies > 0 || bodyCut < 2000, 'no record kept its bodies');
    await cli.kill('SIGTERM');
    recordFigure('crash.tornBodies', { segmentBytes: segSize, cut: bodyCut, records: all.size, listed: got.size, sampledWithBodies: withBodies, seed: seed0 });
  });
});
