// Exports: JSONL (one record per line, our own shape), HAR 1.2 (for browser dev tools and HAR
// viewers) and a cURL command that replays a request through the proxy. Everything leaving the
// store goes through the redaction helpers once more: stored records are already redacted, but an
// export is where a leak would travel furthest, so it does not rely on that alone.
import { open, rename, rm } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import type { RecordQuery, RecordReader } from '../core/store';
import type { LogRecord, StoredBody, StreamEvent } from '../core/types';
import { isSecretHeader, redactHeaders, redactText, redactUrl } from './redact';

export type ExportFormat = 'jsonl' | 'har';

/** A record as it may leave the store: headers, URL, error and warnings scrubbed again. */
export function sanitizeRecord(r: LogRecord): LogRecord {
  return {
    ...r,
    targetUrl: redactUrl(r.targetUrl ?? ''),
    path: redactUrl(r.path ?? ''),
    requestHeaders: redactHeaders(r.requestHeaders ?? {}),
    responseHeaders: redactHeaders(r.responseHeaders ?? {}),
    error: r.error ? { ...r.error, message: redactText(r.error.message) } : null,
    warnings: (r.warnings ?? []).map(redactText),
  };
}

export function toJsonlLine(record: LogRecord): string {
  return JSON.stringify(sanitizeRecord(record));
}

/** One record per line, each line a complete JSON document; ends with a newline when non-empty. */
export function toJsonl(records: LogRecord[]): string {
  return records.map((r) => toJsonlLine(r) + '\n').join('');
}

// ---- HAR 1.2 ------------------------------------------------------------------------------------

export interface HarHeader { name: string; value: string }
export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: unknown[];
    headers: HarHeader[];
    queryString: HarHeader[];
    postData?: { mimeType: string; text: string; comment?: string };
    headersSize: number;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: unknown[];
    headers: HarHeader[];
    content: { size: number; mimeType: string; text?: string; encoding?: string; comment?: string };
    redirectURL: string;
    headersSize: number;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: { blocked: number; dns: number; connect: number; ssl: number; send: number; wait: number; receive: number };
  comment?: string;
  /** Custom fields are allowed by HAR when they start with an underscore. */
  _llmLens: Record<string, unknown>;
}
export interface HarLog {
  log: { version: '1.2'; creator: { name: string; version: string }; entries: HarEntry[] };
}

const CREATOR = { name: 'LLM Lens', version: '0.1.0' };

function harHeaders(h: Record<string, string>): HarHeader[] {
  return Object.entries(h).map(([name, value]) => ({ name, value }));
}

function headerValue(h: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function queryOf(url: string): HarHeader[] {
  try {
    return [...new URL(url, 'http://localhost').searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return [];
  }
}

/** The stored body as text, and whether that text is base64. Undefined when nothing was stored. */
export function bodyText(b: StoredBody): { text: string; base64: boolean } | undefined {
  switch (b.kind) {
    case 'json': return { text: JSON.stringify(b.json) ?? '', base64: false };
    case 'text': return { text: b.text ?? '', base64: false };
    case 'base64': return { text: b.text ?? '', base64: true };
    default: return undefined;
  }
}

/** A stream as it went over the wire, rebuilt from the recorded events. */
export function sseText(events: StreamEvent[]): string {
  return events.map((e) => `${e.event !== null ? `event: ${e.event}\n` : ''}${e.data.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`).join('');
}

export function toHarEntry(record: LogRecord): HarEntry {
  const r = sanitizeRecord(record);
  const url = r.targetUrl || `http://localhost${r.path}`;
  const start = r.startedAt;
  const wait = r.firstByteAt !== null ? Math.max(0, r.firstByteAt - start) : Math.max(0, r.latencyMs ?? 0);
  const receive = r.endedAt !== null && r.firstByteAt !== null ? Math.max(0, r.endedAt - r.firstByteAt) : 0;
  const req = bodyText(r.bodies.request);
  const reqType = headerValue(r.requestHeaders, 'content-type') ?? (r.bodies.request.kind === 'json' ? 'application/json' : 'application/octet-stream');
  const resType = headerValue(r.responseHeaders, 'content-type')
    ?? (r.streamed ? 'text/event-stream' : r.bodies.response.kind === 'json' ? 'application/json' : 'application/octet-stream');
  let res = bodyText(r.bodies.response);
  if (!res && r.bodies.streamEvents?.length) res = { text: sseText(r.bodies.streamEvents), base64: false };
  const notes = (b: StoredBody, what: string): string | undefined =>
    b.kind === 'omitted' ? `${what} body omitted (Helicone-Omit)` : b.truncated ? `${what} body truncated by LLM Lens (original ${b.size} bytes)` : undefined;
  return {
    startedDateTime: new Date(start).toISOString(),
    time: wait + receive,
    request: {
      method: r.method,
      url,
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: harHeaders(r.requestHeaders),
      queryString: queryOf(url),
      ...(req ? { postData: { mimeType: reqType, text: req.text, ...(notes(r.bodies.request, 'request') ? { comment: notes(r.bodies.request, 'request') } : {}) } } : {}),
      headersSize: -1,
      bodySize: r.requestBytes ?? -1,
    },
    response: {
      status: r.status ?? 0,
      statusText: r.status !== null ? STATUS_CODES[r.status] ?? '' : r.error?.kind ?? '',
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: harHeaders(r.responseHeaders),
      content: {
        size: r.bodies.response.size ?? r.responseBytes,
        mimeType: resType,
        ...(res ? { text: res.text } : {}),
        ...(res?.base64 ? { encoding: 'base64' } : {}),
        ...(notes(r.bodies.response, 'response') ? { comment: notes(r.bodies.response, 'response') } : {}),
      },
      redirectURL: '',
      headersSize: -1,
      bodySize: r.responseBytes ?? -1,
    },
    cache: {},
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait, receive },
    ...(r.error ? { comment: `${r.error.kind}: ${r.error.message}` } : {}),
    _llmLens: {
      id: r.id, kind: r.kind, state: r.state, provider: r.provider, path: r.path, requestModel: r.requestModel,
      responseModel: r.responseModel, streamed: r.streamed, ttftMs: r.ttftMs, latencyMs: r.latencyMs, usage: r.usage,
      costUsd: r.costUsd, price: r.price, properties: r.properties, userId: r.userId, session: r.session, cache: r.cache,
      error: r.error, warnings: r.warnings, reassembled: r.bodies.reassembled,
    },
  };
}

export function toHar(records: LogRecord[], creatorVersion: string = CREATOR.version): HarLog {
  return { log: { version: '1.2', creator: { ...CREATOR, version: creatorVersion }, entries: records.map(toHarEntry) } };
}

// ---- cURL ---------------------------------------------------------------------------------------

/** POSIX shell single quoting: everything literal; a quote becomes '\''. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Inside double quotes only these are special; the env var placeholder stays outside the escaping. */
function dq(s: string): string {
  return s.replace(/[\\"$`]/g, (c) => `\\${c}`);
}

/** Headers curl computes itself or that belong to the original connection. */
const SKIP_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade',
  'proxy-connection', 'expect', 'accept-encoding', 'cookie', 'set-cookie']);

/** $OPENAI_API_KEY, $ANTHROPIC_API_KEY, $GROQ_API_KEY, ...: the variable a developer already has set. */
export function apiKeyVariable(provider: string): string {
  const p = provider.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'LLM';
  return `${/^[0-9]/.test(p) ? `_${p}` : p}_API_KEY`;
}

function placeholderHeader(name: string, storedValue: string, provider: string): string {
  const lower = name.toLowerCase();
  const keyVar = apiKeyVariable(provider);
  if (lower === 'helicone-auth') return `-H "${dq(name)}: Bearer $HELICONE_API_KEY"`;
  if (lower === 'authorization' || lower === 'proxy-authorization') {
    const scheme = /^([A-Za-z0-9-]+)\s/.exec(storedValue)?.[1] ?? 'Bearer';
    return `-H "${dq(name)}: ${dq(scheme)} $${keyVar}"`;
  }
  if (lower === 'x-api-key' || lower === 'api-key') return `-H "${dq(name)}: $${keyVar}"`;
  const v = name.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return `-H "${dq(name)}: $${/^[0-9]/.test(v) ? `_${v}` : v}"`;
}

/**
 * A runnable command that replays `record` through the proxy at `baseUrl` (its origin; record.path
 * already holds the route, e.g. /v1/chat/completions or /anthropic/v1/messages). Secrets become
 * environment variable placeholders; Helicone-* headers are kept so the replay lands in the same
 * session with the same properties. Pass a full record (getRecord): summaries carry no headers.
 */
export function toCurl(record: LogRecord, opts: { baseUrl: string }): string {
  const r = sanitizeRecord(record);
  let origin: string;
  try {
    origin = new URL(opts.baseUrl).origin;
  } catch {
    origin = opts.baseUrl.replace(/\/+$/, '');
  }
  const parts: string[] = [];
  const notes: string[] = [];
  let stdin = '';
  const body = bodyText(r.bodies.request);
  const method = (r.method || 'GET').toUpperCase();
  parts.push(`curl ${shellQuote(origin + (r.path.startsWith('/') ? r.path : `/${r.path}`))}`);
  if (method !== 'GET' || body) parts.push(`-X ${shellQuote(method)}`);
  if (r.streamed) parts.push('-N');
  let hasKey = false;
  for (const [name, value] of Object.entries(r.requestHeaders)) {
    const lower = name.toLowerCase();
    if (SKIP_HEADERS.has(lower)) continue;
    if (isSecretHeader(name)) {
      if (lower === 'authorization' || lower === 'x-api-key' || lower === 'api-key') hasKey = true;
      parts.push(placeholderHeader(name, value, r.provider));
    } else {
      parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
    }
  }
  if (!hasKey && r.provider === 'anthropic') parts.push(placeholderHeader('x-api-key', '', r.provider));
  else if (!hasKey && r.provider === 'openai') parts.push(placeholderHeader('Authorization', 'Bearer x', r.provider));
  if (r.bodies.request.kind === 'omitted') notes.push('# the request body was not stored (Helicone-Omit-Request): add it before running this');
  if (body) {
    if (r.bodies.request.truncated) notes.push(`# the stored request body was cut at the body cap (original ${r.bodies.request.size} bytes): this sends the partial body`);
    if (body.base64) {
      // Not UTF-8: decoded from base64 and piped in, since a shell string cannot hold arbitrary bytes.
      stdin = `printf %s ${shellQuote(body.text)} | base64 -d | `;
      parts.push('--data-binary @-');
    } else {
      parts.push(`--data-raw ${shellQuote(body.text)}`);
    }
  }
  return [...notes, stdin + parts.join(' \\\n  ')].join('\n');
}

// ---- streaming export ---------------------------------------------------------------------------

/**
 * Writes the records matching `query` (oldest first) to `file`, reading one record's bodies at a
 * time so 100k records export in bounded memory. Written to a temp file and renamed, so a failed
 * export never leaves a half file under the chosen name. Returns the number of records written.
 */
export async function exportToFile(store: RecordReader, file: string, format: ExportFormat, query: RecordQuery = {}): Promise<number> {
  const ids = store.list(query).map((s) => s.id).reverse();
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  let count = 0;
  let pending: string[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (!pending.length) return;
    await fh.write(pending.join(''));
    pending = [];
    pendingBytes = 0;
  };
  const emit = async (s: string): Promise<void> => {
    pending.push(s);
    pendingBytes += s.length;
    if (pendingBytes > 1 << 20) await flush();
  };
  try {
    if (format === 'har') await emit(`{"log":{"version":"1.2","creator":${JSON.stringify(CREATOR)},"entries":[\n`);
    for (const id of ids) {
      const rec = await store.getRecord(id);
      if (!rec || rec.state === 'pending') continue; // deleted meanwhile, or still in flight
      if (format === 'har') await emit(`${count ? ',\n' : ''}${JSON.stringify(toHarEntry(rec))}`);
      else await emit(toJsonlLine(rec) + '\n');
      count++;
    }
    if (format === 'har') await emit('\n]}}\n');
    await flush();
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
    return count;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
