// One client for every Helicone-compatible source: Helicone US/EU, a self-hosted Helicone, or
// another LLM Lens proxy's /api. Responses are validated (unknown fields pass, a missing required
// field is an error naming it) and every failure is a LensError whose code the UI turns into a
// state: QUERY_AUTH (fix the key), QUERY_RATE_LIMITED (wait), QUERY_UNAVAILABLE (stale data),
// QUERY_BAD_RESPONSE / QUERY_BAD_REQUEST (a bug or a wrong URL, said plainly).
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { LensError, errorMessage } from '../core/errors';
import type { LensErrorCode } from '../core/errors';
import type { Logger } from '../core/logger';
import { redactText } from '../store/redact';
import { and, parseTimestamp, timeWindow } from './filter';
import type { FilterNode } from './filter';
import { DEFAULT_UUID } from './rows';
import type { HeliconeRow, HeliconeSessionRow } from './rows';
import { MAX_LIMIT } from './schemas';
import type { RequestQueryBody, SessionQueryBody } from './schemas';

export const HELICONE_US_BASE_URL = 'https://api.helicone.ai';
export const HELICONE_EU_BASE_URL = 'https://eu.api.helicone.ai';

/** A query failure; `status` is the HTTP status when one arrived, `retryAfterMs` the server's Retry-After. */
export class QueryError extends LensError {
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  constructor(code: LensErrorCode, message: string, opts: { status?: number | null; retryAfterMs?: number | null; cause?: unknown } = {}) {
    super(code, message, { cause: opts.cause });
    this.name = 'QueryError';
    this.status = opts.status ?? null;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }
}

export interface HeliconeQueryClientOptions {
  /** e.g. https://api.helicone.ai, https://eu.api.helicone.ai, http://127.0.0.1:8787/api */
  baseUrl: string;
  apiKey?: string;
  logger: Logger;
  /** Per attempt, headers and body alike (default 30 s). */
  timeoutMs?: number;
  /** Retries after the first attempt for 429, 5xx, timeouts and network errors (default 3). */
  maxRetries?: number;
  /** First backoff step; doubles per retry, with full jitter (default 500 ms). */
  retryBaseMs?: number;
  /** Longest backoff step (default 8 s). */
  retryMaxMs?: number;
  /** A Retry-After longer than this is not waited out here: the error goes to the caller at once (default 60 s). */
  maxRetryAfterMs?: number;
  /**
   * Request listing path. Helicone evaluates request_response_rmt filters on its ClickHouse
   * endpoint (its /v1/request/query reads Postgres tables), so that is the default; LLM Lens
   * serves both paths.
   */
  requestQueryPath?: '/v1/request/query-clickhouse' | '/v1/request/query';
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface QueryWindowOptions extends CallOptions {
  /** Epoch ms, inclusive. */
  since: number;
  /** Epoch ms, exclusive. */
  until: number;
  filter?: FilterNode;
  /** Stop after this many rows and report capped: true (default 10,000). */
  rowCap?: number;
  /** Rows per request, at most 1000 (default 1000). */
  pageSize?: number;
}

// ---------------------------------------------------------------------------------------------
// Response validation

/** "required field missing" when absent, else `text`. */
const err = (text: string): { error: (iss: { input?: unknown }) => string } => ({
  error: (iss) => (iss.input === undefined ? 'required field missing' : text),
});

const NUMERIC = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i;
// ClickHouse sends 64-bit integers as strings: accept numeric strings wherever a number goes.
const numberish = z.union([z.number(), z.string().regex(NUMERIC).transform(Number)], err('expected a number'));
const optNum = numberish.nullable().optional();
const optStr = z.string(err('expected a string')).nullable().optional();
const stringMap = z
  .record(z.string(), z.unknown(), err('expected an object'))
  .transform((o) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
    return out;
  })
  .nullable()
  .optional();
const boolish = z.union([z.boolean(), z.number().transform((n) => n !== 0)], err('expected a boolean')).nullable().optional();

export const heliconeRowSchema = z.looseObject({
  request_id: z.string(err('expected a string')),
  request_created_at: z.string(err('expected a timestamp string')).refine((s) => parseTimestamp(s) !== null, { error: 'expected an ISO 8601 timestamp' }),
  response_status: numberish.nullable(),
  response_created_at: optStr,
  request_model: optStr,
  response_model: optStr,
  model: optStr,
  provider: optStr,
  delay_ms: optNum,
  time_to_first_token: optNum,
  prompt_tokens: optNum,
  completion_tokens: optNum,
  prompt_cache_read_tokens: optNum,
  prompt_cache_write_tokens: optNum,
  total_tokens: optNum,
  cost: optNum,
  costUSD: optNum,
  properties: stringMap,
  request_properties: stringMap,
  request_user_id: optStr,
  request_path: optStr,
  target_url: optStr,
  cache_enabled: boolish,
  cache_reference_id: optStr,
  cache_hit: z.boolean(err('expected a boolean')).optional(),
});

const sessionRowSchema = z.looseObject({
  session_id: z.string(err('expected a string')),
  session_name: z.string(err('expected a string')).nullable().optional(),
  created_at: z.string(err('expected a timestamp string')),
  latest_request_created_at: z.string(err('expected a timestamp string')),
  total_cost: numberish,
  total_requests: numberish,
  prompt_tokens: optNum,
  completion_tokens: optNum,
  total_tokens: optNum,
  avg_latency: optNum,
});

const envelope = <T extends z.ZodType>(data: T): z.ZodType<{ data: z.output<T> | null; error?: unknown }> =>
  z.looseObject({ data: data.nullable(), error: z.unknown().optional() }) as unknown as z.ZodType<{ data: z.output<T> | null; error?: unknown }>;

function normaliseRow(raw: z.output<typeof heliconeRowSchema>): HeliconeRow {
  const created = parseTimestamp(raw.request_created_at) as number;
  const responseCreated = raw.response_created_at ? parseTimestamp(raw.response_created_at) : null;
  const properties = { ...(raw.request_properties ?? {}), ...(raw.properties ?? {}) };
  const prompt = raw.prompt_tokens ?? null;
  const completion = raw.completion_tokens ?? null;
  return {
    ...raw,
    request_id: raw.request_id,
    request_created_at: new Date(created).toISOString(),
    response_created_at: responseCreated !== null ? new Date(responseCreated).toISOString() : null,
    request_model: raw.request_model ?? null,
    response_model: raw.response_model ?? null,
    model: raw.model || raw.request_model || raw.response_model || null,
    provider: raw.provider ?? null,
    response_status: raw.response_status,
    delay_ms: raw.delay_ms ?? null,
    time_to_first_token: raw.time_to_first_token ?? null,
    prompt_tokens: prompt,
    completion_tokens: completion,
    prompt_cache_read_tokens: raw.prompt_cache_read_tokens ?? null,
    prompt_cache_write_tokens: raw.prompt_cache_write_tokens ?? null,
    total_tokens: raw.total_tokens ?? (prompt !== null && completion !== null ? prompt + completion : null),
    cost: raw.cost ?? raw.costUSD ?? null,
    properties,
    request_properties: { ...properties },
    request_user_id: raw.request_user_id ?? null,
    request_path: raw.request_path ?? null,
    target_url: raw.target_url ?? null,
    cache_enabled: raw.cache_enabled ?? false,
    cache_reference_id: raw.cache_reference_id ?? null,
    cache_hit: raw.cache_hit ?? (typeof raw.cache_reference_id === 'string' && raw.cache_reference_id !== '' && raw.cache_reference_id !== DEFAULT_UUID),
  };
}

/**
 * One row as any Helicone-compatible source sends it, validated and normalised (ISO UTC dates,
 * numbers from numeric strings, cost from cost or costUSD, cache_hit from cache_reference_id).
 * Throws QueryError QUERY_BAD_RESPONSE naming the bad field.
 */
export function parseHeliconeRow(raw: unknown): HeliconeRow {
  const r = heliconeRowSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new QueryError('QUERY_BAD_RESPONSE', `row: ${first ? issuePath(first.path) : '(root)'}: ${first?.message ?? 'invalid'}`);
  }
  return normaliseRow(r.data);
}

function issuePath(path: PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    const k = typeof p === 'symbol' ? String(p) : p;
    out += typeof k === 'number' ? `[${k}]` : `${out ? '.' : ''}${k}`;
  }
  return out || '(root)';
}

// ---------------------------------------------------------------------------------------------
// Retry timing

/** Retry-After as ms: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return null;
  const t = v.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const date = Date.parse(t);
  if (!Number.isFinite(date)) return null;
  return Math.max(0, date - now);
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason as Error); return; }
    const onAbort = (): void => { clearTimeout(timer); reject(signal?.reason as Error); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// The client

export class HeliconeQueryClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  /** Origin + path only: what logs and messages may show (never credentials). */
  readonly displayUrl: string;
  private readonly apiKey: string | undefined;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly requestQueryPath: string;

  constructor(opts: HeliconeQueryClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch {
      throw new LensError('BAD_CONFIG', `Helicone base URL ${JSON.stringify(redactText(opts.baseUrl).slice(0, 200))} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new LensError('BAD_CONFIG', `Helicone base URL must be http(s), got ${url.protocol}`);
    }
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.displayUrl = `${url.origin}${this.basePath}`;
    this.pool = new Pool(url.origin, { connections: 4, keepAliveTimeout: 10_000 });
    this.apiKey = opts.apiKey && opts.apiKey.trim() !== '' ? opts.apiKey.trim() : undefined;
    if (this.apiKey !== undefined && /[\r\n\0]/.test(this.apiKey)) {
      throw new LensError('BAD_CONFIG', 'the Helicone API key contains a line break or NUL; paste it again');
    }
    this.logger = opts.logger;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxRetries = Math.max(0, opts.maxRetries ?? 3);
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.retryMaxMs = opts.retryMaxMs ?? 8_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.requestQueryPath = opts.requestQueryPath ?? '/v1/request/query-clickhouse';
  }

  /** One page of requests. */
  async queryRequests(body: RequestQueryBody, opts: CallOptions = {}): Promise<HeliconeRow[]> {
    return (await this.queryPage(body, opts.signal)).rows;
  }

  /** A page and, when the source says (LLM Lens sends X-Total-Count; Helicone does not), the match count. */
  private async queryPage(body: RequestQueryBody, signal: AbortSignal | undefined): Promise<{ rows: HeliconeRow[]; total: number | null }> {
    const { json, headers } = await this.call('POST', this.requestQueryPath, body, signal);
    const rows = this.validate(envelope(z.array(heliconeRowSchema)), json);
    const raw = headers['x-total-count'];
    const total = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : null;
    return { rows: rows.map(normaliseRow), total };
  }

  /** One request by id, bodies included; null when the source does not know it. */
  async getRequest(id: string, opts: CallOptions = {}): Promise<HeliconeRow | null> {
    try {
      const { json } = await this.call('GET', `/v1/request/${encodeURIComponent(id)}`, undefined, opts.signal);
      const row = this.validate(envelope(heliconeRowSchema), json);
      return row === null ? null : normaliseRow(row);
    } catch (e) {
      if (e instanceof QueryError && e.status === 404) return null;
      throw e;
    }
  }

  async querySessions(body: SessionQueryBody, opts: CallOptions = {}): Promise<HeliconeSessionRow[]> {
    const { json } = await this.call('POST', '/v1/session/query', body, opts.signal);
    const rows = this.validate(envelope(z.array(sessionRowSchema)), json);
    return rows.map((r) => ({
      ...r,
      session_name: r.session_name ?? '',
      total_cost: r.total_cost,
      total_requests: r.total_requests,
      prompt_tokens: r.prompt_tokens ?? 0,
      completion_tokens: r.completion_tokens ?? 0,
      total_tokens: r.total_tokens ?? (r.prompt_tokens ?? 0) + (r.completion_tokens ?? 0),
      avg_latency: r.avg_latency ?? 0,
    }));
  }

  /**
   * Every request created in [since, until) that matches `filter`, newest first, paged with
   * offsets. Paging goes on until a page comes back empty (Helicone drops duplicate versions of
   * a row from a page, so a short page does not prove the end) or the source's X-Total-Count
   * says all were seen. With `rowCap` reached, the newest rows are kept and `capped` says so.
   */
  async queryWindow(opts: QueryWindowOptions): Promise<{ rows: HeliconeRow[]; capped: boolean }> {
    const pageSize = Math.max(1, Math.min(MAX_LIMIT, Math.floor(opts.pageSize ?? MAX_LIMIT)));
    const rowCap = Math.max(0, Math.floor(opts.rowCap ?? 10_000));
    const filter = and(timeWindow(opts.since, opts.until), opts.filter ?? 'all');
    const seen = new Set<string>();
    const rows: HeliconeRow[] = [];
    for (let offset = 0; ; offset += pageSize) {
      if (rows.length >= rowCap) return { rows: rows.slice(0, rowCap), capped: true };
      const { rows: page, total } = await this.queryPage({ filter, limit: pageSize, offset, sort: { created_at: 'desc' } }, opts.signal);
      let fresh = 0;
      for (const r of page) {
        if (seen.has(r.request_id)) continue;
        seen.add(r.request_id);
        rows.push(r);
        fresh++;
      }
      if (page.length === 0) return { rows, capped: false };
      if (fresh === 0) {
        // The same rows again: the server ignores offset. Stop rather than loop forever.
        this.logger.warn(`query ${this.displayUrl}: page at offset ${offset} repeated earlier rows; stopping (the source may not support paging)`);
        return { rows: rows.slice(0, rowCap), capped: rows.length > rowCap };
      }
      const seenAll = total !== null && offset + page.length >= total;
      if (rows.length > rowCap) return { rows: rows.slice(0, rowCap), capped: true };
      if (rows.length === rowCap) return { rows, capped: !seenAll && page.length === pageSize };
      if (seenAll) return { rows, capped: false };
    }
  }

  /** Closes the connection pool; calling it again is a no-op. */
  async close(): Promise<void> {
    this.closing ??= this.pool.close();
    await this.closing;
  }
  private closing: Promise<void> | null = null;

  private validate<T>(schema: z.ZodType<{ data: T | null; error?: unknown }>, json: unknown): T {
    const r = schema.safeParse(json);
    if (!r.success) {
      const first = r.error.issues[0];
      const where = first ? issuePath(first.path) : '(root)';
      const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more)` : '';
      throw new QueryError('QUERY_BAD_RESPONSE', `${this.displayUrl} answered with an unexpected shape: ${where}: ${first?.message ?? 'invalid'}${more}`);
    }
    if (r.data.data === null) {
      const msg = typeof r.data.error === 'string' ? r.data.error : JSON.stringify(r.data.error ?? null);
      throw new QueryError('QUERY_BAD_RESPONSE', `${this.displayUrl} answered with an error: ${this.scrub(msg).slice(0, 300)}`);
    }
    return r.data.data;
  }

  /** Server text may echo what we sent; the key must never reach a message or a log. */
  private scrub(text: string): string {
    const t = this.apiKey ? text.split(this.apiKey).join('[REDACTED]') : text;
    return redactText(t);
  }

  private backoffMs(retry: number): number {
    const ceiling = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** retry);
    // Full jitter: many editors refreshing at once must not retry in lockstep.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  private async call(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined): Promise<{ json: unknown; headers: Dispatcher.ResponseData['headers'] }> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'llm-lens' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const payload = body !== undefined ? JSON.stringify(body) : undefined;
    const where = `${method} ${this.displayUrl}${path}`;

    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let failure: QueryError;
      let waitMs: number;
      try {
        const res: Dispatcher.ResponseData = await this.pool.request({
          path: this.basePath + path,
          method,
          headers,
          body: payload,
          signal: combined,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
        });
        const text = await res.body.text();
        const status = res.statusCode;
        if (status >= 200 && status < 300) {
          try {
            return { json: JSON.parse(text) as unknown, headers: res.headers };
          } catch {
            throw new QueryError('QUERY_BAD_RESPONSE', `${where} answered ${status} with a body that is not JSON: ${this.scrub(text.slice(0, 120))}`, { status });
          }
        }
        const serverSays = this.scrub(errorText(text)).slice(0, 300);
        if (status === 401 || status === 403) {
          throw new QueryError('QUERY_AUTH', `API key rejected by ${this.displayUrl} (HTTP ${status})${serverSays ? `: ${serverSays}` : ''}`, { status });
        }
        if (status === 429) {
          const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
          failure = new QueryError('QUERY_RATE_LIMITED', `${this.displayUrl} is rate limiting requests (HTTP 429)${retryAfterMs !== null ? `; retry after ${Math.ceil(retryAfterMs / 1000)} s` : ''}`, { status, retryAfterMs });
          if (retryAfterMs !== null && retryAfterMs > this.maxRetryAfterMs) throw failure;
          waitMs = retryAfterMs ?? this.backoffMs(attempt);
        } else if (status >= 500) {
          failure = new QueryError('QUERY_UNAVAILABLE', `${this.displayUrl} failed (HTTP ${status})${serverSays ? `: ${serverSays}` : ''}`, { status });
          waitMs = this.backoffMs(attempt);
        } else {
          throw new QueryError('QUERY_BAD_REQUEST', `${where} was refused (HTTP ${status})${serverSays ? `: ${serverSays}` : ''}`, { status });
        }
      } catch (e) {
        // Our own verdicts (auth, bad request, bad response, a Retry-After too long to wait) are final.
        if (e instanceof QueryError) throw e;
        if (signal?.aborted) throw signal.reason;
        const timedOut = timeout.aborted || /timeout/i.test(errorMessage(e)) || (e as { code?: string }).code?.includes('TIMEOUT') === true;
        failure = new QueryError(
          'QUERY_UNAVAILABLE',
          timedOut ? `${this.displayUrl} did not answer within ${this.timeoutMs} ms` : `${this.displayUrl} is unreachable: ${this.scrub(errorMessage(e))}`,
          { cause: e },
        );
        waitMs = this.backoffMs(attempt);
      }
      if (attempt >= this.maxRetries) throw failure;
      this.logger.debug(`query ${where}: ${failure.message}; retry ${attempt + 1} of ${this.maxRetries} in ${waitMs} ms`);
      await abortableSleep(waitMs, signal);
    }
  }
}

/** The `error` of a {data, error} body, or the text itself. */
function errorText(text: string): string {
  try {
    const j = JSON.parse(text) as unknown;
    if (j && typeof j === 'object' && 'error' in j) {
      const e = (j as { error: unknown }).error;
      return typeof e === 'string' ? e : JSON.stringify(e);
    }
  } catch { /* not JSON */ }
  return text.trim();
}
