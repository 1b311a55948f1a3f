// The on-disk line formats. Index lines hold summaries as positional JSON arrays, not objects:
// half the bytes of the keyed form, which is what lets 100k summaries load in a fraction of a
// second. Unknown fields (optional fields added to RecordSummary later) ride along in a trailing
// "extras" object, so an older store file still loads and a newer field is never dropped.
import { z } from 'zod';
import type { RecordBodies, RecordSummary } from '../core/types';

/** Where a record's headers and bodies live: a line in a bodies segment. */
export interface BodyRef {
  seg: number;
  off: number;
  /** Bytes of the JSON line, without its newline. */
  len: number;
}

export type IndexLine =
  | { type: 'record'; ref: BodyRef; summary: RecordSummary }
  | { type: 'delete'; ids: string[] };

const LINE_RECORD = 1;
const LINE_DELETE = 2;
/** Bumped when the positional layout changes incompatibly; decode refuses versions it does not know. */
const FORMAT = 1;

type Shape = readonly string[];

const USAGE: Shape = ['promptTokens', 'completionTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens', 'totalTokens', 'estimated'];
const COST: Shape = ['inputUsd', 'cachedInputUsd', 'cacheWriteUsd', 'outputUsd', 'totalUsd'];
const PRICE: Shape = ['inputPerM', 'cachedInputPerM', 'cacheWritePerM', 'outputPerM', 'source', 'matchedModel'];
const SESSION: Shape = ['id', 'path', 'name'];
const CACHE: Shape = ['enabled', 'hit', 'savedUsd', 'bucketMaxSize', 'seed'];
const ERROR: Shape = ['kind', 'message'];

/** Summary fields in their positional order, with the nested shapes that are packed too. */
const SUMMARY: ReadonlyArray<readonly [keyof RecordSummary, Shape | null]> = [
  ['id', null], ['kind', null], ['state', null], ['startedAt', null], ['firstByteAt', null], ['endedAt', null],
  ['latencyMs', null], ['ttftMs', null], ['provider', null], ['targetUrl', null], ['method', null], ['path', null],
  ['requestModel', null], ['responseModel', null], ['status', null], ['error', ERROR], ['streamed', null],
  ['usage', USAGE], ['costUsd', null], ['cost', COST], ['price', PRICE], ['properties', null], ['userId', null],
  ['session', SESSION], ['cache', CACHE], ['omitRequest', null], ['omitResponse', null], ['requestBytes', null],
  ['responseBytes', null], ['warnings', null],
];
/** Headers live with the bodies (read lazily), never in the index: they are most of a summary's bytes. */
const NOT_INDEXED = new Set<string>(['requestHeaders', 'responseHeaders', 'bodies']);
const KNOWN = new Set<string>(SUMMARY.map(([k]) => k as string));
const HEAD = 5; // [type, format, seg, off, len]

function pack(obj: Record<string, unknown> | null, shape: Shape): unknown[] | null {
  if (obj === null || obj === undefined) return null;
  const out = shape.map((k) => obj[k] ?? null);
  const extra = extrasOf(obj, new Set(shape), new Set());
  if (extra) out.push(extra);
  return out;
}

function unpack(arr: unknown, shape: Shape): Record<string, unknown> | null {
  if (arr === null) return null;
  if (!Array.isArray(arr) || arr.length < shape.length) throw new Error('bad nested value');
  const out: Record<string, unknown> = {};
  for (let i = 0; i < shape.length; i++) out[shape[i]] = arr[i];
  if (arr.length > shape.length) Object.assign(out, arr[shape.length] as object);
  return out;
}

function extrasOf(obj: Record<string, unknown>, known: Set<string>, skip: Set<string>): Record<string, unknown> | null {
  let extra: Record<string, unknown> | null = null;
  for (const k of Object.keys(obj)) {
    if (known.has(k) || skip.has(k) || obj[k] === undefined) continue;
    (extra ??= {})[k] = obj[k];
  }
  return extra;
}

export function encodeRecordLine(summary: RecordSummary, ref: BodyRef): string {
  const s = summary as unknown as Record<string, unknown>;
  const arr: unknown[] = [LINE_RECORD, FORMAT, ref.seg, ref.off, ref.len];
  for (const [key, shape] of SUMMARY) {
    const v = s[key];
    arr.push(shape ? pack(v as Record<string, unknown> | null, shape) : v ?? null);
  }
  const extra = extrasOf(s, KNOWN, NOT_INDEXED);
  if (extra) arr.push(extra);
  return JSON.stringify(arr);
}

export function encodeDeleteLine(ids: string[]): string {
  return JSON.stringify([LINE_DELETE, FORMAT, ids]);
}

/**
 * Decodes one index line; throws on anything malformed so the loader can count it as corrupt.
 * The checks are hand-written rather than a zod schema on purpose: this runs 100k times at
 * startup, and only the fields the index relies on (id, times, state, session) need guarding.
 */
export function decodeIndexLine(line: string, intern: (s: string) => string = (s) => s): IndexLine {
  const arr: unknown = JSON.parse(line);
  if (!Array.isArray(arr) || arr[1] !== FORMAT) throw new Error('not an index line of a known format');
  if (arr[0] === LINE_DELETE) {
    const ids = arr[2];
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new Error('bad delete line');
    return { type: 'delete', ids };
  }
  if (arr[0] !== LINE_RECORD || arr.length < HEAD + SUMMARY.length) throw new Error('bad record line');
  const [, , seg, off, len] = arr;
  if (!isNat(seg) || !isNat(off) || !isNat(len)) throw new Error('bad body reference');
  const s: Record<string, unknown> = {};
  for (let i = 0; i < SUMMARY.length; i++) {
    const [key, shape] = SUMMARY[i];
    const v = arr[HEAD + i];
    s[key] = shape ? unpack(v, shape) : v;
  }
  if (arr.length > HEAD + SUMMARY.length) Object.assign(s, arr[HEAD + SUMMARY.length] as object);
  if (typeof s.id !== 'string' || typeof s.startedAt !== 'number' || (s.state !== 'ok' && s.state !== 'error')) {
    throw new Error('bad record fields');
  }
  if (s.session !== null && typeof (s.session as { id?: unknown }).id !== 'string') throw new Error('bad session');
  if (typeof s.properties !== 'object' || s.properties === null) s.properties = {};
  if (!Array.isArray(s.warnings)) s.warnings = [];
  // Repeated strings (provider, URL, model, path) share one copy: a large saving at 100k records.
  for (const k of ['provider', 'targetUrl', 'method', 'path', 'requestModel', 'responseModel', 'kind', 'state'] as const) {
    if (typeof s[k] === 'string') s[k] = intern(s[k] as string);
  }
  s.requestHeaders = {};
  s.responseHeaders = {};
  return { type: 'record', ref: { seg, off, len }, summary: s as unknown as RecordSummary };
}

function isNat(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

/** One line of a bodies segment: the parts of a record too big or too rarely read to keep in memory. */
export interface BodyBlob {
  id: string;
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string>;
  bodies: RecordBodies;
}

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
    request: storedBodySchema,
    response: storedBodySchema,
    streamEvents: z.array(z.object({ t: z.number(), event: z.string().nullable(), data: z.string() })).nullable(),
    reassembled: z.unknown(),
  }),
});

export function encodeBlob(blob: BodyBlob): string {
  return JSON.stringify(blob);
}

/** Parses and validates a bodies line read from disk (one record at a time, so zod's cost is fine). */
export function decodeBlob(text: string): BodyBlob {
  const parsed = blobSchema.parse(JSON.parse(text));
  return { ...parsed, bodies: { ...parsed.bodies, reassembled: parsed.bodies.reassembled ?? null } } as BodyBlob;
}
