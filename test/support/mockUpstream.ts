// A loopback mock of the OpenAI and Anthropic HTTP APIs for unit and e2e tests.
// It records every request it receives (so tests can assert what the proxy forwarded, and count
// requests the proxy aborted) and injects faults chosen per request with `x-mock-fault`.
// No vscode, no mocha: the e2e suites import it too.
//
// Per-request knobs (headers; they are not Helicone-*, so the proxy forwards them):
//   x-mock-fault              status-NNN | reset-before | reset-mid | stall-first-byte | stall-mid |
//                             malformed-sse | truncated-json | slow-body
//   x-mock-chunk-delay-ms     delay between streamed events (and body halves for slow-body)
//   x-mock-chunks             content chunks in a streamed reply (default 5)
//   x-mock-latency-ms         delay before the response headers
//   x-mock-reply              the assistant text (split on spaces into chunks); default: fixed words
//   x-mock-prompt-tokens      prompt/input tokens reported (default ceil(body bytes / 4))
//   x-mock-cached-tokens      OpenAI prompt_tokens_details.cached_tokens / Anthropic cache_read_input_tokens
//   x-mock-cache-write-tokens Anthropic cache_creation_input_tokens
//   x-mock-reasoning-tokens   OpenAI completion_tokens_details.reasoning_tokens
//   x-mock-no-usage           "true": report no usage at all (the proxy must estimate)
//   x-mock-model              the model reported in the response (default: the request's model)
//   x-mock-gzip               "true": JSON answers are gzip-compressed (Content-Encoding: gzip), as real APIs do
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface ReceivedRequest {
  method: string;
  /** Path with query string, as received. */
  path: string;
  /** Lower-cased header map as node parses it. */
  headers: http.IncomingHttpHeaders;
  /** Raw header names and values in wire order and case. */
  rawHeaders: string[];
  /** The body as UTF-8 text ('' when empty). */
  body: string;
  bytes: Buffer;
  receivedAt: number;
  /** True once the mock sent the whole response. */
  finished: boolean;
  /** True when the client (the proxy) went away before the mock finished its response. */
  aborted: boolean;
  /** The x-mock-fault asked for, if any. */
  fault: string | null;
}

export interface MockUpstreamOptions {
  port?: number;
  host?: string;
  /** Default content chunks per stream. */
  chunks?: number;
  /** Default delay between streamed events, ms. */
  chunkDelayMs?: number;
  /** How long the stall faults hold before giving up (the client normally aborts first). */
  stallMs?: number;
}

export interface MockUpstream {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Requests whose response is still being written. */
  active(): number;
  /** Requests the client abandoned before the response ended. */
  abortedCount(): number;
  /** Open TCP connections from clients (to spot leaked sockets). */
  openSockets(): number;
  /** Resolves when `n` requests have been received (or rejects after timeoutMs). */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves when no response is in flight. */
  waitIdle(timeoutMs?: number): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

const WORDS = 'The quick brown fox jumps over the lazy dog while the proxy logs every request'.split(' ');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rid = (p: string): string => p + randomBytes(12).toString('hex');

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function intHeader(req: http.IncomingMessage, name: string, def: number): number {
  const v = header(req, name);
  if (v === undefined || v === '') return def;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : def;
}

interface Knobs {
  fault: string | null;
  chunkDelay: number;
  latency: number;
  pieces: string[];
  promptTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  noUsage: boolean;
  gzip: boolean;
  model: string | null;
}

function knobs(req: http.IncomingMessage, raw: Buffer, opts: Required<MockUpstreamOptions>): Knobs {
  const reply = header(req, 'x-mock-reply');
  const chunks = intHeader(req, 'x-mock-chunks', opts.chunks);
  const pieces = reply !== undefined
    ? reply.split(/(?= )/)
    : Array.from({ length: chunks }, (_, i) => (i === 0 ? '' : ' ') + WORDS[i % WORDS.length]);
  return {
    fault: header(req, 'x-mock-fault') ?? null,
    chunkDelay: intHeader(req, 'x-mock-chunk-delay-ms', opts.chunkDelayMs),
    latency: intHeader(req, 'x-mock-latency-ms', 0),
    pieces,
    promptTokens: intHeader(req, 'x-mock-prompt-tokens', Math.max(1, Math.ceil(raw.length / 4))),
    cachedTokens: intHeader(req, 'x-mock-cached-tokens', 0),
    cacheWriteTokens: intHeader(req, 'x-mock-cache-write-tokens', 0),
    reasoningTokens: intHeader(req, 'x-mock-reasoning-tokens', 0),
    noUsage: header(req, 'x-mock-no-usage') === 'true',
    gzip: header(req, 'x-mock-gzip') === 'true',
    model: header(req, 'x-mock-model') ?? null,
  };
}

type Json = Record<string, unknown>;

function parseJson(raw: Buffer): Json | null {
  try {
    const v: unknown = JSON.parse(raw.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

export async function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const opts: Required<MockUpstreamOptions> = {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    chunks: options.chunks ?? 5,
    chunkDelayMs: options.chunkDelayMs ?? 0,
    stallMs: options.stallMs ?? 30_000,
  };
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const stallTimers = new Set<NodeJS.Timeout>();
  const selfCut = new WeakSet<ReceivedRequest>();
  let activeCount = 0;
  let abortedCount = 0;
  let closing = false;
  const waiters = new Set<() => void>();
  const notify = (): void => { for (const w of [...waiters]) w(); };

  const stall = (res: http.ServerResponse): Promise<void> => new Promise((resolve) => {
    const t = setTimeout(() => { stallTimers.delete(t); resolve(); }, opts.stallMs);
    stallTimers.add(t);
    res.once('close', () => { clearTimeout(t); stallTimers.delete(t); resolve(); });
  });

  async function writeFrames(res: http.ServerResponse, frames: string[], delay: number, fault: string | null): Promise<void> {
    for (let i = 0; i < frames.length; i++) {
      if (res.destroyed) return;
      if (delay > 0 && i > 0) await sleep(delay);
      if (res.destroyed) return;
      // Let the first events reach the client before the reset: a reset discards unread data at the peer.
      if (i === 2 && fault === 'reset-mid') { await sleep(20); res.socket?.destroy(); return; }
      if (i === 2 && fault === 'stall-mid') { await stall(res); if (!res.destroyed) res.destroy(); return; }
      res.write(frames[i]);
    }
    res.end();
  }

  function sendJson(res: http.ServerResponse, status: number, obj: unknown, k: Knobs | null, extra: http.OutgoingHttpHeaders = {}): Promise<void> {
    const body = JSON.stringify(obj);
    if (k?.gzip && !k.fault) {
      const z = gzipSync(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': z.length, ...extra });
      res.end(z);
      return Promise.resolve();
    }
    if (k?.fault === 'truncated-json') {
      // Chunked (no content-length) so the cut is a clean end of body that only a JSON parser notices.
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(body.slice(0, Math.floor(body.length / 2)));
      return Promise.resolve();
    }
    if (k?.fault === 'reset-mid') {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
      res.write(body.slice(0, Math.floor(body.length / 2)));
      setTimeout(() => res.socket?.destroy(), 20);
      return Promise.resolve();
    }
    if (k?.fault === 'stall-mid' || k?.fault === 'slow-body') {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
      const half = Math.floor(body.length / 2);
      res.write(body.slice(0, half));
      const rest = (): void => { if (!res.destroyed) res.end(body.slice(half)); };
      if (k.fault === 'slow-body') return sleep(k.chunkDelay).then(rest);
      return stall(res).then(() => { if (!res.destroyed) res.destroy(); });
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'X-Mock-Served-By': 'mock', ...extra });
    res.end(body);
    return Promise.resolve();
  }

  function sseHead(res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  }

  function openAiUsage(k: Knobs, completion: number): Json {
    return {
      prompt_tokens: k.promptTokens, completion_tokens: completion, total_tokens: k.promptTokens + completion,
      prompt_tokens_details: { cached_tokens: k.cachedTokens, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: k.reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
  }

  async function chat(res: http.ServerResponse, body: Json, k: Knobs): Promise<void> {
    const model = k.model ?? (typeof body.model === 'string' ? body.model : 'gpt-4o-mini');
    const id = rid('chatcmpl-');
    const created = Math.floor(Date.now() / 1000);
    const usage = openAiUsage(k, k.pieces.length + k.reasoningTokens);
    if (body.stream !== true) {
      return sendJson(res, 200, {
        id, object: 'chat.completion', created, model, system_fingerprint: 'fp_mock',
        choices: [{ index: 0, message: { role: 'assistant', content: k.pieces.join(''), refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
        ...(k.noUsage ? {} : { usage }), service_tier: 'default',
      }, k);
    }
    const so = body.stream_options as Json | undefined;
    const incUsage = !k.noUsage && so?.include_usage === true;
    const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock' };
    const chunk = (choices: unknown[], u?: unknown): string =>
      `data: ${JSON.stringify({ ...base, choices, ...(incUsage ? { usage: u ?? null } : {}) })}\n\n`;
    const frames = [chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }])];
    for (const p of k.pieces) frames.push(chunk([{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }]));
    frames.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
    if (incUsage) frames.push(chunk([], usage));
    frames.push('data: [DONE]\n\n');
    if (k.fault === 'malformed-sse') {
      frames.splice(2, 0, 'data: {"id":"broken", "choices": [\n\n', ': a comment line\n', 'event\rdata:no-space\r\n\r\n', 'garbage without a blank line\n');
    }
    sseHead(res);
    await writeFrames(res, frames, k.chunkDelay, k.fault);
  }

  function responsesObject(id: string, model: string, k: Knobs, status: string, text: string | null): Json {
    const completion = k.pieces.length + k.reasoningTokens;
    return {
      id, object: 'response', created_at: Math.floor(Date.now() / 1000), status, model,
      output: text === null ? [] : [{
        id: 'msg_' + id.slice(5), type: 'message', status: 'completed', role: 'assistant',
        content: [{ type: 'output_text', text, annotations: [] }],
      }],
      usage: text === null || k.noUsage ? null : {
        input_tokens: k.promptTokens, input_tokens_details: { cached_tokens: k.cachedTokens },
        output_tokens: completion, output_tokens_details: { reasoning_tokens: k.reasoningTokens },
        total_tokens: k.promptTokens + completion,
      },
    };
  }

  async function responses(res: http.ServerResponse, body: Json, k: Knobs): Promise<void> {
    const model = k.model ?? (typeof body.model === 'string' ? body.model : 'gpt-4o-mini');
    const id = rid('resp_');
    const text = k.pieces.join('');
    if (body.stream !== true) return sendJson(res, 200, responsesObject(id, model, k, 'completed', text), k);
    let seq = 0;
    const ev = (type: string, obj: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...obj })}\n\n`;
    const itemId = 'msg_' + id.slice(5);
    const frames = [
      ev('response.created', { response: responsesObject(id, model, k, 'in_progress', null) }),
      ev('response.in_progress', { response: responsesObject(id, model, k, 'in_progress', null) }),
      ev('response.output_item.added', { output_index: 0, item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] } }),
      ev('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
    ];
    for (const p of k.pieces) frames.push(ev('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta: p }));
    frames.push(ev('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text }));
    frames.push(ev('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } }));
    frames.push(ev('response.output_item.done', { output_index: 0, item: { id: itemId, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] } }));
    frames.push(ev('response.completed', { response: responsesObject(id, model, k, 'completed', text) }));
    sseHead(res);
    await writeFrames(res, frames, k.chunkDelay, k.fault);
  }

  function embeddings(res: http.ServerResponse, body: Json, k: Knobs): Promise<void> {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const data = inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.01 * (index + 1), -0.02, 0.03, 0.5] }));
    return sendJson(res, 200, {
      object: 'list', data, model: k.model ?? body.model ?? 'text-embedding-3-small',
      ...(k.noUsage ? {} : { usage: { prompt_tokens: k.promptTokens, total_tokens: k.promptTokens } }),
    }, k);
  }

  function anthropicUsage(k: Knobs, output: number): Json {
    return { input_tokens: k.promptTokens, cache_creation_input_tokens: k.cacheWriteTokens, cache_read_input_tokens: k.cachedTokens, output_tokens: output };
  }

  async function messages(res: http.ServerResponse, body: Json, k: Knobs): Promise<void> {
    const model = k.model ?? (typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5');
    const id = rid('msg_');
    if (body.stream !== true) {
      return sendJson(res, 200, {
        id, type: 'message', role: 'assistant', model, content: [{ type: 'text', text: k.pieces.join('') }],
        stop_reason: 'end_turn', stop_sequence: null, ...(k.noUsage ? {} : { usage: anthropicUsage(k, k.pieces.length) }),
      }, k);
    }
    const ev = (name: string, obj: Json): string => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...obj })}\n\n`;
    const frames = [
      ev('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
        ...(k.noUsage ? {} : { usage: anthropicUsage(k, 1) }) } }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('ping', {}),
    ];
    for (const p of k.pieces) frames.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } }));
    frames.push(ev('content_block_stop', { index: 0 }));
    frames.push(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, ...(k.noUsage ? {} : { usage: { output_tokens: k.pieces.length } }) }));
    frames.push(ev('message_stop', {}));
    if (k.fault === 'malformed-sse') frames.splice(3, 0, 'event: content_block_delta\ndata: {not json\n\n');
    sseHead(res);
    await writeFrames(res, frames, k.chunkDelay, k.fault);
  }

  function errorBody(path: string, status: number): unknown {
    if (path.includes('/messages')) {
      const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
      return { type: 'error', error: { type, message: `mock ${status}` } };
    }
    return { error: { message: `mock ${status}`, type: status === 429 ? 'rate_limit_exceeded' : 'server_error', param: null, code: null } };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, rec: ReceivedRequest): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mock');
    const path = url.pathname;
    const k = knobs(req, rec.bytes, opts);
    rec.fault = k.fault;
    if (k.fault === 'reset-before' || k.fault === 'reset-mid') selfCut.add(rec);
    if (k.fault === 'reset-before') { req.socket.destroy(); return; }
    if (k.fault === 'stall-first-byte') { await stall(res); if (!res.destroyed) res.destroy(); return; }
    if (k.latency > 0) await sleep(k.latency);
    const status = /^status-(\d{3})$/.exec(k.fault ?? '');
    if (status) {
      const code = Number(status[1]);
      const extra: http.OutgoingHttpHeaders = code === 429 ? { 'retry-after': '1', 'x-ratelimit-remaining-requests': '0' } : code === 503 ? { 'retry-after': '2' } : {};
      await sendJson(res, code, errorBody(path, code), null, extra);
      return;
    }
    if (req.method === 'GET' && (path === '/health' || path === '/')) return sendJson(res, 200, { ok: true }, null);
    if (req.method === 'GET' && /^(\/v1)?\/models$/.test(path)) {
      return sendJson(res, 200, { object: 'list', data: [
        { id: 'gpt-4o-mini', object: 'model', created: 1700000000, owned_by: 'mock' },
        { id: 'text-embedding-3-small', object: 'model', created: 1700000000, owned_by: 'mock' },
      ] }, k);
    }
    const model = /^(?:\/v1)?\/models\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && model) return sendJson(res, 200, { id: decodeURIComponent(model[1]), object: 'model', created: 1700000000, owned_by: 'mock' }, k);
    if (req.method === 'POST' && /^(\/v1)?\/echo$/.test(path)) {
      // Echoes the raw body back with the request's content type: for non-JSON passthrough tests.
      const ct = header(req, 'content-type') ?? 'application/octet-stream';
      res.writeHead(200, { 'content-type': ct, 'content-length': rec.bytes.length });
      res.end(rec.bytes);
      return;
    }
    if (req.method !== 'POST') return sendJson(res, 404, { error: { message: `no route ${req.method} ${path}` } }, null);
    const body = parseJson(rec.bytes);
    if (!body) return sendJson(res, 400, errorBody(path, 400), null);
    if (/^(\/v1)?\/chat\/completions$/.test(path)) return chat(res, body, k);
    if (/^(\/v1)?\/responses$/.test(path)) return responses(res, body, k);
    if (/^(\/v1)?\/embeddings$/.test(path)) return embeddings(res, body, k);
    if (/^(\/v1)?\/messages\/count_tokens$/.test(path)) return sendJson(res, 200, { input_tokens: k.promptTokens }, k);
    if (/^(\/v1)?\/messages$/.test(path)) return messages(res, body, k);
    return sendJson(res, 404, { error: { message: `no route ${req.method} ${path}` } }, null);
  }

  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const rec: ReceivedRequest = {
      method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, rawHeaders: req.rawHeaders,
      body: '', bytes: Buffer.alloc(0), receivedAt: Date.now(), finished: false, aborted: false, fault: null,
    };
    activeCount++;
    let settled = false;
    const settle = (aborted: boolean): void => {
      if (settled) return;
      settled = true;
      activeCount--;
      // A connection the mock cut itself (reset faults) is not the client aborting.
      if (aborted && !selfCut.has(rec)) { rec.aborted = true; abortedCount++; } else if (!aborted) rec.finished = true;
      notify();
    };
    res.on('finish', () => settle(false));
    res.on('close', () => settle(!res.writableFinished));
    res.on('error', () => settle(true));
    req.on('error', () => { /* the client reset: counted by res 'close' */ });
    const bufs: Buffer[] = [];
    req.on('data', (b: Buffer) => bufs.push(b));
    req.on('end', () => {
      rec.bytes = Buffer.concat(bufs);
      rec.body = rec.bytes.toString('utf8');
      requests.push(rec);
      notify();
      handle(req, res, rec).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: String(e) } }, null).catch(() => undefined);
        else res.destroy();
      });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => { /* resets are part of the tests */ });
  });
  server.on('clientError', (_err, socket) => { socket.destroy(); });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;

  const waitUntil = (cond: () => boolean, timeoutMs: number, what: string): Promise<void> => new Promise((resolve, reject) => {
    if (cond()) { resolve(); return; }
    const check = (): void => { if (cond()) { cleanup(); resolve(); } };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`mock upstream: timed out waiting for ${what}`)); }, timeoutMs);
    const cleanup = (): void => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
  });

  return {
    url: `http://${opts.host}:${port}`,
    port,
    requests,
    active: () => activeCount,
    abortedCount: () => abortedCount,
    openSockets: () => sockets.size,
    waitForRequests: (n, timeoutMs = 5000) => waitUntil(() => requests.length >= n, timeoutMs, `${n} requests (have ${requests.length})`),
    waitIdle: (timeoutMs = 5000) => waitUntil(() => activeCount === 0, timeoutMs, 'idle'),
    reset: () => { requests.length = 0; abortedCount = 0; },
    close: async () => {
      if (closing) return;
      closing = true;
      for (const t of stallTimers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
