// Property tests for the usage extractors (src/pricing/usage.ts) that usage.test.ts does not have:
// for any reply text and any token counts, the streamed form of a response and its non-streamed
// form give the same usage, model and text, and so does the stream's byte form cut into chunks
// anywhere and parsed by the proxy's SSE parser (what reaches the extractor in real life).
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import type { StreamEvent } from '../../src/core/types';
import { extractUsage, OpenAiUsageSchema, plainChatChunk, plainOpenAiUsage, zodChatChunk } from '../../src/pricing/usage';
import { SseParser } from '../../src/core/sse';

/** Reply text pieces with the characters that break naive parsers: quotes, backslashes, newlines, "data:", multi-byte. */
const pieceArb = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', '\n', '\r', 'é', '日', '😀', ':', 'data: ', '[DONE]', '}'), maxLength: 6 });
const piecesArb = fc.array(pieceArb, { minLength: 1, maxLength: 8 });
const modelArb = fc.constantFrom('gpt-4o-mini', 'gpt-4o-2024-08-06', 'claude-sonnet-4-5', 'my-fine-tune:v1');

const openAiUsageArb = fc.record({ prompt: fc.nat({ max: 100_000 }), completion: fc.nat({ max: 50_000 }) })
  .chain(({ prompt, completion }) => fc.record({
    prompt: fc.constant(prompt), completion: fc.constant(completion),
    cached: fc.nat({ max: prompt }), reasoning: fc.nat({ max: completion }),
  }));

const anthropicUsageArb = fc.record({
  input: fc.nat({ max: 100_000 }), cacheWrite: fc.nat({ max: 50_000 }), cacheRead: fc.nat({ max: 50_000 }), output: fc.integer({ min: 1, max: 50_000 }),
});

/** Events as the store keeps them, from SSE text cut at the given offsets and fed to the proxy's parser. */
function parseInChunks(text: string, cuts: number[]): StreamEvent[] {
  const bytes = Buffer.from(text, 'utf8');
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const p = new SseParser();
  const out: StreamEvent[] = [];
  let prev = 0;
  for (const c of [...points, bytes.length]) {
    for (const e of p.push(bytes.subarray(prev, c))) out.push({ t: out.length, event: e.event, data: e.data });
    prev = c;
  }
  for (const e of p.end()) out.push({ t: out.length, event: e.event, data: e.data });
  return out;
}

const frame = (event: string | null, data: unknown): string => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

describe('property: usage from streamed and non-streamed responses agrees', () => {
  it('OpenAI chat completions (stream_options.include_usage), any chunking of the bytes', () => {
    fc.assert(fc.property(piecesArb, openAiUsageArb, modelArb, fc.array(fc.nat(), { maxLength: 10 }), (pieces, u, model, cuts) => {
      const usage = {
        prompt_tokens: u.prompt, completion_tokens: u.completion, total_tokens: u.prompt + u.completion,
        prompt_tokens_details: { cached_tokens: u.cached }, completion_tokens_details: { reasoning_tokens: u.reasoning },
      };
      const text = pieces.join('');
      const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model };
      const sseText = [
        frame(null, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null }),
        ...pieces.map((p) => frame(null, { ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }], usage: null })),
        frame(null, { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
        frame(null, { ...base, choices: [], usage }),
        frame(null, '[DONE]'),
      ].join('');
      const request = { model, messages: [{ role: 'user', content: 'q' }], stream: true, stream_options: { include_usage: true } };
      const streamed = extractUsage({ provider: 'openai', path: '/v1/chat/completions', requestBody: request, responseBody: undefined, streamEvents: parseInChunks(sseText, cuts) });
      const json = extractUsage({
        provider: 'openai', path: '/v1/chat/completions', requestBody: { ...request, stream: false, stream_options: undefined }, streamEvents: null,
        responseBody: { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage },
      });
      assert.deepEqual(streamed.usage, json.usage);
      assert.deepEqual(json.usage, {
        promptTokens: u.prompt, completionTokens: u.completion, cacheReadTokens: u.cached, cacheWriteTokens: 0,
        reasoningTokens: u.reasoning, totalTokens: u.prompt + u.completion, estimated: false,
      });
      assert.equal(streamed.responseModel, model);
      assert.equal((streamed.reassembled as { choices: Array<{ message: { content: string } }> }).choices[0].message.content, text);
    }), { numRuns: 300 });
  });

  it('Anthropic messages (message_start usage merged with message_delta), any chunking of the bytes', () => {
    fc.assert(fc.property(piecesArb, anthropicUsageArb, modelArb, fc.array(fc.nat(), { maxLength: 10 }), (pieces, u, model, cuts) => {
      const text = pieces.join('');
      const sseText = [
        frame('message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
          usage: { input_tokens: u.input, cache_creation_input_tokens: u.cacheWrite, cache_read_input_tokens: u.cacheRead, output_tokens: 1 } } }),
        frame('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        frame('ping', { type: 'ping' }),
        ...pieces.map((p) => frame('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } })),
        frame('content_block_stop', { type: 'content_block_stop', index: 0 }),
        frame('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: u.output } }),
        frame('message_stop', { type: 'message_stop' }),
      ].join('');
      const request = { model, max_tokens: 100, messages: [{ role: 'user', content: 'q' }], stream: true };
      const streamed = extractUsage({ provider: 'anthropic', path: '/anthropic/v1/messages', requestBody: request, responseBody: undefined, streamEvents: parseInChunks(sseText, cuts) });
      const json = extractUsage({
        provider: 'anthropic', path: '/anthropic/v1/messages', requestBody: { ...request, stream: false }, streamEvents: null,
        responseBody: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null,
          usage: { input_tokens: u.input, cache_creation_input_tokens: u.cacheWrite, cache_read_input_tokens: u.cacheRead, output_tokens: u.output } },
      });
      assert.deepEqual(streamed.usage, json.usage);
      const prompt = u.input + u.cacheWrite + u.cacheRead;
      assert.deepEqual(json.usage, {
        promptTokens: prompt, completionTokens: u.output, cacheReadTokens: u.cacheRead, cacheWriteTokens: u.cacheWrite,
        reasoningTokens: 0, totalTokens: prompt + u.output, estimated: false,
      });
      const content = (streamed.reassembled as { content: Array<{ type: string; text: string }> }).content;
      assert.equal(content.filter((c) => c.type === 'text').map((c) => c.text).join(''), text);
    }), { numRuns: 300 });
  });

  it('OpenAI Responses API (usage on response.completed), any chunking of the bytes', () => {
    fc.assert(fc.property(piecesArb, openAiUsageArb, modelArb, fc.array(fc.nat(), { maxLength: 10 }), (pieces, u, model, cuts) => {
      const text = pieces.join('');
      const usage = {
        input_tokens: u.prompt, input_tokens_details: { cached_tokens: u.cached },
        output_tokens: u.completion, output_tokens_details: { reasoning_tokens: u.reasoning }, total_tokens: u.prompt + u.completion,
      };
      const response = (status: string, withOutput: boolean): Record<string, unknown> => ({
        id: 'resp_1', object: 'response', created_at: 1, status, model,
        output: withOutput ? [{ id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }] : [],
        usage: withOutput ? usage : null,
      });
      let seq = 0;
      const ev = (type: string, o: Record<string, unknown>): string => frame(type, { type, sequence_number: seq++, ...o });
      const sseText = [
        ev('response.created', { response: response('in_progress', false) }),
        ...pieces.map((p) => ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: p })),
        ev('response.output_text.done', { item_id: 'msg_1', output_index: 0, content_index: 0, text }),
        ev('response.completed', { response: response('completed', true) }),
      ].join('');
      const request = { model, input: 'q', stream: true };
      const streamed = extractUsage({ provider: 'openai', path: '/v1/responses', requestBody: request, responseBody: undefined, streamEvents: parseInChunks(sseText, cuts) });
      const json = extractUsage({ provider: 'openai', path: '/v1/responses', requestBody: { ...request, stream: false }, responseBody: response('completed', true), streamEvents: null });
      assert.deepEqual(streamed.usage, json.usage);
      assert.equal(json.usage?.promptTokens, u.prompt);
      assert.equal(json.usage?.completionTokens, u.completion);
      assert.equal(json.usage?.cacheReadTokens, u.cached);
      assert.equal(json.usage?.reasoningTokens, u.reasoning);
      assert.equal(streamed.responseModel, model);
    }), { numRuns: 300 });
  });

  it('a stream without usage is estimated, never zero for non-empty text, and the estimate does not depend on the chunking', () => {
    fc.assert(fc.property(piecesArb.filter((p) => p.join('').trim() !== ''), fc.array(fc.nat(), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (pieces, cutsA, cutsB) => {
      const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
      const sseText = [
        ...pieces.map((p) => frame(null, { ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] })),
        frame(null, '[DONE]'),
      ].join('');
      const request = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count me' }], stream: true };
      const a = extractUsage({ provider: 'openai', path: '/v1/chat/completions', requestBody: request, responseBody: undefined, streamEvents: parseInChunks(sseText, cutsA) });
      const b = extractUsage({ provider: 'openai', path: '/v1/chat/completions', requestBody: request, responseBody: undefined, streamEvents: parseInChunks(sseText, cutsB) });
      assert.deepEqual(a.usage, b.usage);
      assert.equal(a.usage?.estimated, true);
      assert.ok((a.usage?.completionTokens ?? 0) > 0, `no tokens estimated for ${JSON.stringify(pieces.join(''))}`);
      assert.ok((a.usage?.promptTokens ?? 0) > 0);
    }), { numRuns: 150 });
  });
});

describe('chat chunk fast path (plainChatChunk) agrees with the zod schema', () => {
  const strish = fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null), fc.constant(undefined), fc.integer(), fc.boolean());
  const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined | null> => fc.oneof(a, fc.constant(undefined), fc.constant(null));
  const deltaArb = fc.oneof(
    fc.record({ role: strish, content: strish, refusal: strish, reasoning_content: strish, tool_calls: maybe(fc.constant([{ index: 0, id: 'c1', function: { name: 'f', arguments: '{' } }])) }, { requiredKeys: [] }),
    fc.constant(null), fc.constant('x'), fc.constant([]),
  );
  const choiceArb = fc.oneof(
    fc.record({ index: fc.oneof(fc.nat(3), fc.constant(-1), fc.constant(1.5), fc.constant('0')), text: strish, finish_reason: strish, delta: deltaArb }, { requiredKeys: [] }),
    fc.constant(null), fc.constant(7),
  );
  const chunkArb = fc.oneof(
    fc.record({
      id: strish, model: strish, system_fingerprint: strish,
      created: fc.oneof(fc.integer(), fc.constant(null), fc.constant('1'), fc.constant(Infinity)),
      choices: fc.oneof(fc.array(choiceArb, { maxLength: 3 }), fc.constant(null), fc.constant('nope')),
      usage: fc.oneof(fc.constant({ prompt_tokens: 3 }), fc.constant(null), fc.constant(5)),
      extra: fc.anything(),
    }, { requiredKeys: [] }),
    fc.anything(),
  );
  /** The fields reassembleChat reads, with undefined and missing treated alike. */
  function view(c: Record<string, unknown>): unknown {
    const norm = (v: unknown): unknown => (v === undefined ? '<none>' : v);
    const choices = Array.isArray(c.choices) ? (c.choices as Array<Record<string, unknown>>).map((ch) => {
      const d = (ch.delta ?? null) as Record<string, unknown> | null;
      return [ch.index, norm(ch.text), norm(ch.finish_reason),
        d === null ? '<no delta>' : [norm(d.role), norm(d.content), norm(d.refusal), norm(d.reasoning_content), norm(d.tool_calls)]];
    }) : norm(c.choices);
    return [norm(c.id), norm(c.model), norm(c.created), norm(c.system_fingerprint), norm(c.usage), choices];
  }

  it('whenever the fast path takes a chunk, zod reads the same values from it', () => {
    let taken = 0;
    fc.assert(fc.property(chunkArb, (chunk) => {
      const json: unknown = JSON.parse(JSON.stringify(chunk) ?? 'null');
      const fast = plainChatChunk(json);
      if (fast === null) return;
      taken++;
      const slow = zodChatChunk(json);
      assert.ok(slow, 'zod refused a chunk the fast path took');
      assert.deepEqual(view(fast as Record<string, unknown>), view(slow as Record<string, unknown>));
    }), { numRuns: 3000 });
    assert.ok(taken > 50, `the fast path took only ${taken} chunks`);
  });

  it('declines or agrees with zod when any one field of a real chunk has a wrong value', () => {
    const base = (): Record<string, unknown> => ({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', system_fingerprint: 'fp',
      choices: [{ index: 0, text: 't', delta: { role: 'assistant', content: 'Hi', refusal: null, reasoning_content: 'r' }, finish_reason: null }], usage: null });
    const bad: unknown[] = [5, true, {}, [], '0', -1, 1.5, null, 1e400, [{ index: 0, id: 'x', function: { name: 'f', arguments: '' } }]];
    const setters: Array<(c: Record<string, unknown>, v: unknown) => void> = [
      ...['id', 'created', 'model', 'system_fingerprint', 'choices', 'usage'].map((k) => (c: Record<string, unknown>, v: unknown) => { c[k] = v; }),
      ...['index', 'text', 'delta', 'finish_reason'].map((k) => (c: Record<string, unknown>, v: unknown) => { (c.choices as Array<Record<string, unknown>>)[0][k] = v; }),
      ...['role', 'content', 'refusal', 'reasoning_content', 'tool_calls'].map((k) => (c: Record<string, unknown>, v: unknown) => {
        ((c.choices as Array<Record<string, unknown>>)[0].delta as Record<string, unknown>)[k] = v;
      }),
    ];
    let declined = 0;
    for (const set of setters) {
      for (const v of bad) {
        const chunk = base();
        set(chunk, v);
        const fast = plainChatChunk(chunk);
        if (fast === null) { declined++; continue; }
        assert.deepEqual(view(fast as Record<string, unknown>), view(zodChatChunk(chunk) as Record<string, unknown>), JSON.stringify(chunk));
      }
    }
    assert.ok(declined > 0);
  });

  it('takes a chunk as OpenAI streams it', () => {
    const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', system_fingerprint: null,
      choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, logprobs: null, finish_reason: null }], usage: null };
    assert.equal(plainChatChunk(chunk), chunk);
  });
});

describe('usage fast path (plainOpenAiUsage) agrees with the zod schema', () => {
  const value = fc.oneof(fc.nat(), fc.constant(-1), fc.constant(1.5), fc.constant(null), fc.constant(undefined), fc.constant('7'), fc.constant(Number.NaN), fc.constant({}));
  const details = (key: string): fc.Arbitrary<unknown> => fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant(3), fc.record({ [key]: value }, { requiredKeys: [] }));
  const usageArb = fc.record({
    prompt_tokens: value, completion_tokens: value, total_tokens: value,
    prompt_tokens_details: details('cached_tokens'), completion_tokens_details: details('reasoning_tokens'),
  }, { requiredKeys: [] });
  it('whenever it takes a usage object, zod takes it and reads the same counts', () => {
    let taken = 0;
    fc.assert(fc.property(usageArb, (u) => {
      const fast = plainOpenAiUsage(u);
      const slow = OpenAiUsageSchema.safeParse(u);
      if (fast === null) return;
      taken++;
      assert.ok(slow.success, 'zod refused what the fast path took');
      const counts = (x: typeof fast): unknown[] => [x.prompt_tokens, x.completion_tokens ?? null, x.total_tokens ?? null, x.prompt_tokens_details?.cached_tokens ?? null, x.completion_tokens_details?.reasoning_tokens ?? null];
      assert.deepEqual(counts(fast), counts(slow.data));
    }), { numRuns: 5000 });
    assert.ok(taken > 100, `the fast path took only ${taken}`);
  });
});
