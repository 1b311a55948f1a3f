// Turns a logged request/response pair into one readable message list, whatever the API shape:
// OpenAI chat completions, OpenAI Responses, Anthropic Messages, legacy completions, embeddings.
// Pure and DOM-free (unit-tested in Node). Every string here is untrusted model or client output:
// this module only moves it around; the view puts it into the DOM with textContent.
import { formatBytes } from './format';

export type ApiShape = 'openai-chat' | 'openai-responses' | 'anthropic' | 'openai-completions' | 'embeddings' | 'unknown';

export type ConvPart =
  | { kind: 'text'; text: string }
  | { kind: 'reasoning'; text: string }
  | { kind: 'refusal'; text: string }
  /** An image, audio clip or file, shown as a placeholder: never loaded (the CSP forbids it anyway). */
  | { kind: 'media'; label: string }
  | { kind: 'toolCall'; name: string; callId: string | null; args: string }
  | { kind: 'toolResult'; callId: string | null; text: string; isError: boolean }
  /** A block we do not know: shown as pretty JSON rather than dropped. */
  | { kind: 'json'; label: string; json: string };

export interface ConvMessage {
  role: string;
  origin: 'request' | 'response';
  /** Extra identification: a participant name, "choice 2", "instructions". */
  label: string | null;
  parts: ConvPart[];
}

export interface Conversation {
  shape: ApiShape;
  messages: ConvMessage[];
  tools: Array<{ name: string; description: string | null }>;
  /** Facts worth a line: finish reason, previous_response_id, number of embeddings. */
  notes: string[];
  /** The error an error response carried, if any. */
  error: string | null;
}

export interface ConversationInput {
  path: string;
  provider: string;
  /** Parsed request body, undefined when it was not JSON or not stored. */
  request: unknown;
  /** Parsed response body or, for streams, the reassembled response. */
  response: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function detectShape(input: ConversationInput): ApiShape {
  const path = input.path.split('?')[0] ?? '';
  const req = isObj(input.request) ? input.request : {};
  const res = isObj(input.response) ? input.response : {};
  if (/\/chat\/completions$/.test(path)) return 'openai-chat';
  if (/\/responses$/.test(path)) return 'openai-responses';
  if (/\/messages$/.test(path)) return 'anthropic';
  if (/\/embeddings$/.test(path)) return 'embeddings';
  if (/\/completions$/.test(path)) return 'openai-completions';
  // Custom upstreams may use other paths: fall back on the bodies.
  if (res.object === 'response' || ('input' in req && !('messages' in req) && !/embedding/.test(String(req.model)))) return 'openai-responses';
  if (res.type === 'message' || (input.provider === 'anthropic' && 'messages' in req)) return 'anthropic';
  if (res.object === 'chat.completion' || 'messages' in req) return 'openai-chat';
  if (res.object === 'list' && Array.isArray(res.data)) return 'embeddings';
  if ('prompt' in req) return 'openai-completions';
  return 'unknown';
}

export function normalizeConversation(input: ConversationInput): Conversation {
  const shape = detectShape(input);
  const conv: Conversation = { shape, messages: [], tools: [], notes: [], error: errorOf(input.response) };
  switch (shape) {
    case 'openai-chat': chat(input, conv); break;
    case 'openai-responses': responses(input, conv); break;
    case 'anthropic': anthropic(input, conv); break;
    case 'openai-completions': completions(input, conv); break;
    case 'embeddings': embeddings(input, conv); break;
    case 'unknown': break;
  }
  return conv;
}

function errorOf(res: unknown): string | null {
  if (!isObj(res)) return null;
  const e = res.error;
  if (typeof e === 'string') return e;
  if (isObj(e)) {
    const msg = str(e.message) ?? JSON.stringify(e);
    const type = str(e.type) ?? str(e.code);
    return type ? `${type}: ${msg}` : msg;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Media placeholders

/** Decoded size of a base64 payload, without decoding it. */
export function base64Size(b64: string): number {
  const s = b64.replace(/\s/g, '');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((s.length * 3) / 4) - pad);
}

/** "image · image/png · 12.3 KB" for a data: URL, "image · https://…" for a remote one. */
export function mediaLabel(kind: string, url: string | null, extra: string[] = []): string {
  const bits = [kind];
  if (url !== null) {
    const m = /^data:([^;,]*)(;base64)?,/i.exec(url);
    if (m) {
      if (m[1]) bits.push(m[1]);
      const payload = url.slice(m[0].length);
      bits.push(formatBytes(m[2] ? base64Size(payload) : payload.length));
    } else {
      bits.push(url.length > 200 ? `${url.slice(0, 200)}…` : url);
    }
  }
  return [...bits, ...extra.filter((x) => x.length > 0)].join(' · ');
}

/** Tool arguments as readable JSON when they parse, otherwise as sent. */
function prettyArgs(v: unknown): string {
  if (typeof v === 'string') {
    try { return JSON.stringify(JSON.parse(v), null, 2); } catch { return v; }
  }
  if (v === undefined) return '';
  return JSON.stringify(v, null, 2) ?? String(v);
}

const jsonPart = (label: string, v: unknown): ConvPart => ({ kind: 'json', label, json: JSON.stringify(v, null, 2) ?? String(v) });

// ---------------------------------------------------------------------------------------------
// OpenAI chat completions

function chatContentParts(content: unknown): ConvPart[] {
  if (typeof content === 'string') return content.length ? [{ kind: 'text', text: content }] : [];
  return arr(content).map((p): ConvPart => {
    if (!isObj(p)) return jsonPart('part', p);
    switch (p.type) {
      case 'text': return { kind: 'text', text: str(p.text) ?? '' };
      case 'refusal': return { kind: 'refusal', text: str(p.refusal) ?? '' };
      case 'image_url': {
        const iu = isObj(p.image_url) ? p.image_url : {};
        return { kind: 'media', label: mediaLabel('image', str(iu.url) ?? str(p.image_url), [str(iu.detail) ? `detail ${str(iu.detail)}` : '']) };
      }
      case 'input_audio': {
        const a = isObj(p.input_audio) ? p.input_audio : {};
        const data = str(a.data);
        return { kind: 'media', label: ['audio', str(a.format) ?? '', data ? formatBytes(base64Size(data)) : ''].filter(Boolean).join(' · ') };
      }
      case 'file': {
        const f = isObj(p.file) ? p.file : {};
        const data = str(f.file_data);
        return { kind: 'media', label: [`file`, str(f.filename) ?? str(f.file_id) ?? '', data ? mediaLabel('', data).replace(/^ · /, '') : ''].filter(Boolean).join(' · ') };
      }
      default: return jsonPart(String(p.type ?? 'part'), p);
    }
  });
}

function chatToolCalls(m: Obj): ConvPart[] {
  const parts: ConvPart[] = arr(m.tool_calls).map((tc): ConvPart => {
    if (!isObj(tc)) return jsonPart('tool call', tc);
    const fn = isObj(tc.function) ? tc.function : isObj(tc.custom) ? tc.custom : {};
    return { kind: 'toolCall', name: str(fn.name) ?? String(tc.type ?? 'tool'), callId: str(tc.id), args: prettyArgs(fn.arguments ?? fn.input) };
  });
  if (isObj(m.function_call)) {
    parts.push({ kind: 'toolCall', name: str(m.function_call.name) ?? 'function', callId: null, args: prettyArgs(m.function_call.arguments) });
  }
  return parts;
}

function chatMessage(m: unknown, origin: 'request' | 'response', label: string | null): ConvMessage {
  if (!isObj(m)) return { role: 'unknown', origin, label, parts: [jsonPart('message', m)] };
  const role = str(m.role) ?? 'unknown';
  const parts: ConvPart[] = [];
  // Reasoning text some OpenAI-compatible servers return (DeepSeek, vLLM, OpenRouter).
  const reasoning = str(m.reasoning_content) ?? str(m.reasoning);
  if (reasoning) parts.push({ kind: 'reasoning', text: reasoning });
  if (role === 'tool' || role === 'function') {
    const text = typeof m.content === 'string' ? m.content : chatContentParts(m.content).map((p) => (p.kind === 'text' ? p.text : '')).join('\n');
    parts.push({ kind: 'toolResult', callId: str(m.tool_call_id), text, isError: false });
  } else {
    parts.push(...chatContentParts(m.content));
  }
  if (str(m.refusal)) parts.push({ kind: 'refusal', text: str(m.refusal) ?? '' });
  if (isObj(m.audio)) parts.push({ kind: 'media', label: ['audio', str(m.audio.transcript) ? `transcript: ${str(m.audio.transcript)}` : ''].filter(Boolean).join(' · ') });
  parts.push(...chatToolCalls(m));
  const name = str(m.name);
  return { role, origin, label: name ?? label, parts };
}

function chatTools(req: Obj): Conversation['tools'] {
  const tools = arr(req.tools).map((t) => {
    const fn = isObj(t) && isObj(t.function) ? t.function : isObj(t) ? t : {};
    return { name: str(fn.name) ?? String((isObj(t) && t.type) ?? 'tool'), description: str(fn.description) };
  });
  const fns = arr(req.functions).map((f) => ({ name: str(isObj(f) ? f.name : null) ?? 'function', description: str(isObj(f) ? f.description : null) }));
  return [...tools, ...fns];
}

function chat(input: ConversationInput, conv: Conversation): void {
  const req = isObj(input.request) ? input.request : {};
  conv.messages.push(...arr(req.messages).map((m) => chatMessage(m, 'request', null)));
  conv.tools = chatTools(req);
  const res = isObj(input.response) ? input.response : null;
  if (!res) return;
  const choices = arr(res.choices);
  for (const [i, c] of choices.entries()) {
    if (!isObj(c)) continue;
    const label = choices.length > 1 ? `choice ${Number(c.index ?? i) + 1}` : null;
    conv.messages.push(chatMessage(c.message ?? c.delta ?? {}, 'response', label));
    if (str(c.finish_reason)) conv.notes.push(`${label ? label + ' ' : ''}finish reason: ${str(c.finish_reason)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses API

function responsesContentParts(content: unknown): ConvPart[] {
  if (typeof content === 'string') return content.length ? [{ kind: 'text', text: content }] : [];
  return arr(content).map((p): ConvPart => {
    if (!isObj(p)) return jsonPart('part', p);
    switch (p.type) {
      case 'input_text': case 'output_text': case 'text': case 'summary_text': case 'reasoning_text':
        return { kind: 'text', text: str(p.text) ?? '' };
      case 'refusal': return { kind: 'refusal', text: str(p.refusal) ?? '' };
      case 'input_image':
        return { kind: 'media', label: mediaLabel('image', str(p.image_url) ?? (str(p.file_id) ? `file ${str(p.file_id)}` : null), [str(p.detail) ? `detail ${str(p.detail)}` : '']) };
      case 'input_file': {
        const data = str(p.file_data);
        return { kind: 'media', label: ['file', str(p.filename) ?? str(p.file_id) ?? str(p.file_url) ?? '', data ? mediaLabel('', data).replace(/^ · /, '') : ''].filter(Boolean).join(' · ') };
      }
      case 'input_audio': {
        const a = isObj(p.input_audio) ? p.input_audio : {};
        const data = str(a.data);
        return { kind: 'media', label: ['audio', str(a.format) ?? '', data ? formatBytes(base64Size(data)) : ''].filter(Boolean).join(' · ') };
      }
      default: return jsonPart(String(p.type ?? 'part'), p);
    }
  });
}

/** One Responses item (input or output) as a message; tool calls and results become their own rows. */
function responsesItem(item: unknown, origin: 'request' | 'response'): ConvMessage {
  if (typeof item === 'string') return { role: 'user', origin, label: null, parts: [{ kind: 'text', text: item }] };
  if (!isObj(item)) return { role: 'unknown', origin, label: null, parts: [jsonPart('item', item)] };
  const type = str(item.type) ?? (item.role !== undefined ? 'message' : 'unknown');
  switch (type) {
    case 'message':
      return { role: str(item.role) ?? 'unknown', origin, label: null, parts: responsesContentParts(item.content) };
    case 'function_call': case 'custom_tool_call':
      return { role: 'assistant', origin, label: null, parts: [{ kind: 'toolCall', name: str(item.name) ?? 'function', callId: str(item.call_id), args: prettyArgs(item.arguments ?? item.input) }] };
    case 'function_call_output': case 'custom_tool_call_output': {
      const out = typeof item.output === 'string' ? item.output : responsesContentParts(item.output).map((p) => (p.kind === 'text' ? p.text : '')).join('\n');
      return { role: 'tool', origin, label: null, parts: [{ kind: 'toolResult', callId: str(item.call_id), text: out, isError: false }] };
    }
    case 'reasoning': {
      const parts: ConvPart[] = [...arr(item.summary), ...arr(item.content)]
        .map((s) => (isObj(s) ? str(s.text) : null)).filter((t): t is string => t !== null && t.length > 0)
        .map((text) => ({ kind: 'reasoning', text }));
      if (parts.length === 0) parts.push({ kind: 'reasoning', text: item.encrypted_content ? '(encrypted reasoning)' : '(reasoning, no summary)' });
      return { role: 'assistant', origin, label: 'reasoning', parts };
    }
    default:
      // web_search_call, file_search_call, computer_call, mcp_call, item_reference, ...
      return { role: origin === 'response' ? 'assistant' : 'item', origin, label: type, parts: [jsonPart(type, item)] };
  }
}

function responses(input: ConversationInput, conv: Conversation): void {
  const req = isObj(input.request) ? input.request : {};
  if (str(req.instructions)) conv.messages.push({ role: 'system', origin: 'request', label: 'instructions', parts: [{ kind: 'text', text: str(req.instructions) ?? '' }] });
  if (typeof req.input === 'string') conv.messages.push({ role: 'user', origin: 'request', label: null, parts: [{ kind: 'text', text: req.input }] });
  else conv.messages.push(...arr(req.input).map((it) => responsesItem(it, 'request')));
  if (str(req.previous_response_id)) conv.notes.push(`continues response ${str(req.previous_response_id)}`);
  conv.tools = arr(req.tools).map((t) => ({
    name: str(isObj(t) ? t.name : null) ?? String((isObj(t) && t.type) ?? 'tool'),
    description: str(isObj(t) ? t.description : null),
  }));
  const res = isObj(input.response) ? input.response : null;
  if (!res) return;
  conv.messages.push(...arr(res.output).map((it) => responsesItem(it, 'response')));
  if (str(res.status) && res.status !== 'completed') conv.notes.push(`status: ${str(res.status)}`);
  if (isObj(res.incomplete_details) && str(res.incomplete_details.reason)) conv.notes.push(`incomplete: ${str(res.incomplete_details.reason)}`);
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

function anthropicSource(kind: string, src: unknown, extra: string[] = []): ConvPart {
  if (!isObj(src)) return { kind: 'media', label: kind };
  if (src.type === 'base64') {
    const data = str(src.data) ?? '';
    return { kind: 'media', label: [kind, str(src.media_type) ?? '', formatBytes(base64Size(data)), ...extra].filter(Boolean).join(' · ') };
  }
  if (src.type === 'url') return { kind: 'media', label: mediaLabel(kind, str(src.url), extra) };
  if (src.type === 'text') return { kind: 'media', label: [kind, 'text', formatBytes((str(src.data) ?? '').length), ...extra].filter(Boolean).join(' · ') };
  if (src.type === 'file') return { kind: 'media', label: [kind, `file ${str(src.file_id) ?? ''}`, ...extra].filter(Boolean).join(' · ') };
  return { kind: 'media', label: [kind, String(src.type ?? ''), ...extra].filter(Boolean).join(' · ') };
}

function anthropicBlocks(content: unknown): ConvPart[] {
  if (typeof content === 'string') return content.length ? [{ kind: 'text', text: content }] : [];
  return arr(content).map((b): ConvPart => {
    if (!isObj(b)) return jsonPart('block', b);
    switch (b.type) {
      case 'text': return { kind: 'text', text: str(b.text) ?? '' };
      case 'thinking': return { kind: 'reasoning', text: str(b.thinking) ?? '' };
      case 'redacted_thinking': return { kind: 'reasoning', text: '(redacted thinking)' };
      case 'image': return anthropicSource('image', b.source);
      case 'document': return anthropicSource('document', b.source, [str(b.title) ?? '']);
      case 'tool_use': case 'server_tool_use':
        return { kind: 'toolCall', name: str(b.name) ?? 'tool', callId: str(b.id), args: prettyArgs(b.input) };
      case 'tool_result': {
        const text = typeof b.content === 'string' ? b.content
          : anthropicBlocks(b.content).map((p) => (p.kind === 'text' ? p.text : p.kind === 'media' ? `[${p.label}]` : '')).join('\n');
        return { kind: 'toolResult', callId: str(b.tool_use_id), text, isError: b.is_error === true };
      }
      default: return jsonPart(String(b.type ?? 'block'), b);
    }
  });
}

function anthropic(input: ConversationInput, conv: Conversation): void {
  const req = isObj(input.request) ? input.request : {};
  const system = typeof req.system === 'string' ? (req.system.length ? [{ kind: 'text', text: req.system } as ConvPart] : []) : anthropicBlocks(req.system);
  if (system.length) conv.messages.push({ role: 'system', origin: 'request', label: null, parts: system });
  for (const m of arr(req.messages)) {
    if (!isObj(m)) { conv.messages.push({ role: 'unknown', origin: 'request', label: null, parts: [jsonPart('message', m)] }); continue; }
    const parts = anthropicBlocks(m.content);
    // A user turn made only of tool results reads better as a "tool" turn.
    const role = m.role === 'user' && parts.length > 0 && parts.every((p) => p.kind === 'toolResult') ? 'tool' : str(m.role) ?? 'unknown';
    conv.messages.push({ role, origin: 'request', label: null, parts });
  }
  conv.tools = arr(req.tools).map((t) => ({ name: str(isObj(t) ? t.name : null) ?? 'tool', description: str(isObj(t) ? t.description : null) }));
  const res = isObj(input.response) ? input.response : null;
  if (!res || res.type === 'error') return;
  if (res.content !== undefined) conv.messages.push({ role: str(res.role) ?? 'assistant', origin: 'response', label: null, parts: anthropicBlocks(res.content) });
  if (str(res.stop_reason)) conv.notes.push(`stop reason: ${str(res.stop_reason)}`);
}

// ---------------------------------------------------------------------------------------------
// Legacy completions and embeddings

function completions(input: ConversationInput, conv: Conversation): void {
  const req = isObj(input.request) ? input.request : {};
  const prompts = typeof req.prompt === 'string' ? [req.prompt] : arr(req.prompt).map((p) => (typeof p === 'string' ? p : JSON.stringify(p)));
  for (const p of prompts) conv.messages.push({ role: 'user', origin: 'request', label: 'prompt', parts: [{ kind: 'text', text: p }] });
  const res = isObj(input.response) ? input.response : null;
  const choices = arr(res?.choices);
  for (const [i, c] of choices.entries()) {
    if (!isObj(c)) continue;
    conv.messages.push({ role: 'assistant', origin: 'response', label: choices.length > 1 ? `choice ${i + 1}` : null, parts: [{ kind: 'text', text: str(c.text) ?? '' }] });
  }
}

function embeddings(input: ConversationInput, conv: Conversation): void {
  const req = isObj(input.request) ? input.request : {};
  const inputs = typeof req.input === 'string' ? [req.input] : arr(req.input);
  if (inputs.every((x) => typeof x === 'string')) {
    for (const x of inputs as string[]) conv.messages.push({ role: 'user', origin: 'request', label: 'input', parts: [{ kind: 'text', text: x }] });
  } else {
    conv.messages.push({ role: 'user', origin: 'request', label: 'input', parts: [{ kind: 'media', label: `${inputs.length} token array(s)` }] });
  }
  const res = isObj(input.response) ? input.response : null;
  const data = arr(res?.data);
  if (data.length) {
    const first = data[0];
    const emb = isObj(first) ? first.embedding : undefined;
    const dim = Array.isArray(emb) ? `${emb.length} dimensions` : typeof emb === 'string' ? 'base64-encoded' : '';
    conv.notes.push([`${data.length} embedding${data.length === 1 ? '' : 's'}`, dim].filter(Boolean).join(' · '));
  }
}

// ---------------------------------------------------------------------------------------------
// Markdown, shown as text: only fenced code blocks get their own (monospaced) segment.

export type TextSegment = { kind: 'prose'; text: string } | { kind: 'code'; lang: string | null; code: string };

export function splitMarkdown(text: string): TextSegment[] {
  const out: TextSegment[] = [];
  const lines = text.split('\n');
  let prose: string[] = [];
  let code: string[] | null = null;
  let fence = '';
  let lang: string | null = null;
  const flushProse = (): void => {
    if (prose.length) {
      const t = prose.join('\n');
      if (t.trim().length) out.push({ kind: 'prose', text: t.replace(/^\n+|\n+$/g, '') });
    }
    prose = [];
  };
  for (const line of lines) {
    if (code === null) {
      const m = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/.exec(line);
      if (m) {
        flushProse();
        code = [];
        fence = m[1] ?? '```';
        lang = m[2] ? m[2] : null;
      } else {
        prose.push(line);
      }
    } else {
      const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
      if (close.test(line)) {
        out.push({ kind: 'code', lang, code: code.join('\n') });
        code = null;
      } else {
        code.push(line);
      }
    }
  }
  // An unclosed fence (e.g. a truncated stream) still shows its code as code.
  if (code !== null) out.push({ kind: 'code', lang, code: code.join('\n') });
  flushProse();
  return out;
}
