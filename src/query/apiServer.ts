// The Helicone-compatible query API served by the proxy under /api. It reads the record store
// and answers in Helicone's shapes ({data, error}), so a Helicone client, a script or another
// LLM Lens can query this machine's traffic exactly as it queries Helicone.
//
// It listens on loopback, which a web page can still reach: a page on evil.example whose DNS
// name is re-pointed at 127.0.0.1 (DNS rebinding) sends Host: evil.example, and a drive-by POST
// from any page carries its Origin. Both are refused before anything else happens.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { errorMessage, isLensError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { RecordReader, RecordSink } from '../core/store';
import type { LogRecord, RecordSummary, StoredBody, Usage } from '../core/types';
import { parseHeliconeHeaders } from '../proxy/heliconeHeaders';
import { redactHeaders, redactText } from '../store/redact';
import { compileFilter, compileSessionFilter, createdAtBounds } from './filter';
import type { FilterNode } from './filter';
import { SESSION_ID_PROPERTY, SESSION_NAME_PROPERTY, toHeliconeRow } from './rows';
import type { HeliconeRow, HeliconeSessionRow } from './rows';
import {
  DEFAULT_LIMIT,
  customLogBodySchema,
  describeZodError,
  requestQueryBodySchema,
  sessionQueryBodySchema,
} from './schemas';
import type { CustomLogBody, SortLeaf } from './schemas';

export interface QueryApiDeps {
  store: RecordReader & RecordSink;
  logger: Logger;
  /** When set, every route but /health needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest accepted request body; custom logs carry whole LLM requests. Default 8 MB. */
  maxBodyBytes?: number;
  now?: () => number;
}

export type QueryApiHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;
const SESSION_DEFAULT_LIMIT = 50; // Helicone's session query returns at most 50
const BODY_READ_CONCURRENCY = 16;

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Host / Origin / token

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Splits "host:port" / "[v6]:port"; null when it is not a well-formed Host value. */
function splitHost(value: string): { host: string; port: number | null } | null {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return null;
  return { host: m[1].toLowerCase(), port: m[2] !== undefined ? Number(m[2]) : null };
}

/** Host must name the loopback interface and the port we are actually listening on. */
export function isLocalHostHeader(host: string | undefined, localPort: number | undefined): boolean {
  if (!host) return false;
  const h = splitHost(host);
  if (!h || !LOOPBACK_HOSTS.has(h.host)) return false;
  const port = h.port ?? 80;
  return localPort === undefined || port === localPort;
}

/** An Origin is local when it is an http(s) origin on a loopback host (any port: a local tool's page). */
export function isLocalOrigin(origin: string): boolean {
  let u: URL;
  try { u = new URL(origin); } catch { return false; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  return LOOPBACK_HOSTS.has(u.hostname.toLowerCase());
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const given = createHash('sha256').update(m ? m[1].trim() : '').digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

function send(res: ServerResponse, status: number, body: { data: unknown; error: string | null }, headers: Record<string, string> = {}): void {
  if (res.headersSent) { res.end(); return; }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `request body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const raw = await readBody(req, limit);
  const text = raw.toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HttpError(400, `body: not valid JSON (${errorMessage(e)})`);
  }
}

function parseWith<T>(schema: z.ZodType<T, unknown>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, describeZodError(r.error));
  return r.data;
}

// ---------------------------------------------------------------------------------------------
// Request query

const ascNullsLast = (a: number | string | null, b: number | string | null): number => {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
};

/** Helicone's order of precedence when a sort names several keys. */
function sortRows(rows: Array<{ row: HeliconeRow; s: RecordSummary }>, sort: SortLeaf | undefined): void {
  type Key = { dir: 'asc' | 'desc'; get: (x: { row: HeliconeRow; s: RecordSummary }) => number | string | null };
  let key: Key = { dir: 'desc', get: (x) => x.s.startedAt };
  if (sort) {
    if (sort.created_at) key = { dir: sort.created_at, get: (x) => x.s.startedAt };
    else if (sort.latency) key = { dir: sort.latency, get: (x) => x.row.delay_ms };
    else if (sort.total_tokens) key = { dir: sort.total_tokens, get: (x) => x.row.total_tokens };
    else if (sort.completion_tokens) key = { dir: sort.completion_tokens, get: (x) => x.row.completion_tokens };
    else if (sort.prompt_tokens) key = { dir: sort.prompt_tokens, get: (x) => x.row.prompt_tokens };
    else if (sort.user_id) key = { dir: sort.user_id, get: (x) => x.row.request_user_id };
    else if (sort.body_model) key = { dir: sort.body_model, get: (x) => x.row.model };
    else if (sort.cost) key = { dir: sort.cost, get: (x) => x.row.cost };
    else if (sort.properties) {
      const [name, dir] = Object.entries(sort.properties)[0] ?? [];
      if (name !== undefined && dir !== undefined) key = { dir, get: (x) => (Object.prototype.hasOwnProperty.call(x.row.properties, name) ? x.row.properties[name] : null) };
    }
  }
  const sign = key.dir === 'asc' ? 1 : -1;
  rows.sort((a, b) => {
    const ka = key.get(a);
    const kb = key.get(b);
    // Missing values go last in either direction, as they would in a report.
    const c = ka === null || kb === null ? ascNullsLast(ka, kb) : sign * ascNullsLast(ka, kb);
    if (c !== 0) return c;
    // Ties: newest first, then id, so offset paging is stable.
    return b.s.startedAt - a.s.startedAt || (a.s.id < b.s.id ? -1 : a.s.id > b.s.id ? 1 : 0);
  });
}

/** Finished requests (pending ones are not in Helicone's table either) narrowed to the filter's time bounds. */
function candidates(store: RecordReader, filter: FilterNode): RecordSummary[] {
  const { since, until } = createdAtBounds(filter);
  const q: { since?: number; until?: number } = {};
  // One ms of slack either way: the store's bound may be exclusive; the full filter re-checks.
  if (since !== undefined && Number.isFinite(since)) q.since = since - 1;
  if (until !== undefined && Number.isFinite(until)) q.until = until + 1;
  return store.list(q).filter((s) => s.state !== 'pending');
}

async function withBodies(store: RecordReader, rows: HeliconeRow[], summaries: RecordSummary[]): Promise<HeliconeRow[]> {
  const out: HeliconeRow[] = new Array<HeliconeRow>(rows.length);
  for (let i = 0; i < rows.length; i += BODY_READ_CONCURRENCY) {
    const slice = summaries.slice(i, i + BODY_READ_CONCURRENCY);
    const bodies = await Promise.all(slice.map((s) => store.getBodies(s.id).catch(() => undefined)));
    slice.forEach((s, j) => {
      out[i + j] = bodies[j] ? toHeliconeRow(s, bodies[j]) : { ...rows[i + j], request_body: null, response_body: null };
    });
  }
  return out;
}

type Matched = Array<{ row: HeliconeRow; s: RecordSummary }>;

/**
 * The last query's sorted matches, reused while the store has not changed: a client paging
 * through a window asks the same question once per page, and each answer would otherwise scan
 * every record again.
 */
interface MatchCache { key: string; version: number; at: number; matched: Matched }
const MATCH_CACHE_MS = 30_000;

async function requestQuery(deps: QueryApiDeps, body: unknown, cache: { entry: MatchCache | null; version: number }): Promise<{ rows: HeliconeRow[]; total: number }> {
  const q = parseWith(requestQueryBodySchema, body);
  const filter: FilterNode = q.filter ?? 'all';
  let pred: (row: HeliconeRow) => boolean;
  try {
    pred = compileFilter(filter);
  } catch (e) {
    throw new HttpError(400, isLensError(e) ? `body.${e.message}` : errorMessage(e));
  }
  // No scores or experiments exist locally: asking for scored / experiment rows finds none.
  if (q.isScored === true || q.isPartOfExperiment === true) return { rows: [], total: 0 };
  const key = JSON.stringify([filter, q.sort ?? null, q.isCached === true]);
  const now = Date.now();
  let matched: Matched;
  const hit = cache.entry;
  if (hit && hit.key === key && hit.version === cache.version && now - hit.at < MATCH_CACHE_MS) {
    matched = hit.matched;
  } else {
    matched = [];
    for (const s of candidates(deps.store, filter)) {
      if (q.isCached === true && !s.cache?.hit) continue;
      const row = toHeliconeRow(s);
      if (pred(row)) matched.push({ row, s });
    }
    sortRows(matched, q.sort);
    cache.entry = { key, version: cache.version, at: now, matched };
  }
  const offset = q.offset ?? 0;
  const page = matched.slice(offset, offset + (q.limit ?? DEFAULT_LIMIT));
  // Copies: a caller must not be able to change the cached rows.
  const rows = page.map((x) => ({ ...x.row, properties: { ...x.row.properties }, request_properties: { ...x.row.request_properties } }));
  return {
    rows: q.includeBodies ? await withBodies(deps.store, rows, page.map((x) => x.s)) : rows,
    total: matched.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Session query

function sessionQuery(deps: QueryApiDeps, body: unknown): HeliconeSessionRow[] {
  const q = parseWith(sessionQueryBodySchema, body);
  let f: ReturnType<typeof compileSessionFilter>;
  try {
    f = compileSessionFilter(q.filter ?? 'all');
  } catch (e) {
    throw new HttpError(400, isLensError(e) ? `body.${e.message}` : errorMessage(e));
  }
  const search = q.search?.toLowerCase() ?? '';
  const groups = new Map<string, { rows: HeliconeRow[]; name: string | null }>();
  for (const s of deps.store.list().filter((x) => x.state !== 'pending' && x.session !== null)) {
    // Helicone's time filter is exclusive at both ends (gt start, lt end).
    if (q.timeFilter && !(s.startedAt > q.timeFilter.startTimeUnixMs && s.startedAt < q.timeFilter.endTimeUnixMs)) continue;
    const row = toHeliconeRow(s);
    const id = row.properties[SESSION_ID_PROPERTY];
    const name = row.properties[SESSION_NAME_PROPERTY] ?? null;
    if (q.nameEquals !== undefined && name !== q.nameEquals) continue;
    if (search && !id.toLowerCase().includes(search) && !(name ?? '').toLowerCase().includes(search)) continue;
    if (!f.row(row)) continue;
    const g = groups.get(id) ?? { rows: [], name: null };
    g.rows.push(row);
    g.name ??= name;
    groups.set(id, g);
  }
  const sessions: HeliconeSessionRow[] = [];
  for (const [id, g] of groups) {
    const times = g.rows.map((r) => Date.parse(r.request_created_at));
    const latencies = g.rows.map((r) => r.delay_ms).filter((x): x is number => x !== null);
    const sum = (get: (r: HeliconeRow) => number | null): number => g.rows.reduce((acc, r) => acc + (get(r) ?? 0), 0);
    const prompt = sum((r) => r.prompt_tokens);
    const completion = sum((r) => r.completion_tokens);
    const session: HeliconeSessionRow = {
      session_id: id,
      session_name: g.name ?? '',
      created_at: new Date(Math.min(...times)).toISOString(),
      latest_request_created_at: new Date(Math.max(...times)).toISOString(),
      total_cost: sum((r) => r.cost),
      total_requests: g.rows.length,
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      avg_latency: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0,
    };
    if (f.session(session)) sessions.push(session);
  }
  sessions.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.session_id < b.session_id ? -1 : 1));
  const offset = q.offset ?? 0;
  return sessions.slice(offset, offset + (q.limit ?? SESSION_DEFAULT_LIMIT));
}

// ---------------------------------------------------------------------------------------------
// Custom log

function storedJson(value: unknown): StoredBody {
  if (value === undefined) return { kind: 'empty', size: 0, truncated: false };
  return { kind: 'json', json: value, size: Buffer.byteLength(JSON.stringify(value) ?? ''), truncated: false };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);

/** Token counts when the logged response carries an OpenAI- or Anthropic-style usage object. */
function usageOf(json: unknown): Usage | null {
  if (typeof json !== 'object' || json === null) return null;
  const u = (json as { usage?: unknown }).usage;
  if (typeof u !== 'object' || u === null) return null;
  const o = u as Record<string, unknown>;
  const openaiPrompt = num(o.prompt_tokens);
  const anthropicIn = num(o.input_tokens);
  if (openaiPrompt === null && anthropicIn === null) return null;
  const cacheRead = num(o.cache_read_input_tokens) ?? num((o.prompt_tokens_details as Record<string, unknown> | undefined)?.cached_tokens) ?? 0;
  const cacheWrite = num(o.cache_creation_input_tokens) ?? 0;
  // Anthropic reports cache reads/writes beside input_tokens; ours counts them inside prompt tokens.
  const prompt = openaiPrompt ?? (anthropicIn ?? 0) + cacheRead + cacheWrite;
  const completion = num(o.completion_tokens) ?? num(o.output_tokens) ?? 0;
  return {
    promptTokens: prompt,
    completionTokens: completion,
    cacheReadTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: num((o.completion_tokens_details as Record<string, unknown> | undefined)?.reasoning_tokens) ?? 0,
    totalTokens: prompt + completion,
    estimated: false,
  };
}

/** What Helicone's manual logger calls non-LLM steps: a tool, a vector DB lookup, a data step. */
function stepModel(json: Record<string, unknown>): { model: string | null; isStep: boolean } {
  const type = json._type;
  if (type === 'tool') return { model: typeof json.toolName === 'string' ? `tool:${json.toolName}` : 'tool', isStep: true };
  if (type === 'vector_db') return { model: typeof json.databaseName === 'string' ? `vector_db:${json.databaseName}` : 'vector_db', isStep: true };
  if (type === 'data') return { model: typeof json.name === 'string' ? `data:${json.name}` : 'data', isStep: true };
  return { model: typeof json.model === 'string' ? json.model : null, isStep: false };
}

function customLogRecord(body: CustomLogBody, req: IncomingMessage, now: number): LogRecord {
  // Helicone's SDKs send Helicone-* settings as HTTP headers; some put them in providerRequest.meta.
  // Real headers come first so they win over meta.
  const raw = [...req.rawHeaders];
  for (const [k, v] of Object.entries(body.providerRequest.meta ?? {})) raw.push(k, v);
  const h = parseHeliconeHeaders(raw);
  const warnings = [...h.warnings];

  const toMs = (t: { seconds: number; milliseconds?: number }): number => t.seconds * 1000 + (t.milliseconds ?? 0);
  let startedAt = now;
  let endedAt: number | null = now;
  let latencyMs: number | null = null;
  let ttftMs: number | null = null;
  if (body.timing) {
    startedAt = toMs(body.timing.startTime);
    endedAt = toMs(body.timing.endTime);
    latencyMs = endedAt - startedAt;
    if (latencyMs < 0) {
      warnings.push('timing.endTime is before timing.startTime; latency left unknown');
      latencyMs = null;
      endedAt = startedAt;
    }
    ttftMs = body.timing.timeToFirstToken ?? null;
  }

  const reqJson = body.providerRequest.json;
  const resp = body.providerResponse;
  const { model, isStep } = stepModel(reqJson);
  const responseModel = typeof resp.json === 'object' && resp.json !== null && typeof (resp.json as { model?: unknown }).model === 'string'
    ? (resp.json as { model: string }).model
    : null;
  const status = resp.status;
  const url = body.providerRequest.url ?? 'custom-model-nopath';
  const requestBody: StoredBody = h.omitRequest ? { kind: 'omitted', size: storedJson(reqJson).size, truncated: false } : storedJson(reqJson);
  let responseBody: StoredBody = resp.json !== undefined
    ? storedJson(resp.json)
    : resp.textBody !== undefined
      ? { kind: 'text', text: resp.textBody, size: Buffer.byteLength(resp.textBody), truncated: false }
      : { kind: 'empty', size: 0, truncated: false };
  if (h.omitResponse) responseBody = { kind: 'omitted', size: responseBody.size, truncated: false };
  const usage = usageOf(resp.json);

  const requestHeaders: Record<string, string | string[] | undefined> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) requestHeaders[req.rawHeaders[i]] = req.rawHeaders[i + 1];

  return {
    id: h.requestId,
    kind: 'custom',
    state: status >= 400 || status === 0 ? 'error' : 'ok',
    startedAt,
    firstByteAt: null,
    endedAt,
    latencyMs,
    ttftMs,
    provider: 'custom',
    targetUrl: url,
    method: 'POST',
    path: url,
    requestModel: model,
    responseModel,
    status,
    error: status >= 400 || status === 0 ? { kind: 'upstream_status', message: `the logged step answered ${status}` } : null,
    streamed: false,
    usage,
    // A tool / data / vector-db step uses no LLM tokens: it costs nothing. An LLM call logged by
    // hand is not priced here, so its cost is unknown (null), never a made-up 0.
    costUsd: isStep ? 0 : null,
    cost: null,
    price: null,
    properties: h.properties,
    userId: h.userId,
    session: h.session,
    cache: null,
    omitRequest: h.omitRequest,
    omitResponse: h.omitResponse,
    requestHeaders: redactHeaders(requestHeaders),
    responseHeaders: redactHeaders(resp.headers ?? {}),
    requestBytes: requestBody.size,
    responseBytes: responseBody.size,
    warnings,
    bodies: { request: requestBody, response: responseBody, streamEvents: null, reassembled: null },
  };
}

// ---------------------------------------------------------------------------------------------
// The handler

/**
 * Serves /api/health, /api/v1/request/query(-clickhouse), /api/v1/request/{id},
 * /api/v1/session/query and /api/custom/v1/log (the /api prefix is optional, so it can be
 * mounted with or without it). Never rejects: every failure becomes a JSON answer.
 */
export function createQueryApi(deps: QueryApiDeps): QueryApiHandler {
  const maxBody = deps.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const now = deps.now ?? Date.now;
  const matchCache: { entry: MatchCache | null; version: number } = { entry: null, version: 0 };
  // Any change to the store (a new record, a deletion, a reload) makes cached matches stale.
  deps.store.onDidChange(() => { matchCache.version++; matchCache.entry = null; });

  return async (req, res) => {
    try {
      // Both checks come first: a refused request must not learn or change anything.
      // A non-local Host is refused (DNS rebinding) unless the request carries the configured token:
      // a rebinding page cannot know it, and a teammate's LLM Lens reading this one as a remote
      // source (a staging box bound with --host) must be able to address it by its own name.
      if (!isLocalHostHeader(req.headers.host, req.socket.localPort)
          && !(deps.token !== undefined && tokenMatches(req.headers.authorization, deps.token))) {
        deps.logger.warn(`query API: refused a request with Host ${JSON.stringify(redactText(String(req.headers.host ?? '')).slice(0, 100))}`);
        throw new HttpError(403, 'forbidden: the query API only answers requests addressed to 127.0.0.1, localhost or [::1] on its own port, or that carry its token');
      }
      const origin = req.headers.origin;
      if (origin !== undefined && !isLocalOrigin(origin)) {
        deps.logger.warn(`query API: refused a request from Origin ${JSON.stringify(origin.slice(0, 100))}`);
        throw new HttpError(403, 'forbidden: cross-origin requests from non-local pages are refused');
      }

      // A browser also marks a cross-site navigation or subresource load that carries no Origin.
      if (req.headers['sec-fetch-site'] === 'cross-site') {
        throw new HttpError(403, 'forbidden: cross-site requests are refused');
      }

      const url = new URL(req.url ?? '/', 'http://localhost');
      let path = url.pathname.replace(/\/+$/, '') || '/';
      if (path === '/api' || path.startsWith('/api/')) path = path.slice(4) || '/';
      const method = req.method ?? 'GET';

      if (method === 'OPTIONS') { res.writeHead(204, { Allow: 'GET, POST, OPTIONS' }); res.end(); return; }

      if (path === '/health') {
        if (method !== 'GET') throw new HttpError(405, 'use GET', { Allow: 'GET' });
        send(res, 200, { data: { status: 'ok', requests: deps.store.count() }, error: null });
        return;
      }

      if (deps.token !== undefined && !tokenMatches(req.headers.authorization, deps.token)) {
        throw new HttpError(401, 'unauthorized: send Authorization: Bearer <the token set for the LLM Lens query API>', { 'WWW-Authenticate': 'Bearer' });
      }

      if (path === '/v1/request/query' || path === '/v1/request/query-clickhouse') {
        if (method !== 'POST') throw new HttpError(405, 'use POST', { Allow: 'POST' });
        const { rows, total } = await requestQuery(deps, await readJson(req, Math.min(maxBody, 1024 * 1024)), matchCache);
        send(res, 200, { data: rows, error: null }, { 'X-Total-Count': String(total) });
        return;
      }

      if (path === '/v1/session/query') {
        if (method !== 'POST') throw new HttpError(405, 'use POST', { Allow: 'POST' });
        send(res, 200, { data: sessionQuery(deps, await readJson(req, Math.min(maxBody, 1024 * 1024))), error: null });
        return;
      }

      if (path === '/custom/v1/log') {
        if (method !== 'POST') throw new HttpError(405, 'use POST', { Allow: 'POST' });
        const body = parseWith(customLogBodySchema, await readJson(req, maxBody));
        const record = customLogRecord(body, req, now());
        const written = await deps.store.complete(record);
        if (!written) throw new HttpError(500, 'the record store could not write the log; see the LLM Lens log');
        send(res, 200, { data: { request_id: record.id }, error: null }, { 'Helicone-Id': record.id });
        return;
      }

      const byId = /^\/v1\/request\/([^/]+)$/.exec(path);
      if (byId && byId[1] !== 'query') {
        if (method !== 'GET') throw new HttpError(405, 'use GET', { Allow: 'GET' });
        let id: string;
        try { id = decodeURIComponent(byId[1]); } catch { throw new HttpError(400, 'request id: not a valid URL path segment'); }
        const summary = deps.store.get(id);
        if (!summary) throw new HttpError(404, `request ${JSON.stringify(id.slice(0, 100))} not found`);
        const bodies = await deps.store.getBodies(id).catch(() => undefined);
        send(res, 200, { data: toHeliconeRow(summary, bodies), error: null });
        return;
      }

      throw new HttpError(404, `no such endpoint: ${method} /api${path}`);
    } catch (e) {
      if (e instanceof HttpError) {
        // A body we refused to read stays unread: close the connection rather than drain it.
        send(res, e.status, { data: null, error: e.message }, e.status === 413 ? { ...e.headers, Connection: 'close' } : e.headers);
        return;
      }
      deps.logger.error(`query API: ${req.method ?? '?'} ${req.url ?? '?'} failed: ${errorMessage(e)}`);
      send(res, 500, { data: null, error: `internal error: ${errorMessage(e)}` });
    }
  };
}
