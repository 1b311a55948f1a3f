// The logging proxy: a node:http server that forwards each request to its upstream through an
// undici Pool (keep-alive, one per upstream origin) and streams the answer back chunk by chunk.
//
// The hot path does as little as possible: parse the Helicone headers, pick the route, copy the
// headers once, and hand every response chunk straight to the client socket. A copy of each chunk
// reference is kept (up to the body cap) with its arrival time; decoding, SSE parsing, usage and
// cost happen after the response has ended (record.ts), so logging never delays a byte.
//
// The upstream side uses undici's dispatcher handler interface directly (onHeaders/onData/...):
// it gives the response's raw header names (case kept), and backpressure is a return value
// instead of a stream pipe.
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { ChurnSet } from '../core/churn';
import type { Membership } from '../core/churn';
import { LensError, errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import type { RecordSink } from '../core/store';
import type { ErrorKind, RecordSummary } from '../core/types';
import type { PriceBook } from '../pricing/priceBook';
import { DEFAULT_BODY_CAP_BYTES } from '../store/bodyCap';
import { STORE_PARSED_JSON_MAX_BYTES } from '../store/bodyDecode';
import { isSecretHeader, redactHeaders, redactUrl } from '../store/redact';
import { cacheKey } from './cache';
import type { CachedResponse, ResponseCache } from './cache';
import { parseHeliconeHeaders } from './heliconeHeaders';
import type { HeliconeSettings } from './heliconeHeaders';
import { Capture, buildRecord, fallbackRecord } from './record';
import { RecordQueue } from './recordQueue';
import { buildUpstreamTable, providerBaseUrls, resolveRoute } from './routing';
import type { Route, UpstreamTable } from './routing';
import { YoungGcPacer } from './gcPacing';
import type { YoungGcPacing } from './gcPacing';

export interface ProxyTimeouts {
  /** Longest wait for the upstream's response headers. Default 10 minutes (long non-streamed completions). */
  headersMs?: number;
  /** Longest silence between two body chunks from the upstream. Default 5 minutes. */
  bodyIdleMs?: number;
  /** TCP/TLS connect timeout. Default 10 s. */
  connectMs?: number;
}

export interface ProxyOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Extra or overriding providers: name -> base URL (built-ins: openai, anthropic). */
  upstreams?: Record<string, string>;
  /** Upstream names that are Helicone gateways (hosts under helicone.ai are detected anyway). */
  heliconeUpstreams?: string[];
  store: RecordSink;
  priceBook: PriceBook;
  logger: Logger;
  /** Largest body copy kept for the log, per direction. Forwarding is never cut. Default 2 MB. */
  bodyCapBytes?: number;
  timeouts?: ProxyTimeouts;
  cache?: ResponseCache | null;
  /** Mounted under /api (the query API). */
  apiHandler?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  /**
   * Request bodies with a Content-Length up to this are read whole and sent upstream in one write
   * (for small JSON that is faster than streaming and arrives in one packet anyway); larger or
   * chunked bodies are streamed up chunk by chunk. Default 64 KB.
   */
  bufferRequestBytes?: number;
  /**
   * A streamed request body past this many bytes goes to a spool file of the store's as it passes
   * (RecordSink.openSpool) instead of waiting in memory for its record: with 32 uploads of 1 MB in
   * flight that is 32 MB of RSS. Its model and flags are read from the bytes on the way. Default
   * 256 KB (the size past which bodies are not parsed whole anyway); 0 = never.
   */
  spillRequestBytes?: number;
  /**
   * Bytes of finished exchanges waiting to be recorded (built and acknowledged by the store) past
   * which new requests wait before going upstream. Default 8 MB (a waiting record holds about
   * twice its bytes until it is on disk; 16 MB cost ~20 MB more RSS with 1 MB bodies for no throughput). Logging never delays traffic
   * below it; above it, traffic runs at the pace the disk can record instead of memory growing.
   */
  logBacklogBytes?: number;
  /** Longest wait for the store to acknowledge one record before its bytes stop counting. Default 60 s. */
  storeAckTimeoutMs?: number;
  /**
   * A young-generation collection every `everyBytes` of body bytes (see gcPacing.ts): frees Node's
   * dead body buffers long before V8 would. Off when absent; the CLI turns it on.
   */
  youngGc?: YoungGcPacing | null;
}

export interface ProxyServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Exchanges whose response is still being forwarded. */
  inFlight(): number;
  /** Requests received since start (proxied and /api): changes whenever there is traffic. */
  requestsSeen(): number;
  /** Finished exchanges whose record is not yet acknowledged by the store, and the bytes they hold. */
  recordBacklog(): { records: number; bytes: number };
  /** Stops accepting, lets in-flight exchanges finish for up to drainMs (default 5 s), aborts the rest, waits for their records. */
  close(opts?: { drainMs?: number }): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers',
  'transfer-encoding', 'upgrade', 'http2-settings',
]);
/** Never forwarded upstream: the pool sets Host from the origin, and undici does not take Expect. */
const REQUEST_DROP = new Set([...HOP_BY_HOP, 'host', 'expect']);

const noop = (): void => undefined;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Waits for store acknowledgements with a deadline, without a timer per record (at thousands of
 * records a second, arming and clearing one each was a measurable share of the proxy's CPU): one
 * timer, running only while something waits, expires what is overdue.
 */
class AckDeadlines {
  private readonly waiting = new ChurnSet<{ deadline: number; expire: () => void }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ms: number) {}

  wait(p: Promise<boolean>): Promise<boolean | 'timeout'> {
    return new Promise((resolve) => {
      const m = this.waiting.add({ deadline: Date.now() + this.ms, expire: (): void => resolve('timeout') });
      this.timer ??= setInterval(this.sweep, Math.min(this.ms, 1000)).unref();
      p.then((ok) => { this.waiting.delete(m); resolve(ok); }, () => { this.waiting.delete(m); resolve(false); });
    });
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    this.waiting.forEach((e, m) => { if (e.deadline <= now) { this.waiting.delete(m); e.expire(); } });
    if (this.waiting.size === 0 && this.timer) { clearInterval(this.timer); this.timer = null; }
  };
}

/** Client header lines to send upstream, raw case and order kept. */
function upstreamHeaders(raw: readonly string[], keepHelicone: boolean): string[] {
  let connectionTokens: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 10 && raw[i].toLowerCase() === 'connection') {
      for (const t of raw[i + 1].split(',')) { const x = t.trim().toLowerCase(); if (x) (connectionTokens ??= new Set()).add(x); }
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (REQUEST_DROP.has(lower)) continue;
    if (!keepHelicone && lower.startsWith('helicone-')) continue;
    if (connectionTokens?.has(lower)) continue;
    out.push(name, raw[i + 1]);
  }
  return out;
}

function errorStatus(kind: ErrorKind): number {
  return kind === 'upstream_timeout' ? 504 : kind === 'bad_request' ? 404 : 502;
}

function classify(err: unknown, headersReceived: boolean): { kind: ErrorKind; message: string } {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code ?? '';
  const msg = errorMessage(err);
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT': return { kind: 'upstream_timeout', message: 'no response headers within the timeout' };
    case 'UND_ERR_BODY_TIMEOUT': return { kind: 'upstream_timeout', message: 'the response body stalled past the idle timeout' };
    case 'UND_ERR_CONNECT_TIMEOUT': return { kind: 'upstream_timeout', message: 'connect timed out' };
    case 'ECONNREFUSED': case 'ENOTFOUND': case 'EAI_AGAIN': case 'EHOSTUNREACH': case 'ENETUNREACH':
    case 'CERT_HAS_EXPIRED': case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return { kind: 'upstream_unreachable', message: `${code}: ${msg}` };
    default:
      if (!headersReceived && /ECONNREFUSED|ENOTFOUND/.test(msg)) return { kind: 'upstream_unreachable', message: msg };
      return { kind: 'upstream_reset', message: code ? `${code}: ${msg}` : msg };
  }
}

interface Shared {
  opts: ProxyOptions;
  logger: Logger;
  store: RecordSink;
  priceBook: PriceBook;
  cache: ResponseCache | null;
  table: UpstreamTable;
  bodyCap: number;
  bufferRequestBytes: number;
  spillRequestBytes: number;
  headersTimeout: number;
  bodyTimeout: number;
  connectTimeout: number;
  pools: Map<string, Pool>;
  active: ChurnSet<Exchange>;
  records: RecordQueue;
  storeFailureReported: boolean;
  closing: boolean;
  acks: AckDeadlines;
  pacer: YoungGcPacer | null;
}

function poolFor(sh: Shared, origin: string): Pool {
  let p = sh.pools.get(origin);
  if (!p) {
    p = new Pool(origin, {
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: sh.headersTimeout,
      bodyTimeout: sh.bodyTimeout,
      connect: { timeout: sh.connectTimeout },
    });
    p.on('connectionError', noop);
    sh.pools.set(origin, p);
  }
  return p;
}

/**
 * One client request and its upstream exchange. It is also the undici dispatch handler, so the
 * per-chunk path is a method call on an object that already holds everything it needs.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private readonly t0 = performance.now();
  private readonly startedAt = Date.now();
  private summary!: RecordSummary;
  private helicone!: HeliconeSettings;
  private route: Route | null = null;
  private readonly request: Capture;
  private response: Capture;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private dispatched = false;
  private paused = false;
  private drainHooked = false;
  private headersAt = 0;
  private responseHeaderPairs: Array<[string, string]> = [];
  private responseContentType: string | undefined;
  private responseEncoding: string | undefined;
  private streamed = false;
  private upstreamDone = false;
  private clientGone = false;
  private finished = false;
  private cacheKeyValue: string | null = null;
  private cacheHit: CachedResponse | null = null;
  private membership: Membership | null = null;

  constructor(private readonly sh: Shared, private readonly req: http.IncomingMessage, private readonly res: http.ServerResponse) {
    this.request = new Capture(sh.bodyCap);
    this.response = new Capture(sh.bodyCap);
  }

  start(): void {
    const { req, res, sh } = this;
    req.on('error', noop);
    res.on('error', noop);
    res.on('close', this.onResClose);
    const url = req.url ?? '/';
    const h = parseHeliconeHeaders(req.rawHeaders);
    this.helicone = h;
    const route = resolveRoute(url, sh.table, h.targetUrl);
    this.route = route;
    this.summary = {
      id: h.requestId, kind: 'llm', state: 'pending', startedAt: this.startedAt, firstByteAt: null, endedAt: null,
      // URLs are redacted when the record is built (and by the store): not on the forwarding path.
      latencyMs: null, ttftMs: null, provider: route?.provider ?? 'unknown', targetUrl: route?.targetUrl ?? '',
      method: req.method ?? 'GET', path: url, requestModel: null, responseModel: null, status: null, error: null,
      streamed: false, usage: null, costUsd: null, cost: null, price: null, properties: h.properties, userId: h.userId,
      session: h.session,
      cache: h.cache && sh.cache ? { enabled: true, hit: false, savedUsd: null, bucketMaxSize: h.cache.bucketMaxSize, seed: h.cache.seed } : null,
      omitRequest: h.omitRequest, omitResponse: h.omitResponse, requestHeaders: {}, responseHeaders: {},
      requestBytes: 0, responseBytes: 0, warnings: h.warnings,
    };
    if (h.cache && !sh.cache) this.summary.warnings.push('Helicone-Cache-Enabled was sent but this proxy runs without a cache');
    this.membership = sh.active.add(this);
    try { sh.store.begin(this.summary); } catch (e) { reportStoreFailure(sh, e); }

    if (!route) {
      this.fail('bad_request', `no upstream for ${url.split('?')[0]}: use /v1 (OpenAI), /anthropic, /<name> of a configured upstream, or a Helicone-Target-Url header`);
      this.drainRequest();
      return;
    }
    sh.records.admit(this.proceed);
  }

  /** Reads (or streams) the body and sends the request upstream; runs once logging has room. */
  private readonly proceed = (): void => {
    const { req, sh } = this;
    const h = this.helicone;
    if (this.clientGone || this.finished) return;
    if (h.cache && sh.cache && (h.cache.read || h.cache.save)) {
      this.response = new Capture(Math.max(sh.bodyCap, sh.cache.maxEntryBytes));
      this.readWholeBody((body) => { void this.cacheFlow(body); });
      return;
    }
    const te = req.headers['transfer-encoding'];
    const cl = req.headers['content-length'];
    if (te === undefined && (cl === undefined || cl === '0')) { this.dispatch(null); return; }
    const len = cl === undefined ? NaN : Number(cl);
    if (te === undefined && len <= sh.bufferRequestBytes) { this.readWholeBody((body) => this.dispatch(body)); return; }
    const enc = header(req, 'content-encoding');
    // A compressed body is decoded whole for the log, so it cannot be read as it streams: it stays in memory.
    if (sh.spillRequestBytes > 0 && sh.store.openSpool && (enc === undefined || enc.trim().toLowerCase() === 'identity')) {
      this.request.enableSpill({ threshold: sh.spillRequestBytes, keep: !h.omitRequest, open: () => sh.store.openSpool?.() ?? null });
    }
    this.dispatch(this.teeRequestBody());
  };

  private readWholeBody(then: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const pacer = this.sh.pacer;
    this.req.on('data', (c: Buffer) => { chunks.push(c); size += c.length; this.request.push(c, 0); pacer?.note(c.length); });
    this.req.on('end', () => {
      if (this.clientGone || this.finished) return;
      then(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
  }

  /** Consumes and discards a body we will not forward, so the connection can be reused. */
  private drainRequest(): void {
    this.req.resume();
  }

  private teeRequestBody(): AsyncIterable<Buffer> {
    const req = this.req;
    const cap = this.request;
    const pacer = this.sh.pacer;
    return {
      async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
        for await (const chunk of req as AsyncIterable<Buffer>) {
          cap.push(chunk, 0);
          pacer?.note(chunk.length);
          yield chunk;
        }
      },
    };
  }

  private async cacheFlow(body: Buffer): Promise<void> {
    const h = this.helicone.cache;
    const cache = this.sh.cache;
    if (!h || !cache || !this.route) { this.dispatch(body); return; }
    let key: string | null = null;
    try {
      key = cacheKey({ method: this.summary.method, upstreamUrl: this.route.targetUrl, body, rawHeaders: this.req.rawHeaders, settings: h });
      if (h.read) {
        const hit = await cache.lookup(key, h.bucketMaxSize);
        if (this.clientGone) { this.finish(); return; }
        if (hit) { this.replay(hit); return; }
      }
    } catch (e) {
      this.summary.warnings.push(`cache lookup failed: ${errorMessage(e)}`);
    }
    if (h.save) this.cacheKeyValue = key;
    this.dispatch(body);
  }

  private replay(hit: CachedResponse): void {
    this.cacheHit = hit;
    const t = performance.now();
    this.headersAt = t;
    const flat: string[] = [];
    for (const [k, v] of hit.headers) {
      flat.push(k, v);
      const lower = k.toLowerCase();
      if (lower === 'content-type') this.responseContentType = v;
      else if (lower === 'content-encoding') this.responseEncoding = v;
    }
    this.responseHeaderPairs = hit.headers;
    flat.push('Content-Length', String(hit.body.length), 'Helicone-Id', this.summary.id, 'Helicone-Cache', 'HIT', 'Helicone-Cache-Bucket-Idx', String(hit.bucketIndex));
    this.streamed = hit.streamed;
    this.summary.status = hit.status;
    try {
      this.res.writeHead(hit.status, flat);
      this.response.push(hit.body, t);
      this.res.end(hit.body);
    } catch (e) {
      this.summary.error = { kind: 'internal', message: `replaying the cached response failed: ${errorMessage(e)}` };
      this.res.destroy();
    }
    this.upstreamDone = true;
    this.finish();
  }

  private dispatch(body: Buffer | AsyncIterable<Buffer> | null): void {
    if (this.clientGone || this.finished || !this.route) return;
    const route = this.route;
    this.dispatched = true;
    const headers = upstreamHeaders(this.req.rawHeaders, route.helicone);
    poolFor(this.sh, route.origin).dispatch({
      path: route.path,
      method: this.summary.method as Dispatcher.HttpMethod,
      headers,
      // undici writes any async iterable chunk by chunk (client-h1 writeIterable); its typings list only streams.
      body: body as Buffer | null,
      headersTimeout: this.sh.headersTimeout,
      bodyTimeout: this.sh.bodyTimeout,
    }, this);
  }

  // ---- undici handler (legacy interface: raw header buffers, boolean backpressure) ----

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone) abort(new LensError('UPSTREAM_UNREACHABLE', 'client aborted'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, resume: () => void, statusText: string): boolean {
    const t = performance.now();
    this.headersAt = t;
    this.resumeUpstream = resume;
    const out: string[] = [];
    const pairs: Array<[string, string]> = [];
    const raw = rawHeaders ?? [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i].toString('latin1');
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) continue;
      const rv = raw[i + 1] as Buffer | string | Array<Buffer | string>;
      const values = Array.isArray(rv) ? rv.map((v) => v.toString('latin1')) : [rv.toString('latin1')];
      for (const value of values) {
        if (lower === 'content-type') this.responseContentType = value;
        else if (lower === 'content-encoding') this.responseEncoding = value;
        out.push(name, value);
        pairs.push([name, value]);
      }
    }
    this.responseHeaderPairs = pairs;
    this.streamed = this.responseContentType !== undefined && this.responseContentType.includes('text/event-stream');
    out.push('Helicone-Id', this.summary.id);
    if (this.summary.cache) out.push('Helicone-Cache', 'MISS');
    this.summary.status = statusCode;
    if (this.clientGone) return false;
    try {
      this.res.writeHead(statusCode, statusText || undefined, out);
    } catch (e) {
      // Headers node refuses to write (invalid characters from the upstream): the client gets a 502.
      this.summary.error = { kind: 'upstream_reset', message: `upstream sent headers that cannot be forwarded: ${errorMessage(e)}` };
      this.abortUpstream?.(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
    // The first body bytes usually arrive in the same socket read, and node sends them together
    // with the headers. When they do not (a model still thinking), flush the headers on the next
    // turn so the client learns the status without waiting for the first token.
    setImmediate(this.flushHeadersIfIdle);
    return true;
  }

  private readonly flushHeadersIfIdle = (): void => {
    if (this.response.total === 0 && !this.clientGone && !this.res.writableEnded && !this.res.destroyed) {
      try { this.res.flushHeaders(); } catch { /* the socket is gone: close handling covers it */ }
    }
  };


  onData(chunk: Buffer): boolean {
    this.response.push(chunk, performance.now());
    this.sh.pacer?.note(chunk.length);
    if (this.clientGone) return false;
    if (this.res.write(chunk)) return true;
    this.paused = true;
    if (!this.drainHooked) {
      this.drainHooked = true;
      this.res.on('drain', this.onDrain);
    }
    return false;
  }

  private readonly onDrain = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.resumeUpstream?.();
  };

  onComplete(): void {
    this.upstreamDone = true;
    if (!this.clientGone) this.res.end();
    this.finish();
  }

  onError(err: Error): void {
    if (this.finished) return;
    const headersReceived = this.headersAt > 0;
    if (this.clientGone) {
      this.summary.error = { kind: 'client_aborted', message: headersReceived ? 'the client disconnected mid-response; the upstream request was aborted' : 'the client disconnected before the upstream answered; the upstream request was aborted' };
    } else if (!this.summary.error) {
      const c = classify(err, headersReceived);
      const upstreamName = this.route ? `${this.route.provider} (${redactUrl(this.route.origin)})` : 'upstream';
      this.summary.error = { kind: c.kind, message: `${upstreamName}: ${c.message}` };
    }
    if (!this.clientGone) {
      if (!this.res.headersSent) this.sendError(this.summary.error!.kind, this.summary.error!.message);
      else this.res.destroy();
    }
    this.finish();
  }

  onUpgrade(): void {
    // Upgrades are never requested (no `upgrade` dispatch option); refuse if one arrives anyway.
    this.onError(new Error('unexpected protocol upgrade from upstream'));
  }

  // ---- client side ----

  private readonly onResClose = (): void => {
    if (this.res.writableFinished || this.upstreamDone) return;
    this.clientGone = true;
    if (this.abortUpstream) this.abortUpstream(new LensError('UPSTREAM_UNREACHABLE', 'client aborted'));
    if (!this.dispatched) {
      this.summary.error = { kind: 'client_aborted', message: 'the client disconnected before the request was sent upstream' };
      this.finish();
    } else {
      // undici reports the abort through onError; this is a backstop so no exchange is ever left open.
      setTimeout(() => {
        if (!this.finished) {
          this.summary.error ??= { kind: 'client_aborted', message: 'the client disconnected; the upstream request was aborted' };
          this.finish();
        }
      }, 10_000).unref();
    }
  };

  private sendError(kind: ErrorKind, message: string): void {
    const status = errorStatus(kind);
    this.summary.status = status;
    const body = JSON.stringify({
      type: 'error',
      error: { type: kind, code: kind, message: `LLM Lens: ${message}`, upstream: this.route?.provider ?? null },
    });
    try {
      this.res.writeHead(status, {
        'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Helicone-Id': this.summary.id,
      });
      this.res.end(body);
    } catch {
      this.res.destroy();
    }
    this.response.push(Buffer.from(body), performance.now());
    this.responseContentType = 'application/json';
  }

  private fail(kind: ErrorKind, message: string): void {
    this.summary.error = { kind, message };
    this.sendError(kind, message);
    this.finish();
  }

  /** Ends the exchange: timings now, everything else after this tick. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const t = performance.now();
    const s = this.summary;
    s.latencyMs = Math.round((t - this.t0) * 1000) / 1000;
    s.endedAt = this.startedAt + Math.round(t - this.t0);
    if (this.headersAt > 0) s.firstByteAt = this.startedAt + Math.round(this.headersAt - this.t0);
    s.streamed = this.streamed;
    if (s.error === null && s.status !== null && s.status >= 400) s.error = { kind: 'upstream_status', message: `upstream answered ${s.status}` };
    s.state = s.error ? 'error' : 'ok';
    if (this.membership) this.sh.active.delete(this.membership);
    this.request.compact();
    this.response.compact();
    // Recording gets a snapshot, not the exchange: the record is built turns later and waits for the
    // store's acknowledgement (10+ ms), and an exchange reaches the sockets, Node's request and
    // response objects and undici's request state. Held that long, under load they outlived two
    // young-generation GCs and stayed in the old generation until a full GC: at stream:32 this
    // took promotion from 9.7 to 4.8 KB per request (bench/README.md, "Promotion, explained").
    const ex: FinishedExchange = {
      summary: s, t0: this.t0, rawHeaders: this.req.rawHeaders, responseHeaderPairs: this.responseHeaderPairs,
      request: this.request, response: this.response, streamed: this.streamed,
      requestEncoding: header(this.req, 'content-encoding'), requestContentType: header(this.req, 'content-type'),
      responseEncoding: this.responseEncoding, responseContentType: this.responseContentType,
      modelOverride: this.helicone.modelOverride, cacheSettings: this.helicone.cache, cacheKey: this.cacheKeyValue, cacheHit: this.cacheHit,
    };
    const sh = this.sh;
    // What logging holds in memory: spooled bytes count only while a slow disk queues them (FileSpool).
    // Counting every spooled byte, 32 uploads of 1 MB let only 4 records at a time reach the store,
    // and forwarding waited on its acknowledgements: half the throughput with the core half idle.
    const p = sh.records.enqueue(() => recordExchange(sh, ex), this.request.held + this.response.held);
    if (ex.cacheKey && sh.cache && s.state === 'ok') sh.cache.expectSave(ex.cacheKey, p);
  }

  /** Shutdown past the drain time: end this exchange as aborted. */
  abortForShutdown(): void {
    if (this.finished) return;
    this.summary.warnings.push('the proxy shut down before the response finished');
    this.res.destroy();
  }
}

/** What building and storing a finished exchange's record needs, without the exchange itself. */
interface FinishedExchange {
  summary: RecordSummary;
  t0: number;
  rawHeaders: string[];
  responseHeaderPairs: Array<[string, string]>;
  request: Capture;
  response: Capture;
  streamed: boolean;
  requestEncoding: string | undefined;
  requestContentType: string | undefined;
  responseEncoding: string | undefined;
  responseContentType: string | undefined;
  modelOverride: string | null;
  cacheSettings: HeliconeSettings['cache'];
  cacheKey: string | null;
  cacheHit: CachedResponse | null;
}

function reportStoreFailure(sh: Shared, e: unknown): void {
  if (sh.storeFailureReported) return;
  sh.storeFailureReported = true;
  sh.logger.error(`store: recording failed (${errorMessage(e)}); forwarding goes on`);
}

async function recordExchange(sh: Shared, ex: FinishedExchange): Promise<void> {
  const s = ex.summary;
  // Credentials go before the record leaves the proxy; the store runs its full redaction pass
  // (shapes of keys in any header, URL or message) on top when it writes.
  if (mayHoldSecret(s.path)) s.path = redactUrl(s.path);
  if (mayHoldSecret(s.targetUrl)) s.targetUrl = redactUrl(s.targetUrl);
  const raw = ex.rawHeaders;
  const pairs = ex.responseHeaderPairs;
  s.requestHeaders = recordHeaders(raw.length >> 1, (i) => raw[2 * i], (i) => raw[2 * i + 1]);
  s.responseHeaders = recordHeaders(pairs.length, (i) => pairs[i][0], (i) => pairs[i][1]);
  if (ex.cacheHit && s.cache) s.cache = { ...s.cache, hit: true };
  await ex.request.settle();
  let record;
  try {
    record = buildRecord({
      summary: s, t0: ex.t0, request: ex.request, response: ex.response,
      requestEncoding: ex.requestEncoding, requestContentType: ex.requestContentType,
      responseEncoding: ex.responseEncoding, responseContentType: ex.responseContentType, streamed: ex.streamed,
      bodyCapBytes: sh.bodyCap, modelOverride: ex.modelOverride, priceBook: sh.priceBook,
      ...(ex.cacheHit ? { cacheHitSavedUsd: ex.cacheHit.meta.costUsd } : {}),
    });
  } catch (e) {
    sh.logger.error(`proxy: building the record of ${s.id} failed: ${errorMessage(e)}`);
    record = fallbackRecord(s, e);
  }
  if (record.bodies.request.kind === 'raw' && record.bodies.request.spooled) ex.request.handOver();
  else ex.request.discard();
  const h = ex.cacheSettings;
  if (ex.cacheKey && h && sh.cache && record.state === 'ok' && record.status !== null && record.status >= 200 && record.status < 300 && ex.response.complete) {
    try {
      await sh.cache.save(ex.cacheKey, h.bucketMaxSize, h.ttlMs, {
        status: record.status, headers: ex.responseHeaderPairs, body: ex.response.bytes(), streamed: ex.streamed,
        meta: { requestId: record.id, costUsd: record.costUsd, usage: record.usage, model: record.responseModel ?? record.requestModel, latencyMs: record.latencyMs },
      });
    } catch (e) {
      record.warnings.push(`cache save failed: ${errorMessage(e)}`);
    }
  }
  // The record now holds what it needs; the raw chunks would otherwise live on until the store
  // acknowledges (a megabyte per big request, times the backlog).
  ex.request.release();
  ex.response.release();
  // The store serialises the record synchronously inside complete(): give the sockets a turn
  // first, so the two halves of the work never sit back to back in front of a new request.
  await nextTurn();
  let acked: Promise<boolean>;
  try {
    acked = sh.store.complete(record);
  } catch (e) {
    reportStoreFailure(sh, e);
    return;
  }
  // Returned, not awaited: this frame ends here, so the record (body strings of a megabyte for big
  // requests) is garbage now, not once the disk write returns; held that long it outlived two
  // young-generation GCs and lingered in the old generation. (RecordQueue drops the job, and with
  // it the snapshot, once the job has started.)
  return awaitAck(sh, acked, s.id).catch((e: unknown) => reportStoreFailure(sh, e));
}

async function awaitAck(sh: Shared, acked: Promise<boolean>, id: string): Promise<void> {
  const ok = await sh.acks.wait(acked);
  if (ok === 'timeout') {
    sh.logger.warn(`store: no acknowledgement for record ${id} after ${(sh.opts.storeAckTimeoutMs ?? 60_000) / 1000} s; no longer waiting for it`);
    return;
  }
  if (!ok) reportStoreFailure(sh, new Error('the store could not write the record'));
  else {
    sh.storeFailureReported = false;
    // The store's acknowledgement (the record survives a kill of this process), at trace level:
    // what the crash test (test/reliability/crash.test.ts) reads to know which records must survive.
    sh.logger.trace(`proxy: recorded ${id}`);
  }
}

/** Only a query string or userinfo can carry a key in a URL. */
function mayHoldSecret(url: string): boolean {
  return url.includes('?') || url.includes('@');
}

/**
 * Header lines as the record keeps them: one entry per name (raw case), repeated lines joined with
 * ', ', credential headers' values (Authorization, x-api-key ...) replaced. The store scans every
 * other value for key shapes when it writes, so this skips that scan. One pass and one object:
 * grouping into a Map, then an object, then a redacted copy showed as ~2 % of a CPU profile.
 */
function recordHeaders(lines: number, name: (i: number) => string, value: (i: number) => string): Record<string, string> {
  const out: Record<string, string> = {};
  let secret: string[] | null = null;
  for (let i = 0; i < lines; i++) {
    const k = name(i);
    const v = value(i);
    if (Object.hasOwn(out, k)) { out[k] = `${out[k]}, ${v}`; continue; }
    out[k] = v;
    if (isSecretHeader(k)) (secret ??= []).push(k);
  }
  if (secret) for (const k of secret) if (Object.hasOwn(out, k)) out[k] = redactHeaders({ [k]: out[k] })[k];
  return out;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isApiPath(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url.startsWith('/api?');
}

export async function startProxy(opts: ProxyOptions): Promise<ProxyServer> {
  const host = opts.host ?? '127.0.0.1';
  const table = buildUpstreamTable(opts.upstreams ?? {}, opts.heliconeUpstreams ?? []);
  const t = opts.timeouts ?? {};
  const sh: Shared = {
    opts, logger: opts.logger, store: opts.store, priceBook: opts.priceBook, cache: opts.cache ?? null, table,
    bodyCap: opts.bodyCapBytes ?? DEFAULT_BODY_CAP_BYTES,
    bufferRequestBytes: opts.bufferRequestBytes ?? 64 * 1024,
    spillRequestBytes: opts.spillRequestBytes ?? STORE_PARSED_JSON_MAX_BYTES,
    headersTimeout: t.headersMs ?? 600_000,
    bodyTimeout: t.bodyIdleMs ?? 300_000,
    connectTimeout: t.connectMs ?? 10_000,
    pools: new Map(), active: new ChurnSet(), records: new RecordQueue(opts.logBacklogBytes ?? 8 * 1024 * 1024), storeFailureReported: false, closing: false,
    acks: new AckDeadlines(opts.storeAckTimeoutMs ?? 60_000),
    pacer: opts.youngGc ? new YoungGcPacer(opts.youngGc) : null,
  };

  let selfUrl = '';
  let seen = 0;
  const server = http.createServer({ keepAliveTimeout: 65_000, maxHeaderSize: 64 * 1024, requestTimeout: 0 }, (req, res) => {
    seen++;
    const url = req.url ?? '/';
    if (isApiPath(url)) {
      req.on('error', noop);
      res.on('error', noop);
      if (!opts.apiHandler) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ data: null, error: 'the query API is not enabled on this proxy' }));
        return;
      }
      opts.apiHandler(req, res).catch((e: unknown) => {
        opts.logger.error(`query API failed: ${errorMessage(e)}`);
        if (!res.headersSent) { res.writeHead(500, { 'Content-Type': 'application/json' }); res.end(JSON.stringify({ data: null, error: 'internal error' })); } else res.destroy();
      });
      return;
    }
    if (url === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      req.on('error', noop);
      const body = JSON.stringify({ name: 'LLM Lens proxy', baseUrls: providerBaseUrls(selfUrl, opts.upstreams ?? {}) });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    try {
      new Exchange(sh, req, res).start();
    } catch (e) {
      opts.logger.error(`proxy: request failed: ${errorMessage(e)}`);
      if (!res.headersSent) { res.writeHead(500, { 'Content-Type': 'application/json' }); res.end(JSON.stringify({ error: { message: 'LLM Lens internal error' } })); } else res.destroy();
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) { socket.destroy(); return; }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  // node keeps only about the first thousand header lines by default (maxHeadersCount 2000 counts
  // names and values) and drops the rest without a word, so a request with many headers lost
  // whatever came last (its Authorization, say) on the way upstream. maxHeaderSize (64 KB)
  // already bounds them all; past it the client gets a 431.
  server.maxHeadersCount = 0;
  server.on('connection', (s: Socket) => { s.on('error', noop); s.setNoDelay(true); });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (e.code === 'EADDRINUSE') reject(new LensError('PORT_IN_USE', `port ${opts.port ?? 8787} on ${host} is already in use`, { cause: e }));
      else if (e.code === 'EACCES') reject(new LensError('PORT_IN_USE', `not allowed to listen on ${host}:${opts.port ?? 8787}`, { cause: e }));
      else reject(new LensError('BAD_CONFIG', `cannot listen on ${host}:${opts.port ?? 8787}: ${e.message}`, { cause: e }));
    };
    const onListening = (): void => { server.off('error', onError); resolve(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port ?? 8787, host);
  });
  server.on('error', (e) => opts.logger.error(`proxy server error: ${errorMessage(e)}`));
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  selfUrl = `http://${urlHost}:${port}`;

  let closed: Promise<void> | null = null;
  return {
    host, port, url: selfUrl,
    inFlight: () => sh.active.size,
    requestsSeen: () => seen,
    recordBacklog: () => ({ records: sh.records.size, bytes: sh.records.backlogBytes }),
    close: (o = {}) => {
      closed ??= (async () => {
        sh.closing = true;
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const deadline = Date.now() + (o.drainMs ?? 5000);
        while (sh.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const ex of sh.active.values()) ex.abortForShutdown();
        server.closeAllConnections();
        // Records of aborted exchanges are built on the next ticks; wait for all, including those.
        while (sh.records.size > 0 || sh.active.size > 0) {
          await Promise.race([sh.records.idle(), new Promise((r) => setTimeout(r, 50))]);
        }
        await serverClosed;
        await Promise.all([...sh.pools.values()].map((p) => p.close().catch(() => p.destroy())));
      })();
      return closed;
    },
  };
}
