// The host's streamed export (progress, cancel, filter predicate) and the argument handling that
// tree commands (Copy as cURL, Copy Request Id, Delete) share, over a real RecordStore.
import * as assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingLogger } from '../../src/core/logger';
import { requestIdFromArg, requestIdsFromArgs, sessionIdFromArg } from '../../src/host/args';
import { exportLogs } from '../../src/host/exportLogs';
import { toCurl } from '../../src/store/export';
import { RecordStore } from '../../src/store/recordStore';
import { makeRecord, summaryOf } from '../support/records';

describe('host: export and command arguments', () => {
  let dir: string;
  let store: RecordStore;
  const logger = new RecordingLogger();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lens-export-'));
    store = await RecordStore.open({ dataDir: path.join(dir, 'data'), logger });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes JSONL oldest first with progress, skipping in-flight requests, secrets redacted', async () => {
    const recs = Array.from({ length: 25 }, (_, i) => makeRecord({ requestModel: `m${i}`, requestHeaders: { Authorization: 'Bearer sk-live-abcdefghijklmnop1234' } }));
    for (const r of recs) await store.complete(r);
    store.begin({ ...summaryOf(makeRecord()), state: 'pending' });
    const progress: Array<[number, number]> = [];
    const file = path.join(dir, 'out.jsonl');
    const res = await exportLogs({ store, format: 'jsonl', file, logger, pageSize: 10, onProgress: (d, t) => progress.push([d, t]) });
    assert.deepEqual({ written: res.written, skipped: res.skipped, cancelled: res.cancelled }, { written: 25, skipped: 1, cancelled: false });
    assert.deepEqual(progress, [[10, 26], [20, 26], [26, 26]]);
    const text = await readFile(file, 'utf8');
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.requestModel), recs.map((r) => r.requestModel));
    assert.ok(!text.includes('sk-live-abcdefghijklmnop1234'));
    assert.deepEqual((await readdir(dir)).sort(), ['data', 'out.jsonl'], 'no temp file left');
  });

  it('writes one valid HAR document, honouring the include predicate', async () => {
    const recs = Array.from({ length: 7 }, (_, i) => makeRecord({ requestModel: `m${i}` }));
    for (const r of recs) await store.complete(r);
    const file = path.join(dir, 'out.har');
    const keep = new Set([recs[1].id, recs[4].id]);
    const res = await exportLogs({ store, format: 'har', file, logger, include: (id) => keep.has(id), pageSize: 2 });
    assert.equal(res.written, 2);
    const har = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(har.log.version, '1.2');
    assert.equal(har.log.entries.length, 2);
    assert.equal(har.log.entries[0].request.method, 'POST');
  });

  it('cancels without leaving a file', async () => {
    for (let i = 0; i < 30; i++) await store.complete(makeRecord());
    const file = path.join(dir, 'cancelled.jsonl');
    let pages = 0;
    const res = await exportLogs({ store, format: 'jsonl', file, logger, pageSize: 10, onProgress: () => pages++, isCancelled: () => pages >= 1 });
    assert.equal(res.cancelled, true);
    assert.equal(res.written, 10);
    assert.deepEqual(await readdir(dir), ['data']);
  });

  it('accepts a tree node, an id or a selection wherever a command needs request ids', async () => {
    const r = makeRecord();
    await store.complete(r);
    const node = { kind: 'request', id: `r/${r.id}`, requestId: r.id, parent: undefined };
    assert.equal(requestIdFromArg(node), r.id);
    assert.equal(requestIdFromArg(r.id), r.id);
    assert.equal(requestIdFromArg({ id: r.id }), r.id, 'a plain { id } (webview message)');
    assert.equal(requestIdFromArg({ kind: 'session', id: 's/x', sessionId: 'x' }), undefined, 'a session node is not a request');
    assert.equal(requestIdFromArg(undefined), undefined);
    assert.equal(sessionIdFromArg({ kind: 'path', sessionId: 'x', path: '/a' }), 'x');
    const other = { kind: 'request', requestId: 'b' };
    assert.deepEqual(requestIdsFromArgs(node, [node, other]), [r.id, 'b'], 'the selection when it includes the clicked node');
    assert.deepEqual(requestIdsFromArgs(node, [other]), [r.id], 'the clicked node when the selection is elsewhere');
    assert.deepEqual(requestIdsFromArgs([r.id, 'b', r.id], undefined), [r.id, 'b']);
    // Copy as cURL: the record the node names, through the proxy's base URL, key as a placeholder.
    const curl = toCurl((await store.getRecord(requestIdFromArg(node)!))!, { baseUrl: 'http://127.0.0.1:8787' });
    assert.match(curl, /http:\/\/127\.0\.0\.1:8787\/v1\/chat\/completions/);
    assert.match(curl, /\$OPENAI_API_KEY/);
    assert.ok(!curl.includes('[REDACTED]'));
  });
});
