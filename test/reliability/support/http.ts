// A plain node:http client for the reliability suites: every byte and every way of leaving is
// under the test's control (an SDK would retry, buffer or hide a broken stream).
import * as http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './proc';

export interface RawResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Set when the response did not end cleanly (reset, aborted, socket error). */
  error: string | null;
  /** ms from send until the response headers. */
  headersMs: number | null;
}

export type LeaveAt =
  /** Destroy the socket after sending part of the body (before the upstream can answer). */
  | 'mid-upload'
  /** Destroy once the whole request is sent, before any response byte. */
  | 'after-send'
  /** Destroy on the response headers. */
  | 'on-headers'
  /** Destroy after the first body chunk. */
  | 'mid-body'
  /** Read everything, then destroy the (keep-alive) socket. */
  | 'after-end';

export interface RawOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  agent?: http.Agent | false;
  leaveAt?: LeaveAt;
  /** For 'after-send': wait this long after sending before leaving. */
  leaveAfterMs?: number;
  timeoutMs?: number;
}

export function rawRequest(url: string, o: RawOptions = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let status = 0;
    let headers: http.IncomingHttpHeaders = {};
    let headersMs: number | null = null;
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, headers, body: Buffer.concat(chunks), error, headersMs });
    };
    const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
    const hdrs: Record<string, string | string[]> = { ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}), ...o.headers };
    const req = http.request(url, { method: o.method ?? (body ? 'POST' : 'GET'), headers: hdrs, agent: o.agent ?? false }, (res) => {
      status = res.statusCode ?? 0;
      headers = res.headers;
      headersMs = Date.now() - t0;
      if (o.leaveAt === 'on-headers') { req.destroy(); done('left on headers'); return; }
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (o.leaveAt === 'mid-body') { req.destroy(); done('left mid-body'); }
      });
      res.on('end', () => {
        if (o.leaveAt === 'after-end') req.destroy();
        done(null);
      });
      res.on('aborted', () => done('aborted'));
      res.on('error', (e) => done(e.message));
      res.on('close', () => done(res.complete ? null : 'closed before the end'));
    });
    req.on('error', (e) => done(e.message));
    const timer = setTimeout(() => { req.destroy(); done('client timeout'); }, o.timeoutMs ?? 30_000);
    // Leave only once the bytes were handed to the kernel: a request destroyed before its socket
    // connected never reached the proxy, and would prove nothing.
    if (o.leaveAt === 'mid-upload' && body) {
      req.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))), () => {
        setTimeout(() => { req.destroy(); done('left mid-upload'); }, o.leaveAfterMs ?? 50);
      });
      return;
    }
    req.end(body, () => {
      if (o.leaveAt === 'after-send') setTimeout(() => { req.destroy(); done('left after send'); }, o.leaveAfterMs ?? 50);
    });
  });
}

/** An OpenAI chat completion body whose prompt carries `marker`. */
export function chatBody(marker: string, stream: boolean): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `question ${marker}` }],
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

/** Concatenated `delta.content` of an OpenAI chat SSE body (or message.content of a JSON one). */
export function replyText(body: Buffer | string): string {
  const text = body.toString();
  if (text.trimStart().startsWith('{')) {
    try { return (JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content; } catch { return ''; }
  }
  let out = '';
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    try {
      const ev = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> };
      out += ev.choices?.[0]?.delta?.content ?? '';
    } catch { /* a malformed event: the caller compares what it can */ }
  }
  return out;
}

const FIGURES = path.join(ROOT, 'out/reliability/figures.json');

/**
 * Keeps a measured figure for docs/RELIABILITY.md: out/reliability/figures.json, one key per
 * measurement, overwritten by the latest run. Tests report; nothing here asserts.
 */
export function recordFigure(key: string, value: unknown): void {
  mkdirSync(path.dirname(FIGURES), { recursive: true });
  let all: Record<string, unknown> = {};
  try { all = JSON.parse(readFileSync(FIGURES, 'utf8')) as Record<string, unknown>; } catch { /* first figure */ }
  all[key] = { ...(value as object), at: new Date().toISOString() };
  writeFileSync(FIGURES, JSON.stringify(all, null, 2) + '\n');
}

export interface ApiRow { request_id: string; response_status: number; properties: Record<string, string>; request_body?: unknown; response_body?: unknown }

/** Every finished record the query API of a running proxy serves, paged 1000 at a time. */
export async function queryAllRows(baseUrl: string, opts: { includeBodies?: boolean; headers?: Record<string, string> } = {}): Promise<ApiRow[]> {
  const rows: ApiRow[] = [];
  for (let offset = 0; ; offset += 1000) {
    const res = await rawRequest(`${baseUrl}/api/v1/request/query`, {
      body: JSON.stringify({ filter: 'all', limit: 1000, offset, sort: { created_at: 'asc' }, ...(opts.includeBodies ? { includeBodies: true } : {}) }),
      headers: opts.headers,
    });
    if (res.status !== 200) throw new Error(`query API answered ${res.status}: ${res.body.toString().slice(0, 300)}`);
    const page = (JSON.parse(res.body.toString()) as { data: ApiRow[] }).data;
    rows.push(...page);
    if (page.length < 1000) return rows;
  }
}
