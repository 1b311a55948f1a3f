// Exports: JSONL parses back, HAR 1.2 is structurally valid, and the cURL command really runs:
// bash parses it and curl sends it to a local server, which must receive the original request.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { RecordingLogger } from '../../src/core/logger';
import type { LogRecord } from '../../src/core/types';
import { apiKeyVariable, exportToFile, shellQuote, toCurl, toHar, toJsonl } from '../../src/store/export';
import { RecordStore } from '../../src/store/recordStore';
import { makeRecord, makeSessionRecord } from '../support/records';

const KEY = 'sk-proj-EXPORTSECRET0123456789';

/** A record as a careless caller might pass it: raw secrets in headers, URL and error. */
function leakyRecord(overrides: Partial<LogRecord> = {}): LogRecord {
  return makeRecord({
    targetUrl: `https://api.openai.com/v1/chat/completions?api-key=${KEY}`,
    requestHeaders: { Authorization: `Bearer ${KEY}`, 'x-api-key': KEY, Cookie: `s=${KEY}`, 'Content-Type': 'application/json', 'Helicone-Property-Env': 'dev' },
    responseHeaders: { 'set-cookie': `s=${KEY}`, 'content-type': 'application/json' },
    error: { kind: 'upstream_status', message: `Incorrect API key provided: ${KEY}` },
    ...overrides,
  });
}

const harHeader = z.object({ name: z.string(), value: z.string() });
const harSchema = z.object({
  log: z.object({
    version: z.literal('1.2'),
    creator: z.object({ name: z.string(), version: z.string() }),
    entries: z.array(z.object({
      startedDateTime: z.string().refine((s) => !Number.isNaN(Date.parse(s)) && s === new Date(Date.parse(s)).toISOString()),
      time: z.number().nonnegative(),
      request: z.object({
        method: z.string(), url: z.string().url(), httpVersion: z.string(), cookies: z.array(z.unknown()),
        headers: z.array(harHeader), queryString: z.array(harHeader),
        postData: z.object({ mimeType: z.string(), text: z.string() }).optional(),
        headersSize: z.number(), bodySize: z.number(),
      }).strict(),
      response: z.object({
        status: z.number().int(), statusText: z.string(), httpVersion: z.string(), cookies: z.array(z.unknown()),
        headers: z.array(harHeader),
        content: z.object({ size: z.number(), mimeType: z.string(), text: z.string().optional(), encoding: z.string().optional(), comment: z.string().optional() }).strict(),
        redirectURL: z.string(), headersSize: z.number(), bodySize: z.number(),
      }).strict(),
      cache: z.object({}),
      timings: z.object({ send: z.number().nonnegative(), wait: z.number().nonnegative(), receive: z.number().nonnegative() }).passthrough(),
    }).passthrough().refine((e) => e.time === e.timings.send + e.timings.wait + e.timings.receive, 'time is the sum of the timings')),
  }),
});

function bash(script: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`)); else resolve({ stdout, stderr });
    });
  });
}

/** bash's own parse of the command: a `curl` function that prints the arguments it received. */
async function curlArgs(cmd: string, env: Record<string, string> = {}): Promise<string[]> {
  const fake = `curl() { ${JSON.stringify(process.execPath)} -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' -- "$@"; }`;
  const { stdout } = await bash(`${fake}\n${cmd}`, env);
  return JSON.parse(stdout) as string[];
}

interface Received { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }

describe('export', () => {
  describe('toJsonl', () => {
    it('writes one parseable line per record, with secrets scrubbed', () => {
      const records = [leakyRecord(), makeSessionRecord('s1'), makeRecord({ bodies: { request: { kind: 'text', text: 'line1\nline2', size: 11, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null } })];
      const out = toJsonl(records);
      assert.ok(out.endsWith('\n'));
      const lines = out.trimEnd().split('\n');
      assert.equal(lines.length, 3);
      const back = lines.map((l) => JSON.parse(l) as LogRecord);
      assert.deepEqual(back.map((r) => r.id), records.map((r) => r.id));
      assert.deepEqual(back[1], records[1]);
      assert.equal(back[2].bodies.request.text, 'line1\nline2');
      assert.equal(back[0].requestHeaders.Authorization, 'Bearer [REDACTED]');
      assert.equal(back[0].requestHeaders['Helicone-Property-Env'], 'dev');
      assert.ok(!out.includes(KEY));
      assert.equal(toJsonl([]), '');
    });
  });

  describe('toHar', () => {
    it('produces a valid HAR 1.2 log for JSON, streamed, binary, omitted and failed records', () => {
      const records: LogRecord[] = [
        leakyRecord(),
        makeRecord({
          streamed: true, responseHeaders: { 'content-type': 'text/event-stream' },
          bodies: {
            request: { kind: 'json', json: { stream: true }, size: 14, truncated: false },
            response: { kind: 'empty', size: 0, truncated: false },
            streamEvents: [{ t: 1, event: null, data: '{"a":1}' }, { t: 2, event: 'done', data: '[DONE]' }], reassembled: { a: 1 },
          },
        }),
        makeRecord({ method: 'GET', targetUrl: 'https://api.openai.com/v1/models?limit=2&order=desc', bodies: { request: { kind: 'empty', size: 0, truncated: false }, response: { kind: 'base64', text: Buffer.from([1, 2, 255]).toString('base64'), size: 3, truncated: false }, streamEvents: null, reassembled: null } }),
        makeRecord({ omitRequest: true, bodies: { request: { kind: 'omitted', size: 50, truncated: false }, response: { kind: 'text', text: 'cut', size: 9000, truncated: true }, streamEvents: null, reassembled: null } }),
        makeRecord({ state: 'error', status: null, firstByteAt: null, error: { kind: 'upstream_unreachable', message: 'ECONNREFUSED' }, usage: null, costUsd: null }),
      ];
      const har = toHar(records);
      harSchema.parse(har);
      const text = JSON.stringify(har);
      assert.ok(!text.includes(KEY));
      const [leaky, stream, get, omitted, failed] = har.log.entries;
      assert.equal(leaky.request.postData?.mimeType, 'application/json');
      assert.deepEqual(JSON.parse(leaky.request.postData?.text ?? ''), records[0].bodies.request.json);
      assert.equal(leaky.response.statusText, 'OK');
      assert.equal(leaky.timings.wait, 200);
      assert.equal(leaky.timings.receive, 220);
      assert.equal(stream.response.content.mimeType, 'text/event-stream');
      assert.equal(stream.response.content.text, 'data: {"a":1}\n\nevent: done\ndata: [DONE]\n\n');
      assert.deepEqual(get.request.queryString, [{ name: 'limit', value: '2' }, { name: 'order', value: 'desc' }]);
      assert.equal(get.request.postData, undefined);
      assert.equal(get.response.content.encoding, 'base64');
      assert.equal(omitted.request.postData, undefined);
      assert.match(omitted.response.content.comment ?? '', /truncated/);
      assert.equal(failed.response.status, 0);
      assert.match(failed.comment ?? '', /upstream_unreachable/);
      assert.equal(failed._llmLens.id, records[4].id);
    });
  });

  describe('toCurl', () => {
    let server: Server;
    let baseUrl: string;
    let received: Received[];

    beforeEach(async () => {
      received = [];
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });

    const hostile = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `it's "quoted" $(touch /tmp/pwned) \`id\` $HOME \\ back\nslash\t✓ ünïcødé '\\'' end` }],
    };

    it('is parsed by bash into the original method, URL, headers and body, with the key as a placeholder', async () => {
      const r = leakyRecord({ path: '/v1/chat/completions?x=1', bodies: { request: { kind: 'json', json: hostile, size: 1, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null } });
      const cmd = toCurl(r, { baseUrl: `${baseUrl}/v1` });
      assert.ok(!cmd.includes(KEY));
      assert.ok(cmd.includes('$OPENAI_API_KEY'));
      const args = await curlArgs(cmd, { OPENAI_API_KEY: 'the-env-key' });
      assert.equal(args[0], `${baseUrl}/v1/chat/completions?x=1`);
      assert.deepEqual(args.slice(1, 3), ['-X', 'POST']);
      const headers = args.flatMap((a, i) => (args[i - 1] === '-H' ? [a] : []));
      assert.ok(headers.includes('Authorization: Bearer the-env-key'), headers.join(' | '));
      assert.ok(headers.includes('x-api-key: the-env-key'));
      assert.ok(headers.includes('Helicone-Property-Env: dev'));
      assert.ok(!headers.some((h) => /^cookie/i.test(h)), 'cookies are not replayed');
      assert.equal(args[args.indexOf('--data-raw') + 1], JSON.stringify(hostile));
    });

    it('runs with the real curl against a local server, delivering exactly the recorded request', async () => {
      const r = makeSessionRecord('sess-1', {
        path: '/v1/chat/completions',
        requestHeaders: { 'Content-Type': 'application/json', Authorization: 'Bearer [REDACTED]', 'Helicone-Session-Id': 'sess-1', 'Helicone-Property-Feature': `o'neil "x"`, Host: 'elsewhere:1', 'Content-Length': '999' },
        bodies: { request: { kind: 'json', json: hostile, size: 1, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null },
      });
      await bash(`${toCurl(r, { baseUrl })} -s -o /dev/null`, { OPENAI_API_KEY: 'sk-from-env' });
      assert.equal(received.length, 1);
      const got = received[0];
      assert.equal(got.method, 'POST');
      assert.equal(got.url, '/v1/chat/completions');
      assert.equal(got.headers.authorization, 'Bearer sk-from-env');
      assert.equal(got.headers['helicone-session-id'], 'sess-1');
      assert.equal(got.headers['helicone-property-feature'], `o'neil "x"`);
      assert.equal(got.headers['content-type'], 'application/json');
      assert.equal(got.headers.host, new URL(baseUrl).host);
      assert.equal(got.body.toString('utf8'), JSON.stringify(hostile));
      assert.deepEqual(readdirSync('/tmp').filter((f) => f === 'pwned'), [], 'nothing in the body was executed');
    });

    it('uses x-api-key: $ANTHROPIC_API_KEY for Anthropic and streams with -N', async () => {
      const r = makeRecord({
        provider: 'anthropic', path: '/anthropic/v1/messages', streamed: true,
        requestHeaders: { 'x-api-key': '[REDACTED]', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      });
      const cmd = toCurl(r, { baseUrl });
      assert.match(cmd, /-H "x-api-key: \$ANTHROPIC_API_KEY"/);
      await bash(`${cmd} -s -o /dev/null`, { ANTHROPIC_API_KEY: 'ant-env' });
      assert.equal(received[0].url, '/anthropic/v1/messages');
      assert.equal(received[0].headers['x-api-key'], 'ant-env');
      assert.equal(received[0].headers['anthropic-version'], '2023-06-01');
      assert.ok((await curlArgs(cmd)).includes('-N'));
    });

    it('adds the provider key header when the record has none, and sends GET without a body', async () => {
      const r = makeRecord({ method: 'GET', path: '/v1/models', requestHeaders: {}, bodies: { request: { kind: 'empty', size: 0, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null } });
      const cmd = toCurl(r, { baseUrl });
      await bash(`${cmd} -s -o /dev/null`, { OPENAI_API_KEY: 'k1' });
      assert.equal(received[0].method, 'GET');
      assert.equal(received[0].headers.authorization, 'Bearer k1');
      assert.equal(received[0].body.length, 0);
    });

    it('replays a non-UTF-8 body byte for byte', async () => {
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x27, 0x0a, 0x80]);
      const r = makeRecord({ requestHeaders: { 'content-type': 'application/octet-stream' }, bodies: { request: { kind: 'base64', text: bytes.toString('base64'), size: bytes.length, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null } });
      await bash(`${toCurl(r, { baseUrl })} -s -o /dev/null`, { OPENAI_API_KEY: 'k' });
      assert.deepEqual(received[0].body, bytes);
    });

    it('says when the body was truncated or omitted', () => {
      const cut = toCurl(makeRecord({ bodies: { request: { kind: 'text', text: '{"a":', size: 5_000_000, truncated: true }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null } }), { baseUrl: 'http://127.0.0.1:8787' });
      assert.match(cut, /^# .*cut at the body cap/m);
      const omitted = toCurl(makeRecord({ bodies: { request: { kind: 'omitted', size: 10, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null } }), { baseUrl: 'http://127.0.0.1:8787' });
      assert.match(omitted, /^# .*Helicone-Omit-Request/m);
      assert.ok(!omitted.includes('--data-raw'));
    });

    it('quotes for the shell and names key variables after the provider', async () => {
      const strings = ['', `'`, `a'b`, `$(x)`, '\\', '\n', `'\\''`, '"$HOME"', '`id`'];
      assert.deepEqual(await curlArgs(`curl ${strings.map(shellQuote).join(' ')}`), strings);
      assert.equal(apiKeyVariable('openai'), 'OPENAI_API_KEY');
      assert.equal(apiKeyVariable('open-router'), 'OPEN_ROUTER_API_KEY');
      assert.equal(apiKeyVariable('1x'), '_1X_API_KEY');
    });
  });

  describe('exportToFile', () => {
    let root: string;
    let store: RecordStore;

    beforeEach(async () => {
      root = mkdtempSync(path.join(tmpdir(), 'lens-export-'));
      store = await RecordStore.open({ dataDir: path.join(root, 'data'), logger: new RecordingLogger() });
    });

    afterEach(async () => {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    });

    it('streams every matching record to JSONL and HAR, oldest first, with no key and no temp file left', async () => {
      const records = Array.from({ length: 300 }, (_, i) => (i % 3 ? makeRecord() : leakyRecord({ properties: { env: 'prod' } })));
      await Promise.all(records.map((r) => store.complete(r)));
      store.begin({ ...makeRecord(), state: 'pending' });
      const jsonl = path.join(root, 'out.jsonl');
      assert.equal(await exportToFile(store, jsonl, 'jsonl'), 300);
      const lines = readFileSync(jsonl, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as LogRecord);
      assert.deepEqual(lines.map((r) => r.id), records.map((r) => r.id));
      assert.deepEqual(lines[1], records[1]);
      const har = path.join(root, 'out.har');
      assert.equal(await exportToFile(store, har, 'har', { properties: { env: 'prod' } }), 100);
      const doc = harSchema.parse(JSON.parse(readFileSync(har, 'utf8')));
      assert.equal(doc.log.entries.length, 100);
      for (const f of [jsonl, har]) assert.ok(!readFileSync(f, 'utf8').includes(KEY));
      assert.deepEqual(readdirSync(root).filter((f) => f.endsWith('.tmp')), []);
    });

    it('leaves no file behind when the target cannot be written', async () => {
      await store.complete(makeRecord());
      await assert.rejects(exportToFile(store, path.join(root, 'missing-dir', 'x.jsonl'), 'jsonl'));
      assert.deepEqual(readdirSync(root).filter((f) => f !== 'data'), []);
    });
  });
});
