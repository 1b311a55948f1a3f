// Token usage from provider responses (JSON and SSE), normalised to one shape (core/types Usage),
// plus the reassembled final message of a stream. Bodies come from the network, so every read goes
// through a lenient zod schema: unknown fields pass, a wrong type means "no usage", never a throw.
import * as path from 'node:path';
import { z } from 'zod';
import type { StreamEvent, Usage } from '../core/types';

export interface UsageInput {
  provider: string;
  /** The path the client sent to the proxy (query string allowed). */
  path: string;
  /** Parsed JSON, or undefined when the body was not JSON. */
  requestBody: unknown;
  responseBody: unknown;
  streamEvents: StreamEvent[] | null;
}

export interface UsageResult {
  usage: Usage | null;
  responseModel: string | null;
  /** For streams: the final object in the non-streamed response shape; null otherwise. */
  reassembled: unknown | null;
  /** Set when usage could not be read or estimated for a reason worth showing on the record. */
  warning?: string;
}

export type ApiShape = 'openai-chat' | 'openai-completions' | 'openai-responses' | 'openai-embeddings' | 'anthropic-messages' | 'unknown';

/** Which API a request spoke, from its path (the query string and any route prefix are ignored). */
export function detectShape(requestPath: string, provider?: string): ApiShape {
  const p = requestPath.split('?')[0].replace(/\/+$/, '');
  if (p.endsWith('/chat/completions')) return 'openai-chat';
  if (p.endsWith('/completions')) return 'openai-completions';
  if (p.endsWith('/embeddings')) return 'openai-embeddings';
  if (/\/responses(\/[^/]+)?$/.test(p) && !p.endsWith('/input_items')) return 'openai-responses';
  // OpenAI's Assistants API also has .../threads/{id}/messages; that is not Anthropic's Messages API.
  if (p.endsWith('/messages') && !p.includes('/threads/')) return 'anthropic-messages';
  void provider; // paths are unambiguous today; the provider is kept for gateways that rename routes
  return 'unknown';
}

// ---------- schemas (only the fields we read; everything else passes through untouched) ----------

const count = z.number().nonnegative();
const optCount = count.nullish().catch(undefined);
const str = z.string().nullish().catch(undefined);
// zod 4 makes a z.unknown() key required; these fields are all optional.
const opt = z.unknown().optional();

const OpenAiUsage = z.object({
  prompt_tokens: count,
  completion_tokens: count.nullish(),
  total_tokens: count.nullish(),
  // The details are optional extras: a malformed one must not lose the main counts.
  prompt_tokens_details: z.object({ cached_tokens: optCount }).nullish().catch(undefined),
  completion_tokens_details: z.object({ reasoning_tokens: optCount }).nullish().catch(undefined),
});
export type OpenAiUsage = z.infer<typeof OpenAiUsage>;
/** The zod schema, for tests that prove the direct check agrees with it. */
export const OpenAiUsageSchema = OpenAiUsage;

const ResponsesUsage = z.object({
  input_tokens: count,
  output_tokens: count,
  total_tokens: count.nullish(),
  input_tokens_details: z.object({ cached_tokens: optCount }).nullish().catch(undefined),
  output_tokens_details: z.object({ reasoning_tokens: optCount }).nullish().catch(undefined),
});
type ResponsesUsage = z.infer<typeof ResponsesUsage>;

/** Anthropic usage; every field optional because streams spread it over message_start and message_delta. */
const AnthropicUsagePart = z.object({
  input_tokens: count.nullish(),
  output_tokens: count.nullish(),
  cache_creation_input_tokens: count.nullish(),
  cache_read_input_tokens: count.nullish(),
  output_tokens_details: z.object({ thinking_tokens: optCount }).nullish().catch(undefined),
});
type AnthropicUsagePart = z.infer<typeof AnthropicUsagePart>;

const WithModel = z.object({ model: str });
const WithUsage = z.object({ usage: opt });

// ---------- normalisation ----------

function num(n: number | null | undefined): number {
  return typeof n === 'number' ? n : 0;
}

function fromOpenAi(u: OpenAiUsage): Usage {
  const prompt = u.prompt_tokens;
  const completion = num(u.completion_tokens);
  return {
    promptTokens: prompt,
    completionTokens: completion,
    // OpenAI's cached tokens are already inside prompt_tokens: copy, never add.
    cacheReadTokens: Math.min(num(u.prompt_tokens_details?.cached_tokens), prompt),
    cacheWriteTokens: 0,
    reasoningTokens: Math.min(num(u.completion_tokens_details?.reasoning_tokens), completion),
    totalTokens: typeof u.total_tokens === 'number' ? u.total_tokens : prompt + completion,
    estimated: false,
  };
}

function fromResponses(u: ResponsesUsage): Usage {
  return {
    promptTokens: u.input_tokens,
    completionTokens: u.output_tokens,
    cacheReadTokens: Math.min(num(u.input_tokens_details?.cached_tokens), u.input_tokens),
    cacheWriteTokens: 0,
    reasoningTokens: Math.min(num(u.output_tokens_details?.reasoning_tokens), u.output_tokens),
    totalTokens: typeof u.total_tokens === 'number' ? u.total_tokens : u.input_tokens + u.output_tokens,
    estimated: false,
  };
}

function fromAnthropic(u: AnthropicUsagePart): Usage | null {
  if (typeof u.input_tokens !== 'number' || typeof u.output_tokens !== 'number') return null;
  const write = num(u.cache_creation_input_tokens);
  const read = num(u.cache_read_input_tokens);
  // Anthropic's input_tokens excludes cached tokens; our promptTokens counts all input.
  const prompt = u.input_tokens + write + read;
  return {
    promptTokens: prompt,
    completionTokens: u.output_tokens,
    cacheReadTokens: read,
    cacheWriteTokens: write,
    reasoningTokens: Math.min(num(u.output_tokens_details?.thinking_tokens), u.output_tokens),
    totalTokens: prompt + u.output_tokens,
    estimated: false,
  };
}

function parseWith<T>(schema: z.ZodType<T>, v: unknown): T | null {
  const r = schema.safeParse(v);
  return r.success ? r.data : null;
}

// Every non-streamed response goes through these: plain objects (what JSON.parse gives) are read
// directly, which is what the zod schemas would answer for them; anything else still gets zod.
function usageField(body: unknown): unknown {
  if (isObj(body)) return body.usage;
  return parseWith(WithUsage, body)?.usage;
}

function modelOf(body: unknown): string | null {
  if (isObj(body)) return typeof body.model === 'string' ? body.model : null;
  return parseWith(WithModel, body)?.model ?? null;
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isOptCount = (v: unknown): boolean => v === undefined || v === null || isCount(v);

/** The usage when it is exactly what OpenAI sends (so zod would take it unchanged), else null. */
export function plainOpenAiUsage(v: unknown): OpenAiUsage | null {
  if (!isObj(v) || !isCount(v.prompt_tokens) || !isOptCount(v.completion_tokens) || !isOptCount(v.total_tokens)) return null;
  const p = v.prompt_tokens_details;
  if (p !== undefined && p !== null && !(isObj(p) && isOptCount(p.cached_tokens))) return null;
  const c = v.completion_tokens_details;
  if (c !== undefined && c !== null && !(isObj(c) && isOptCount(c.reasoning_tokens))) return null;
  return v as OpenAiUsage;
}

/** OpenAI usage as zod reads it, with the direct check first. */
export function openAiUsage(v: unknown): OpenAiUsage | null {
  return plainOpenAiUsage(v) ?? parseWith(OpenAiUsage, v);
}

// ---------- entry point ----------

/** Usage, response model and (for streams) the reassembled message for one exchange. Never throws. */
export function extractUsage(input: UsageInput): UsageResult {
  try {
    return readUsage(input);
  } catch {
    // A bug here must not cost the record: the proxy still logs it, just without usage.
    return { usage: null, responseModel: null, reassembled: null };
  }
}

/** extractUsage without the safety net, so tests can prove that bad input alone never makes it throw. */
export function readUsage(input: UsageInput): UsageResult {
  let shape = detectShape(input.path, input.provider);
  const events = input.streamEvents && input.streamEvents.length > 0 ? parseEvents(input.streamEvents) : null;
  if (shape === 'unknown') shape = guessShape(input.responseBody, events);
  if (events) {
    switch (shape) {
      case 'openai-chat':
      case 'openai-completions':
        return withEstimate(reassembleChat(events, shape), input, shape);
      case 'openai-responses':
        return withEstimate(reassembleResponses(events), input, shape);
      case 'anthropic-messages':
        return withEstimate(reassembleAnthropic(events), input, shape);
      default:
        return { usage: null, responseModel: null, reassembled: null };
    }
  }
  const body = input.responseBody;
  const responseModel = modelOf(body);
  let usage: Usage | null = null;
  const raw = usageField(body);
  switch (shape) {
    case 'openai-chat':
    case 'openai-completions':
    case 'openai-embeddings': {
      const u = openAiUsage(raw);
      usage = u && fromOpenAi(u);
      break;
    }
    case 'openai-responses': {
      const u = parseWith(ResponsesUsage, raw);
      usage = u && fromResponses(u);
      break;
    }
    case 'anthropic-messages': {
      const u = parseWith(AnthropicUsagePart, raw);
      usage = u && fromAnthropic(u);
      break;
    }
    default:
      break;
  }
  if (!usage && shape !== 'openai-embeddings' && shape !== 'unknown') {
    const est = estimate(input.requestBody, outputText(shape, body), shape);
    return { usage: est.usage, responseModel, reassembled: null, ...(est.warning ? { warning: est.warning } : {}) };
  }
  return { usage, responseModel, reassembled: null };
}

function guessShape(body: unknown, events: ParsedEvent[] | null): ApiShape {
  const probe = events ? events[0]?.json : body;
  const o = parseWith(z.object({ object: str, type: str }), probe);
  if (!o) return 'unknown';
  if (o.object === 'chat.completion' || o.object === 'chat.completion.chunk') return 'openai-chat';
  if (o.object === 'text_completion') return 'openai-completions';
  if (o.object === 'response' || o.type?.startsWith('response.')) return 'openai-responses';
  if (o.object === 'list' && usageField(body) !== undefined) return 'openai-embeddings';
  if (o.type === 'message' || o.type === 'message_start') return 'anthropic-messages';
  return 'unknown';
}

// ---------- streams ----------

interface ParsedEvent {
  event: string | null;
  json: unknown;
}

function parseEvents(events: StreamEvent[]): ParsedEvent[] {
  const out: ParsedEvent[] = [];
  for (const ev of events) {
    const data = ev.data.trim();
    if (data === '' || data === '[DONE]') continue;
    try {
      out.push({ event: ev.event, json: JSON.parse(data) });
    } catch {
      // A malformed event (truncated stream, proxy fault injection) is skipped, the rest still counts.
    }
  }
  return out;
}

const ChatChunk = z.object({
  id: str,
  created: z.number().nullish().catch(undefined),
  model: str,
  system_fingerprint: str,
  choices: z.array(z.object({
    index: z.number().int().nonnegative().catch(0),
    text: str, // legacy /completions
    delta: z.object({
      role: str,
      content: str,
      refusal: str,
      reasoning_content: str,
      tool_calls: z.array(z.object({
        index: z.number().int().nonnegative().catch(0),
        id: str,
        type: str,
        function: z.object({ name: str, arguments: str }).nullish().catch(undefined),
      })).nullish().catch(undefined),
    }).nullish().catch(undefined),
    finish_reason: str,
  })).nullish().catch(undefined),
  usage: opt,
});

export type ChatChunk = z.infer<typeof ChatChunk>;

/** ChatChunk through zod alone (tests compare the fast path against it). */
export function zodChatChunk(json: unknown): ChatChunk | null {
  return parseWith(ChatChunk, json);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What `str` accepts unchanged: a string, null or nothing. */
function isStrish(v: unknown): boolean {
  return v === undefined || v === null || typeof v === 'string';
}

/**
 * The chunk itself when it is already exactly what ChatChunk would produce for the fields read
 * here (right types, no tool calls); null sends it through zod. zod on every event of a stream
 * was about a tenth of the proxy's CPU for streamed calls; chunks as OpenAI sends them take this
 * path, and anything unusual still gets zod's exact coercions (.catch, tool-call fragments).
 */
export function plainChatChunk(json: unknown): ChatChunk | null {
  if (!isObj(json)) return null;
  if (!isStrish(json.id) || !isStrish(json.model) || !isStrish(json.system_fingerprint)) return null;
  const created = json.created;
  if (created !== undefined && created !== null && !(typeof created === 'number' && Number.isFinite(created))) return null;
  const choices = json.choices;
  if (choices !== undefined && choices !== null) {
    if (!Array.isArray(choices)) return null;
    for (const ch of choices as unknown[]) {
      if (!isObj(ch)) return null;
      const index = ch.index;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) return null;
      if (!isStrish(ch.text) || !isStrish(ch.finish_reason)) return null;
      const d = ch.delta;
      if (d !== undefined && d !== null) {
        if (!isObj(d)) return null;
        if (!isStrish(d.role) || !isStrish(d.content) || !isStrish(d.refusal) || !isStrish(d.reasoning_content)) return null;
        if (d.tool_calls !== undefined && d.tool_calls !== null) return null;
      }
    }
  }
  return json as ChatChunk;
}

interface ToolCallAcc { id: string | null; type: string; name: string; arguments: string }
interface ChoiceAcc {
  role: string;
  content: string | null;
  refusal: string | null;
  reasoning: string | null;
  toolCalls: Map<number, ToolCallAcc>;
  finishReason: string | null;
}

function reassembleChat(events: ParsedEvent[], shape: ApiShape): UsageResult {
  let id: string | null = null;
  let model: string | null = null;
  let created: number | null = null;
  let fingerprint: string | null = null;
  let rawUsage: unknown = null;
  let usage: Usage | null = null;
  const choices = new Map<number, ChoiceAcc>();
  for (const { json } of events) {
    const c = plainChatChunk(json) ?? parseWith(ChatChunk, json);
    if (!c) continue;
    id ??= c.id ?? null;
    model ??= c.model ?? null;
    created ??= c.created ?? null;
    fingerprint ??= c.system_fingerprint ?? null;
    if (c.usage != null) {
      const u = openAiUsage(c.usage);
      if (u) { usage = fromOpenAi(u); rawUsage = c.usage; }
    }
    for (const ch of c.choices ?? []) {
      let acc = choices.get(ch.index);
      if (!acc) {
        acc = { role: 'assistant', content: null, refusal: null, reasoning: null, toolCalls: new Map(), finishReason: null };
        choices.set(ch.index, acc);
      }
      const d = ch.delta;
      if (typeof ch.text === 'string') acc.content = (acc.content ?? '') + ch.text;
      if (d?.role) acc.role = d.role;
      if (typeof d?.content === 'string') acc.content = (acc.content ?? '') + d.content;
      if (typeof d?.refusal === 'string') acc.refusal = (acc.refusal ?? '') + d.refusal;
      if (typeof d?.reasoning_content === 'string') acc.reasoning = (acc.reasoning ?? '') + d.reasoning_content;
      for (const tc of d?.tool_calls ?? []) {
        // Tool calls arrive as fragments keyed by index: the first carries id and name, later ones argument text.
        let t = acc.toolCalls.get(tc.index);
        if (!t) { t = { id: null, type: 'function', name: '', arguments: '' }; acc.toolCalls.set(tc.index, t); }
        if (tc.id) t.id = tc.id;
        if (tc.type) t.type = tc.type;
        if (tc.function?.name) t.name += tc.function.name;
        if (tc.function?.arguments) t.arguments += tc.function.arguments;
      }
      if (ch.finish_reason) acc.finishReason = ch.finish_reason;
    }
  }
  const sorted = [...choices.entries()].sort((a, b) => a[0] - b[0]);
  const reassembled: Record<string, unknown> = shape === 'openai-completions'
    ? {
        id, object: 'text_completion', created, model,
        choices: sorted.map(([index, a]) => ({ index, text: a.content ?? '', logprobs: null, finish_reason: a.finishReason })),
      }
    : {
        id, object: 'chat.completion', created, model,
        ...(fingerprint ? { system_fingerprint: fingerprint } : {}),
        choices: sorted.map(([index, a]) => {
          const message: Record<string, unknown> = { role: a.role, content: a.content, refusal: a.refusal };
          if (a.reasoning !== null) message.reasoning_content = a.reasoning;
          if (a.toolCalls.size > 0) {
            message.tool_calls = [...a.toolCalls.entries()].sort((x, y) => x[0] - y[0])
              .map(([, t]) => ({ id: t.id, type: t.type, function: { name: t.name, arguments: t.arguments } }));
          }
          return { index, message, logprobs: null, finish_reason: a.finishReason };
        }),
      };
  if (rawUsage !== null) reassembled.usage = rawUsage;
  return { usage, responseModel: model, reassembled };
}

const ResponsesEvent = z.object({
  type: str,
  response: opt,
  delta: opt,
  output_index: z.number().int().nonnegative().nullish().catch(undefined),
  item: opt,
});
const ResponseObject = z.object({ id: str, model: str, status: str, output: z.array(opt).nullish().catch(undefined), usage: opt });

function reassembleResponses(events: ParsedEvent[]): UsageResult {
  let final: Record<string, unknown> | null = null;
  let started: Record<string, unknown> | null = null;
  let text = '';
  const items = new Map<number, unknown>();
  for (const { event, json } of events) {
    const e = parseWith(ResponsesEvent, json);
    if (!e) continue;
    const type = e.type ?? event ?? '';
    const resp = e.response !== null && typeof e.response === 'object' ? (e.response as Record<string, unknown>) : null;
    if (resp && (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed')) final = resp;
    else if (resp && (type === 'response.created' || type === 'response.in_progress')) started = resp;
    else if (type === 'response.output_text.delta' && typeof e.delta === 'string') text += e.delta;
    else if (type === 'response.output_item.done' && typeof e.output_index === 'number') items.set(e.output_index, e.item);
  }
  let reassembled: Record<string, unknown> | null = final;
  if (!reassembled && (started || text || items.size > 0)) {
    // The stream ended before response.completed (client abort, upstream reset): rebuild what arrived.
    const output = items.size > 0
      ? [...items.entries()].sort((a, b) => a[0] - b[0]).map(([, it]) => it)
      : text ? [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }] : [];
    reassembled = { ...(started ?? { object: 'response' }), status: 'incomplete', output };
  }
  const r = reassembled ? parseWith(ResponseObject, reassembled) : null;
  const u = r && r.usage != null ? parseWith(ResponsesUsage, r.usage) : null;
  return { usage: u && fromResponses(u), responseModel: r?.model ?? null, reassembled };
}

const AnthropicEvent = z.object({
  type: str,
  index: z.number().int().nonnegative().nullish().catch(undefined),
  message: z.looseObject({ id: str, model: str, role: str, usage: opt }).nullish().catch(undefined),
  content_block: z.looseObject({ type: str }).nullish().catch(undefined),
  delta: z.object({
    type: str,
    text: str,
    thinking: str,
    signature: str,
    partial_json: str,
    stop_reason: str,
    stop_sequence: str,
  }).nullish().catch(undefined),
  usage: opt,
});

interface BlockAcc { block: Record<string, unknown>; json: string }

function reassembleAnthropic(events: ParsedEvent[]): UsageResult {
  let message: Record<string, unknown> | null = null;
  let stopReason: string | null = null;
  let stopSequence: string | null = null;
  const usage: AnthropicUsagePart = {};
  const blocks = new Map<number, BlockAcc>();
  const mergeUsage = (raw: unknown): void => {
    const u = raw == null ? null : parseWith(AnthropicUsagePart, raw);
    if (!u) return;
    // message_delta counts are cumulative, and newer APIs repeat input/cache counts there: the latest non-null wins.
    for (const k of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
      if (typeof u[k] === 'number') usage[k] = u[k];
    }
    if (u.output_tokens_details) usage.output_tokens_details = u.output_tokens_details;
  };
  for (const { event, json } of events) {
    const e = parseWith(AnthropicEvent, json);
    if (!e) continue;
    const type = e.type ?? event;
    if (type === 'message_start' && e.message) {
      message = { ...e.message };
      mergeUsage(e.message.usage);
    } else if (type === 'content_block_start' && e.content_block && typeof e.index === 'number') {
      blocks.set(e.index, { block: { ...e.content_block }, json: '' });
    } else if (type === 'content_block_delta' && e.delta && typeof e.index === 'number') {
      let b = blocks.get(e.index);
      if (!b) { b = { block: { type: e.delta.type === 'text_delta' ? 'text' : 'unknown' }, json: '' }; blocks.set(e.index, b); }
      const d = e.delta;
      if (d.type === 'text_delta' && typeof d.text === 'string') b.block.text = String(b.block.text ?? '') + d.text;
      else if (d.type === 'thinking_delta' && typeof d.thinking === 'string') b.block.thinking = String(b.block.thinking ?? '') + d.thinking;
      else if (d.type === 'signature_delta' && typeof d.signature === 'string') b.block.signature = d.signature;
      else if (d.type === 'input_json_delta' && typeof d.partial_json === 'string') b.json += d.partial_json;
    } else if (type === 'message_delta') {
      if (e.delta?.stop_reason) stopReason = e.delta.stop_reason;
      if (e.delta?.stop_sequence) stopSequence = e.delta.stop_sequence;
      mergeUsage(e.usage);
    }
  }
  if (!message && blocks.size === 0) return { usage: null, responseModel: null, reassembled: null };
  const content = [...blocks.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => {
    if (b.json !== '' || b.block.type === 'tool_use' || b.block.type === 'server_tool_use') {
      let input: unknown = b.block.input ?? {};
      if (b.json !== '') {
        // A cut stream can leave half a JSON object: keep the raw text rather than lose it.
        try { input = JSON.parse(b.json); } catch { input = b.json; }
      }
      return { ...b.block, input };
    }
    return b.block;
  });
  const base = message ?? { type: 'message', role: 'assistant' };
  const reassembled: Record<string, unknown> = {
    ...base,
    content,
    stop_reason: stopReason,
    stop_sequence: stopSequence,
    usage: { ...(parseWith(z.looseObject({}), (message ?? {}).usage) ?? {}), ...stripUndefined(usage) },
  };
  const model = typeof base.model === 'string' ? base.model : null;
  return { usage: fromAnthropic(usage), responseModel: model, reassembled };
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}

// ---------- estimation ----------

type Counter = (text: string) => number;
let counter: Counter | null | undefined;

/**
 * The tokenizer is loaded on first need, not at import: its table is ~1 MB of JavaScript. In the
 * bundles it is a separate file beside extension.js / cli.js (dist/tokenizer.js, built from
 * tokenizerEntry.ts); from source (tests, tsx) it is tokenizerEntry.ts itself. The specifiers are not
 * literals on purpose, so that esbuild leaves the table out of the main bundle.
 */
function loadCounter(): Counter | null {
  if (counter !== undefined) return counter;
  counter = null;
  for (const candidate of [path.join(__dirname, 'tokenizer.js'), path.join(__dirname, 'tokenizerEntry')]) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(candidate) as { countTokens?: unknown };
      if (typeof mod.countTokens === 'function') {
        const fn = mod.countTokens as (text: string) => number;
        counter = (text) => (text ? fn(text) : 0);
        break;
      }
    } catch {
      // Not in this layout; try the next one.
    }
  }
  return counter;
}

/** Exposed for tests and diagnostics: the encoding estimates use, or null when the tokenizer is unavailable. */
export function estimatorEncoding(): string | null {
  return loadCounter() ? 'cl100k_base' : null;
}

// OpenAI's published chat accounting (tiktoken cookbook): each message costs its tokens plus 3
// framing tokens (+1 for a name), and every reply is primed with 3 more. We apply the same
// framing to Anthropic messages: it is an approximation there, as is the tokenizer.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;

export const NO_TOKENIZER_WARNING = 'no usage reported and the token counter (tokenizer.js beside the bundle) is missing: tokens not estimated';

function estimate(requestBody: unknown, output: string | null, shape: ApiShape): { usage: Usage | null; warning?: string } {
  if (!output) return { usage: null }; // nothing generated: nothing to bill, and no evidence of a completed call
  const count = loadCounter();
  // A packaging mistake, not bad input: say so on the record instead of silently losing the cost.
  if (!count) return { usage: null, warning: NO_TOKENIZER_WARNING };
  const prompt = estimatePrompt(requestBody, shape, count);
  const completion = count(output);
  return {
    usage: {
      promptTokens: prompt,
      completionTokens: completion,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      totalTokens: prompt + completion,
      estimated: true,
    },
  };
}

function withEstimate(r: UsageResult, input: UsageInput, shape: ApiShape): UsageResult {
  if (r.usage || !r.reassembled) return r;
  const est = estimate(input.requestBody, outputText(shape, r.reassembled), shape);
  return { ...r, usage: est.usage, ...(est.warning ? { warning: est.warning } : {}) };
}

/** Text of every content part we can read (strings, {text}, {type:'text'|'input_text'|'output_text'}); images etc. are skipped. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map(textOf).filter(Boolean).join('\n');
  if (content && typeof content === 'object') {
    const o = content as Record<string, unknown>;
    const parts: string[] = [];
    if (typeof o.text === 'string') parts.push(o.text);
    if (typeof o.thinking === 'string') parts.push(o.thinking);
    if (typeof o.refusal === 'string') parts.push(o.refusal);
    if (o.type === 'tool_use' || o.type === 'server_tool_use') parts.push(String(o.name ?? ''), JSON.stringify(o.input ?? {}));
    if (o.type === 'tool_result' || o.type === 'function_call_output') parts.push(textOf(o.content ?? o.output));
    if (o.type === 'function_call') parts.push(String(o.name ?? ''), String(o.arguments ?? ''));
    if (Array.isArray(o.content) && o.type !== 'tool_result') parts.push(textOf(o.content));
    if (Array.isArray(o.summary)) parts.push(textOf(o.summary));
    return parts.filter(Boolean).join('\n');
  }
  return '';
}

const Msg = z.object({ role: str, name: str, content: opt, tool_calls: opt });
const ChatRequest = z.object({ messages: z.array(opt).nullish().catch(undefined), tools: opt, functions: opt, prompt: opt });
const ResponsesRequest = z.object({ instructions: str, input: opt, tools: opt });
const AnthropicRequest = z.object({ system: opt, messages: z.array(opt).nullish().catch(undefined), tools: opt });

function estimatePrompt(body: unknown, shape: ApiShape, count: Counter): number {
  const messagesTokens = (messages: unknown[]): number => {
    let n = 0;
    for (const m of messages) {
      const msg = parseWith(Msg, m);
      if (!msg) continue;
      n += TOKENS_PER_MESSAGE + count(msg.role ?? '') + count(textOf(msg.content));
      if (msg.name) n += TOKENS_PER_NAME + count(msg.name);
      if (msg.tool_calls != null) n += count(JSON.stringify(msg.tool_calls));
    }
    return n;
  };
  const json = (v: unknown): number => (v == null ? 0 : count(JSON.stringify(v)));
  switch (shape) {
    case 'openai-chat':
    case 'openai-completions': {
      const b = parseWith(ChatRequest, body);
      if (!b) return 0;
      if (shape === 'openai-completions') return count(textOf(b.prompt));
      return messagesTokens(b.messages ?? []) + REPLY_PRIMING + json(b.tools) + json(b.functions);
    }
    case 'openai-responses': {
      const b = parseWith(ResponsesRequest, body);
      if (!b) return 0;
      const input = typeof b.input === 'string'
        ? TOKENS_PER_MESSAGE + count(b.input)
        : Array.isArray(b.input) ? messagesTokens(b.input) : 0;
      const instructions = b.instructions ? TOKENS_PER_MESSAGE + count(b.instructions) : 0;
      return instructions + input + REPLY_PRIMING + json(b.tools);
    }
    case 'anthropic-messages': {
      const b = parseWith(AnthropicRequest, body);
      if (!b) return 0;
      const system = b.system != null ? TOKENS_PER_MESSAGE + count(textOf(b.system)) : 0;
      return system + messagesTokens(b.messages ?? []) + REPLY_PRIMING + json(b.tools);
    }
    default:
      return 0;
  }
}

/** The generated text of a (reassembled or non-streamed) response, for estimation. */
function outputText(shape: ApiShape, body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const o = body as Record<string, unknown>;
  let text = '';
  switch (shape) {
    case 'openai-chat':
    case 'openai-completions': {
      if (!Array.isArray(o.choices)) return null;
      for (const c of o.choices) {
        if (!c || typeof c !== 'object') continue;
        const ch = c as Record<string, unknown>;
        if (typeof ch.text === 'string') text += ch.text;
        const m = ch.message && typeof ch.message === 'object' ? (ch.message as Record<string, unknown>) : null;
        if (!m) continue;
        if (typeof m.content === 'string') text += m.content;
        else text += textOf(m.content);
        if (typeof m.refusal === 'string') text += m.refusal;
        if (typeof m.reasoning_content === 'string') text += m.reasoning_content;
        if (Array.isArray(m.tool_calls)) {
          for (const t of m.tool_calls) {
            const f = t && typeof t === 'object' ? (t as { function?: { name?: unknown; arguments?: unknown } }).function : undefined;
            if (f) text += String(f.name ?? '') + String(f.arguments ?? '');
          }
        }
      }
      return text;
    }
    case 'openai-responses':
      return Array.isArray(o.output) ? textOf(o.output) : null;
    case 'anthropic-messages':
      return Array.isArray(o.content) ? textOf(o.content) : null;
    default:
      return null;
  }
}

// ---------- first content token (TTFT) ----------

/**
 * True when this SSE event carries generated content: the proxy stamps TTFT at the first one.
 * Stateless and cheap: a substring pre-check avoids parsing role-only / keep-alive events.
 */
export function isContentEvent(requestPath: string, ev: { event: string | null; data: string }): boolean {
  const data = ev.data;
  if (data.length < 2 || data.charCodeAt(0) !== 123 /* { */) return false;
  const name = ev.event;
  if (name) {
    if (name.startsWith('response.')) return isResponsesContent(name);
    if (name === 'content_block_delta' || name === 'content_block_start') return anthropicContent(data);
    if (name !== 'message' && name !== 'completion') return false;
  }
  if (data.includes('"choices"')) return chatContent(data);
  if (data.includes('"type":"response.') || data.includes('"type": "response.')) {
    const t = typeOf(data);
    return t !== null && isResponsesContent(t);
  }
  if (data.includes('content_block_')) return anthropicContent(data);
  void requestPath; // the event itself identifies the API; path kept in the contract for future shapes
  return false;
}

function isResponsesContent(type: string): boolean {
  // Every generated-token stream in the Responses API is a `response.<part>.delta` event
  // (output_text, refusal, function_call_arguments, reasoning_summary_text, audio ...).
  return type.endsWith('.delta');
}

function typeOf(data: string): string | null {
  try {
    const o = JSON.parse(data) as { type?: unknown };
    return typeof o.type === 'string' ? o.type : null;
  } catch {
    return null;
  }
}

function nonEmpty(v: unknown): boolean {
  return (typeof v === 'string' && v.length > 0) || (Array.isArray(v) && v.length > 0);
}

function chatContent(data: string): boolean {
  let o: unknown;
  try { o = JSON.parse(data); } catch { return false; }
  const choices = (o as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return false;
  for (const c of choices) {
    if (!c || typeof c !== 'object') continue;
    const ch = c as { text?: unknown; delta?: Record<string, unknown> | null };
    if (nonEmpty(ch.text)) return true;
    const d = ch.delta;
    if (d && typeof d === 'object' && (nonEmpty(d.content) || nonEmpty(d.tool_calls) || nonEmpty(d.refusal) || nonEmpty(d.reasoning_content))) {
      return true;
    }
  }
  return false;
}

function anthropicContent(data: string): boolean {
  let o: { type?: unknown; content_block?: { type?: unknown }; delta?: Record<string, unknown> };
  try { o = JSON.parse(data) as typeof o; } catch { return false; }
  if (o.type === 'content_block_start') {
    const t = o.content_block?.type;
    return t === 'tool_use' || t === 'server_tool_use';
  }
  if (o.type === 'content_block_delta' && o.delta && typeof o.delta === 'object') {
    return nonEmpty(o.delta.text) || nonEmpty(o.delta.thinking) || nonEmpty(o.delta.partial_json);
  }
  return false;
}
