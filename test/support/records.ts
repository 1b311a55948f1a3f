// A test-data builder for LogRecord: every test states only the fields it cares about, and the
// rest is a plausible finished OpenAI chat completion. Shared by store, query, view and webview tests.
import { randomUUID } from 'node:crypto';
import type { LogRecord, RecordSummary, Usage } from '../../src/core/types';

// Starts a few days back (inside any retention window) and moves 1 s per record.
let clock = Date.now() - 3 * 24 * 60 * 60 * 1000;

/** Distinct, increasing start times so "newest first" orderings are deterministic between builds. */
function nextStart(): number {
  clock += 1000;
  return clock;
}

export function makeUsage(overrides: Partial<Usage> = {}): Usage {
  const promptTokens = overrides.promptTokens ?? 12;
  const completionTokens = overrides.completionTokens ?? 8;
  return {
    promptTokens,
    completionTokens,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    totalTokens: promptTokens + completionTokens,
    estimated: false,
    ...overrides,
  };
}

export function makeRecord(overrides: Partial<LogRecord> = {}): LogRecord {
  const startedAt = overrides.startedAt ?? nextStart();
  const latencyMs = overrides.latencyMs !== undefined ? overrides.latencyMs : 420;
  const requestJson = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say hello' }],
  };
  const responseJson = {
    id: 'chatcmpl-123',
    object: 'chat.completion',
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
  };
  const base: LogRecord = {
    id: randomUUID(),
    kind: 'llm',
    state: 'ok',
    startedAt,
    firstByteAt: startedAt + 200,
    endedAt: latencyMs === null ? null : startedAt + latencyMs,
    latencyMs,
    ttftMs: 200,
    provider: 'openai',
    targetUrl: 'https://api.openai.com/v1/chat/completions',
    method: 'POST',
    path: '/v1/chat/completions',
    requestModel: 'gpt-4o-mini',
    responseModel: 'gpt-4o-mini-2024-07-18',
    status: 200,
    error: null,
    streamed: false,
    usage: makeUsage(),
    costUsd: 0.0000066,
    cost: { inputUsd: 0.0000018, cachedInputUsd: 0, cacheWriteUsd: 0, outputUsd: 0.0000048, totalUsd: 0.0000066 },
    price: { inputPerM: 0.15, cachedInputPerM: 0.075, cacheWritePerM: null, outputPerM: 0.6, source: 'test', matchedModel: 'gpt-4o-mini' },
    properties: {},
    userId: null,
    session: null,
    cache: null,
    omitRequest: false,
    omitResponse: false,
    requestHeaders: { 'Content-Type': 'application/json', Authorization: 'Bearer [REDACTED]' },
    responseHeaders: { 'content-type': 'application/json' },
    requestBytes: 0,
    responseBytes: 0,
    warnings: [],
    bodies: {
      request: { kind: 'json', json: requestJson, size: 0, truncated: false },
      response: { kind: 'json', json: responseJson, size: 0, truncated: false },
      streamEvents: null,
      reassembled: null,
    },
  };
  const rec: LogRecord = { ...base, ...overrides };
  if (overrides.bodies === undefined) {
    rec.bodies.request.size = Buffer.byteLength(JSON.stringify(requestJson));
    rec.bodies.response.size = Buffer.byteLength(JSON.stringify(responseJson));
    if (overrides.requestBytes === undefined) rec.requestBytes = rec.bodies.request.size;
    if (overrides.responseBytes === undefined) rec.responseBytes = rec.bodies.response.size;
  }
  return rec;
}

/** The summary part of a record (what the store keeps in memory), for comparisons. */
export function summaryOf(record: LogRecord): RecordSummary {
  const { bodies: _bodies, ...summary } = record;
  return summary;
}

/** A record in a session, with the Helicone session fields filled. */
export function makeSessionRecord(sessionId: string, overrides: Partial<LogRecord> = {}): LogRecord {
  return makeRecord({ session: { id: sessionId, path: '/', name: `Session ${sessionId.slice(0, 8)}` }, ...overrides });
}
