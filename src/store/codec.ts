// The on-disk line formats.
//
// Index lines hold summaries as positional JSON arrays, and repeated strings (provider, URL,
// model, path, session, price) as numbers into a dictionary whose entries are lines of the same
// file, written just before the first record that uses them. That makes a summary about 230
// bytes instead of 1 KB, which is what lets 100k of them load in a fraction of a second, and the
// decoded summaries share one copy of each repeated string. A dictionary line lost to corruption
// costs only that string (decoded as '?' or null), never the records that use it.
//
// Unknown summary fields (optional fields added to RecordSummary later) ride along in a trailing
// "extras" object, so nothing newer is dropped and older files still load.
import { z } from 'zod';
import { eventsFromChunks } from '../core/sse';
import type { NewRecordBodies, PriceInfo, RawBody, RecordBodies, RecordSummary, SessionRef, SpooledBytes, StoredBody, StreamEvent } from '../core/types';
import { asBuffer, storedBodyFromBytes } from './bodyDecode';

/** Where a record's headers and bodies live: a line in a bodies segment. */
export interface BodyRef {
  seg: number;
  off: number;
  /** Bytes of the JSON line, without its newline. */
  len: number;
}

export type IndexLine =
  | { type: 'record'; ref: BodyRef; summary: RecordSummary }
  | { type: 'delete'; ids: string[] }
  | { type: 'dict' };

const LINE_RECORD = 1;
const LINE_DELETE = 2;
const LINE_DICT = 3;
/** Bumped when the positional layout changes incompatibly; decode refuses versions it does not know. */
const FORMAT = 1;
const HEAD = 5; // [type, format, seg, off, len]
const FIELDS = 30; // positions 5..34; 35 = extras
/** Strings longer than this stay inline: they are rarely repeated and would bloat the dictionary. */
const MAX_DICT_STRING = 512;

const KNOWN_KEYS = new Set<string>([
  'id', 'kind', 'state', 'startedAt', 'firstByteAt', 'endedAt', 'latencyMs', 'ttftMs', 'provider', 'targetUrl', 'method',
  'path', 'requestModel', 'responseModel', 'status', 'error', 'streamed', 'usage', 'costUsd', 'cost', 'price', 'properties',
  'userId', 'session', 'cache', 'omitRequest', 'omitResponse', 'requestBytes', 'responseBytes', 'warnings',
  // Headers live with the bodies (read lazily), never in the index: they are most of a summary's bytes.
  'requestHeaders', 'responseHeaders', 'bodies',
]);

// Shared, frozen empties: at 100k summaries, two header objects, a warnings array and a
// properties object per record are 400k allocations that the garbage collector must copy while
// the store loads. Summaries are read-only to their consumers, and frozen makes that enforced.
const EMPTY_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const EMPTY_PROPERTIES: Record<string, string> = Object.freeze({}) as Record<string, string>;
const EMPTY_WARNINGS: string[] = Object.freeze([]) as unknown as string[];

/** The string table of one index file, as read from it (and extended by the writer). */
export class IndexDictionary {
  private readonly byString = new Map<string, number>();
  private readonly strings: Array<string | undefined> = [];
  private readonly prices: Array<PriceInfo | undefined> = [];
  /** Frozen SessionRefs by session-id number, then path number (the name is checked on a hit). */
  private readonly sessions = new Map<number, Map<number, SessionRef>>();
  missing = 0;

  get size(): number { return this.strings.length; }

  define(n: number, s: string): void {
    this.strings[n] = s;
    this.byString.set(s, n);
  }

  numberOf(s: string): number | undefined { return this.byString.get(s); }

  str(v: unknown): string {
    if (typeof v === 'string') return v;
    const s = typeof v === 'number' ? this.strings[v] : undefined;
    if (s === undefined) { this.missing++; return '?'; }
    return s;
  }

  strOrNull(v: unknown): string | null {
    return v === null || v === undefined ? null : this.str(v);
  }

  /** Records of one session share one frozen SessionRef when its parts come from the dictionary. */
  session(v: unknown): SessionRef | null {
    if (!Array.isArray(v)) return null;
    const [id, path, name] = v as unknown[];
    const nameStr = this.strOrNull(name);
    if (typeof id !== 'number' || typeof path !== 'number') return { id: this.str(id), path: this.str(path), name: nameStr };
    let byPath = this.sessions.get(id);
    if (!byPath) { byPath = new Map(); this.sessions.set(id, byPath); }
    const hit = byPath.get(path);
    if (hit && hit.name === nameStr) return hit;
    const ref: SessionRef = Object.freeze({ id: this.str(id), path: this.str(path), name: nameStr });
    byPath.set(path, ref);
    return ref;
  }

  /** The dictionary's copy of `s`, shared by every summary that holds it; `s` itself until a batch has defined it. */
  canonical(s: string): string {
    const n = this.byString.get(s);
    return n === undefined ? s : this.strings[n] ?? s;
  }

  /** The shared frozen PriceInfo equal to `p` once the dictionary holds it, else `p`. */
  canonicalPrice(p: PriceInfo): PriceInfo {
    const n = this.byString.get(priceKey(p));
    return n === undefined ? p : this.price(n) ?? p;
  }

  /** The shared frozen SessionRef for this session and path once the dictionary holds both. */
  canonicalSession(r: SessionRef): SessionRef {
    const id = this.byString.get(r.id);
    const path = this.byString.get(r.path);
    if (id === undefined || path === undefined) return r;
    return this.session([id, path, r.name === null ? null : this.byString.get(r.name) ?? r.name]) ?? r;
  }

  price(v: unknown): PriceInfo | null {
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number') return decodePrice(v);
    let p = this.prices[v];
    if (p === undefined) {
      const s = this.strings[v];
      if (s === undefined) { this.missing++; return null; }
      // One frozen object per distinct price, shared by every record priced with it.
      p = Object.freeze(decodePrice(JSON.parse(s)));
      this.prices[v] = p;
    }
    return p;
  }
}

/**
 * Collects the dictionary entries one batch adds, without touching the file's dictionary until
 * the batch is on disk: a failed write must not leave numbers defined only in memory.
 */
export class DictionaryWriter {
  private readonly added = new Map<string, number>();
  private readonly pending: string[] = [];

  constructor(private readonly dict: IndexDictionary) {}

  ref(s: string | null | undefined): number | string | null {
    if (s === null || s === undefined) return null;
    if (s.length > MAX_DICT_STRING) return s;
    const known = this.dict.numberOf(s) ?? this.added.get(s);
    if (known !== undefined) return known;
    const n = this.dict.size + this.added.size;
    this.added.set(s, n);
    this.pending.push(JSON.stringify([LINE_DICT, FORMAT, n, s]));
    return n;
  }

  /** Dictionary lines created since the last call, to be written before the line that uses them. */
  takeLines(): string[] {
    return this.pending.splice(0);
  }

  commit(): void {
    for (const [s, n] of this.added) this.dict.define(n, s);
    this.added.clear();
  }
}

const b01 = (b: boolean | undefined): 0 | 1 => (b ? 1 : 0);
const delta = (t: number | null | undefined, base: number): number | null => (typeof t === 'number' ? t - base : null);

function encodePrice(p: PriceInfo): unknown[] {
  return [p.inputPerM, p.cachedInputPerM, p.cacheWritePerM, p.outputPerM, p.source, p.matchedModel];
}

function priceKey(p: PriceInfo): string {
  return JSON.stringify(encodePrice(p));
}

function decodePrice(v: unknown): PriceInfo {
  const a = v as unknown[];
  if (!Array.isArray(a)) throw new Error('bad price');
  return { inputPerM: a[0] as number | null, cachedInputPerM: a[1] as number | null, cacheWritePerM: a[2] as number | null, outputPerM: a[3] as number | null, source: String(a[4] ?? ''), matchedModel: (a[5] ?? null) as string | null };
}

/** Encodes a record's index line, preceded by any dictionary lines it needs ('\n'-joined, no trailing newline). */
export function encodeRecordLine(s: RecordSummary, ref: BodyRef, dw: DictionaryWriter): string {
  const d = (x: string | null | undefined): number | string | null => dw.ref(x);
  const arr: unknown[] = [
    LINE_RECORD, FORMAT, ref.seg, ref.off, ref.len,
    s.id,
    s.kind === 'llm' ? 0 : s.kind === 'custom' ? 1 : s.kind,
    s.state === 'ok' ? 0 : 1,
    s.startedAt,
    delta(s.firstByteAt, s.startedAt),
    delta(s.endedAt, s.startedAt),
    s.latencyMs ?? null,
    s.ttftMs ?? null,
    d(s.provider),
    d(s.targetUrl),
    d(s.method),
    d(s.path),
    d(s.requestModel),
    d(s.responseModel),
    s.status ?? null,
    s.error ? [d(s.error.kind), s.error.message] : null,
    b01(s.streamed),
    s.usage ? [s.usage.promptTokens, s.usage.completionTokens, s.usage.cacheReadTokens, s.usage.cacheWriteTokens, s.usage.reasoningTokens, s.usage.totalTokens, b01(s.usage.estimated)] : null,
    s.costUsd ?? null,
    s.cost ? [s.cost.inputUsd, s.cost.cachedInputUsd, s.cost.cacheWriteUsd, s.cost.outputUsd, s.cost.totalUsd] : null,
    s.price ? d(priceKey(s.price)) : null,
    s.properties ?? {},
    d(s.userId),
    s.session ? [d(s.session.id), d(s.session.path), d(s.session.name)] : null,
    s.cache ? [b01(s.cache.enabled), b01(s.cache.hit), s.cache.savedUsd ?? null, s.cache.bucketMaxSize, s.cache.seed ?? null] : null,
    b01(s.omitRequest),
    b01(s.omitResponse),
    s.requestBytes ?? 0,
    s.responseBytes ?? 0,
    s.warnings ?? [],
  ];
  let extras: Record<string, unknown> | null = null;
  for (const k of Object.keys(s)) {
    const v = (s as unknown as Record<string, unknown>)[k];
    if (!KNOWN_KEYS.has(k) && v !== undefined) (extras ??= {})[k] = v;
  }
  if (extras) arr.push(extras);
  const line = JSON.stringify(arr);
  const dictLines = dw.takeLines();
  return dictLines.length ? `${dictLines.join('\n')}\n${line}` : line;
}

export function encodeDeleteLine(ids: string[]): string {
  return JSON.stringify([LINE_DELETE, FORMAT, ids]);
}

function propertiesOf(v: unknown): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return EMPTY_PROPERTIES;
  for (const _ in v) return v as Record<string, string>;
  return EMPTY_PROPERTIES;
}

function isNat(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

/**
 * Decodes one index line; throws on anything malformed so the loader can count it as corrupt.
 * The checks are hand-written rather than a zod schema on purpose: this runs 100k times at
 * startup, and only the fields the index relies on (id, times, state, session) need guarding.
 * The summary is built as one object literal so every summary shares a hidden class.
 */
export function decodeIndexLine(line: string, dict: IndexDictionary): IndexLine {
  const a: unknown = JSON.parse(line);
  if (!Array.isArray(a) || a[1] !== FORMAT) throw new Error('not an index line of a known format');
  const type = a[0];
  if (type === LINE_DICT) {
    if (!isNat(a[2]) || typeof a[3] !== 'string') throw new Error('bad dictionary line');
    dict.define(a[2], a[3]);
    return { type: 'dict' };
  }
  if (type === LINE_DELETE) {
    const ids = a[2];
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new Error('bad delete line');
    return { type: 'delete', ids };
  }
  if (type !== LINE_RECORD || a.length < HEAD + FIELDS) throw new Error('bad record line');
  const [, , seg, off, len, id, kind, state, startedAt] = a;
  if (!isNat(seg) || !isNat(off) || !isNat(len)) throw new Error('bad body reference');
  if (typeof id !== 'string' || typeof startedAt !== 'number' || (state !== 0 && state !== 1)) throw new Error('bad record fields');
  const err = a[20] as unknown[] | null;
  const u = a[22] as number[] | null;
  const c = a[24] as number[] | null;
  const ca = a[29] as unknown[] | null;
  const first = num(a[9]);
  const end = num(a[10]);
  const summary: RecordSummary = {
    id,
    kind: kind === 0 ? 'llm' : kind === 1 ? 'custom' : (String(kind) as RecordSummary['kind']),
    state: state === 0 ? 'ok' : 'error',
    startedAt,
    firstByteAt: first === null ? null : startedAt + first,
    endedAt: end === null ? null : startedAt + end,
    latencyMs: num(a[11]),
    ttftMs: num(a[12]),
    provider: dict.str(a[13]),
    targetUrl: dict.str(a[14]),
    method: dict.str(a[15]),
    path: dict.str(a[16]),
    requestModel: dict.strOrNull(a[17]),
    responseModel: dict.strOrNull(a[18]),
    status: num(a[19]),
    error: Array.isArray(err) ? { kind: dict.str(err[0]) as NonNullable<RecordSummary['error']>['kind'], message: String(err[1] ?? '') } : null,
    streamed: a[21] === 1,
    usage: Array.isArray(u)
      ? { promptTokens: u[0], completionTokens: u[1], cacheReadTokens: u[2], cacheWriteTokens: u[3], reasoningTokens: u[4], totalTokens: u[5], estimated: (u[6] as unknown) === 1 }
      : null,
    costUsd: num(a[23]),
    cost: Array.isArray(c) ? { inputUsd: c[0], cachedInputUsd: c[1], cacheWriteUsd: c[2], outputUsd: c[3], totalUsd: c[4] } : null,
    price: dict.price(a[25]),
    properties: propertiesOf(a[26]),
    userId: dict.strOrNull(a[27]),
    session: dict.session(a[28]),
    cache: Array.isArray(ca)
      ? { enabled: ca[0] === 1, hit: ca[1] === 1, savedUsd: num(ca[2]), bucketMaxSize: num(ca[3]) ?? 1, seed: (ca[4] ?? null) as string | null }
      : null,
    omitRequest: a[30] === 1,
    omitResponse: a[31] === 1,
    requestBytes: num(a[32]) ?? 0,
    responseBytes: num(a[33]) ?? 0,
    warnings: Array.isArray(a[34]) && a[34].length ? (a[34] as string[]) : EMPTY_WARNINGS,
    requestHeaders: EMPTY_HEADERS,
    responseHeaders: EMPTY_HEADERS,
  };
  const extras = a[HEAD + FIELDS];
  if (extras !== null && typeof extras === 'object' && !Array.isArray(extras)) Object.assign(summary, extras);
  return { type: 'record', ref: { seg, off, len }, summary };
}

function sharedOrCopy<T>(shared: T, own: T, copy: (v: T) => T): T {
  return shared === own ? copy(own) : shared;
}

function copyPrice(p: PriceInfo): PriceInfo {
  return { inputPerM: p.inputPerM, cachedInputPerM: p.cachedInputPerM, cacheWritePerM: p.cacheWritePerM, outputPerM: p.outputPerM, source: p.source, matchedModel: p.matchedModel };
}

/**
 * A summary as the in-memory index keeps it: one object literal with the same fields in the same
 * order as decodeIndexLine's (so live and reloaded summaries share one hidden class), repeated
 * strings, prices and sessions shared through the dictionary, and the frozen empties. A summary
 * built any other way (spread over a copy with 30+ keys) got a hidden class of its own, with its
 * descriptors: ~3 KB a record against ~1.4 KB, most of the index's memory at 10k records.
 * Nested values are copied, so callers may go on mutating what they passed in.
 */
export function compactSummary(s: RecordSummary, dict: IndexDictionary): RecordSummary {
  const u = s.usage;
  const c = s.cost;
  const ca = s.cache;
  const summary: RecordSummary = {
    id: s.id,
    kind: s.kind,
    state: s.state,
    startedAt: s.startedAt,
    firstByteAt: s.firstByteAt ?? null,
    endedAt: s.endedAt ?? null,
    latencyMs: s.latencyMs ?? null,
    ttftMs: s.ttftMs ?? null,
    provider: dict.canonical(s.provider),
    targetUrl: dict.canonical(s.targetUrl),
    method: dict.canonical(s.method),
    path: dict.canonical(s.path),
    requestModel: s.requestModel === null || s.requestModel === undefined ? null : dict.canonical(s.requestModel),
    responseModel: s.responseModel === null || s.responseModel === undefined ? null : dict.canonical(s.responseModel),
    status: s.status ?? null,
    error: s.error ? { kind: dict.canonical(s.error.kind) as NonNullable<RecordSummary['error']>['kind'], message: s.error.message } : null,
    streamed: s.streamed === true,
    usage: u
      ? { promptTokens: u.promptTokens, completionTokens: u.completionTokens, cacheReadTokens: u.cacheReadTokens, cacheWriteTokens: u.cacheWriteTokens, reasoningTokens: u.reasoningTokens, totalTokens: u.totalTokens, estimated: u.estimated === true }
      : null,
    costUsd: s.costUsd ?? null,
    cost: c ? { inputUsd: c.inputUsd, cachedInputUsd: c.cachedInputUsd, cacheWriteUsd: c.cacheWriteUsd, outputUsd: c.outputUsd, totalUsd: c.totalUsd } : null,
    price: s.price ? sharedOrCopy(dict.canonicalPrice(s.price), s.price, copyPrice) : null,
    properties: propertiesOf(s.properties),
    userId: s.userId === null || s.userId === undefined ? null : dict.canonical(s.userId),
    session: s.session ? sharedOrCopy(dict.canonicalSession(s.session), s.session, (r) => ({ id: r.id, path: r.path, name: r.name ?? null })) : null,
    cache: ca ? { enabled: ca.enabled === true, hit: ca.hit === true, savedUsd: ca.savedUsd ?? null, bucketMaxSize: ca.bucketMaxSize, seed: ca.seed ?? null } : null,
    omitRequest: s.omitRequest === true,
    omitResponse: s.omitResponse === true,
    requestBytes: s.requestBytes ?? 0,
    responseBytes: s.responseBytes ?? 0,
    warnings: s.warnings && s.warnings.length ? s.warnings : EMPTY_WARNINGS,
    requestHeaders: EMPTY_HEADERS,
    responseHeaders: EMPTY_HEADERS,
  };
  let extras: Record<string, unknown> | null = null;
  for (const k in s) {
    const v = (s as unknown as Record<string, unknown>)[k];
    if (!KNOWN_KEYS.has(k) && v !== undefined) (extras ??= {})[k] = v;
  }
  if (extras) Object.assign(summary, extras);
  return summary;
}

/** Which body of an entry a side file holds. */
export type SideName = 'request' | 'response';

/**
 * A bodies entry ready to write: `parts` go into the segment in order (`bytes` of them); a body
 * spooled while it streamed stays out of line, its file moved next to the segment as the entry's
 * side file (recordStore.ts) instead of being copied in.
 */
export interface EncodedEntry {
  parts: Buffer[];
  bytes: number;
  side: Partial<Record<SideName, SpooledBytes>>;
}

/** A record's bodies entry as readers get it: the parts of a record too big or too rarely read to keep in memory. */
export interface BodyBlob {
  id: string;
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string>;
  bodies: RecordBodies;
}

/** A bodies entry as a writer hands it over: bodies may still be raw bytes. */
export interface NewBodyBlob {
  id: string;
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string>;
  bodies: NewRecordBodies;
}

// On disk an entry is one JSON line (ids, headers, body kinds, stream timings, the reassembled
// message), then, for each body of kind 'raw', its bytes exactly as sent: `n` of them, request
// first. The index points at the whole entry (offset and length), so nothing reads the segment
// line by line. Entries written before raw bodies existed are the JSON line alone.
// A body kept out of line has `x` bytes in the entry's side file (see EncodedEntry) and n = 0.
const rawBodySchema = z.object({ kind: z.literal('raw'), n: z.number().int().nonnegative(), x: z.number().int().nonnegative().optional(), size: z.number(), truncated: z.boolean() });

const storedBodySchema = z.object({
  kind: z.enum(['json', 'text', 'base64', 'omitted', 'empty']),
  json: z.unknown().optional(),
  text: z.string().optional(),
  size: z.number(),
  truncated: z.boolean(),
});

const blobSchema = z.object({
  id: z.string(),
  requestHeaders: z.record(z.string(), z.string()),
  responseHeaders: z.record(z.string(), z.string()),
  bodies: z.object({
    request: z.union([rawBodySchema, storedBodySchema]),
    response: z.union([rawBodySchema, storedBodySchema]),
    streamEvents: z.array(z.object({ t: z.number(), event: z.string().nullable(), data: z.string() })).nullable(),
    streamChunks: z.object({ len: z.array(z.number().int().nonnegative()), t: z.array(z.number()) }).nullable().optional(),
    reassembled: z.unknown(),
  }),
});

const NL = 10;

/** The entry's bytes as parts to write in order (no copy of raw bodies), and their total length. */
export function encodeBlob(blob: NewBodyBlob): EncodedEntry {
  const raws: Buffer[] = [];
  const side: EncodedEntry['side'] = {};
  const head = (b: StoredBody | RawBody, which: SideName): unknown => {
    if (b.kind !== 'raw') return b;
    if (b.spooled && b.spooled.bytes > 0) {
      side[which] = b.spooled;
      return { kind: 'raw', n: 0, x: b.spooled.bytes, size: b.size, truncated: b.truncated };
    }
    let n = 0;
    for (const c of b.chunks) {
      if (c.length) raws.push(asBuffer(c));
      n += c.length;
    }
    return { kind: 'raw', n, size: b.size, truncated: b.truncated };
  };
  const { request, response, streamEvents, streamChunks, reassembled } = blob.bodies;
  const line = JSON.stringify({
    id: blob.id, requestHeaders: blob.requestHeaders, responseHeaders: blob.responseHeaders,
    bodies: { request: head(request, 'request'), response: head(response, 'response'), streamEvents, streamChunks: streamChunks ?? null, reassembled },
  });
  const parts = [Buffer.from(line + '\n'), ...raws];
  let bytes = 0;
  for (const p of parts) bytes += p.length;
  return { parts, bytes, side };
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  for (const k in headers) if (k.length === name.length && k.toLowerCase() === name) return headers[k];
  return undefined;
}

/** The side files an entry's bodies need (read them, then pass them to decodeBlob). */
export function sideFilesOf(buf: Buffer): SideName[] {
  const nl = buf.indexOf(NL);
  try {
    const head = JSON.parse(buf.toString('utf8', 0, nl < 0 ? buf.length : nl)) as { bodies?: Record<string, { x?: unknown } | null> };
    return (['request', 'response'] as const).filter((k) => typeof head.bodies?.[k]?.x === 'number' && (head.bodies[k]!.x as number) > 0);
  } catch {
    return [];
  }
}

/**
 * Parses and validates one entry read from disk (one record at a time, so zod's cost is fine).
 * `side` holds the side files' bytes; a side file that is missing or short shows as a lost body.
 */
export function decodeBlob(buf: Buffer, side: Partial<Record<SideName, Buffer | null>> = {}): BodyBlob {
  const nl = buf.indexOf(NL);
  const headEnd = nl < 0 ? buf.length : nl;
  const parsed = blobSchema.parse(JSON.parse(buf.toString('utf8', 0, headEnd)));
  let at = headEnd + 1;
  const body = (b: z.infer<typeof rawBodySchema> | z.infer<typeof storedBodySchema>, headers: Record<string, string>, which: SideName): { stored: StoredBody; bytes: Buffer | null } => {
    if (b.kind !== 'raw') return { stored: b as StoredBody, bytes: null };
    if (b.x) {
      const ext = side[which];
      if (!ext || ext.length < b.x) return { stored: { kind: 'empty', size: b.size, truncated: true }, bytes: null };
      const bytes = ext.subarray(0, b.x);
      return { stored: storedBodyFromBytes(bytes, b.size, b.truncated, headerValue(headers, 'content-type')), bytes };
    }
    if (at + b.n > buf.length) throw new Error(`the entry is shorter than its bodies (${buf.length} < ${at + b.n} bytes)`);
    const bytes = buf.subarray(at, at + b.n);
    at += b.n;
    return { stored: storedBodyFromBytes(bytes, b.size, b.truncated, headerValue(headers, 'content-type')), bytes };
  };
  const req = body(parsed.bodies.request, parsed.requestHeaders, 'request');
  const res = body(parsed.bodies.response, parsed.responseHeaders, 'response');
  let streamEvents: StreamEvent[] | null = parsed.bodies.streamEvents;
  const chunks = parsed.bodies.streamChunks;
  if (!streamEvents && chunks && res.bytes) {
    // Rebuild the events from the raw stream, each at the time of the chunk that completed it.
    const parts: Buffer[] = [];
    const times: number[] = [];
    let off = 0;
    for (let i = 0; i < chunks.len.length && off < res.bytes.length; i++) {
      parts.push(res.bytes.subarray(off, off + chunks.len[i]));
      times.push(chunks.t[i] ?? 0);
      off += chunks.len[i];
    }
    streamEvents = eventsFromChunks(parts, times, !res.stored.truncated);
  }
  return {
    id: parsed.id, requestHeaders: parsed.requestHeaders, responseHeaders: parsed.responseHeaders,
    bodies: { request: req.stored, response: res.stored, streamEvents, reassembled: parsed.bodies.reassembled ?? null },
  };
}
