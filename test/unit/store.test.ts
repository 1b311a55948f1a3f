// RecordStore against real files in temp dirs: persistence, crash repair, deletes, retention,
// body cap, concurrency, disk failures and redaction on disk.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingLogger } from '../../src/core/logger';
import type { StoreChange } from '../../src/core/store';
import type { LogRecord, RecordSummary, SpooledBytes } from '../../src/core/types';
import { DictionaryWriter, encodeBlob, encodeRecordLine, IndexDictionary } from '../../src/store/codec';
import { RecordStore } from '../../src/store/recordStore';
import type { RecordStoreOptions } from '../../src/store/recordStore';
import { makeRecord, makeSessionRecord, summaryOf } from '../support/records';

const DAY = 24 * 60 * 60 * 1000;

/** What the store keeps in memory for a record: the summary without headers (they live with the bodies). */
function indexed(r: LogRecord): RecordSummary {
  return { ...summaryOf(r), requestHeaders: {}, responseHeaders: {} };
}

function wait(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(10);
  }
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function dirBytes(dir: string): number {
  return filesUnder(dir).reduce((n, f) => n + statSync(f).size, 0);
}

/** Writes a store of n records straight through the codec (much faster than n complete() calls). */
function writeBigStore(dir: string, n: number): string[] {
  mkdirSync(dir, { recursive: true });
  const dw = new DictionaryWriter(new IndexDictionary());
  const ids: string[] = [];
  const index: string[] = [];
  const bodies: Buffer[] = [];
  let off = 0;
  const t0 = Date.now() - n * 1000;
  for (let i = 0; i < n; i++) {
    const r = makeRecord({ startedAt: t0 + i * 1000, session: i % 3 ? { id: `s${i % 1000}`, path: '/', name: null } : null, properties: { i: String(i % 10) } });
    const entry = encodeBlob({ id: r.id, requestHeaders: r.requestHeaders, responseHeaders: r.responseHeaders, bodies: r.bodies });
    const len = entry.bytes;
    index.push(encodeRecordLine(indexed(r), { seg: 1, off, len }, dw));
    dw.commit();
    bodies.push(...entry.parts, Buffer.from('\n'));
    off += len + 1;
    ids.push(r.id);
  }
  writeFileSync(path.join(dir, 'index.jsonl'), index.join('\n') + '\n');
  writeFileSync(path.join(dir, 'bodies-000001.jsonl'), Buffer.concat(bodies));
  return ids;
}

describe('RecordStore', () => {
  let root: string;
  let logger: RecordingLogger;
  const open: RecordStore[] = [];

  const opts = (extra: Partial<RecordStoreOptions> = {}): RecordStoreOptions =>
    ({ dataDir: root, logger, retryMinMs: 20, retryMaxMs: 100, syncIntervalMs: 50, ...extra });

  async function openStore(extra: Partial<RecordStoreOptions> = {}): Promise<RecordStore> {
    const s = await RecordStore.open(opts(extra));
    open.push(s);
    return s;
  }

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'lens-store-'));
    logger = new RecordingLogger();
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  describe('persistence', () => {
    it('round-trips summaries and bodies of every record shape through a reopen', async () => {
      const sid = randomUUID();
      const records: LogRecord[] = [
        makeRecord(),
        makeSessionRecord(sid, { properties: { env: 'dev', feature: 'search' }, userId: 'alice' }),
        makeSessionRecord(sid, { session: { id: sid, path: '/agent/tool', name: null }, state: 'error', status: 429, error: { kind: 'upstream_status', message: 'rate limited' }, costUsd: null, cost: null, usage: null }),
        makeRecord({
          provider: 'anthropic', path: '/anthropic/v1/messages', targetUrl: 'https://api.anthropic.com/v1/messages', streamed: true,
          requestHeaders: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
          bodies: {
            request: { kind: 'json', json: { model: 'claude-3-5-haiku', stream: true, messages: [] }, size: 60, truncated: false },
            response: { kind: 'empty', size: 0, truncated: false },
            streamEvents: [{ t: 5, event: 'message_start', data: '{"type":"message_start"}' }, { t: 9, event: null, data: 'line1\nline2 ünïcødé' }],
            reassembled: { content: [{ type: 'text', text: 'hi' }] },
          },
        }),
        makeRecord({ bodies: { request: { kind: 'text', text: 'not json {', size: 10, truncated: false }, response: { kind: 'base64', text: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'), size: 3, truncated: false }, streamEvents: null, reassembled: null } }),
        makeRecord({ omitRequest: true, omitResponse: true, bodies: { request: { kind: 'omitted', size: 120, truncated: false }, response: { kind: 'omitted', size: 400, truncated: false }, streamEvents: null, reassembled: null } }),
        makeRecord({ kind: 'custom', provider: 'custom', cache: { enabled: true, hit: true, savedUsd: 0.01, bucketMaxSize: 3, seed: 's1' }, costUsd: 0 }),
        makeRecord({ price: null, cost: null, costUsd: null, warnings: ['unknown model: foo'], requestModel: null, responseModel: null }),
      ];
      // A field added to the type later must survive too.
      (records[0] as LogRecord & { futureField?: unknown }).futureField = { nested: [1, 2] };

      const a = await openStore();
      assert.deepEqual(await Promise.all(records.map((r) => a.complete(r))), records.map(() => true));
      await a.close();

      const b = await openStore();
      assert.equal(b.count(), records.length);
      for (const r of records) {
        assert.deepEqual(b.get(r.id), indexed(r), `summary of ${r.id}`);
        assert.deepEqual(await b.getRecord(r.id), r, `record of ${r.id}`);
      }
      assert.deepEqual(b.list().map((s) => s.id), [...records].sort((x, y) => y.startedAt - x.startedAt).map((r) => r.id));
    });

    it('keeps raw bodies as the bytes that were sent and shows them as JSON, text or base64 when read', async () => {
      const pretty = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'line\none "quoted" ünïcødé' }] }, null, 2);
      const big = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'word '.repeat(80_000) }] });
      const sse = 'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\ndata: {"choices":[{"delta":{"content":"lo"}}]}\n\ndata: [DONE]\n\n';
      // Raw bodies arrive in pieces: split each in two, the cut anywhere.
      const raw = (text: string | Buffer): { kind: 'raw'; chunks: Buffer[]; size: number; truncated: boolean } => {
        const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
        const cut = Math.floor(bytes.length / 3);
        return { kind: 'raw', chunks: [bytes.subarray(0, cut), bytes.subarray(cut)], size: bytes.length, truncated: false };
      };
      const r1 = makeRecord({ requestHeaders: { 'Content-Type': 'application/json' } });
      const r2 = makeRecord();
      const r3 = makeRecord({ streamed: true });
      const a = await openStore();
      const inputs = [
        { ...r1, bodies: { request: raw(pretty), response: raw(Buffer.from([0xff, 0x00, 0x0a, 0xfe])), streamEvents: null, reassembled: null } },
        { ...r2, bodies: { request: raw(big), response: raw(''), streamEvents: null, reassembled: null } },
        // The stream arrived in three chunks, the second cutting an event in half.
        { ...r3, bodies: { request: raw('{}'), response: raw(sse), streamEvents: null, streamChunks: { len: [30, 40, sse.length - 70], t: [5, 9, 12] }, reassembled: { content: 'Hello' } } },
      ];
      const acks = inputs.map((r) => a.complete(r));
      // Served from the queue before the write, then from disk after a reopen: the same either way.
      const queued = await a.getRecord(r3.id);
      assert.deepEqual(await Promise.all(acks), [true, true, true]);
      await a.close();
      const b = await openStore();
      const got1 = await b.getRecord(r1.id);
      assert.deepEqual(got1?.bodies.request, { kind: 'json', json: JSON.parse(pretty), size: Buffer.byteLength(pretty), truncated: false });
      assert.deepEqual(got1?.bodies.response, { kind: 'base64', text: Buffer.from([0xff, 0x00, 0x0a, 0xfe]).toString('base64'), size: 4, truncated: false });
      const got2 = await b.getRecord(r2.id);
      assert.deepEqual(got2?.bodies.request, { kind: 'text', text: big, size: big.length, truncated: false }, 'a large JSON body is shown as its text');
      assert.deepEqual(got2?.bodies.response, { kind: 'empty', size: 0, truncated: false });
      const got3 = await b.getRecord(r3.id);
      assert.deepEqual(got3?.bodies.streamEvents, [
        { t: 9, event: null, data: '{"choices":[{"delta":{"content":"Hel"}}]}' },
        { t: 12, event: null, data: '{"choices":[{"delta":{"content":"lo"}}]}' },
        { t: 12, event: null, data: '[DONE]' },
      ]);
      assert.equal(got3?.bodies.response.text, sse);
      assert.deepEqual(got3?.bodies.reassembled, { content: 'Hello' });
      assert.deepEqual(queued?.bodies, got3?.bodies);
    });

    it('cuts raw bodies at the cap and still reads entries written before raw bodies existed', async () => {
      const a = await openStore({ bodyCapBytes: 10 });
      const r = makeRecord();
      const bytes = Buffer.from('{"model":"gpt-4o-mini","n":1}');
      assert.equal(await a.complete({ ...r, bodies: { request: { kind: 'raw', chunks: [bytes.subarray(0, 5), bytes.subarray(5)], size: bytes.length, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null } }), true);
      const got = await a.getRecord(r.id);
      assert.deepEqual(got?.bodies.request, { kind: 'text', text: '{"model":"', size: bytes.length, truncated: true });
      await a.close();

      // An entry in the first format: the whole blob as one JSON line.
      const old = makeRecord();
      const dataDir = path.join(root, 'old');
      const dir = path.join(dataDir, 'records');
      mkdirSync(dir, { recursive: true });
      const line = Buffer.from(JSON.stringify({ id: old.id, requestHeaders: old.requestHeaders, responseHeaders: old.responseHeaders, bodies: old.bodies }));
      writeFileSync(path.join(dir, 'bodies-000001.jsonl'), Buffer.concat([line, Buffer.from('\n')]));
      writeFileSync(path.join(dir, 'index.jsonl'), encodeRecordLine(indexed(old), { seg: 1, off: 0, len: line.length }, new DictionaryWriter(new IndexDictionary())) + '\n');
      const b = await openStore({ dataDir });
      assert.deepEqual(await b.getRecord(old.id), old);
    });

    it('serves a record (summary and bodies) before and after it is written', async () => {
      const s = await openStore();
      const r = makeRecord();
      const ack = s.complete(r);
      assert.deepEqual(s.get(r.id), indexed(r));
      assert.deepEqual((await s.getBodies(r.id)), r.bodies);
      assert.equal(await ack, true);
      assert.deepEqual((await s.getRecord(r.id)), r);
      assert.equal(await s.getBodies('no-such-id'), undefined);
      assert.equal(await s.getRecord('no-such-id'), undefined);
    });

    it('keeps in-flight (begin) records in memory only, then replaces them on complete', async () => {
      const s = await openStore();
      const changes: StoreChange[] = [];
      s.onDidChange((c) => changes.push(c));
      const r = makeRecord({ requestHeaders: { 'x-trace': 't1', Authorization: 'Bearer sk-abcdefghijklmnopqrstu' } });
      s.begin({ ...summaryOf(r), state: 'pending', endedAt: null, latencyMs: null });
      assert.equal(s.get(r.id)?.state, 'pending');
      assert.equal(s.count({ status: 'pending' }), 1);
      // Panels opened early see the (redacted) headers of an in-flight request.
      assert.deepEqual((await s.getRecord(r.id))?.requestHeaders, { 'x-trace': 't1', Authorization: 'Bearer [REDACTED]' });
      const pendingOnly = makeRecord();
      s.begin({ ...summaryOf(pendingOnly), state: 'pending' });
      assert.equal(await s.complete(r), true);
      assert.equal(s.get(r.id)?.state, 'ok');
      assert.deepEqual(changes.map((c) => c.type === 'upsert' ? [c.type, c.summary.id, c.isNew] : [c.type]), [
        ['upsert', r.id, true], ['upsert', pendingOnly.id, true], ['upsert', r.id, false],
      ]);
      await s.close();
      const again = await openStore();
      assert.ok(again.get(r.id));
      assert.equal(again.get(pendingOnly.id), undefined, 'pending records are never persisted');
    });

    it('stores what it can of odd records and refuses only what it cannot, one record at a time', async () => {
      const s = await openStore();
      const bigintBody = makeRecord({ bodies: { request: { kind: 'json', json: { n: 10n }, size: 8, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null } });
      const oddProps = makeRecord({ properties: { n: 5 as unknown as string, ok: 'yes' } });
      const cyclic = makeRecord();
      (cyclic as unknown as { extra: unknown }).extra = cyclic;
      const fine = makeRecord();
      const acks = await Promise.all([s.complete(bigintBody), s.complete(oddProps), s.complete(cyclic), s.complete(fine)]);
      assert.deepEqual(acks, [true, true, false, true]);
      assert.equal(logger.messages('error').filter((m) => /could not be stored/.test(m)).length, 1);
      s.begin({ id: undefined, startedAt: NaN } as unknown as RecordSummary);
      await s.close();
      const b = await openStore();
      assert.equal(b.count(), 3);
      const got = await b.getRecord(bigintBody.id);
      assert.equal(got?.bodies.request.kind, 'empty');
      assert.ok(got?.warnings.some((w) => /bodies not stored/.test(w)));
      assert.deepEqual(b.get(oddProps.id)?.properties, { n: '5', ok: 'yes' });
      assert.deepEqual(await b.getRecord(fine.id), fine);
    });

    it('fires reset on load', async () => {
      const s = new RecordStore(opts());
      open.push(s);
      const seen: string[] = [];
      s.onDidChange((c) => seen.push(c.type));
      assert.equal(s.count(), 0, 'the constructor does no I/O and the store is usable empty');
      await s.load();
      assert.deepEqual(seen, ['reset']);
    });

    it('acknowledges 500 parallel complete() calls and keeps every one, bodies unmixed', async () => {
      const s = await openStore();
      const records = Array.from({ length: 500 }, (_, i) => makeRecord({
        bodies: {
          request: { kind: 'json', json: { marker: `req-${i}`, pad: 'x'.repeat(i * 7) }, size: 10, truncated: false },
          response: { kind: 'text', text: `resp-${i}`, size: 6, truncated: false }, streamEvents: null, reassembled: null,
        },
      }));
      const acks = await Promise.all(records.map((r) => s.complete(r)));
      assert.equal(acks.filter(Boolean).length, 500);
      await s.close();
      const b = await openStore();
      assert.equal(b.count(), 500);
      for (let i = 0; i < 500; i++) {
        const bodies = await b.getBodies(records[i].id);
        assert.deepEqual(bodies?.request.json, { marker: `req-${i}`, pad: 'x'.repeat(i * 7) });
        assert.equal(bodies?.response.text, `resp-${i}`);
      }
    });

    it('keeps every acknowledged record when the writing process is SIGKILLed', async function () {
      this.timeout(60_000);
      const dataDir = path.join(root, 'killed');
      const storeModule = path.resolve(__dirname, '../../src/store/recordStore.ts');
      const builder = path.resolve(__dirname, '../support/records.ts');
      // A child that completes records as fast as it can and prints the id of each acknowledged one.
      const code = `
        const { RecordStore } = require(${JSON.stringify(storeModule)});
        const { makeRecord } = require(${JSON.stringify(builder)});
        const logger = { trace() {}, debug() {}, info() {}, warn() {}, error(m) { process.stderr.write(String(m) + '\\n'); } };
        RecordStore.open({ dataDir: ${JSON.stringify(dataDir)}, logger }).then(async (s) => {
          process.stdout.write('ready\\n');
          for (let i = 0; ; i++) {
            const batch = [];
            for (let j = 0; j < 20; j++) {
              const r = makeRecord({ properties: { n: String(i * 20 + j) } });
              batch.push(s.complete(r).then((ok) => { if (ok) process.stdout.write(r.id + '\\n'); }));
            }
            await Promise.race([Promise.all(batch), new Promise((res) => setTimeout(res, 1))]);
          }
        });`;
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', code], { cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
      const acked: string[] = [];
      let buf = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) if (l !== 'ready') acked.push(l);
      });
      // 'close', not 'exit': it comes after stdout is drained, so every printed id has been read.
      const exited = new Promise<void>((res) => child.on('close', () => res()));
      await until(() => acked.length >= 600 || child.exitCode !== null, 45_000, `600 acknowledged records (stderr: ${stderr})`);
      child.kill('SIGKILL');
      await exited;
      // Ids printed after the kill signal was sent may still be arriving: all of them were acknowledged.
      const s = await openStore({ dataDir });
      const missing = acked.filter((id) => !s.get(id));
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged records lost`);
      for (const id of acked.slice(-20)) assert.equal((await s.getBodies(id))?.request.kind, 'json');
      const after = makeRecord();
      assert.equal(await s.complete(after), true, 'the next append works');
      await s.close();
      const again = await openStore({ dataDir });
      assert.ok(again.get(after.id));
      assert.equal(again.count(), s.count());
    });
  });

  describe('crash repair', () => {
    /** Byte offsets where each index line ends (the newline), with its record id when it is a record line. */
    function indexLines(file: string): Array<{ end: number; id: string | null }> {
      const buf = readFileSync(file);
      const out: Array<{ end: number; id: string | null }> = [];
      let pos = 0;
      for (;;) {
        const nl = buf.indexOf(10, pos);
        if (nl < 0) break;
        const arr = JSON.parse(buf.toString('utf8', pos, nl)) as unknown[];
        out.push({ end: nl, id: arr[0] === 1 ? (arr[5] as string) : null });
        pos = nl + 1;
      }
      return out;
    }

    it('opens an index cut at random byte offsets, keeping every whole record, and appends after it', async function () {
      this.timeout(60_000);
      const src = path.join(root, 'src');
      const a = await RecordStore.open(opts({ dataDir: src }));
      const records = Array.from({ length: 60 }, (_, i) => makeSessionRecord(`s${i % 4}`, { properties: { i: String(i) } }));
      for (let i = 0; i < records.length; i += 7) await Promise.all(records.slice(i, i + 7).map((r) => a.complete(r)));
      await a.close();
      const srcDir = path.join(src, 'records');
      const indexFile = path.join(srcDir, 'index.jsonl');
      const lines = indexLines(indexFile);
      const size = statSync(indexFile).size;
      // Deterministic "random" offsets, plus the edges: 0, 1, just before and after a newline.
      let seed = 12345;
      const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
      const cuts = [0, 1, size - 1, lines[10].end, lines[10].end + 1, ...Array.from({ length: 35 }, () => Math.floor(rnd() * size))];
      for (const cut of cuts) {
        const dataDir = path.join(root, `cut-${cut}`);
        mkdirSync(path.join(dataDir, 'records'), { recursive: true });
        for (const f of readdirSync(srcDir)) if (f !== 'writer.lock' && f !== 'spool') copyFileSync(path.join(srcDir, f), path.join(dataDir, 'records', f));
        truncateSync(path.join(dataDir, 'records', 'index.jsonl'), cut);
        const expected = lines.filter((l) => l.end < cut && l.id).map((l) => l.id as string);
        logger = new RecordingLogger();
        const s = await RecordStore.open(opts({ dataDir }));
        assert.deepEqual(s.list().map((r) => r.id).sort(), [...expected].sort(), `cut at ${cut}`);
        for (const id of expected) assert.deepEqual(await s.getRecord(id), records.find((r) => r.id === id), `record ${id} after cut at ${cut}`);
        const torn = cut > 0 && !lines.some((l) => l.end === cut - 1);
        assert.equal(logger.messages('warn').some((m) => /incomplete last record/.test(m)), torn, `torn warning for cut at ${cut}`);
        const extra = makeSessionRecord('s1');
        assert.equal(await s.complete(extra), true);
        await s.close();
        const again = await RecordStore.open(opts({ dataDir }));
        assert.equal(again.count(), expected.length + 1);
        assert.deepEqual(await again.getRecord(extra.id), extra);
        assert.equal(again.session('s1')?.requestCount, expected.filter((id) => records.find((r) => r.id === id)?.session?.id === 's1').length + 1);
        await again.close();
      }
    });

    it('survives a bodies segment cut short: summaries stay, lost bodies are marked, new writes go to a new segment', async () => {
      const a = await openStore();
      const records = Array.from({ length: 10 }, () => makeRecord());
      await Promise.all(records.map((r) => a.complete(r)));
      await a.close();
      const seg = path.join(root, 'records', 'bodies-000001.jsonl');
      truncateSync(seg, Math.floor(statSync(seg).size / 2));
      const b = await openStore();
      assert.equal(b.count(), 10);
      assert.deepEqual(await b.getRecord(records[0].id), records[0], 'bodies before the cut are intact');
      const lost = await b.getBodies(records[9].id);
      assert.equal(lost?.request.kind, 'empty');
      assert.equal(lost?.request.truncated, true);
      const extra = makeRecord();
      assert.equal(await b.complete(extra), true);
      await b.close();
      assert.ok(existsSync(path.join(root, 'records', 'bodies-000002.jsonl')), 'a damaged segment is never written over');
      const c = await openStore();
      assert.deepEqual(await c.getRecord(extra.id), extra);
      assert.deepEqual(await c.getRecord(records[1].id), records[1]);
    });

    it('skips a corrupt line in the middle with one warning and loads the rest', async () => {
      const a = await openStore();
      const records = Array.from({ length: 9 }, () => makeRecord());
      for (const r of records) await a.complete(r); // one batch each: one index line each
      await a.close();
      const file = path.join(root, 'records', 'index.jsonl');
      const text = readFileSync(file, 'utf8').split('\n');
      const victim = text.findIndex((l) => l.includes(records[4].id));
      text[victim] = text[victim].slice(0, 40) + '#garbage#' + text[victim].slice(60);
      text.splice(victim + 1, 0, '\u0000\u0000\u0000', '{"not":"an index line"}');
      writeFileSync(file, text.join('\n'));
      const b = await openStore();
      assert.equal(b.count(), 8);
      assert.equal(b.get(records[4].id), undefined);
      for (const r of records.filter((_, i) => i !== 4)) assert.deepEqual(await b.getRecord(r.id), r);
      const warnings = logger.messages('warn').filter((m) => /corrupt/.test(m));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /skipped 3 corrupt line/);
      const extra = makeRecord();
      assert.equal(await b.complete(extra), true);
      await b.close();
      const c = await openStore();
      assert.equal(c.count(), 9);
    });

    it('keeps records whose dictionary line was lost, showing the lost strings as "?"', async () => {
      const a = await openStore();
      const r1 = makeRecord({ requestModel: 'model-one' });
      await a.complete(r1);
      await a.close();
      const file = path.join(root, 'records', 'index.jsonl');
      const text = readFileSync(file, 'utf8').replace('"model-one"', '"model-one');
      writeFileSync(file, text);
      const b = await openStore();
      assert.equal(b.get(r1.id)?.requestModel, '?');
      assert.equal(b.get(r1.id)?.costUsd, r1.costUsd);
      assert.ok(logger.messages('warn').some((m) => /lost dictionary entry/.test(m)));
    });
  });

  describe('delete and clear', () => {
    it('persists deletes across a reopen and fires delete events', async () => {
      const a = await openStore();
      const records = Array.from({ length: 6 }, () => makeSessionRecord('sess', { costUsd: 0.5 }));
      await Promise.all(records.map((r) => a.complete(r)));
      const changes: StoreChange[] = [];
      a.onDidChange((c) => changes.push(c));
      await a.delete([records[1].id, records[3].id, 'unknown-id']);
      assert.deepEqual(changes, [{ type: 'delete', ids: [records[1].id, records[3].id] }]);
      assert.equal(a.count(), 4);
      assert.equal(a.session('sess')?.requestCount, 4);
      assert.equal(a.session('sess')?.costUsd, 2);
      assert.equal(await a.getBodies(records[1].id), undefined);
      await a.close();
      const b = await openStore();
      assert.deepEqual(b.list().map((s) => s.id).sort(), [records[0], records[2], records[4], records[5]].map((r) => r.id).sort());
      assert.equal(b.session('sess')?.requestCount, 4);
    });

    it('deleting a record that is still queued does not resurrect it on reopen', async () => {
      const a = await openStore();
      const r = makeRecord();
      const ack = a.complete(r);
      const del = a.delete([r.id]);
      await Promise.all([ack, del]);
      await a.close();
      const b = await openStore();
      assert.equal(b.get(r.id), undefined);
    });

    it('clear() empties memory and disk, keeps in-flight records, and writing continues', async () => {
      const a = await openStore();
      const records = Array.from({ length: 5 }, () => makeRecord());
      await Promise.all(records.map((r) => a.complete(r)));
      const inflight = makeRecord();
      a.begin({ ...summaryOf(inflight), state: 'pending' });
      const changes: string[] = [];
      a.onDidChange((c) => changes.push(c.type));
      await a.clear();
      assert.deepEqual(changes, ['reset']);
      assert.deepEqual(a.list().map((s) => s.id), [inflight.id]);
      const recordFiles = readdirSync(path.join(root, 'records'));
      assert.ok(!recordFiles.some((f) => f.startsWith('bodies-')), `no bodies left: ${recordFiles.join(', ')}`);
      const after = makeRecord();
      assert.equal(await a.complete(after), true);
      await a.close();
      const b = await openStore();
      assert.deepEqual(b.list().map((s) => s.id), [after.id]);
      assert.deepEqual(await b.getRecord(after.id), after);
      for (const f of filesUnder(root)) for (const r of records) assert.ok(!readFileSync(f, 'utf8').includes(r.id), `${r.id} still in ${f}`);
    });

    it('compacts the index once deleted lines outnumber live ones', async () => {
      const a = await openStore();
      const records = Array.from({ length: 1500 }, () => makeRecord());
      await Promise.all(records.map((r) => a.complete(r)));
      const file = path.join(root, 'records', 'index.jsonl');
      const before = statSync(file).size;
      await a.delete(records.slice(0, 1400).map((r) => r.id));
      await a.runMaintenance();
      assert.ok(statSync(file).size < before / 5, `index ${statSync(file).size} bytes (was ${before})`);
      await a.close();
      const b = await openStore();
      assert.equal(b.count(), 100);
      assert.deepEqual(await b.getRecord(records[1450].id), records[1450]);
    });
  });

  describe('retention', () => {
    it('drops records older than retentionDays at load and compacts them away', async () => {
      const now = Date.now();
      const old = Array.from({ length: 5 }, (_, i) => makeRecord({ startedAt: now - 40 * DAY + i, endedAt: now - 40 * DAY + i + 500 }));
      const fresh = Array.from({ length: 5 }, (_, i) => makeRecord({ startedAt: now - 1 * DAY + i, endedAt: now - DAY + i + 500 }));
      const a = await openStore({ retentionDays: 0 });
      await Promise.all([...old, ...fresh].map((r) => a.complete(r)));
      await a.close();
      const b = await openStore({ retentionDays: 30 });
      assert.deepEqual(b.list().map((s) => s.id).sort(), fresh.map((r) => r.id).sort());
      const index = readFileSync(path.join(root, 'records', 'index.jsonl'), 'utf8');
      for (const r of old) assert.ok(!index.includes(r.id));
      for (const r of fresh) assert.deepEqual(await b.getRecord(r.id), r);
      await b.close();
      const c = await openStore({ retentionDays: 30 });
      assert.equal(c.count(), 5);
    });

    it('keeps the files under retentionMb by dropping the oldest segments', async function () {
      this.timeout(30_000);
      const a = await openStore({ retentionMb: 1, segmentBytes: 128 * 1024 });
      const pad = 'p'.repeat(10_000);
      const records = Array.from({ length: 300 }, (_, i) => makeRecord({
        bodies: { request: { kind: 'text', text: `${i}:${pad}`, size: 10_005, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null },
      }));
      for (let i = 0; i < records.length; i += 10) await Promise.all(records.slice(i, i + 10).map((r) => a.complete(r)));
      await a.runMaintenance();
      const bytes = dirBytes(path.join(root, 'records'));
      assert.ok(bytes <= 1024 * 1024 + 128 * 1024, `store is ${bytes} bytes`);
      const kept = a.list();
      assert.ok(kept.length > 50 && kept.length < 300, `kept ${kept.length}`);
      // The newest survive, the oldest go, and nothing kept lost its bodies.
      assert.equal(kept[0].id, records[299].id);
      assert.equal(a.get(records[0].id), undefined);
      const keptIds = new Set(kept.map((s) => s.id));
      const firstKept = records.findIndex((r) => keptIds.has(r.id));
      assert.ok(records.slice(firstKept).every((r) => keptIds.has(r.id)), 'retention drops a prefix of the oldest records');
      for (const s of kept.slice(-3)) assert.equal((await a.getBodies(s.id))?.request.kind, 'text');
      await a.close();
      const b = await openStore({ retentionMb: 1, segmentBytes: 128 * 1024 });
      assert.equal(b.count(), kept.length);
      for (const s of b.list().slice(-3)) assert.equal((await b.getBodies(s.id))?.request.text?.length, 10_000 + String(records.findIndex((r) => r.id === s.id)).length + 1);
    });
  });

  describe('body cap', () => {
    it('stores bodies cut at bodyCapBytes, marked truncated with their original size', async () => {
      const s = await openStore({ bodyCapBytes: 1000 });
      const big = { messages: [{ role: 'user', content: 'é'.repeat(3000) }] };
      const size = Buffer.byteLength(JSON.stringify(big));
      const r = makeRecord({
        bodies: {
          request: { kind: 'json', json: big, size, truncated: false },
          response: { kind: 'text', text: 'ü'.repeat(2000), size: 4000, truncated: false },
          streamEvents: Array.from({ length: 100 }, (_, i) => ({ t: i, event: null, data: `{"i":${i},"pad":"${'x'.repeat(30)}"}` })),
          reassembled: { text: 'y'.repeat(5000) },
        },
      });
      assert.equal(await s.complete(r), true);
      await s.close();
      const b = await openStore({ bodyCapBytes: 1000 });
      const got = await b.getRecord(r.id);
      assert.ok(got);
      assert.equal(got.bodies.request.kind, 'text');
      assert.equal(got.bodies.request.truncated, true);
      assert.equal(got.bodies.request.size, size);
      assert.ok(Buffer.byteLength(got.bodies.request.text ?? '') <= 1000);
      assert.ok(JSON.stringify(big).startsWith(got.bodies.request.text ?? '-'), 'cut on a character boundary');
      assert.equal(got.bodies.response.truncated, true);
      assert.ok(Buffer.byteLength(got.bodies.response.text ?? '') <= 1000);
      assert.ok(!(got.bodies.response.text ?? '').includes('\ufffd'));
      assert.ok((got.bodies.streamEvents ?? []).length < 100);
      assert.equal(got.bodies.reassembled, null);
      assert.ok(got.warnings.some((w) => /stream events/.test(w)));
      assert.ok(got.warnings.some((w) => /reassembled/.test(w)));
      assert.deepEqual(b.get(r.id)?.warnings, got.warnings);
    });

    it('leaves bodies under the cap untouched', async () => {
      const s = await openStore();
      const r = makeRecord();
      await s.complete(r);
      assert.deepEqual((await s.getRecord(r.id))?.bodies, r.bodies);
    });
  });

  describe('spooled bodies', () => {
    async function spooled(s: RecordStore, bytes: Buffer, pieces = 7): Promise<SpooledBytes> {
      const spool = s.openSpool();
      assert.ok(spool, 'a writer store hands out spools');
      const step = Math.ceil(bytes.length / pieces);
      for (let i = 0; i < bytes.length; i += step) spool.write(bytes.subarray(i, i + step));
      const r = await spool.end();
      assert.ok(!('error' in r), JSON.stringify(r));
      return r;
    }
    const spoolDir = (): string => path.join(root, 'records', 'spool');

    it('moves a spooled body beside its segment: the same bytes from the queue, from disk and after a reopen; the file goes', async () => {
      const s = await openStore({ syncIntervalMs: 10_000 });
      const text = JSON.stringify({ messages: [{ role: 'user', content: 'z'.repeat(300_000) }], model: 'gpt-4o' });
      const sp = await spooled(s, Buffer.from(text));
      const r = makeRecord();
      const done = s.complete({ ...r, bodies: { ...r.bodies, request: { kind: 'raw', chunks: [], size: sp.bytes, truncated: false, spooled: sp } } });
      const queued = await s.getRecord(r.id);
      assert.equal(queued?.bodies.request.text, text, 'readable while queued');
      assert.equal(await done, true);
      await until(() => readdirSync(spoolDir()).length === 0, 2000, 'the spool file to go');
      assert.equal((await s.getRecord(r.id))?.bodies.request.text, text);
      assert.deepEqual((await s.getRecord(r.id))?.bodies.response, r.bodies.response, 'the entries around it intact');
      await s.close();
      const again = await openStore();
      assert.equal((await again.getRecord(r.id))?.bodies.request.text, text);
    });

    it('cuts a spooled body at the cap, marked truncated with its full size', async () => {
      const s = await openStore({ bodyCapBytes: 1000 });
      const sp = await spooled(s, Buffer.from('q'.repeat(5000)));
      const r = makeRecord();
      assert.equal(await s.complete({ ...r, bodies: { ...r.bodies, request: { kind: 'raw', chunks: [], size: 5000, truncated: false, spooled: sp } } }), true);
      const got = (await s.getRecord(r.id))!.bodies.request;
      assert.equal(got.text, 'q'.repeat(1000));
      assert.equal(got.truncated, true);
      assert.equal(got.size, 5000);
    });

    it('never reads or deletes a "spool" path it did not hand out', async () => {
      const s = await openStore();
      const outside = path.join(root, 'not-a-spool.txt');
      writeFileSync(outside, 'private file');
      const r = makeRecord();
      assert.equal(await s.complete({ ...r, bodies: { ...r.bodies, request: { kind: 'raw', chunks: [], size: 12, truncated: false, spooled: { path: outside, bytes: 12 } } } }), true);
      assert.ok(existsSync(outside));
      const got = (await s.getRecord(r.id))!.bodies.request;
      assert.ok(!(got.text ?? '').includes('private'));
      assert.equal(got.truncated, true);
    });

    it('shows a spooled body that vanished as lost, keeping the record and the entries after it', async () => {
      const s = await openStore({ syncIntervalMs: 10_000 });
      const sp = await spooled(s, Buffer.from('w'.repeat(1000)));
      unlinkSync(sp.path);
      const a = makeRecord();
      const b = makeRecord();
      await Promise.all([
        s.complete({ ...a, bodies: { ...a.bodies, request: { kind: 'raw', chunks: [], size: 1000, truncated: false, spooled: sp } } }),
        s.complete(b),
      ]);
      await s.close();
      const again = await openStore();
      assert.deepEqual((await again.getRecord(a.id))?.bodies.request, { kind: 'empty', size: 1000, truncated: true });
      assert.deepEqual((await again.getRecord(a.id))?.bodies.response, a.bodies.response);
      assert.deepEqual((await again.getRecord(b.id))?.bodies, b.bodies);
      assert.ok(logger.messages('warn').some((l) => /spooled body could not be kept/.test(l)), logger.messages().join('\n'));
    });

    it('keeps spooled bodies beside their segment, and drops them with it (retention, clear)', async () => {
      const s = await openStore({ segmentBytes: 4096 });
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const sp = await spooled(s, Buffer.from(String.fromCharCode(97 + i).repeat(3000)));
        const r = makeRecord();
        ids.push(r.id);
        assert.equal(await s.complete({ ...r, bodies: { ...r.bodies, request: { kind: 'raw', chunks: [], size: 3000, truncated: false, spooled: sp } } }), true);
      }
      const sideDirs = (): string[] => readdirSync(path.join(root, 'records')).filter((f) => f.endsWith('.side'));
      assert.ok(sideDirs().length >= 2, `side bytes count toward rotation: ${sideDirs().join(', ')}`);
      for (const [i, id] of ids.entries()) assert.equal((await s.getRecord(id))?.bodies.request.text, String.fromCharCode(97 + i).repeat(3000));
      const before = sideDirs().length;
      await s.delete(ids.slice(0, 3));
      await s.runMaintenance();
      assert.ok(sideDirs().length < before, 'a segment emptied by deletes goes, with its side files');
      for (const [i, id] of ids.entries()) if (i >= 3) assert.equal((await s.getRecord(id))?.bodies.request.text, String.fromCharCode(97 + i).repeat(3000));
      await s.clear();
      assert.deepEqual(sideDirs(), [], 'side files go with their segments');
    });

    it('removes spool files of processes that are gone when it opens (a same-pid restart too), and keeps those of live ones', async () => {
      mkdirSync(spoolDir(), { recursive: true });
      const dead = spawn(process.execPath, ['-e', '0']);
      await new Promise((ok) => dead.on('exit', ok));
      writeFileSync(path.join(spoolDir(), `${dead.pid}-abc-1.body`), 'left by a crash');
      writeFileSync(path.join(spoolDir(), `${process.pid}-abc-2.body`), 'left by an earlier run that had our pid (a container restart)');
      writeFileSync(path.join(spoolDir(), `${process.ppid}-abc-3.body`), 'in use by a live process');
      await openStore();
      assert.deepEqual(readdirSync(spoolDir()), [`${process.ppid}-abc-3.body`]);
    });

    it('accepts each spool file it handed out for one record only', async () => {
      const s = await openStore();
      const sp = await spooled(s, Buffer.from('v'.repeat(2000)));
      const a = makeRecord();
      const b = makeRecord();
      const body = { kind: 'raw' as const, chunks: [], size: 2000, truncated: false, spooled: sp };
      assert.equal(await s.complete({ ...a, bodies: { ...a.bodies, request: body } }), true);
      assert.equal(await s.complete({ ...b, bodies: { ...b.bodies, request: body } }), true);
      assert.equal((await s.getRecord(a.id))?.bodies.request.text, 'v'.repeat(2000));
      assert.deepEqual((await s.getRecord(b.id))?.bodies.request, { kind: 'empty', size: 2000, truncated: true });
    });
  });

  describe('disk failures', () => {
    it('a data dir that cannot be created: complete() resolves false, one log line, writing resumes once fixed', async () => {
      const dataDir = path.join(root, 'blocked');
      writeFileSync(dataDir, 'a file where the data dir should be');
      const s = await openStore({ dataDir });
      const records = Array.from({ length: 40 }, () => makeRecord());
      const acks = await Promise.all(records.map((r) => s.complete(r)));
      assert.deepEqual(acks, records.map(() => false));
      assert.equal(s.count(), 40, 'records stay visible in memory');
      await wait(300); // several retries with backoff happen meanwhile
      assert.equal(logger.messages('error').filter((m) => /cannot write request logs/.test(m)).length, 1, logger.messages('error').join('\n'));
      assert.equal(s.writeStatus().state, 'failing');
      assert.equal(s.writeStatus().queued, 40);
      unlinkSync(dataDir);
      mkdirSync(dataDir);
      await until(() => s.writeStatus().state === 'ok', 5000, 'writing to resume');
      assert.ok(logger.messages('info').some((m) => /writing request logs again/.test(m)));
      const later = makeRecord();
      assert.equal(await s.complete(later), true);
      await s.close();
      const b = await openStore({ dataDir });
      assert.equal(b.count(), 41);
      assert.deepEqual(await b.getRecord(records[7].id), records[7]);
    });

    it('disk full (ENOSPC): records wait in a bounded queue, one log line, and are written when space returns', async function () {
      if (!existsSync('/dev/full')) this.skip();
      const dir = path.join(root, 'records');
      mkdirSync(dir, { recursive: true });
      // Every write to the bodies segment fails with ENOSPC, as on a full disk.
      symlinkSync('/dev/full', path.join(dir, 'bodies-000001.jsonl'));
      const s = await openStore({ maxQueuedRecords: 25 });
      const records = Array.from({ length: 60 }, () => makeRecord());
      const acks = await Promise.all(records.map((r) => s.complete(r)));
      assert.ok(acks.every((ok) => !ok));
      await wait(200);
      const errors = logger.messages('error');
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0], /ENOSPC/);
      assert.equal(logger.messages('warn').filter((m) => /queue is full/.test(m)).length, 1);
      assert.equal(s.writeStatus().queued, 25);
      assert.equal(s.writeStatus().dropped, 35);
      assert.ok(s.get(records[0].id)?.warnings.some((w) => /not stored/.test(w)), 'a dropped record says so');
      unlinkSync(path.join(dir, 'bodies-000001.jsonl'));
      await until(() => s.writeStatus().state === 'ok', 5000, 'writing to resume');
      await s.close();
      const b = await openStore();
      assert.deepEqual(b.list().map((x) => x.id).sort(), records.slice(35).map((r) => r.id).sort());
      assert.deepEqual(await b.getRecord(records[59].id), records[59]);
    });

    it('flush() and close() never hang or throw while the disk fails', async () => {
      const dataDir = path.join(root, 'blocked2');
      writeFileSync(dataDir, '');
      const s = await openStore({ dataDir, retryMinMs: 10_000, retryMaxMs: 10_000 });
      assert.equal(await s.complete(makeRecord()), false);
      await s.flush();
      await s.close();
      assert.equal(await s.complete(makeRecord()), false, 'after close');
    });

    it('clear() on an unwritable store rejects with STORE_WRITE_FAILED and keeps the records', async () => {
      const dataDir = path.join(root, 'blocked3');
      writeFileSync(dataDir, '');
      const s = await openStore({ dataDir });
      void s.complete(makeRecord());
      await assert.rejects(s.clear(), (e: Error & { code?: string }) => e.code === 'STORE_WRITE_FAILED');
      assert.equal(s.count(), 1);
    });
  });

  describe('several stores on one data dir', () => {
    it('one writes, the other follows its records and takes over when it closes', async () => {
      const a = await openStore({ idleReleaseMs: 60_000 });
      const b = await openStore({ followIntervalMs: 20, followerAckMs: 100 });
      const seen: StoreChange[] = [];
      b.onDidChange((c) => seen.push(c));
      const r1 = makeRecord();
      assert.equal(await a.complete(r1), true);
      await until(() => !!b.get(r1.id), 3000, 'the follower to see the record');
      assert.ok(seen.some((c) => c.type === 'upsert' && c.summary.id === r1.id));
      assert.deepEqual(await b.getRecord(r1.id), r1);
      // The follower cannot write while the other holds the lock: it says so once and keeps the record.
      const r2 = makeRecord();
      assert.equal(await b.complete(r2), false);
      assert.equal(b.writeStatus().state, 'follower');
      assert.equal(logger.messages('warn').filter((m) => /another LLM Lens process|writer lock|is writing/.test(m)).length, 1);
      await a.delete([r1.id]);
      await until(() => !b.get(r1.id), 3000, 'the follower to see the delete');
      await a.close();
      await until(() => b.writeStatus().state === 'ok', 5000, 'the follower to take over');
      await b.close();
      const c = await openStore();
      assert.deepEqual(c.list().map((s) => s.id), [r2.id]);
      assert.deepEqual(await c.getRecord(r2.id), r2);
    });

    it('a follower\'s complete() waits for its turn and is acknowledged when the writer lets go', async () => {
      const a = await openStore({ idleReleaseMs: 300 });
      const b = await openStore({ followerAckMs: 5000, retryMinMs: 20, retryMaxMs: 50 });
      assert.equal(await a.complete(makeRecord()), true);
      const r = makeRecord();
      const t0 = Date.now();
      assert.equal(await b.complete(r), true, 'acknowledged once a released the lock');
      assert.ok(Date.now() - t0 < 4000);
      await b.close();
      await a.close();
      const c = await openStore();
      assert.equal(c.count(), 2);
    });

    it('a writer idle for idleReleaseMs lets another store write', async () => {
      const a = await openStore({ idleReleaseMs: 30, followIntervalMs: 20 });
      const b = await openStore({ idleReleaseMs: 30, followIntervalMs: 20 });
      const r1 = makeRecord();
      assert.equal(await a.complete(r1), true);
      await wait(100);
      const r2 = makeRecord();
      assert.equal(await b.complete(r2), true);
      await until(() => !!a.get(r2.id), 3000, 'the first store to follow the second');
      await wait(100);
      const r3 = makeRecord();
      assert.equal(await a.complete(r3), true);
      await a.close();
      await b.close();
      const c = await openStore();
      assert.equal(c.count(), 3);
      for (const r of [r1, r2, r3]) assert.deepEqual(await c.getRecord(r.id), r);
    });
  });

  describe('secrets', () => {
    it('never writes an API key to disk, in any header form, URL, error or warning', async () => {
      const keys = ['sk-proj-SECRETSECRETSECRET0001', 'sk-ant-api03-SECRETSECRET0002', 'azure-SECRET-0003-key', 'sk-helicone-SECRET0004', 'sess-SECRET-0005', 'AIzaSECRETSECRETSECRETSECRETSECRET0006'];
      const r = makeRecord({
        targetUrl: `https://generativelanguage.googleapis.com/v1/models?key=${keys[5]}`,
        path: `/gemini/v1/models?key=${keys[5]}`,
        requestHeaders: {
          Authorization: `Bearer ${keys[0]}`, 'x-api-key': keys[1], 'api-key': keys[2], 'Helicone-Auth': `Bearer ${keys[3]}`,
          Cookie: `session=${keys[4]}`, 'X-Goog-Api-Key': keys[5], 'Content-Type': 'application/json',
        },
        responseHeaders: { 'set-cookie': `sid=${keys[4]}; HttpOnly`, 'content-type': 'application/json' },
        error: { kind: 'upstream_status', message: `Incorrect API key provided: ${keys[0]}` },
        warnings: [`header echo Authorization: Bearer ${keys[0]}`],
      });
      const s = await openStore();
      s.begin({ ...summaryOf(r), state: 'pending' });
      assert.equal(await s.complete(r), true);
      await s.close();
      const files = filesUnder(root);
      assert.ok(files.length >= 2);
      for (const f of files) {
        const bytes = readFileSync(f).toString('latin1');
        for (const k of keys) assert.ok(!bytes.includes(k), `${k} found in ${path.basename(f)}`);
      }
      const b = await openStore();
      const got = await b.getRecord(r.id);
      assert.equal(got?.requestHeaders.Authorization, 'Bearer [REDACTED]');
      assert.equal(got?.requestHeaders['Content-Type'], 'application/json');
    });
  });

  describe('load', () => {
    it('loads 100,000 summaries (time reported, not asserted)', async function () {
      this.timeout(120_000);
      const dataDir = path.join(root, 'big');
      const N = 100_000;
      const ids = writeBigStore(path.join(dataDir, 'records'), N);
      const t0 = process.hrtime.bigint();
      const s = await openStore({ dataDir });
      const openMs = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.equal(s.count(), N);
      const t1 = process.hrtime.bigint();
      const page = s.list({ limit: 100, offset: 200 });
      const pageMs = Number(process.hrtime.bigint() - t1) / 1e6;
      assert.equal(page.length, 100);
      assert.equal(page[0].id, ids[N - 1 - 200]);
      assert.ok(s.sessions().length > 0);
      assert.equal((await s.getRecord(ids[5]))?.id, ids[5]);
      console.log(`      100k summaries: open ${openMs.toFixed(0)} ms, page ${pageMs.toFixed(2)} ms`);
    });
  });
});
