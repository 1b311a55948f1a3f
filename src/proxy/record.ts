// Turns what the proxy captured of one exchange (tee'd chunks, their arrival times, headers,
// timings) into a LogRecord: body decoding, SSE parsing, usage, cost. This runs after the response
// has ended, never while bytes are being forwarded, and never throws (a bug here still logs the
// exchange, with an 'internal' warning).
import { readFileSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { errorMessage } from '../core/errors';
import type { BodySpool } from '../core/store';
import { eventsFromChunks } from '../core/sse';
import type { NewRecord, RawBody, RecordSummary, SpooledBytes, StoredBody, StreamChunks, StreamEvent, Usage } from '../core/types';
import type { PriceBook } from '../pricing/priceBook';
import { extractUsage, isContentEvent } from '../pricing/usage';
import { cutChunks } from '../store/bodyCap';
import { looksJson, STORE_PARSED_JSON_MAX_BYTES } from '../store/bodyDecode';
import { TopLevelScanner } from './topLevelScanner';

/** Bytes tee'd from one direction of an exchange, up to a limit. */
export class Capture {
  /** The bytes as they arrived; after compact(), those that arrived later (rare). */
  private parts: Buffer[] = [];
  /** Set by compact(): every chunk that had arrived, copied into one buffer, and their lengths. */
  private joined: Buffer | null = null;
  private joinedLens: number[] | null = null;
  /** performance.now() at each chunk's arrival (same index as chunks()). */
  readonly times: number[] = [];
  /** Every byte seen, captured or not. */
  total = 0;
  /** Bytes kept for the log: in memory, or written to the spool once spilled. */
  captured = 0;
  /** Once spilled: the top-level fields, read from every byte as it passed. */
  scanner: TopLevelScanner | null = null;
  /** After settle(): where the spilled bytes are, or why they were lost. */
  spooled: SpooledBytes | null = null;
  spoolError: string | null = null;
  private spill: SpillOptions | null = null;
  private spool: BodySpool | null = null;
  private settled = false;

  constructor(readonly limit: number) {}

  /**
   * Past `threshold` bytes, stop holding the body: every byte goes through a scanner for the
   * metadata, and up to `limit` of them to a spool file of the store's (none when `keep` is false,
   * e.g. Helicone-Omit-Request). Without a spool to write to, the body stays in memory as before.
   */
  enableSpill(spill: SpillOptions): void {
    this.spill = spill;
  }

  /** True once the body went past the threshold: nothing is held, `scanner` has the fields. */
  get spilled(): boolean { return this.scanner !== null; }

  /** Bytes this capture holds in memory, or its spool holds queued for a slow disk. */
  get held(): number { return this.spilled ? this.spool?.queuedBytes ?? 0 : this.captured; }

  push(chunk: Buffer, t: number): void {
    this.total += chunk.length;
    if (this.scanner) { this.scanner.feed(chunk); this.toSpool(chunk); return; }
    if (this.captured >= this.limit) return;
    this.parts.push(chunk);
    this.times.push(t);
    this.captured += chunk.length;
    if (this.spill && this.captured > this.spill.threshold) this.startSpill(this.spill);
  }

  private startSpill(spill: SpillOptions): void {
    this.spill = null;
    let spool: BodySpool | null = null;
    if (spill.keep) {
      spool = spill.open?.() ?? null;
      if (!spool) return; // nowhere to put it: keep the bytes in memory
    }
    this.spool = spool;
    this.scanner = new TopLevelScanner(SKELETON_VALUE_MAX_BYTES);
    const held = this.chunks();
    this.parts = [];
    this.joined = null;
    this.joinedLens = null;
    this.times.length = 0;
    this.captured = 0;
    for (const c of held) { this.scanner.feed(c); this.toSpool(c); }
  }

  private toSpool(c: Buffer): void {
    if (!this.spool || this.settled || this.captured >= this.limit) return;
    const part = this.captured + c.length > this.limit ? c.subarray(0, this.limit - this.captured) : c;
    this.spool.write(part);
    this.captured += part.length;
  }

  /** Waits for the spool's writes (if any) and records where the bytes are. */
  async settle(): Promise<void> {
    // From here on a late chunk (undici may pull one more after the response ended) is counted,
    // never spooled: nothing would end or remove a spool opened now.
    this.spill = null;
    const spool = this.spool;
    const first = !this.settled;
    this.settled = true;
    if (!spool || !first) return;
    const r = await spool.end();
    if ('error' in r) this.spoolError = r.error;
    else this.spooled = r;
  }

  /** The spilled bytes are not going to the store after all. */
  discard(): void {
    this.spill = null;
    this.settled = true;
    this.spool?.discard();
    this.spool = null;
    this.spooled = null;
  }

  /** The store owns the spooled bytes now (it removes the file once they are written). */
  handOver(): void {
    this.spool = null;
  }

  get complete(): boolean { return this.captured === this.total; }

  /**
   * Copies many small chunks into one buffer, keeping their lengths. Called when the exchange ends:
   * a streamed response arrives as ~20 small chunks, each a view that keeps a socket read's buffer
   * alive, and the record is built turns later, long enough for some to reach the old generation.
   * One buffer of a few KB holds the same bytes (old space after 3,600 streams: 23.5-23.8 MB
   * against 25.3; bench/README.md). Big bodies arrive in big chunks and are left as they are.
   */
  compact(): void {
    if (this.joined || this.parts.length < 2 || this.captured > COMPACT_MAX_BYTES) return;
    this.joinedLens = this.parts.map((c) => c.length);
    this.joined = Buffer.concat(this.parts, this.captured);
    this.parts.length = 0;
  }

  /** The captured chunks as they arrived (views into one buffer once compacted), without copying. */
  chunks(): Buffer[] {
    if (!this.joined) return this.parts;
    const out: Buffer[] = [];
    let at = 0;
    for (const n of this.joinedLens!) { out.push(this.joined.subarray(at, at + n)); at += n; }
    for (const c of this.parts) out.push(c);
    return out;
  }

  /** Drops the chunks once the record is built (the sizes stay). */
  release(): void {
    this.parts.length = 0;
    this.joined = null;
    this.joinedLens = null;
    this.times.length = 0;
  }

  /** The first `max` bytes as a list of buffers (the last one cut), without copying. */
  slices(max: number): Buffer[] {
    return cutChunks(this.pieces(), max);
  }

  /** Up to `max` bytes as one buffer. */
  bytes(max: number = Infinity): Buffer {
    const list = this.pieces();
    const all = list.length === 1 ? list[0] : Buffer.concat(list, this.captured);
    return all.length > max ? all.subarray(0, max) : all;
  }

  /**
   * The bytes as a new list (release() empties the capture once the record is built). Compacted
   * bytes stay one piece: what reads these needs the bytes, not where the chunks began (chunks()).
   */
  private pieces(): Buffer[] {
    return this.joined ? [this.joined, ...this.parts] : this.parts.slice();
  }
}

/** Captures up to this size are compacted when their exchange ends (Capture.compact). */
const COMPACT_MAX_BYTES = 64 * 1024;

export interface SpillOptions {
  /** Bytes held in memory before the body spills. */
  threshold: number;
  /** False when the body will not be stored (omitted): it is only scanned. */
  keep: boolean;
  open: (() => BodySpool | null) | undefined;
}

/**
 * JSON bodies larger than this are not parsed whole: their metadata (model, usage, object ...) is
 * read from the top-level fields alone, and the rest only if usage must be estimated. The store
 * keeps every body as its bytes either way.
 */
export const PARSE_JSON_MAX_BYTES = STORE_PARSED_JSON_MAX_BYTES;

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
  /** The body for the store: its bytes, decided on (JSON, text, base64) only when read. */
  stored: RawBody;
  /**
   * Parsed JSON when the whole body was JSON, else undefined. For a large body this is only its
   * skeleton (top-level fields with small values: model, usage, object ...); `full()` parses it all.
   */
  json: unknown;
  /** The body as text (invalid UTF-8 as U+FFFD) when small enough to read whole, else null. */
  text: string | null;
  /** Set when `json` is a skeleton: parses the whole body (once) when a reader really needs it. */
  full?: () => unknown;
}

/**
 * One buffer, reused, that a large body's chunks are copied into so its skeleton can be read
 * without allocating a megabyte per request (garbage the collector would have to chase, and RSS).
 * Only used synchronously: nothing keeps a reference to it.
 */
let scratch: Buffer = Buffer.alloc(0);

function joined(chunks: readonly Buffer[], total: number, reuse: boolean): Buffer {
  if (chunks.length === 1) return chunks[0];
  if (!reuse) return Buffer.concat(chunks, total);
  if (scratch.length < total) scratch = Buffer.allocUnsafe(Math.max(total, scratch.length * 2));
  let at = 0;
  for (const c of chunks) { c.copy(scratch, at); at += c.length; }
  return scratch.subarray(0, total);
}

/** What the record needs to know of a body (its JSON, for metadata), and the bytes for the store. */
export function decodeBody(input: Buffer | Buffer[], size: number, truncated: boolean, contentType: string | undefined): DecodedBody {
  const chunks = Array.isArray(input) ? input : [input];
  let total = 0;
  for (const c of chunks) total += c.length;
  const stored: RawBody = { kind: 'raw', chunks, size, truncated };
  if (size === 0 || total === 0) return { stored, json: undefined, text: '' };
  if (total > PARSE_JSON_MAX_BYTES) {
    // Decoding a megabyte costs milliseconds on the forwarding thread; the metadata sits in small
    // top-level fields, so read those straight from the bytes and parse the rest only if usage
    // must be estimated.
    const view = joined(chunks, total, true);
    if (!truncated && looksJsonBytes(view, contentType)) {
      const skeleton = jsonSkeleton(view, SKELETON_VALUE_MAX_BYTES);
      if (skeleton) {
        let parsed: { v: unknown } | null = null;
        const full = (): unknown => {
          if (!parsed) { try { parsed = { v: JSON.parse(joined(chunks, total, false).toString('utf8')) }; } catch { parsed = { v: undefined }; } }
          return parsed.v;
        };
        return { stored, json: skeleton, text: null, full };
      }
    }
    return { stored, json: undefined, text: null };
  }
  const buf = joined(chunks, total, false);
  // Only for metadata and error messages (the store shows the exact bytes): invalid UTF-8 would
  // become U+FFFD here, which changes neither.
  const text = buf.toString('utf8');
  if (!truncated && looksJson(text, contentType)) {
    try {
      return { stored, json: JSON.parse(text) as unknown, text };
    } catch { /* not JSON after all: stored raw */ }
  }
  return { stored, json: undefined, text };
}

const SKELETON_VALUE_MAX_BYTES = 16 * 1024;

function looksJsonBytes(buf: Buffer, contentType: string | undefined): boolean {
  if (contentType && /json/i.test(contentType)) return true;
  const i = skipWs(buf, 0);
  return buf[i] === 123 /* { */ || buf[i] === 91 /* [ */;
}

// The skeleton reader works on bytes: JSON's structural characters are ASCII, and no byte of a
// multi-byte UTF-8 character is below 0x80, so they can never be mistaken for one.
function skipWs(t: Buffer, i: number): number {
  for (;;) {
    const c = t[i];
    if (c === 32 || c === 9 || c === 10 || c === 13) i++;
    else return i;
  }
}

/** From an opening quote to just past its closing quote (-1 when unterminated); indexOf jumps over long strings. */
function skipString(t: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = t.indexOf(34, from);
    if (q < 0) return -1;
    let k = q - 1;
    let backslashes = 0;
    while (t[k] === 92) { backslashes++; k--; }
    if (backslashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

function skipValue(t: Buffer, i: number): number {
  const c = t[i];
  if (c === 34) return skipString(t, i);
  if (c === 123 || c === 91) {
    let depth = 0;
    let j = i;
    while (j < t.length) {
      const d = t[j];
      if (d === 34) { j = skipString(t, j); if (j < 0) return -1; continue; }
      if (d === 123 || d === 91) depth++;
      else if (d === 125 || d === 93) { if (--depth === 0) return j + 1; }
      j++;
    }
    return -1;
  }
  let j = i;
  while (j < t.length) {
    const d = t[j];
    if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13) break;
    j++;
  }
  return j > i ? j : -1;
}

/**
 * The top-level fields of a JSON object whose raw value is at most maxValueBytes long, parsed;
 * larger values are left out. null when the text is not a well-formed object at the top level
 * (the caller then falls back to a full parse, which judges it properly).
 */
export function jsonSkeleton(input: Buffer | string, maxValueBytes: number): Record<string, unknown> | null {
  const t = typeof input === 'string' ? Buffer.from(input) : input;
  const out: Record<string, unknown> = {};
  let i = skipWs(t, 0);
  if (t[i] !== 123) return null;
  i = skipWs(t, i + 1);
  if (t[i] === 125) return skipWs(t, i + 1) === t.length ? out : null;
  for (;;) {
    if (t[i] !== 34) return null;
    const keyEnd = skipString(t, i);
    if (keyEnd < 0) return null;
    let key: unknown;
    try { key = JSON.parse(t.toString('utf8', i, keyEnd)); } catch { return null; }
    i = skipWs(t, keyEnd);
    if (t[i] !== 58) return null;
    i = skipWs(t, i + 1);
    const valueEnd = skipValue(t, i);
    if (valueEnd < 0) return null;
    if (valueEnd - i <= maxValueBytes && key !== '__proto__') {
      try { out[key as string] = JSON.parse(t.toString('utf8', i, valueEnd)); } catch { return null; }
    }
    i = skipWs(t, valueEnd);
    const c = t[i];
    if (c === 44) { i = skipWs(t, i + 1); continue; }
    if (c === 125) return skipWs(t, i + 1) === t.length ? out : null;
    return null;
  }
}

/** The tee'd SSE chunks' arrival times, ms since the request started (the store keeps them with the raw stream). */
function chunkTimes(capture: Capture, t0: number): number[] {
  const out: number[] = new Array<number>(capture.times.length);
  for (let i = 0; i < capture.times.length; i++) out[i] = round(capture.times[i] - t0);
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

/** A body's bytes for the log, up to the cap: the captured chunks as they are, or decoded when compressed. */
function bodyBytes(capture: Capture, encoding: string | undefined, cap: number): { chunks: Buffer[]; truncated: boolean; decoded: boolean; warning: string | null } {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') {
    return { chunks: capture.slices(cap), truncated: !capture.complete || capture.captured > cap, decoded: false, warning: null };
  }
  const d = decodeContent(capture.bytes(), encoding, cap);
  return { chunks: cutChunks([d.buf], cap), truncated: !capture.complete || d.buf.length > cap, decoded: true, warning: d.warning };
}

/** A body that went to a spool file as it streamed: its fields from the scanner, its bytes on disk. */
function spilledBody(c: Capture): { body: DecodedBody; truncated: boolean; warning: string | null } {
  const sp = c.spooled;
  // Only a stored copy can be cut: an omitted body, or one the spool lost, has its own account.
  const truncated = sp !== null && !c.complete;
  const json = c.scanner?.result() ?? undefined;
  if (!sp) {
    // Not kept on purpose (an omitted body), or the spool failed: the record says which.
    const stored: RawBody = { kind: 'raw', chunks: [], size: c.total, truncated: c.total > 0 };
    return { body: { stored, json, text: null }, truncated, warning: c.spoolError ? `body not stored: ${c.spoolError}` : null };
  }
  let parsed: { v: unknown } | null = null;
  // Only for estimating tokens when a provider reported no usage: read back from the spool.
  const full = truncated || json === undefined ? undefined : (): unknown => {
    if (!parsed) { try { parsed = { v: JSON.parse(readFileSync(sp.path, 'utf8')) }; } catch { parsed = { v: undefined }; } }
    return parsed.v;
  };
  return { body: { stored: { kind: 'raw', chunks: [], size: c.total, truncated, spooled: sp }, json, text: null, full }, truncated, warning: null };
}

/**
 * Builds the final record. The summary passed in already holds timings, status, error, headers,
 * Helicone settings; this adds bodies, usage, models and cost.
 */
export function buildRecord(input: FinishInput): NewRecord {
  const s: RecordSummary = { ...input.summary, warnings: [...input.summary.warnings] };
  const cap = input.bodyCapBytes;
  let req: DecodedBody;
  let reqTruncated: boolean;
  if (input.request.spilled) {
    const r = spilledBody(input.request);
    if (r.warning) s.warnings.push(`request ${r.warning}`);
    req = r.body;
    reqTruncated = r.truncated;
  } else {
    const reqRaw = bodyBytes(input.request, input.requestEncoding, cap);
    if (reqRaw.warning) s.warnings.push(`request ${reqRaw.warning}`);
    reqTruncated = reqRaw.truncated;
    req = decodeBody(reqRaw.chunks, input.request.total, reqTruncated, input.requestContentType);
  }

  const resRaw = bodyBytes(input.response, input.responseEncoding, cap);
  if (resRaw.warning) s.warnings.push(`response ${resRaw.warning}`);
  const resTruncated = resRaw.truncated;

  let streamEvents: StreamEvent[] | null = null;
  let streamChunks: StreamChunks | null = null;
  let res: DecodedBody;
  if (input.streamed) {
    if (resRaw.decoded) {
      // A compressed stream cannot be split back into timed chunks: every event gets the end time.
      const t = input.response.times.length ? round(input.response.times[input.response.times.length - 1] - input.t0) : 0;
      streamChunks = { len: resRaw.chunks.map((c) => c.length), t: resRaw.chunks.map(() => t) };
      streamEvents = eventsFromChunks(resRaw.chunks, streamChunks.t, !resTruncated);
    } else {
      const chunks = input.response.chunks();
      streamChunks = { len: chunks.map((c) => c.length), t: chunkTimes(input.response, input.t0) };
      streamEvents = eventsFromChunks(chunks, streamChunks.t, input.response.complete);
    }
    res = { stored: { kind: 'raw', chunks: resRaw.chunks, size: input.response.total, truncated: resTruncated }, json: undefined, text: null };
  } else {
    res = decodeBody(resRaw.chunks, input.response.total, resTruncated, input.responseContentType);
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

  const request: StoredBody | RawBody = s.omitRequest ? { kind: 'omitted', size: input.request.total, truncated: false } : req.stored;
  const response: StoredBody | RawBody = s.omitResponse ? { kind: 'omitted', size: input.response.total, truncated: false } : res.stored;
  // `s` is this function's own copy: the bodies go on it rather than on a spread of its 30+ keys.
  return Object.assign(s, {
    bodies: {
      request,
      response,
      // The store rebuilds the events from the raw stream and these timings when they are read.
      streamEvents: null,
      streamChunks: s.omitResponse ? null : streamChunks,
      reassembled: s.omitResponse ? null : reassembled,
    },
  });
}

/** A record for an exchange whose record building itself failed: never lose the exchange. */
export function fallbackRecord(summary: RecordSummary, err: unknown): NewRecord {
  return {
    ...summary,
    warnings: [...summary.warnings, `internal: could not build the full record: ${errorMessage(err)}`],
    bodies: { request: { kind: 'empty', size: 0, truncated: false }, response: { kind: 'empty', size: 0, truncated: false }, streamEvents: null, reassembled: null },
  };
}
