// Upstream and client faults against one long-lived proxy (real store, real sockets on loopback).
// For each fault: the client sees the right thing, the record says what happened, and the proxy
// keeps serving (afterEach sends a normal stream through the same proxy and checks it). Client
// aborts are counted at both ends: in-flight upstream requests at the mock, the proxy's inFlight(),
// open TCP connections from /proc/net/tcp, and this process's open fds across repeated rounds.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingLogger } from '../../src/core/logger';
import type { LogRecord } from '../../src/core/types';
import { startLensRuntime } from '../../src/proxy/runtime';
import type { LensRuntime } from '../../src/proxy/runtime';
import { startMockUpstream } from '../support/mockUpstream';
import type { MockUpstream } from '../support/mockUpstream';
import { deadPort, startFaultServer } from './support/faultServer';
import type { FaultServer } from './support/faultServer';
import { chatBody, rawRequest, recordFigure, replyText } from './support/http';
import type { LeaveAt, RawResult } from './support/http';
import { establishedTo, fdCount, fdKinds, sleep } from './support/proc';

const HEADERS_MS = 500;
const IDLE_MS = 500;

describe('reliability: upstream and client faults', function () {
  this.timeout(60_000);
  let mock: MockUpstream;
  let faults: FaultServer;
  let rt: LensRuntime;
  let logger: RecordingLogger;
  let dataDir: string;
  let dead: number;
  const survived: string[] = [];

  before(async () => {
    mock = await startMockUpstream({ stallMs: 10_000 });
    faults = await startFaultServer();
    dead = await deadPort();
    dataDir = mkdtempSync(path.join(tmpdir(), 'lens-faults-'));
    logger = new RecordingLogger();
    rt = await startLensRuntime({
      dataDir, logger, port: 0,
      upstreams: { openai: `${mock.url}/v1`, anthropic: mock.url, dead: `http://127.0.0.1:${dead}/v1`, raw: faults.url },
      timeouts: { headersMs: HEADERS_MS, bodyIdleMs: IDLE_MS, connectMs: 2000 },
    });
  });

  after(async () => {
    recordFigure('faults', { survived, count: survived.length });
    await rt?.close({ drainMs: 0 });
    await mock?.close();
    await faults?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The proxy still serves a normal stream, end to end, and nothing is left in flight. */
  afterEach(async function () {
    const marker = `after-${Math.random().toString(36).slice(2)}`;
    const res = await rawRequest(`${rt.proxy.url}/v1/chat/completions`, { body: chatBody(marker, true), headers: { 'x-mock-reply': `fine ${marker}` } });
    assert.equal(res.status, 200, `the proxy stopped serving after "${this.currentTest?.title}": ${res.error ?? res.body.toString()}`);
    assert.equal(replyText(res.body), `fine ${marker}`);
    const rec = await recordOf(res);
    assert.equal(rec.state, 'ok');
    await mock.waitIdle(5000);
    await waitUntil(() => rt.proxy.inFlight() === 0, 5000, 'the proxy to have no exchange in flight');
    if (this.currentTest?.state === 'passed') survived.push(this.currentTest.title);
  });

  const url = (p: string): string => `${rt.proxy.url}${p}`;

  async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
    const until = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
  }

  async function recordById(id: string): Promise<LogRecord> {
    await waitUntil(() => { const s = rt.store.get(id); return !!s && s.state !== 'pending'; }, 10_000, `record ${id}`);
    const r = await rt.store.getRecord(id);
    assert.ok(r, `record ${id} has no bodies`);
    return r;
  }

  function recordOf(res: RawResult): Promise<LogRecord> {
    const id = res.headers['helicone-id'];
    assert.equal(typeof id, 'string', `no Helicone-Id on the answer (status ${res.status}, ${res.error ?? ''})`);
    return recordById(id as string);
  }

  /** The records this test caused, found by a unique property (for exchanges that never got a Helicone-Id to the client). */
  async function recordsTagged(tag: string, n: number): Promise<LogRecord[]> {
    await waitUntil(() => rt.store.list({ properties: { Tag: tag }, limit: 10_000 }).filter((s) => s.state !== 'pending').length >= n, 15_000, `${n} records tagged ${tag}`);
    const list = rt.store.list({ properties: { Tag: tag }, limit: 10_000 });
    return Promise.all(list.map(async (s) => (await rt.store.getRecord(s.id))!));
  }

  const errorJson = (res: RawResult): { type: string; message: string; upstream: string | null } =>
    (JSON.parse(res.body.toString()) as { error: { type: string; message: string; upstream: string | null } }).error;

  describe('upstream faults', () => {
    it('connection refused: 502 with a JSON error naming the upstream; record upstream_unreachable', async () => {
      const res = await rawRequest(url('/dead/chat/completions'), { body: chatBody('refused', false) });
      assert.equal(res.status, 502);
      const e = errorJson(res);
      assert.equal(e.type, 'upstream_unreachable');
      assert.match(e.message, /dead/);
      assert.match(e.message, /ECONNREFUSED/);
      const r = await recordOf(res);
      assert.equal(r.state, 'error');
      assert.equal(r.error?.kind, 'upstream_unreachable');
      assert.equal(r.status, 502);
      assert.deepEqual((r.bodies.request.json as { messages: unknown }).messages, [{ role: 'user', content: 'question refused' }], 'the request body is still logged');
    });

    it('reset mid-stream: the client sees a broken stream (not a clean end); record upstream_reset with the events that came', async () => {
      const res = await rawRequest(url('/v1/chat/completions'), { body: chatBody('reset', true), headers: { 'x-mock-fault': 'reset-mid' } });
      assert.equal(res.status, 200);
      assert.ok(res.error, 'the stream must not end cleanly');
      assert.ok(!res.body.toString().includes('[DONE]'));
      const r = await recordOf(res);
      assert.equal(r.error?.kind, 'upstream_reset');
      assert.equal(r.bodies.streamEvents?.length, 2);
    });

    it('reset inside a chunked stream and inside a chunk-size line: broken stream, upstream_reset', async () => {
      for (const [fault, events] of [['reset-chunked', 2], ['cut-chunk-size', 1]] as const) {
        const res = await rawRequest(url(`/raw/${fault}`), { body: chatBody(fault, true) });
        assert.equal(res.status, 200, fault);
        assert.ok(res.error, `${fault}: the client must see the break`);
        const r = await recordOf(res);
        assert.equal(r.error?.kind, 'upstream_reset', fault);
        assert.equal(r.bodies.streamEvents?.length, events, fault);
      }
    });

    it('a body shorter than its Content-Length: the client sees a broken body, record upstream_reset', async () => {
      const res = await rawRequest(url('/raw/length-mismatch'), { body: chatBody('short', false) });
      assert.equal(res.status, 200);
      assert.ok(res.error);
      const r = await recordOf(res);
      assert.equal(r.error?.kind, 'upstream_reset');
    });

    it('garbage instead of HTTP, a reset inside the headers, an oversized response header: 502 naming the upstream', async () => {
      for (const fault of ['garbage', 'reset-in-headers', 'huge-header']) {
        const res = await rawRequest(url(`/raw/${fault}`), { body: chatBody(fault, false) });
        assert.equal(res.status, 502, `${fault}: ${res.body.toString()}`);
        const e = errorJson(res);
        assert.equal(e.type, 'upstream_reset', fault);
        assert.equal(e.upstream, 'raw');
        const r = await recordOf(res);
        assert.equal(r.error?.kind, 'upstream_reset', fault);
      }
    });

    it(`stall before the first byte: 504 after the ${HEADERS_MS} ms headers timeout, and the upstream request is closed`, async () => {
      const aborted = mock.abortedCount();
      const t = Date.now();
      const res = await rawRequest(url('/v1/chat/completions'), { body: chatBody('stall', true), headers: { 'x-mock-fault': 'stall-first-byte' } });
      const took = Date.now() - t;
      assert.equal(res.status, 504);
      assert.ok(took >= HEADERS_MS - 50 && took < HEADERS_MS + 3000, `took ${took} ms`);
      assert.equal(errorJson(res).type, 'upstream_timeout');
      const r = await recordOf(res);
      assert.equal(r.error?.kind, 'upstream_timeout');
      await mock.waitIdle();
      assert.equal(mock.abortedCount(), aborted + 1);
    });

    it(`stall mid-stream: the stream is cut after ${IDLE_MS} ms of silence; record upstream_timeout with the events that came`, async () => {
      const t = Date.now();
      const res = await rawRequest(url('/v1/chat/completions'), { body: chatBody('stall-mid', true), headers: { 'x-mock-fault': 'stall-mid' } });
      const took = Date.now() - t;
      assert.equal(res.status, 200);
      assert.ok(res.error);
      assert.ok(took >= IDLE_MS - 50 && took < IDLE_MS + 3000, `took ${took} ms`);
      const r = await recordOf(res);
      assert.equal(r.error?.kind, 'upstream_timeout');
      assert.equal(r.bodies.streamEvents?.length, 2);
    });

    it('malformed SSE is forwarded byte for byte and logged with its usage', async () => {
      const direct = await rawRequest(`${mock.url}/v1/chat/completions`, { body: chatBody('m', true), headers: { 'x-mock-fault': 'malformed-sse' } });
      const res = await rawRequest(url('/v1/chat/completions'), { body: chatBody('m', true), headers: { 'x-mock-fault': 'malformed-sse' } });
      const norm = (b: Buffer): string => b.toString().replace(/chatcmpl-[0-9a-f]+/g, 'ID').replace(/"created":\d+/g, '');
      assert.equal(norm(res.body), norm(direct.body));
      const r = await recordOf(res);
      assert.equal(r.state, 'ok');
      assert.ok(r.bodies.streamEvents!.some((e) => e.data.startsWith('{"id":"broken"')));
      assert.equal(r.usage?.completionTokens, 5);
    });

    it('truncated JSON is forwarded as sent and stored as text, with no usage invented', async () => {
      const res = await rawRequest(url('/v1/chat/completions'), { body: chatBody('t', false), headers: { 'x-mock-fault': 'truncated-json' } });
      assert.equal(res.status, 200);
      assert.equal(res.error, null);
      assert.throws(() => JSON.parse(res.body.toString()));
      const r = await recordOf(res);
      assert.equal(r.bodies.response.kind, 'text');
      assert.equal(r.bodies.response.text, res.body.toString());
      assert.equal(r.usage, null);
    });

    it('a body ended by closing the connection is complete and logged ok', async () => {
      const res = await rawRequest(url('/raw/close-delimited'), { body: chatBody('close', false) });
      assert.equal(res.status, 200);
      assert.equal(res.error, null);
      assert.equal(replyText(res.body), 'closed');
      const r = await recordOf(res);
      assert.equal(r.state, 'ok');
      assert.equal(r.usage?.totalTokens, 4);
    });

    it('non-UTF-8 response bytes reach the client unchanged and are stored as base64', async () => {
      const direct = await rawRequest(`${faults.url}/non-utf8`, { body: '{}' });
      const res = await rawRequest(url('/raw/non-utf8'), { body: chatBody('bytes', false) });
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(direct.body), 'byte for byte');
      const r = await recordOf(res);
      assert.equal(r.bodies.response.kind, 'base64');
      assert.ok(Buffer.from(r.bodies.response.text!, 'base64').equals(direct.body));
    });

    it('429 and 500 pass through with their Retry-After (seconds and HTTP-date) and bodies; records upstream_status', async () => {
      const cases: Array<[string, number, string]> = [
        ['/raw/500-retry', 500, '7'],
        ['/raw/429-retry-date', 429, 'Wed, 21 Oct 2037 07:28:00 GMT'],
      ];
      for (const [p, status, retry] of cases) {
        const res = await rawRequest(url(p), { body: chatBody('s', false) });
        assert.equal(res.status, status);
        assert.equal(res.headers['retry-after'], retry);
        assert.ok(JSON.parse(res.body.toString()).error.message);
        const r = await recordOf(res);
        assert.equal(r.error?.kind, 'upstream_status');
        assert.equal(r.status, status);
      }
      const res = await rawRequest(url('/v1/chat/completions'), { body: chatBody('s', true), headers: { 'x-mock-fault': 'status-429' } });
      assert.equal(res.status, 429);
      assert.equal(res.headers['retry-after'], '1');
      assert.equal(res.headers['x-ratelimit-remaining-requests'], '0');
    });
  });

  describe('client aborts (counted at the upstream, the proxy, the TCP table and the fd table)', () => {
    const N = 20;

    /** Sends N requests that leave at `leaveAt`, each tagged; waits until everything settled. */
    async function abortRound(leaveAt: LeaveAt, tag: string, headers: Record<string, string>, body: (i: number) => string): Promise<RawResult[]> {
      const agent = new http.Agent({ keepAlive: true, maxSockets: N });
      try {
        return await Promise.all(Array.from({ length: N }, (_, i) => rawRequest(url('/v1/chat/completions'), {
          agent, leaveAt, leaveAfterMs: 60, body: body(i),
          headers: { ...headers, 'Helicone-Property-Tag': tag },
        })));
      } finally {
        agent.destroy();
      }
    }

    async function settled(): Promise<void> {
      const t = Date.now();
      await mock.waitIdle(10_000);
      const t1 = Date.now();
      await waitUntil(() => rt.proxy.inFlight() === 0, 10_000, 'no exchange in flight');
      // The proxy closes its side of every socket whose client left.
      await waitUntil(() => establishedTo(rt.proxy.port) === 0, 5000, `no TCP connection to the proxy (have ${establishedTo(rt.proxy.port)})`);
      if (process.env.CHAOS_DEBUG) console.log(`settled: mock idle ${t1 - t} ms, rest ${Date.now() - t1} ms`);
    }

    it('before the upstream answers: every upstream request is aborted, every record is client_aborted', async () => {
      const aborted = mock.abortedCount();
      const tag = 'leave-before-answer';
      const t0 = Date.now();
      await abortRound('after-send', tag, { 'x-mock-latency-ms': '400' }, (i) => chatBody(`${tag}-${i}`, true));
      await settled();
      // A request the proxy had not yet sent upstream when its client left is never sent; every one it had sent is aborted.
      const reached = mock.requests.filter((q) => q.body.includes(tag));
      assert.ok(reached.length >= N / 2, `only ${reached.length} of ${N} reached the upstream before their clients left: the test proves little`);
      const recsNow = await recordsTagged(tag, N);
      for (const q of reached) {
        const rec = recsNow.find((r) => JSON.stringify(r.bodies.request.json).includes(JSON.parse(q.body).messages[0].content as string));
        assert.ok(q.aborted && !q.finished, `an abandoned upstream request was left to finish: received at +${q.receivedAt - t0} ms; its record: ${rec?.state} ${rec?.error?.kind} ${rec?.error?.message} latency ${rec?.latencyMs}, status ${rec?.status}`);
      }
      // The mock lists a request once its body arrived; one cut while its body was still on the way counts as aborted too.
      const abortedNow = mock.abortedCount() - aborted;
      assert.ok(abortedNow >= reached.length && abortedNow <= N, `aborted at the upstream: ${abortedNow}, reached it: ${reached.length}`);
      assert.equal(mock.active(), 0);
      const recs = await recordsTagged(tag, N);
      assert.equal(recs.length, N);
      for (const r of recs) assert.equal(r.error?.kind, 'client_aborted', r.error?.message);
    });

    it('while uploading a large (streamed) body: nothing left open upstream, every record client_aborted', async () => {
      const tag = 'leave-mid-upload';
      const big = (i: number): string => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${tag}-${i} ` + 'x'.repeat(300_000) }] });
      await abortRound('mid-upload', tag, {}, big);
      await settled();
      const recs = await recordsTagged(tag, N);
      for (const r of recs) assert.equal(r.error?.kind, 'client_aborted', r.error?.message);
      assert.equal(mock.requests.filter((q) => q.body.includes(tag)).length, 0, 'no half-uploaded body reached the upstream as a whole request');
    });

    it('mid-stream: the upstream stream is aborted and each partial record keeps what came', async () => {
      const aborted = mock.abortedCount();
      const tag = 'leave-mid-stream';
      await abortRound('mid-body', tag, { 'x-mock-chunk-delay-ms': '60', 'x-mock-chunks': '20' }, (i) => chatBody(`${tag}-${i}`, true));
      await settled();
      assert.equal(mock.abortedCount() - aborted, N);
      const recs = await recordsTagged(tag, N);
      for (const r of recs) {
        assert.equal(r.error?.kind, 'client_aborted');
        assert.equal(r.streamed, true);
        assert.ok((r.bodies.streamEvents?.length ?? 0) >= 1 && (r.bodies.streamEvents?.length ?? 0) < 20, `events: ${r.bodies.streamEvents?.length}`);
      }
    });

    it('after the answer: records are ok and nothing is aborted', async () => {
      const aborted = mock.abortedCount();
      const tag = 'leave-after-end';
      const res = await abortRound('after-end', tag, {}, (i) => chatBody(`${tag}-${i}`, true));
      await settled();
      assert.equal(mock.abortedCount(), aborted);
      for (const r of res) assert.equal(r.status, 200);
      const recs = await recordsTagged(tag, N);
      for (const r of recs) assert.equal(r.state, 'ok', r.error?.message);
    });

    it('repeated rounds of every kind of abort leave no fd, socket or in-flight request behind', async function () {
      this.timeout(120_000);
      const round = async (k: number): Promise<void> => {
        await Promise.all([
          abortRound('after-send', `r${k}-a`, { 'x-mock-latency-ms': '300' }, (i) => chatBody(`r${k}a${i}`, true)),
          abortRound('mid-body', `r${k}-b`, { 'x-mock-chunk-delay-ms': '40', 'x-mock-chunks': '15' }, (i) => chatBody(`r${k}b${i}`, true)),
          abortRound('on-headers', `r${k}-c`, { 'x-mock-chunk-delay-ms': '40' }, (i) => chatBody(`r${k}c${i}`, true)),
          abortRound('after-end', `r${k}-d`, {}, (i) => chatBody(`r${k}d${i}`, false)),
        ]);
        await settled();
        await recordsTagged(`r${k}-d`, N);
      };
      await round(0);
      const fds: number[] = [];
      const upstreamSockets: number[] = [];
      for (let k = 1; k <= 5; k++) {
        await round(k);
        fds.push(fdCount());
        upstreamSockets.push(mock.openSockets());
      }
      // Idle keep-alive connections from the proxy's pool to the upstream may stay open (two fds
      // each here, as both ends live in this process), bounded by the peak concurrency; every other
      // fd must come back to the same count after each round.
      const otherFds = fds.map((f, i) => f - 2 * upstreamSockets[i]);
      recordFigure('faults.abortRounds', { rounds: 5, requestsPerRound: 4 * N, fds, upstreamSockets, otherFds });
      assert.equal(rt.proxy.inFlight(), 0);
      assert.equal(mock.active(), 0);
      // Growth is the leak; a drop is other work in this process (earlier suites) letting go of files.
      assert.ok(otherFds[4] <= otherFds[0] + 2 && Math.max(...otherFds) <= otherFds[0] + 4, `fds other than pooled upstream sockets grew across rounds: ${otherFds.join(' -> ')} (${JSON.stringify(fdKinds())})`);
      assert.ok(Math.max(...upstreamSockets) <= 4 * N, `more pooled upstream sockets than requests in flight at once: ${upstreamSockets.join(' -> ')}`);
    });
  });
});
