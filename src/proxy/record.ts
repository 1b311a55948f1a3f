// Turns what the proxy captured of one exchange (tee'd chunks, their arrival times, headers,
// timings) into a LogRecord: body decoding, SSE parsing, usage, cost. This runs after the response
// has ended, never while bytes are being forwarded, and never throws (a bug here still logs the
// exchange, with an 'internal' warning).
import { isUtf8 } from 'node:buffer';
import * as zlib from 'node:zlib';
import type { LogRecord, RecordSummary, StoredBody, StreamEvent, Usage } from '../core/types';
import { errorMessage } from '../core/errors';
import type { PriceBook } from '../pricing/priceBook';
import { extractUsage, isContentEvent } from '../pricing/usage';
import { SseParser } from './sse';

/** Bytes tee'd from one direction of an exchange, up to a limit. */
export class Capture {
  readonly chunks: Buffer[] = [];
  /** performance.now() at each chunk's arrival (same index as chunks). */
  readonly times: number[] = [];
  /** Every byte seen, captured or not. */
  total = 0;
  captured = 0;

  constructor(readonly limit: number) {}

  push(chunk: Buffer, t: number): void {
    this.total += chunk.length;
    if (this.captured >= this.limit) return;
    this.chunks.push(chunk);
    this.times.push(t);
    this.captured += chunk.length;
  }

  get complete(): boolean { return this.captured === this.total; }

  /** Drops the chunks once the record is built (the sizes stay). */
  release(): void {
    this.chunks.length = 0;
    this.times.length = 0;
  }

  /** Up to `max` bytes as one buffer. */
  bytes(max: number = Infinity): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.captured);
    return all.length > max ? all.subarray(0, max) : all;
  }
}

/**
 * JSON bodies larger than this are parsed for their metadata (model, usage) but stored as their
 * raw text: re-serialising a parsed megabyte for the store costs milliseconds and a second copy
 * in memory on the thread that forwards traffic. Smaller ones are stored parsed.
 */
export const STORE_PARSED_JSON_MAX_BYTES = 256 * 1024;

/** Undoes Content-Encoding for the stored copy; a cut stream decodes as far as it goes. */
export function decodeContent(buf: Buffer, encoding: string | undefined, maxBytes: number): { buf: Buffer; warning: string | null } {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity' || buf.length === 0) return { buf, warning: null };
  try {
    const maxOutputLength = Math.max(maxBytes * 2, 1024);
    if (enc === 'gzip' || enc === 'x-gzip') return { buf: zlib.gunzipSync(buf, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength }), warning: null };
    if (enc === 'deflate') {
      try { return { buf: zlib.inflateSync(buf, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength }), warning: null }; } catch {
        return { buf: zlib.inflateRawSync(buf, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength }), warning: null };
      }
    }
    if (enc === 'br') return { buf: zlib.brotliDecompressSync(buf, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH, maxOutputLength }), warning: null };
  } catch (e) {
    return { buf, warning: `could not decode ${enc} body for the log: ${errorMessage(e)}` };
  }
  return { buf, warning: `body stored raw: unsupported content-encoding ${enc}` };
}

export interface DecodedBody {
  stored: StoredBody;
  /**
   * Parsed JSON when the whole body was JSON, else undefined. For a large body this is only its
   * skeleton (top-level fields with small values: model, usage, object ...); `full()` parses it all.
   */
  json: unknown;
  /** The body as text when it was UTF-8 (possibly cut), else null. */
  text: string | null;
  /** Set when `json` is a skeleton: parses the whole body (once) when a reader really needs it. */
  full?: () => unknown;
}

/** A body as the store keeps it: JSON when it parses, else text, else base64 for non-UTF-8 bytes. */
export function decodeBody(buf: Buffer, size: number, truncated: boolean, contentType: string | undefined): DecodedBody {
  if (size === 0) return { stored: { kind: 'empty', size: 0, truncated: false }, json: undefined, text: '' };
  let text: string;
  if (isUtf8(buf)) text = buf.toString('utf8');
  else {
    // A cut in the middle of a multi-byte character is still text; anything else is binary.
    const trimmed = truncated ? trimPartialUtf8(buf) : null;
    if (trimmed && isUtf8(trimmed)) text = trimmed.toString('utf8');
    else return { stored: { kind: 'base64', text: buf.toString('base64'), size, truncated }, json: undefined, text: null };
  }
  if (!truncated && looksJson(text, contentType)) {
    if (buf.length > STORE_PARSED_JSON_MAX_BYTES) {
      // Parsing a megabyte costs milliseconds on the forwarding thread; the metadata sits in small
      // top-level fields, so read those and parse the rest only if usage must be estimated.
      const skeleton = jsonSkeleton(text, SKELETON_VALUE_MAX_CHARS);
      if (skeleton) {
        let parsed: { v: unknown } | null = null;
        const full = (): unknown => {
          if (!parsed) { try { parsed = { v: JSON.parse(text) }; } catch { parsed = { v: undefined }; } }
          return parsed.v;
        };
        return { stored: { kind: 'text', text, size, truncated: false }, json: skeleton, text, full };
      }
    }
    try {
      const json: unknown = JSON.parse(text);
      // Deeply nested JSON parses, but copying or serialising it again overflows the stack: keep such bodies as text.
      if (buf.length > STORE_PARSED_JSON_MAX_BYTES || nestingExceeds(text, MAX_STORED_JSON_DEPTH)) return { stored: { kind: 'text', text, size, truncated: false }, json, text };
      return { stored: { kind: 'json', json, size, truncated: false }, json, text };
    } catch { /* not JSON after all: stored raw */ }
  }
  return { stored: { kind: 'text', text, size, truncated }, json: undefined, text };
}

const MAX_STORED_JSON_DEPTH = 256;
const SKELETON_VALUE_MAX_CHARS = 16 * 1024;

function skipWs(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) i++;
    else return i;
  }
}

/** From an opening quote to just past its closing quote (-1 when unterminated); indexOf jumps over long strings. */
function skipString(t: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = t.indexOf('"', from);
    if (q < 0) return -1;
    let k = q - 1;
    let backslashes = 0;
    while (t.charCodeAt(k) === 92) { backslashes++; k--; }
    if (backslashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

function skipValue(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === 34) return skipString(t, i);
  if (c === 123 || c === 91) {
    let depth = 0;
    let j = i;
    while (j < t.length) {
      const d = t.charCodeAt(j);
      if (d === 34) { j = skipString(t, j); if (j < 0) return -1; continue; }
      if (d === 123 || d === 91) depth++;
      else if (d === 125 || d === 93) { if (--depth === 0) return j + 1; }
      j++;
    }
    return -1;
  }
  let j = i;
  while (j < t.length) {
    const d = t.charCodeAt(j);
    if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13) break;
    j++;
  }
  return j > i ? j : -1;
}

/**
 * The top-level fields of a JSON object whose raw value is at most maxValueChars long, parsed;
 * larger values are left out. null when the text is not a well-formed object at the top level
 * (the caller then falls back to a full parse, which judges it properly).
 */
export function jsonSkeleton(t: string, maxValueChars: number): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  let i = skipWs(t, 0);
  if (t.charCodeAt(i) !== 123) return null;
  i = skipWs(t, i + 1);
  if (t.charCodeAt(i) === 125) return skipWs(t, i + 1) === t.length ? out : null;
  for (;;) {
    if (t.charCodeAt(i) !== 34) return null;
    const keyEnd = skipString(t, i);
    if (keyEnd < 0) return null;
    let key: unknown;
    try { key = JSON.parse(t.slice(i, keyEnd)); } catch { return null; }
    i = skipWs(t, keyEnd);
    if (t.charCodeAt(i) !== 58) return null;
    i = skipWs(t, i + 1);
    const valueEnd = skipValue(t, i);
    if (valueEnd < 0) return null;
    if (valueEnd - i <= maxValueChars && key !== '__proto__') {
      try { out[key as string] = JSON.parse(t.slice(i, valueEnd)); } catch { return null; }
    }
    i = skipWs(t, valueEnd);
    const c = t.charCodeAt(i);
    if (c === 44) { i = skipWs(t, i + 1); continue; }
    if (c === 125) return skipWs(t, i + 1) === t.length ? out : null;
    return null;
  }
}

/** True when brackets outside strings nest deeper than `limit` (a linear scan, stopped early). */
export function nestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) { if (++depth > limit) return true; } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

function trimPartialUtf8(buf: Buffer): Buffer {
  let end = buf.length;
  let back = 0;
  while (end > 0 && back < 3 && (buf[end - 1] & 0xc0) === 0x80) { end--; back++; }
  if (end > 0 && buf[end - 1] >= 0xc0) end--;
  return buf.subarray(0, end);
}

function looksJson(text: string, contentType: string | undefined): boolean {
  if (contentType && /json/i.test(contentType)) return true;
  const c = text.trimStart().charCodeAt(0);
  return c === 123 /* { */ || c === 91 /* [ */;
}

/** Parses the tee'd SSE chunks, stamping each event with the arrival of the chunk that completed it. */
export function parseStreamEvents(capture: Capture, t0: number, encodingDecoded: Buffer | null): StreamEvent[] {
  const parser = new SseParser();
  const out: StreamEvent[] = [];
  if (encodingDecoded) {
    // A compressed stream cannot be split back into timed chunks: every event gets the end time.
    const t = capture.times.length ? capture.times[capture.times.length - 1] - t0 : 0;
    for (const ev of [...parser.push(encodingDecoded), ...parser.end()]) out.push({ t: round(t), event: ev.event, data: ev.data });
    return out;
  }
  for (let i = 0; i < capture.chunks.length; i++) {
    const t = round(capture.times[i] - t0);
    for (const ev of parser.push(capture.chunks[i])) out.push({ t, event: ev.event, data: ev.data });
  }
  for (const ev of parser.end()) out.push({ t: round((capture.times.at(-1) ?? t0) - t0), event: ev.event, data: ev.data });
  return out;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Pulls a human message out of a provider error body (OpenAI and Anthropic shapes), else a text excerpt. */
export function upstreamErrorMessage(status: number, body: DecodedBody): string {
  const j = body.json as { error?: { message?: unknown } | string; message?: unknown } | undefined;
  if (j && typeof j === 'object') {
    if (typeof j.error === 'string') return `${status}: ${j.error}`;
    if (j.error && typeof j.error.message === 'string') return `${status}: ${j.error.message}`;
    if (typeof j.message === 'string') return `${status}: ${j.message}`;
  }
  const t = body.text?.trim();
  return t ? `${status}: ${t.slice(0, 300)}` : `upstream answered ${status}`;
}

function requestModelOf(json: unknown): string | null {
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const m = (json as { model?: unknown }).model;
    if (typeof m === 'string' && m !== '') return m;
  }
  return null;
}

export interface FinishInput {
  summary: RecordSummary;
  /** performance.now() at request start. */
  t0: number;
  request: Capture;
  response: Capture;
  requestEncoding: string | undefined;
  requestContentType: string | undefined;
  responseEncoding: string | undefined;
  responseContentType: string | undefined;
  streamed: boolean;
  bodyCapBytes: number;
  modelOverride: string | null;
  priceBook: PriceBook;
  /** For a cache hit: the cost the original request had (the hit itself costs 0). */
  cacheHitSavedUsd?: number | null;
}

/**
 * Builds the final record. The summary passed in already holds timings, status, error, headers,
 * Helicone settings; this adds bodies, usage, models and cost.
 */
export function buildRecord(input: FinishInput): LogRecord {
  const s: RecordSummary = { ...input.summary, warnings: [...input.summary.warnings] };
  const cap = input.bodyCapBytes;
  const reqRaw = decodeContent(input.request.bytes(), input.requestEncoding, cap);
  if (reqRaw.warning) s.warnings.push(`request ${reqRaw.warning}`);
  const reqTruncated = !input.request.complete || reqRaw.buf.length > cap;
  const req = decodeBody(reqRaw.buf.length > cap ? reqRaw.buf.subarray(0, cap) : reqRaw.buf, input.request.total, reqTruncated, input.requestContentType);

  const resRaw = decodeContent(input.response.bytes(), input.responseEncoding, cap);
  if (resRaw.warning) s.warnings.push(`response ${resRaw.warning}`);
  const resTruncated = !input.response.complete || resRaw.buf.length > cap;
  const resBuf = resRaw.buf.length > cap ? resRaw.buf.subarray(0, cap) : resRaw.buf;

  let streamEvents: StreamEvent[] | null = null;
  let res: DecodedBody;
  if (input.streamed) {
    const decoded = input.responseEncoding && !/^\s*identity\s*$/i.test(input.responseEncoding) ? resBuf : null;
    streamEvents = parseStreamEvents(input.response, input.t0, decoded);
    const text = resBuf.toString('utf8');
    res = { stored: { kind: 'text', text, size: input.response.total, truncated: resTruncated }, json: undefined, text };
  } else {
    res = decodeBody(resBuf, input.response.total, resTruncated, input.responseContentType);
  }
  if (reqTruncated) s.warnings.push(`request body over ${cap} bytes: the stored copy is cut`);
  if (resTruncated) s.warnings.push(`response body over ${cap} bytes: the stored copy is cut`);

  // TTFT: the first content event of a stream, else the first body byte.
  if (streamEvents) {
    const first = streamEvents.find((ev) => isContentEvent(s.path, ev));
    if (first) s.ttftMs = first.t;
  }
  if (s.ttftMs === null && input.response.times.length > 0) s.ttftMs = round(input.response.times[0] - input.t0);

  s.requestModel = requestModelOf(req.json);
  s.requestBytes = input.request.total;
  s.responseBytes = input.response.total;

  let usage: Usage | null = null;
  let reassembled: unknown = null;
  const ok = s.status !== null && s.status < 400;
  if (ok || streamEvents) {
    let u = extractUsage({ provider: s.provider, path: s.path, requestBody: req.json, responseBody: res.json, streamEvents });
    // Skeletons carry what the provider reported; counting tokens ourselves needs the whole bodies.
    if ((req.full || res.full) && (!u.usage || u.usage.estimated)) {
      u = extractUsage({ provider: s.provider, path: s.path, requestBody: req.full ? req.full() : req.json, responseBody: res.full ? res.full() : res.json, streamEvents });
    }
    if (u.warning) s.warnings.push(u.warning);
    usage = u.usage;
    reassembled = u.reassembled;
    s.responseModel = u.responseModel;
  }
  s.usage = usage;
  if (s.error?.kind === 'upstream_status') s.error = { kind: 'upstream_status', message: upstreamErrorMessage(s.status ?? 0, res) };

  const model = input.modelOverride ?? s.responseModel ?? s.requestModel;
  if (usage || ok) {
    const p = input.priceBook.price({ provider: s.provider, model, usage, at: s.startedAt });
    s.price = p.price;
    if (input.cacheHitSavedUsd !== undefined) {
      // A hit costs nothing; what it saved is what the original request cost.
      s.costUsd = 0;
      s.cost = null;
      if (s.cache) s.cache = { ...s.cache, savedUsd: input.cacheHitSavedUsd ?? p.costUsd };
    } else {
      s.costUsd = p.costUsd;
      s.cost = p.cost;
      if (p.warning && usage) s.warnings.push(p.warning);
    }
  }

  const request: StoredBody = s.omitRequest ? { kind: 'omitted', size: input.request.total, truncated: false } : req.stored;
  const response: StoredBody = s.omitResponse ? { kind: 'omitted', size: input.response.total, truncated: false } : res.stored;
  return {
    ...s,
    bodies: {
      request,
      response,
      streamEvents: s.omitResponse ? null : streamEvents,
      reassembled: s.omitResponse ? null : reassembled,
    },
  };
}

/** A record for an exchange whose record building itself failed: never lose the exchange. */
export function fallbackRecord(summary: RecordSummary, err: unknown): LogRecord {
  return {
    ...summary,
    warnings: [...summary.warnings, `internal: could not build the full record: ${errorMessage(err)}`],
    bodies: { request: { kind: 'empty', size: 0, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null },
  };
}
