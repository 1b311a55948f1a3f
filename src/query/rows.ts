// One request as Helicone's query API returns it, so the local API, the remote client and the
// metrics module all speak the same row. Field names are Helicone's (HeliconeRequest in
// packages/llm-mapper/types.ts and the SELECT of valhalla/jawn's getRequestsClickhouse); the
// session a request belongs to travels in `properties` under Helicone-Session-Id / -Path / -Name,
// which is where Helicone keeps it.
import type { RecordBodies, RecordSummary, StoredBody } from '../core/types';
import type { MetricRow } from '../metrics/metrics';
import { parseTimestamp } from './filter';

export const SESSION_ID_PROPERTY = 'Helicone-Session-Id';
export const SESSION_PATH_PROPERTY = 'Helicone-Session-Path';
export const SESSION_NAME_PROPERTY = 'Helicone-Session-Name';
/** Helicone's cache_reference_id for "not served from cache". */
export const DEFAULT_UUID = '00000000-0000-0000-0000-000000000000';

export interface HeliconeRow {
  request_id: string;
  /** ISO 8601, UTC. */
  request_created_at: string;
  response_created_at: string | null;
  request_model: string | null;
  response_model: string | null;
  /** The model the request asked for (what code names and people group by), else the one the response reported. */
  model: string | null;
  /** Helicone's upper-case provider name: OPENAI, ANTHROPIC, CUSTOM, or the route name upper-cased. */
  provider: string | null;
  /** HTTP status; null when no response arrived (unreachable upstream, timeout). */
  response_status: number | null;
  /** Latency in ms. */
  delay_ms: number | null;
  time_to_first_token: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  prompt_cache_read_tokens: number | null;
  prompt_cache_write_tokens: number | null;
  total_tokens: number | null;
  /** USD; null when unknown (never 0 for "unknown"). */
  cost: number | null;
  properties: Record<string, string>;
  /** Helicone returns the properties twice (request_properties from the request table); so do we. */
  request_properties: Record<string, string>;
  request_user_id: string | null;
  request_path: string | null;
  target_url: string | null;
  cache_enabled: boolean;
  cache_reference_id: string | null;
  /** LLM Lens addition: the response was served from the cache. */
  cache_hit: boolean;
  /** Present only when bodies were asked for. */
  request_body?: unknown;
  response_body?: unknown;
  /** LLM Lens additions, ignored by Helicone clients. */
  lens_kind?: 'llm' | 'custom';
  error_kind?: string | null;
  error_message?: string | null;
}

/** One session as Helicone's POST /v1/session/query returns it (SessionResult in SessionManager.ts). */
export interface HeliconeSessionRow {
  session_id: string;
  session_name: string;
  created_at: string;
  latest_request_created_at: string;
  total_cost: number;
  total_requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  avg_latency: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function providerName(s: RecordSummary): string {
  if (s.kind === 'custom') return 'CUSTOM';
  return s.provider.toUpperCase();
}

function bodyValue(body: StoredBody): unknown {
  switch (body.kind) {
    case 'json': return body.json ?? null;
    case 'text': return body.text ?? '';
    case 'base64': return { base64: body.text ?? '' };
    case 'omitted': return { helicone_message: 'omitted by Helicone-Omit header' };
    case 'empty': return null;
  }
}

/** A record in Helicone's row shape; bodies are included only when given. */
export function toHeliconeRow(summary: RecordSummary, bodies?: RecordBodies): HeliconeRow {
  const properties: Record<string, string> = { ...summary.properties };
  if (summary.session) {
    properties[SESSION_ID_PROPERTY] = summary.session.id;
    properties[SESSION_PATH_PROPERTY] = summary.session.path;
    if (summary.session.name !== null) properties[SESSION_NAME_PROPERTY] = summary.session.name;
  }
  const u = summary.usage;
  const row: HeliconeRow = {
    request_id: summary.id,
    request_created_at: iso(summary.startedAt),
    response_created_at: summary.endedAt !== null ? iso(summary.endedAt) : null,
    request_model: summary.requestModel,
    response_model: summary.responseModel,
    model: summary.requestModel ?? summary.responseModel,
    provider: providerName(summary),
    response_status: summary.status,
    delay_ms: summary.latencyMs,
    time_to_first_token: summary.ttftMs,
    prompt_tokens: u ? u.promptTokens : null,
    completion_tokens: u ? u.completionTokens : null,
    prompt_cache_read_tokens: u ? u.cacheReadTokens : null,
    prompt_cache_write_tokens: u ? u.cacheWriteTokens : null,
    total_tokens: u ? u.totalTokens : null,
    cost: summary.costUsd,
    properties,
    request_properties: { ...properties },
    request_user_id: summary.userId,
    request_path: summary.path,
    target_url: summary.targetUrl,
    cache_enabled: summary.cache?.enabled ?? false,
    // A hit would name the request it replays; the cache does not keep that id, so say unknown.
    cache_reference_id: summary.cache?.hit ? null : DEFAULT_UUID,
    cache_hit: summary.cache?.hit ?? false,
    lens_kind: summary.kind,
    error_kind: summary.error?.kind ?? (summary.state === 'error' ? 'internal' : null),
    error_message: summary.error?.message ?? null,
  };
  if (bodies) {
    row.request_body = bodyValue(bodies.request);
    // A stream's reassembled final message is what Helicone shows as the response body.
    row.response_body = bodies.reassembled ?? bodyValue(bodies.response);
  }
  return row;
}

/** An HTTP 2xx/3xx answer arrived (how Helicone's error rate reads a row). */
export function isOkStatus(status: number | null): boolean {
  return status !== null && status >= 200 && status < 400;
}

/**
 * Successful: a 2xx/3xx answer and, for LLM Lens rows, no recorded failure (a stream cut after a
 * 200 is an error), matching metricRowFromSummary for local records.
 */
export function isOkRow(row: HeliconeRow): boolean {
  return isOkStatus(row.response_status) && !row.error_kind;
}

/** The metrics module's row from a Helicone row (remote or local alike). */
export function metricRowFromHeliconeRow(row: HeliconeRow): MetricRow {
  const prompt = row.prompt_tokens ?? 0;
  const completion = row.completion_tokens ?? 0;
  return {
    createdAt: parseTimestamp(row.request_created_at) ?? Number.NaN,
    ok: isOkRow(row),
    latencyMs: row.delay_ms,
    ttftMs: row.time_to_first_token,
    // A cache hit spent nothing, whatever the row says the original cost (as metricRowFromSummary).
    costUsd: row.cache_hit ? 0 : row.cost,
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: row.total_tokens ?? prompt + completion,
    cacheHit: row.cache_hit,
    // Helicone's ClickHouse endpoint returns the request's model as request_model.
    model: row.request_model ?? row.model ?? row.response_model,
    properties: row.properties,
  };
}
