// A fake Helicone query API on loopback, for testing the query client without the network.
//
// Its filter evaluation is written separately from src/query/filter.ts on purpose: a test that
// ran both sides through the same code could not catch a bug in it. It models what Helicone's
// server does (packages/filters/filters.ts): every table of a leaf is ANDed, but only the FIRST
// field of a table and the FIRST operator of a field count; contains is a case-insensitive
// substring; like/ilike use % and _. Kept small enough to check by eye.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A row as Helicone's /v1/request/query-clickhouse returns it (JSON field names). */
export type FakeRow = Record<string, unknown> & {
  request_id: string;
  request_created_at: string;
  response_status: number;
  properties: Record<string, string>;
};

export type FakeFault =
  /** Answer the next request with this status (and Retry-After, and body). */
  | { status: number; retryAfter?: string; body?: string }
  /** Wait this long before answering the next request normally. */
  | { delayMs: number }
  /** Answer the next request normally but with this field removed from every row. */
  | { dropField: string };

export interface ReceivedQuery {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  at: number;
}

export interface FakeHelicone {
  readonly url: string;
  readonly port: number;
  /** The fixture rows; tests may push more. */
  rows: FakeRow[];
  readonly requests: ReceivedQuery[];
  /** Scripted faults, consumed one per request in order. */
  script(...faults: FakeFault[]): void;
  /** Added delay before every answer. */
  delayMs: number;
  close(): Promise<void>;
}

// --- filter semantics (independent implementation) --------------------------------------------

const COLUMNS: Record<string, string> = {
  model: 'model',
  status: 'response_status',
  latency: 'delay_ms',
  cost: 'cost',
  user_id: 'request_user_id',
  request_id: 'request_id',
  request_created_at: 'request_created_at',
  provider: 'provider',
  total_tokens: 'total_tokens',
  prompt_tokens: 'prompt_tokens',
  completion_tokens: 'completion_tokens',
  time_to_first_token: 'time_to_first_token',
  target_url: 'target_url',
};
const TIME_COLUMNS = new Set(['request_created_at']);

function likeToRegExp(pattern: string, flags: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, `s${flags}`);
}

function test1(value: unknown, op: string, arg: unknown, isTime: boolean): boolean {
  if (arg === 'null' && (op === 'equals' || op === 'not-equals')) {
    const isNull = value === null || value === undefined;
    return op === 'equals' ? isNull : !isNull;
  }
  if (isTime) {
    if (typeof value !== 'string') return false;
    const a = Date.parse(value);
    const b = Date.parse(String(arg));
    return op === 'gte' ? a >= b : op === 'lte' ? a <= b : op === 'gt' ? a > b : op === 'lt' ? a < b : op === 'equals' ? a === b : false;
  }
  if (typeof arg === 'number') {
    if (typeof value !== 'number') return false;
    switch (op) {
      case 'equals': return value === arg;
      case 'not-equals': return value !== arg;
      case 'gte': return value >= arg;
      case 'lte': return value <= arg;
      case 'gt': return value > arg;
      case 'lt': return value < arg;
    }
    return false;
  }
  const s = value === null || value === undefined ? '' : String(value);
  const a = String(arg);
  switch (op) {
    case 'equals': return s === a;
    case 'not-equals': return s !== a;
    case 'like': return likeToRegExp(a, '').test(s);
    case 'ilike': return likeToRegExp(a, 'i').test(s);
    case 'contains': return s.toLowerCase().includes(a.toLowerCase());
    case 'not-contains': return !s.toLowerCase().includes(a.toLowerCase());
  }
  throw new Error(`fake Helicone: unsupported operator ${op}`);
}

function firstEntry(o: unknown): [string, unknown] {
  const e = Object.entries(o as Record<string, unknown>)[0];
  if (!e) throw new Error('fake Helicone: empty filter object');
  return e;
}

/** The fake's reading of a filter tree on one row (exported for a differential test). */
export function fakeMatches(node: unknown, row: FakeRow): boolean {
  if (node === 'all') return true;
  const n = node as Record<string, unknown>;
  if ('left' in n) {
    const l = fakeMatches(n.left, row);
    const r = fakeMatches(n.right, row);
    return n.operator === 'and' ? l && r : l || r;
  }
  return Object.entries(n).every(([table, fields]) => {
    if (Object.keys(fields as object).length === 0) return true;
    if (table === 'properties') {
      const [name, ops] = firstEntry(fields);
      const [op, arg] = firstEntry(ops);
      return test1(row.properties[name], op, arg, false);
    }
    if (table !== 'request_response_rmt') throw new Error(`fake Helicone: unsupported table ${table}`);
    const [field, ops] = firstEntry(fields);
    if (field === 'properties') {
      const [name, propOps] = firstEntry(ops);
      const [op, arg] = firstEntry(propOps);
      return test1(row.properties[name], op, arg, false);
    }
    const column = COLUMNS[field];
    if (!column) throw new Error(`fake Helicone: unsupported field ${field}`);
    const [op, arg] = firstEntry(ops);
    return test1(row[column], op, arg, TIME_COLUMNS.has(column));
  });
}

// --- fixtures -----------------------------------------------------------------------------------

export interface FixtureOptions {
  count: number;
  /** Rows are spread evenly over [since, until). */
  since: number;
  until: number;
  environments?: string[];
  models?: string[];
  /** Every n-th row of an environment answers 500 (0 = never). */
  errorEvery?: number;
  idPrefix?: string;
}

/**
 * Deterministic rows across environments (development, staging, production by default): row i is
 * in environments[i % n], uses models[i % m], has latency 100 + 10*i ms and cost 0.001 * (1 + i % 5).
 */
export function makeHeliconeRows(opts: FixtureOptions): FakeRow[] {
  const envs = opts.environments ?? ['development', 'staging', 'production'];
  const models = opts.models ?? ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet'];
  const step = (opts.until - opts.since) / Math.max(1, opts.count);
  const rows: FakeRow[] = [];
  for (let i = 0; i < opts.count; i++) {
    const env = envs[i % envs.length];
    const model = models[i % models.length];
    const created = new Date(Math.floor(opts.since + i * step)).toISOString();
    const failed = opts.errorEvery ? Math.floor(i / envs.length) % opts.errorEvery === opts.errorEvery - 1 : false;
    const hex = i.toString(16).padStart(12, '0');
    rows.push({
      response_id: `${opts.idPrefix ?? '00000000'}-0000-4000-8000-${hex}`,
      response_created_at: created,
      response_body: '{"helicone_message": "fetching body from signed_url... contact engineering@helicone.ai for more information"}',
      response_status: failed ? 500 : 200,
      request_id: `${opts.idPrefix ?? '00000000'}-1111-4000-8000-${hex}`,
      request_created_at: created,
      request_user_id: `user-${i % 4}`,
      request_properties: { Environment: env },
      properties: { Environment: env },
      provider: model.startsWith('claude') ? 'ANTHROPIC' : 'OPENAI',
      delay_ms: 100 + 10 * i,
      request_model: model,
      model,
      time_to_first_token: 50 + i,
      total_tokens: 30,
      completion_tokens: 10,
      prompt_tokens: 20,
      prompt_cache_read_tokens: 0,
      prompt_cache_write_tokens: 0,
      country_code: 'US',
      scores: {},
      target_url: model.startsWith('claude') ? 'https://api.anthropic.com/v1/messages' : 'https://api.openai.com/v1/chat/completions',
      cache_reference_id: '00000000-0000-0000-0000-000000000000',
      cache_enabled: false,
      cost: 0.001 * (1 + (i % 5)),
      costUSD: 0.001 * (1 + (i % 5)),
    });
  }
  return rows;
}

// --- server -------------------------------------------------------------------------------------

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : {};
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

export async function startFakeHelicone(opts: { apiKey: string; rows?: FakeRow[] }): Promise<FakeHelicone> {
  const faults: FakeFault[] = [];
  const requests: ReceivedQuery[] = [];
  const sockets = new Set<Socket>();
  const state = { delayMs: 0, rows: opts.rows ?? [] };

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readJson(req).catch(() => undefined);
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      const fault = faults.shift();
      const delay = state.delayMs + (fault && 'delayMs' in fault ? fault.delayMs : 0);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (res.destroyed) return;

      if (req.headers.authorization !== `Bearer ${opts.apiKey}`) {
        reply(res, 401, JSON.stringify({ error: 'Unauthorized' }));
        return;
      }
      if (fault && 'status' in fault) {
        reply(res, fault.status, fault.body ?? JSON.stringify({ data: null, error: `fake fault ${fault.status}` }), fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {});
        return;
      }
      if (req.method !== 'POST' || !/^\/v1\/request\/query(-clickhouse)?$/.test(req.url ?? '')) {
        reply(res, 404, JSON.stringify({ error: 'not found' }));
        return;
      }
      const q = body as { filter?: unknown; limit?: number; offset?: number; sort?: { created_at?: string } };
      const limit = q.limit ?? 10;
      const offset = q.offset ?? 0;
      if (limit < 0 || limit > 1000) {
        reply(res, 500, JSON.stringify({ data: null, error: 'invalid limit' }));
        return;
      }
      let matched: FakeRow[];
      try {
        matched = state.rows.filter((r) => fakeMatches(q.filter ?? 'all', r));
      } catch (e) {
        reply(res, 500, JSON.stringify({ data: null, error: String(e) }));
        return;
      }
      const dir = q.sort?.created_at === 'asc' ? 1 : -1;
      const keyed = matched.map((r) => ({ r, t: Date.parse(r.request_created_at) }));
      keyed.sort((a, b) => dir * (a.t - b.t));
      let page: Array<Record<string, unknown>> = keyed.slice(offset, offset + limit).map((k) => k.r);
      if (fault && 'dropField' in fault) {
        page = page.map((r) => { const c = { ...r }; delete c[fault.dropField]; return c; });
      }
      reply(res, 200, JSON.stringify({ data: page, error: null }));
    })().catch((e: unknown) => { if (!res.headersSent) reply(res, 500, JSON.stringify({ data: null, error: String(e) })); });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get rows() { return state.rows; },
    set rows(r: FakeRow[]) { state.rows = r; },
    requests,
    script: (...f: FakeFault[]) => { faults.push(...f); },
    get delayMs() { return state.delayMs; },
    set delayMs(v: number) { state.delayMs = v; },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
