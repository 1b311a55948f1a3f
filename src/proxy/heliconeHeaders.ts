// Helicone-* request headers -> one typed settings object. Code instrumented for Helicone must
// work unchanged, and a bad value must never fail the request: every problem becomes a warning
// on the record, and the setting falls back to Helicone's default.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SessionRef } from '../core/types';

export const DEFAULT_CACHE_TTL_S = 7 * 24 * 3600;
export const MAX_CACHE_TTL_S = 365 * 24 * 3600;
export const MAX_BUCKET_SIZE = 20;
/** Beyond these a header set is hostile or broken; we keep the first ones and say so. */
const MAX_PROPERTIES = 200;
const MAX_VALUE_CHARS = 4096;

export interface CacheSettings {
  /** Look the request up in the cache (Helicone-Cache-Enabled or Helicone-Cache-Read). */
  read: boolean;
  /** Store the upstream's answer (Helicone-Cache-Enabled or Helicone-Cache-Save). */
  save: boolean;
  ttlMs: number;
  bucketMaxSize: number;
  seed: string | null;
  /** Top-level JSON body keys left out of the cache key. */
  ignoreKeys: string[];
  /** The raw helicone-cache-* headers (lower-cased names, sorted): part of the cache key, as in Helicone. */
  keyHeaders: Array<[string, string]>;
}

export interface HeliconeSettings {
  /** The record id: Helicone-Request-Id when it is a UUID, else a fresh one. */
  requestId: string;
  properties: Record<string, string>;
  userId: string | null;
  session: SessionRef | null;
  omitRequest: boolean;
  omitResponse: boolean;
  /** null when no cache header asked for caching. */
  cache: CacheSettings | null;
  /** Helicone-Auth: only ever forwarded to a Helicone gateway, never stored. */
  heliconeAuth: string | null;
  /** Helicone-Target-Url: overrides the upstream for this request. */
  targetUrl: URL | null;
  /** Helicone-Model-Override: the model to price the request as. */
  modelOverride: string | null;
  warnings: string[];
}

const uuidSchema = z.guid();
const targetUrlSchema = z.url({ protocol: /^https?$/ });
const bucketSchema = z.coerce.number().int().min(1).max(MAX_BUCKET_SIZE);
const boolTrueSchema = z.enum(['true', 'false']);
const sessionPathSchema = z.string().regex(/^\/[^\s]*$/);

const PROPERTY_PREFIX = 'helicone-property-';

export function isHeliconeHeader(name: string): boolean {
  return name.length >= 9 && name.slice(0, 9).toLowerCase() === 'helicone-';
}

/** Reads the first value of each header, keeping the raw name case (rawHeaders is [name, value, ...]). */
function collect(rawHeaders: readonly string[], warnings: string[]): Map<string, { name: string; value: string }> {
  const out = new Map<string, { name: string; value: string }>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (!isHeliconeHeader(name) && name.toLowerCase() !== 'cache-control') continue;
    const lower = name.toLowerCase();
    if (out.has(lower)) {
      if (isHeliconeHeader(name)) warnings.push(`${name} was sent more than once; the first value is used`);
      continue;
    }
    out.set(lower, { name, value: rawHeaders[i + 1] });
  }
  return out;
}

function clip(value: string, what: string, warnings: string[]): string {
  if (value.length <= MAX_VALUE_CHARS) return value;
  warnings.push(`${what} is longer than ${MAX_VALUE_CHARS} characters and was cut`);
  return value.slice(0, MAX_VALUE_CHARS);
}

/** Cache-Control TTL, Helicone's reading: s-maxage wins over max-age; default 7 days; at most 365 days. */
export function parseCacheTtlSeconds(cacheControl: string | undefined, warnings: string[]): number {
  if (cacheControl === undefined || cacheControl.trim() === '') return DEFAULT_CACHE_TTL_S;
  const directives = new Map<string, string>();
  for (const part of cacheControl.split(',')) {
    const [k, v] = part.split('=', 2).map((s) => s.trim());
    if (k) directives.set(k.toLowerCase(), (v ?? '').replace(/^"|"$/g, ''));
  }
  const raw = directives.get('s-maxage') ?? directives.get('max-age');
  if (raw === undefined) {
    warnings.push(`Cache-Control "${cacheControl.slice(0, 100)}" has no max-age or s-maxage; the default of 7 days is used`);
    return DEFAULT_CACHE_TTL_S;
  }
  // Digits past the safe-integer range are still a whole number of seconds, just far over the cap.
  if (/^\d{16,}$/.test(raw)) {
    warnings.push(`Cache-Control max-age ${raw.slice(0, 100)} is over 365 days; 365 days is used`);
    return MAX_CACHE_TTL_S;
  }
  const parsed = z.coerce.number().int().min(0).safeParse(raw === '' ? 'x' : raw);
  if (!parsed.success) {
    warnings.push(`Cache-Control max-age "${raw.slice(0, 100)}" is not a whole number of seconds; the default of 7 days is used`);
    return DEFAULT_CACHE_TTL_S;
  }
  if (parsed.data > MAX_CACHE_TTL_S) {
    warnings.push(`Cache-Control max-age ${parsed.data} is over 365 days; 365 days is used`);
    return MAX_CACHE_TTL_S;
  }
  return parsed.data;
}

function parseFlag(h: { name: string; value: string } | undefined, warnings: string[]): boolean {
  if (!h) return false;
  const r = boolTrueSchema.safeParse(h.value.trim().toLowerCase());
  if (!r.success) {
    warnings.push(`${h.name}: "${h.value.slice(0, 100)}" is not "true" or "false"; ignored`);
    return false;
  }
  return r.data === 'true';
}

/** Helicone's omit headers take exactly "true"; anything else is reported and ignored. */
function parseOmit(h: { name: string; value: string } | undefined, warnings: string[]): boolean {
  if (!h) return false;
  if (h.value === 'true') return true;
  if (h.value !== 'false') warnings.push(`${h.name}: "${h.value.slice(0, 100)}" is not exactly "true"; the body is stored`);
  return false;
}

function normaliseSessionPath(value: string, warnings: string[]): string {
  let p = value.trim();
  if (p === '') return '/';
  if (!p.startsWith('/')) {
    warnings.push(`Helicone-Session-Path "${p.slice(0, 100)}" does not start with "/"; read as "/${p.slice(0, 100)}"`);
    p = '/' + p;
  }
  p = p.replace(/\/{2,}/g, '/');
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (!sessionPathSchema.safeParse(p).success) {
    warnings.push(`Helicone-Session-Path "${p.slice(0, 100)}" contains white space; kept as sent`);
  }
  return p;
}

/**
 * Parses every Helicone header from a request's raw header list. Never throws; problems are
 * returned in `warnings` and the setting falls back to what Helicone would do.
 */
export function parseHeliconeHeaders(rawHeaders: readonly string[], newId: () => string = randomUUID): HeliconeSettings {
  const warnings: string[] = [];
  const h = collect(rawHeaders, warnings);
  const get = (name: string): { name: string; value: string } | undefined => h.get(name);

  let requestId: string;
  const rid = get('helicone-request-id');
  if (rid && uuidSchema.safeParse(rid.value.trim()).success) {
    requestId = rid.value.trim().toLowerCase();
  } else {
    requestId = newId();
    if (rid) warnings.push(`Helicone-Request-Id "${rid.value.slice(0, 100)}" is not a UUID; the request was logged as ${requestId}`);
  }

  const properties: Record<string, string> = {};
  let propertyCount = 0;
  let droppedProperties = 0;
  for (const { name, value } of h.values()) {
    if (name.length <= PROPERTY_PREFIX.length || name.slice(0, PROPERTY_PREFIX.length).toLowerCase() !== PROPERTY_PREFIX) {
      if (name.length === PROPERTY_PREFIX.length && name.toLowerCase() === PROPERTY_PREFIX) warnings.push('A Helicone-Property- header has no property name; ignored');
      continue;
    }
    if (propertyCount >= MAX_PROPERTIES) { droppedProperties++; continue; }
    const key = name.slice(PROPERTY_PREFIX.length);
    // Assigning "__proto__" would hit Object.prototype's setter and silently drop the value (and
    // later layers copy properties with plain assignment too): refuse the name, and say so.
    if (key === '__proto__') { warnings.push(`${name}: the property name "__proto__" is not supported; ignored`); continue; }
    properties[key] = clip(value, name, warnings);
    propertyCount++;
  }
  if (droppedProperties > 0) warnings.push(`${droppedProperties} Helicone-Property-* headers beyond the first ${MAX_PROPERTIES} were ignored`);

  const userHeader = get('helicone-user-id');
  const userId = userHeader && userHeader.value.trim() !== '' ? clip(userHeader.value.trim(), 'Helicone-User-Id', warnings) : null;

  let session: SessionRef | null = null;
  const sid = get('helicone-session-id');
  const spath = get('helicone-session-path');
  const sname = get('helicone-session-name');
  if (sid && sid.value.trim() !== '') {
    session = {
      id: clip(sid.value.trim(), 'Helicone-Session-Id', warnings),
      path: spath ? normaliseSessionPath(clip(spath.value, 'Helicone-Session-Path', warnings), warnings) : '/',
      name: sname && sname.value.trim() !== '' ? clip(sname.value.trim(), 'Helicone-Session-Name', warnings) : null,
    };
  } else if (spath || sname) {
    warnings.push('Helicone-Session-Path/Name were sent without Helicone-Session-Id; the request is not part of a session');
  }

  const omitRequest = parseOmit(get('helicone-omit-request'), warnings);
  const omitResponse = parseOmit(get('helicone-omit-response'), warnings);

  let cache: CacheSettings | null = null;
  const enabled = parseFlag(get('helicone-cache-enabled'), warnings);
  const saveOnly = parseFlag(get('helicone-cache-save'), warnings);
  const readOnly = parseFlag(get('helicone-cache-read'), warnings);
  if (enabled || saveOnly || readOnly) {
    const ttlS = parseCacheTtlSeconds(get('cache-control')?.value, warnings);
    let bucketMaxSize = 1;
    const b = get('helicone-cache-bucket-max-size');
    if (b) {
      // Digits only: Number() would also take "+1", "1e1" or "0x10", which Helicone's own parser
      // does not promise to read the same way, so those get the warning too.
      const t = b.value.trim();
      const r = /^\d+$/.test(t) ? bucketSchema.safeParse(t) : null;
      if (r?.success) bucketMaxSize = r.data;
      else {
        const n = Number(b.value);
        bucketMaxSize = Number.isFinite(n) ? Math.min(MAX_BUCKET_SIZE, Math.max(1, Math.round(n))) : 1;
        warnings.push(`Helicone-Cache-Bucket-Max-Size "${b.value.slice(0, 100)}" is not a whole number from 1 to ${MAX_BUCKET_SIZE}; ${bucketMaxSize} is used`);
      }
    }
    const seedH = get('helicone-cache-seed');
    const ignore = get('helicone-cache-ignore-keys');
    const keyHeaders: Array<[string, string]> = [...h.entries()]
      .filter(([lower]) => lower.startsWith('helicone-cache-'))
      .map(([lower, v]): [string, string] => [lower, v.value])
      .sort((a, b2) => (a[0] < b2[0] ? -1 : a[0] > b2[0] ? 1 : 0));
    cache = {
      read: enabled || readOnly,
      save: enabled || saveOnly,
      ttlMs: ttlS * 1000,
      bucketMaxSize,
      seed: seedH && seedH.value !== '' ? seedH.value : null,
      ignoreKeys: ignore ? ignore.value.split(',').map((k) => k.trim()).filter((k) => k !== '') : [],
      keyHeaders,
    };
  }

  const authH = get('helicone-auth');
  const heliconeAuth = authH ? authH.value : null;

  let targetUrl: URL | null = null;
  const t = get('helicone-target-url');
  if (t) {
    const v = t.value.trim();
    if (targetUrlSchema.safeParse(v).success) targetUrl = new URL(v);
    else warnings.push(`Helicone-Target-Url "${v.slice(0, 200)}" is not an http(s) URL; the default upstream was used`);
  }

  const mo = get('helicone-model-override');
  const modelOverride = mo && mo.value.trim() !== '' ? mo.value.trim() : null;

  return { requestId, properties, userId, session, omitRequest, omitResponse, cache, heliconeAuth, targetUrl, modelOverride, warnings };
}
