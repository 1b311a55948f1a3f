// Shared record types: what the proxy writes, the store keeps, and every view reads.
// This module imports nothing so that every layer (core, host, browser bundles) can use it.

/** A provider route name: built-ins are 'openai' and 'anthropic'; `--upstream name=url` adds more. */
export type ProviderName = string;

/**
 * Token usage normalised across providers so one formula prices every record:
 * - promptTokens counts ALL input tokens, cache reads and cache writes included
 *   (OpenAI reports it this way; for Anthropic we add input + cache_creation + cache_read).
 * - cacheReadTokens and cacheWriteTokens are subsets of promptTokens.
 * - reasoningTokens is a subset of completionTokens.
 */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  /** True when we counted tokens ourselves because the provider reported none. */
  estimated: boolean;
}

/** Prices in USD per 1M tokens that were used to cost one record, and where they came from. */
export interface PriceInfo {
  inputPerM: number | null;
  cachedInputPerM: number | null;
  cacheWritePerM: number | null;
  outputPerM: number | null;
  /** e.g. 'genai-prices 0.1.8 (openai/gpt-4o-mini)', 'override: llmLens.priceOverrides', 'local upstream (free)' */
  source: string;
  /** The model id the price table matched, which may differ from the model string sent. */
  matchedModel: string | null;
}

export interface CostBreakdown {
  inputUsd: number;
  cachedInputUsd: number;
  cacheWriteUsd: number;
  outputUsd: number;
  totalUsd: number;
}

export type RecordState = 'pending' | 'ok' | 'error';

/** Why a record is an error; stable strings (shown in UI, filterable in queries). */
export type ErrorKind =
  | 'upstream_status' // upstream answered >= 400
  | 'upstream_unreachable' // connection refused, DNS, TLS
  | 'upstream_timeout' // no headers / stalled body within the timeout
  | 'upstream_reset' // socket reset or stream broke mid-response
  | 'client_aborted' // the caller went away before the response completed
  | 'bad_request' // the proxy could not route the request
  | 'internal'; // a bug in LLM Lens (still reported, never crashes the proxy)

export interface RecordError {
  kind: ErrorKind;
  message: string;
}

export interface SessionRef {
  id: string;
  /** Always starts with '/'; '/' when the header was absent. */
  path: string;
  name: string | null;
}

export interface CacheInfo {
  enabled: boolean;
  hit: boolean;
  /** Cost that a hit avoided (the cost of the original request), USD. */
  savedUsd: number | null;
  bucketMaxSize: number;
  seed: string | null;
}

/**
 * Everything about a request except its bodies. Small, kept in memory by the store's index,
 * sent to views. Times are wall-clock epoch ms; durations are measured with a monotonic clock.
 */
export interface RecordSummary {
  id: string;
  /** 'llm' for proxied traffic, 'custom' for steps logged through /api/custom/v1/log. */
  kind: 'llm' | 'custom';
  state: RecordState;
  startedAt: number;
  /** When the upstream's response headers arrived (epoch ms). */
  firstByteAt: number | null;
  endedAt: number | null;
  latencyMs: number | null;
  /** Time from request start to the first content token (streams) or to the first body byte. */
  ttftMs: number | null;
  provider: ProviderName;
  targetUrl: string;
  method: string;
  /** Path as the client sent it to the proxy, query string included. */
  path: string;
  requestModel: string | null;
  responseModel: string | null;
  status: number | null;
  error: RecordError | null;
  streamed: boolean;
  usage: Usage | null;
  /** null when the model is unknown to the price table (never 0 for "unknown"). */
  costUsd: number | null;
  cost: CostBreakdown | null;
  price: PriceInfo | null;
  properties: Record<string, string>;
  userId: string | null;
  session: SessionRef | null;
  cache: CacheInfo | null;
  omitRequest: boolean;
  omitResponse: boolean;
  /**
   * Request headers as sent by the client, secrets redacted ('[REDACTED]'), raw case kept.
   * The store keeps headers beside the bodies, so summaries from the in-memory index carry them
   * empty; read them through RecordReader.getRecord().
   */
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string>;
  requestBytes: number;
  responseBytes: number;
  warnings: string[];
}

/** A stored body: JSON when it parsed, otherwise raw text (non-UTF-8 bytes as base64). */
export interface StoredBody {
  /** 'json' = `json` holds the parsed value; 'text' = `text` holds the raw body; 'omitted' = Helicone-Omit-*. */
  kind: 'json' | 'text' | 'base64' | 'omitted' | 'empty';
  json?: unknown;
  text?: string;
  /** Bytes the client/upstream actually sent (before any cap). */
  size: number;
  /** True when the stored copy was cut at the store's body cap (forwarding is never cut). */
  truncated: boolean;
}

export interface StreamEvent {
  /** ms since request start */
  t: number;
  event: string | null;
  data: string;
}

export interface RecordBodies {
  request: StoredBody;
  response: StoredBody;
  /** Server-sent events as received, for streamed responses. */
  streamEvents: StreamEvent[] | null;
  /** For streams: the final message reassembled from the events, in the non-streamed response shape. */
  reassembled: unknown | null;
}

/** A complete record as the store returns it. */
export interface LogRecord extends RecordSummary {
  bodies: RecordBodies;
}

/**
 * A body handed to the store as the bytes that were sent (Content-Encoding undone). The store
 * writes them as they are and decides how to show them (JSON, text, base64) only when they are
 * read, so the proxy never re-serialises a body on the thread that forwards traffic. Readers
 * never see this kind: they get a StoredBody.
 */
export interface RawBody {
  kind: 'raw';
  /** The bytes in the pieces they arrived in: written as they are, never joined. */
  chunks: Uint8Array[];
  /** Bytes the client/upstream actually sent (before any cap). */
  size: number;
  /** True when `chunks` hold only the first part of what was sent. */
  truncated: boolean;
  /** Set when the bytes went to a spool file as they streamed (RecordSink.openSpool); `chunks` is then empty. */
  spooled?: SpooledBytes;
}

/** Body bytes a store holds in a spool file until the record that owns them is written. */
export interface SpooledBytes {
  readonly path: string;
  readonly bytes: number;
}

/** How a streamed response's raw bytes arrived: per chunk, its byte length and its time (ms since start). */
export interface StreamChunks {
  len: number[];
  t: number[];
}

/** Bodies as a writer hands them to the store. */
export interface NewRecordBodies {
  request: StoredBody | RawBody;
  response: StoredBody | RawBody;
  /** Events already parsed; or null with `streamChunks` set, and the store rebuilds them from the raw response. */
  streamEvents: StreamEvent[] | null;
  streamChunks?: StreamChunks | null;
  reassembled: unknown | null;
}

/** A complete record as written to the store (a LogRecord is one too). */
export interface NewRecord extends RecordSummary {
  bodies: NewRecordBodies;
}
