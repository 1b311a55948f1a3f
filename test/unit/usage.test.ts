// Usage extraction and stream reassembly against hand-written provider bodies and SSE sequences
// shaped like the real APIs (field names, event order, the usage chunk / message_delta rules).
// Expected token counts are computed by hand from the fixtures; estimates use cl100k_base, where
// every word in the texts below is one token (checked in the 'estimates' block).
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';
import { NO_TOKENIZER_WARNING, detectShape, estimatorEncoding, extractUsage, isContentEvent, readUsage } from '../../src/pricing/usage';
import type { UsageInput } from '../../src/pricing/usage';
import type { StreamEvent, Usage } from '../../src/core/types';

function sse(events: Array<[string | null, unknown]>): StreamEvent[] {
  return events.map(([event, data], i) => ({ t: i * 10, event, data: typeof data === 'string' ? data : JSON.stringify(data) }));
}

function input(p: Partial<UsageInput> & { path: string }): UsageInput {
  return { provider: 'openai', requestBody: undefined, responseBody: undefined, streamEvents: null, ...p };
}

function usage(u: Partial<Usage>): Usage {
  return { promptTokens: 0, completionTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, totalTokens: 0, estimated: false, ...u };
}

const CHAT_REQUEST = { model: 'gpt-4o', messages: [{ role: 'user', content: 'What is the weather in Paris?' }] };

describe('usage: OpenAI chat completions', () => {
  it('reads a non-streamed body, cached tokens as a subset of prompt and reasoning as a subset of completion', () => {
    const r = extractUsage(input({
      path: '/v1/chat/completions',
      requestBody: CHAT_REQUEST,
      responseBody: {
        id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG', object: 'chat.completion', created: 1741569952, model: 'gpt-4o-2024-08-06',
        choices: [{ index: 0, message: { role: 'assistant', content: 'It is sunny.', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: 2006, completion_tokens: 300, total_tokens: 2306,
          prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 192, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
        },
        service_tier: 'default', system_fingerprint: 'fp_f9f4fb6dbf',
      },
    }));
    assert.deepEqual(r.usage, usage({ promptTokens: 2006, completionTokens: 300, cacheReadTokens: 1920, reasoningTokens: 192, totalTokens: 2306 }));
    assert.equal(r.responseModel, 'gpt-4o-2024-08-06');
    assert.equal(r.reassembled, null);
  });

  it('reassembles a stream with include_usage: content, tool calls merged by index, finish reason, final usage chunk', () => {
    const base = { id: 'chatcmpl-abc', object: 'chat.completion.chunk', created: 1741570000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_06737a9306' };
    const chunk = (choices: unknown[], u: unknown = null): Record<string, unknown> => ({ ...base, choices, usage: u });
    const events = sse([
      [null, chunk([{ index: 0, delta: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: null }])],
      [null, chunk([{ index: 0, delta: { content: 'Checking' }, logprobs: null, finish_reason: null }])],
      [null, chunk([{ index: 0, delta: { content: ' both.' }, logprobs: null, finish_reason: null }])],
      [null, chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }, logprobs: null, finish_reason: null }])],
      [null, chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, logprobs: null, finish_reason: null }])],
      [null, chunk([{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } }] }, logprobs: null, finish_reason: null }])],
      [null, chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, logprobs: null, finish_reason: null }])],
      [null, chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }])],
      [null, chunk([], { prompt_tokens: 85, completion_tokens: 41, total_tokens: 126, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } })],
      [null, '[DONE]'],
    ]);
    const r = extractUsage(input({ path: '/v1/chat/completions', requestBody: { ...CHAT_REQUEST, stream: true, stream_options: { include_usage: true } }, streamEvents: events }));
    assert.deepEqual(r.usage, usage({ promptTokens: 85, completionTokens: 41, totalTokens: 126 }));
    assert.equal(r.responseModel, 'gpt-4o-mini-2024-07-18');
    assert.deepEqual(r.reassembled, {
      id: 'chatcmpl-abc', object: 'chat.completion', created: 1741570000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_06737a9306',
      choices: [{
        index: 0,
        message: {
          role: 'assistant', content: 'Checking both.', refusal: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
          ],
        },
        logprobs: null, finish_reason: 'tool_calls',
      }],
      usage: { prompt_tokens: 85, completion_tokens: 41, total_tokens: 126, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    });
  });

  it('keeps n > 1 choices apart by index even when their chunks interleave', () => {
    const c = (index: number, content: string, finish: string | null = null): [null, unknown] =>
      [null, { id: 'x', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index, delta: { content }, finish_reason: finish }] }];
    const r = extractUsage(input({ path: '/v1/chat/completions', streamEvents: sse([c(1, 'B1'), c(0, 'A1'), c(0, 'A2', 'stop'), c(1, 'B2', 'length')]) }));
    const choices = (r.reassembled as { choices: Array<{ index: number; message: { content: string }; finish_reason: string }> }).choices;
    assert.deepEqual(choices.map((ch) => [ch.index, ch.message.content, ch.finish_reason]), [[0, 'A1A2', 'stop'], [1, 'B1B2', 'length']]);
  });

  it('routes Azure-style deployment paths with a query string to the chat reader', () => {
    const r = extractUsage(input({
      provider: 'azure', path: '/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21',
      responseBody: { object: 'chat.completion', model: 'gpt-4o', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } },
    }));
    assert.deepEqual(r.usage, usage({ promptTokens: 10, completionTokens: 5, totalTokens: 15 }));
  });
});

describe('usage: OpenAI Responses API', () => {
  const responseObj = (status: string, output: unknown[], u: unknown): Record<string, unknown> => ({
    id: 'resp_67ccd2bed1ec8190', object: 'response', created_at: 1741476542, status, model: 'o4-mini-2025-04-16', output,
    usage: u,
  });
  const USAGE = { input_tokens: 1200, input_tokens_details: { cached_tokens: 1024 }, output_tokens: 350, output_tokens_details: { reasoning_tokens: 128 }, total_tokens: 1550 };
  const MESSAGE = { id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'It is sunny.', annotations: [] }] };

  it('reads a non-streamed response', () => {
    const r = extractUsage(input({ path: '/v1/responses', responseBody: responseObj('completed', [MESSAGE], USAGE) }));
    assert.deepEqual(r.usage, usage({ promptTokens: 1200, completionTokens: 350, cacheReadTokens: 1024, reasoningTokens: 128, totalTokens: 1550 }));
    assert.equal(r.responseModel, 'o4-mini-2025-04-16');
  });

  it('takes a stream\'s usage and reassembled body from response.completed', () => {
    let seq = 0;
    const ev = (type: string, o: Record<string, unknown>): [string, unknown] => [type, { type, sequence_number: seq++, ...o }];
    const completed = responseObj('completed', [MESSAGE], USAGE);
    const events = sse([
      ev('response.created', { response: responseObj('in_progress', [], null) }),
      ev('response.in_progress', { response: responseObj('in_progress', [], null) }),
      ev('response.output_item.added', { output_index: 0, item: { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] } }),
      ev('response.content_part.added', { item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
      ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'It is' }),
      ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: ' sunny.' }),
      ev('response.output_text.done', { item_id: 'msg_1', output_index: 0, content_index: 0, text: 'It is sunny.' }),
      ev('response.output_item.done', { output_index: 0, item: MESSAGE }),
      ev('response.completed', { response: completed }),
    ]);
    const r = extractUsage(input({ path: '/v1/responses', requestBody: { model: 'o4-mini', input: 'Weather?', stream: true }, streamEvents: events }));
    assert.deepEqual(r.usage, usage({ promptTokens: 1200, completionTokens: 350, cacheReadTokens: 1024, reasoningTokens: 128, totalTokens: 1550 }));
    assert.deepEqual(r.reassembled, completed);
    assert.equal(r.responseModel, 'o4-mini-2025-04-16');
  });

  it('rebuilds a stream cut before response.completed and estimates its usage', () => {
    const events = sse([
      ['response.created', { type: 'response.created', response: responseObj('in_progress', [], null) }],
      ['response.output_text.delta', { type: 'response.output_text.delta', output_index: 0, delta: 'Hello' }],
      ['response.output_text.delta', { type: 'response.output_text.delta', output_index: 0, delta: ' world' }],
    ]);
    const r = extractUsage(input({ path: '/v1/responses', requestBody: { model: 'o4-mini', input: 'Say hello world' }, streamEvents: events }));
    // prompt: 3 (message framing) + 3 ('Say',' hello',' world') + 3 (reply priming) = 9; completion: 'Hello',' world' = 2
    assert.deepEqual(r.usage, usage({ promptTokens: 9, completionTokens: 2, totalTokens: 11, estimated: true }));
    const re = r.reassembled as { status: string; output: unknown[] };
    assert.equal(re.status, 'incomplete');
    assert.deepEqual(re.output, [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello world', annotations: [] }] }]);
  });
});

describe('usage: OpenAI embeddings', () => {
  it('reads prompt tokens with no completion', () => {
    const r = extractUsage(input({
      path: '/v1/embeddings',
      requestBody: { model: 'text-embedding-3-small', input: ['one', 'two'] },
      responseBody: {
        object: 'list', model: 'text-embedding-3-small',
        data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }, { object: 'embedding', index: 1, embedding: [0.3, 0.4] }],
        usage: { prompt_tokens: 8, total_tokens: 8 },
      },
    }));
    assert.deepEqual(r.usage, usage({ promptTokens: 8, totalTokens: 8 }));
    assert.equal(r.responseModel, 'text-embedding-3-small');
  });

  it('does not invent usage for an embeddings body without it', () => {
    const r = extractUsage(input({ path: '/v1/embeddings', requestBody: { input: 'x' }, responseBody: { object: 'list', data: [], model: 'm' } }));
    assert.equal(r.usage, null);
  });
});

describe('usage: Anthropic messages', () => {
  it('counts all input in promptTokens: input + cache writes + cache reads, each once', () => {
    const r = extractUsage(input({
      provider: 'anthropic', path: '/anthropic/v1/messages',
      responseBody: {
        id: 'msg_01XFDUDYJgAACzvnptvVoYEL', type: 'message', role: 'assistant', model: 'claude-3-5-sonnet-20241022',
        content: [{ type: 'text', text: 'Hello!' }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: 25, cache_creation_input_tokens: 1000, cache_read_input_tokens: 3000, output_tokens: 150, service_tier: 'standard' },
      },
    }));
    assert.deepEqual(r.usage, usage({ promptTokens: 4025, completionTokens: 150, cacheReadTokens: 3000, cacheWriteTokens: 1000, totalTokens: 4175 }));
    assert.equal(r.responseModel, 'claude-3-5-sonnet-20241022');
  });

  const start = (u: Record<string, unknown>): [string, unknown] => ['message_start', {
    type: 'message_start',
    message: { id: 'msg_014p7gG3wDgGV9EUtLvnow3U', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], stop_reason: null, stop_sequence: null, usage: u },
  }];

  it('merges message_start usage with the cumulative message_delta output count and reassembles text, thinking and tool_use', () => {
    const events = sse([
      start({ input_tokens: 472, cache_creation_input_tokens: 0, cache_read_input_tokens: 2048, output_tokens: 2 }),
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Need the weather.' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }],
      ['ping', { type: 'ping' }],
      ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Let me' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: ' check.' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 1 }],
      ['content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', input: {} } }],
      ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"location": "San' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: ' Francisco, CA"}' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 2 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 89 } }],
      ['message_stop', { type: 'message_stop' }],
    ]);
    const r = extractUsage(input({ provider: 'anthropic', path: '/anthropic/v1/messages', streamEvents: events }));
    // output_tokens in message_delta is cumulative: 89, not 2 + 89.
    assert.deepEqual(r.usage, usage({ promptTokens: 472 + 2048, completionTokens: 89, cacheReadTokens: 2048, totalTokens: 472 + 2048 + 89 }));
    assert.equal(r.responseModel, 'claude-sonnet-4-5-20250929');
    assert.deepEqual(r.reassembled, {
      id: 'msg_014p7gG3wDgGV9EUtLvnow3U', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929',
      content: [
        { type: 'thinking', thinking: 'Need the weather.', signature: 'EqQBCgIYAhIM' },
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', input: { location: 'San Francisco, CA' } },
      ],
      stop_reason: 'tool_use', stop_sequence: null,
      usage: { input_tokens: 472, cache_creation_input_tokens: 0, cache_read_input_tokens: 2048, output_tokens: 89 },
    });
  });

  it('takes the latest non-null input and cache counts when message_delta repeats them (newer API)', () => {
    const events = sse([
      start({ input_tokens: 10, output_tokens: 1 }),
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { input_tokens: 12, cache_creation_input_tokens: null, cache_read_input_tokens: 500, output_tokens: 40 } }],
    ]);
    const r = extractUsage(input({ provider: 'anthropic', path: '/v1/messages', streamEvents: events }));
    assert.deepEqual(r.usage, usage({ promptTokens: 512, completionTokens: 40, cacheReadTokens: 500, totalTokens: 552 }));
  });

  it('keeps a cut tool_use input as raw text instead of losing it', () => {
    const events = sse([
      start({ input_tokens: 10, output_tokens: 1 }),
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't1', name: 'f', input: {} } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"a": 1, "b' } }],
    ]);
    const r = extractUsage(input({ provider: 'anthropic', path: '/v1/messages', streamEvents: events }));
    assert.deepEqual((r.reassembled as { content: unknown[] }).content, [{ type: 'tool_use', id: 't1', name: 'f', input: '{"a": 1, "b' }]);
    // message_start already reported input and (so far) output: that is usage, not an estimate.
    assert.deepEqual(r.usage, usage({ promptTokens: 10, completionTokens: 1, totalTokens: 11 }));
  });
});

describe('usage: estimates when the provider reports none', () => {
  it('uses cl100k_base, loaded lazily', () => {
    assert.equal(estimatorEncoding(), 'cl100k_base');
  });

  it('estimates a chat stream without include_usage with the cookbook framing, marked estimated', () => {
    const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18' };
    const events = sse([
      [null, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }],
      [null, { ...base, choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }] }],
      [null, { ...base, choices: [{ index: 0, delta: { content: ' world' }, finish_reason: 'stop' }] }],
      [null, '[DONE]'],
    ]);
    const r = extractUsage(input({
      path: '/v1/chat/completions',
      requestBody: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello world' }] },
      streamEvents: events,
    }));
    // prompt = 3+1('system')+3('Be',' brief','.') + 3+1('user')+3('Say',' hello',' world') + 3 priming = 17
    assert.deepEqual(r.usage, usage({ promptTokens: 17, completionTokens: 2, totalTokens: 19, estimated: true }));
  });

  it('estimates an Anthropic body without usage (same approximation, tools counted as their JSON)', () => {
    const r = extractUsage(input({
      provider: 'anthropic', path: '/v1/messages',
      requestBody: { model: 'claude-3-5-haiku-latest', system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello world' }] }] },
      responseBody: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022', content: [{ type: 'text', text: 'Hello world' }], stop_reason: 'end_turn' },
    }));
    // system 3+3, user message 3+1+3, priming 3 = 16; output 2
    assert.deepEqual(r.usage, usage({ promptTokens: 16, completionTokens: 2, totalTokens: 18, estimated: true }));
  });

  it('counts tool-call names and arguments as output', () => {
    const c = (delta: unknown): [null, unknown] => [null, { id: 'x', object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: null }] }];
    const r = extractUsage(input({
      path: '/v1/chat/completions', requestBody: { messages: [] },
      streamEvents: sse([c({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }), c({ tool_calls: [{ index: 0, function: { arguments: 'Paris' } }] })]),
    }));
    // output 'get_weather' (2) + 'Paris' (1); prompt is only the reply priming (3)
    assert.deepEqual(r.usage, usage({ promptTokens: 3, completionTokens: 3, totalTokens: 6, estimated: true }));
  });

  it('estimates nothing when nothing was generated (an error body)', () => {
    const r = extractUsage(input({ path: '/v1/chat/completions', requestBody: CHAT_REQUEST, responseBody: { error: { message: 'Rate limit', type: 'rate_limit_exceeded' } } }));
    assert.deepEqual(r, { usage: null, responseModel: null, reassembled: null });
  });
});

describe('usage: lenient parsing', () => {
  it('passes unknown fields and keeps the main counts when an optional detail is malformed', () => {
    const r = extractUsage(input({
      path: '/v1/chat/completions',
      responseBody: { model: 'gpt-4o', choices: [], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: 'oops', brand_new_field: { x: 1 } } },
    }));
    assert.deepEqual(r.usage, usage({ promptTokens: 100, completionTokens: 20, totalTokens: 120 }));
  });

  it('gives no usage (and no estimate from a garbage body) when the counts have the wrong type', () => {
    for (const u of [{ prompt_tokens: '100', completion_tokens: 20 }, { prompt_tokens: -1 }, 'lots', 42, null, [1, 2]]) {
      const r = extractUsage(input({ path: '/v1/chat/completions', responseBody: { model: 'gpt-4o', usage: u } }));
      assert.equal(r.usage, null, JSON.stringify(u));
    }
  });

  it('survives bodies and events that are not what the path promises', () => {
    const bodies: unknown[] = [undefined, null, 'text', 7, [], [{}], { choices: 'no' }, { content: 5 }, { usage: { input_tokens: 'x' } }];
    const paths = ['/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/anthropic/v1/messages', '/v1/completions', '/unknown'];
    for (const p of paths) {
      for (const b of bodies) {
        assert.doesNotThrow(() => readUsage(input({ path: p, requestBody: b, responseBody: b })));
        const events = sse([[null, '{not json'], ['message_start', { type: 'message_start', message: 'str' }], [null, JSON.stringify(b) ?? 'null'], [null, '[DONE]']]);
        const r = readUsage(input({ path: p, requestBody: b, streamEvents: events }));
        assert.equal(r.usage, null, `${p} ${JSON.stringify(b)}`);
      }
    }
  });

  // readUsage, not extractUsage: the latter's catch-all would make this property pass vacuously.
  it('never throws on arbitrary JSON bodies and event data (property)', () => {
    const pathArb = fc.constantFrom('/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/messages', '/x');
    // Objects built from the field names the readers look at, with values of any type, reach much
    // deeper than random JSON (which almost never has a `choices` or `content_block` key).
    const key = fc.constantFrom('choices', 'delta', 'content', 'tool_calls', 'index', 'function', 'arguments', 'type', 'usage', 'message',
      'content_block', 'response', 'output', 'model', 'prompt_tokens', 'input_tokens', 'output_tokens', 'text', 'partial_json', 'messages', 'role');
    const { node } = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), fc.dictionary(key, tie('node'), { maxKeys: 5 }), fc.array(tie('node'), { maxLength: 3 })),
    }));
    const typeName = fc.constantFrom('message_start', 'content_block_start', 'content_block_delta', 'message_delta', 'response.created',
      'response.completed', 'response.output_text.delta', 'response.output_item.done');
    const eventArb = fc.tuple(fc.option(typeName), fc.oneof(fc.string(), fc.json(), node.map((n) => JSON.stringify(n) ?? 'null')));
    fc.assert(fc.property(pathArb, node, node, fc.array(eventArb, { maxLength: 8 }), (p, req, res, evs) => {
      const streamEvents = evs.map(([event, data], i) => ({ t: i, event, data }));
      const r1 = readUsage(input({ path: p, requestBody: req, responseBody: res }));
      const r2 = readUsage(input({ path: p, requestBody: req, streamEvents }));
      for (const r of [r1, r2]) {
        if (r.usage) for (const v of Object.values(r.usage)) assert.ok(typeof v === 'boolean' || (Number.isFinite(v) && v >= 0));
      }
      for (const e of streamEvents) isContentEvent(p, e);
    }), { numRuns: 300 });
  });

  // Real-shaped streams with random damage (a subtree replaced by any value, or deleted) hit the
  // branches that random JSON cannot reach: a choice without a delta, a usage of the wrong type...
  it('never throws on damaged real-shaped streams and bodies (property)', () => {
    const seeds: Array<{ path: string; events: Array<[string | null, unknown]>; body: unknown }> = [
      { path: '/v1/chat/completions', body: { object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 0 } } },
        events: [
          [null, { object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'a' }, finish_reason: null }] }],
          [null, { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '{' } }] } }] }],
          [null, { object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, completion_tokens_details: { reasoning_tokens: 1 } } }],
        ] },
      { path: '/v1/responses', body: { object: 'response', model: 'm', output: [{ type: 'message', content: [{ type: 'output_text', text: 'x' }] }], usage: { input_tokens: 1, output_tokens: 1 } },
        events: [
          ['response.created', { type: 'response.created', response: { id: 'r', model: 'm', output: [], usage: null } }],
          ['response.output_text.delta', { type: 'response.output_text.delta', output_index: 0, delta: 'x' }],
          ['response.output_item.done', { type: 'response.output_item.done', output_index: 0, item: { type: 'function_call', name: 'f', arguments: '{}' } }],
          ['response.completed', { type: 'response.completed', response: { id: 'r', model: 'm', output: [{ type: 'message', content: [{ type: 'output_text', text: 'x' }] }], usage: { input_tokens: 2, output_tokens: 1, input_tokens_details: { cached_tokens: 1 } } } }],
        ] },
      { path: '/v1/messages', body: { type: 'message', model: 'm', content: [{ type: 'text', text: 'x' }, { type: 'tool_use', name: 'f', input: {} }], usage: { input_tokens: 1, output_tokens: 1 } },
        events: [
          ['message_start', { type: 'message_start', message: { id: 'm', model: 'm', usage: { input_tokens: 5, output_tokens: 1, cache_read_input_tokens: 2 } } }],
          ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } }],
          ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } }],
          ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'x' } }],
          ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }],
        ] },
    ];
    const request = { model: 'm', system: 'Be brief.', instructions: 'x', input: [{ role: 'user', content: 'hi' }], messages: [{ role: 'user', name: 'n', content: [{ type: 'text', text: 'hi' }], tool_calls: [] }], tools: [{ name: 'f' }] };
    const DELETE = Symbol('delete');
    const paths = (v: unknown, at: Array<string | number> = []): Array<Array<string | number>> => {
      const out = [at];
      if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
      return out;
    };
    const damage = (v: unknown, seed: number, replacement: unknown): unknown => {
      const all = paths(v).slice(1);
      if (all.length === 0) return replacement === DELETE ? null : replacement;
      const target = all[seed % all.length];
      const copy = structuredClone(v) as Record<string | number, unknown>;
      let parent = copy;
      for (const k of target.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
      const last = target[target.length - 1];
      if (replacement === DELETE) { if (Array.isArray(parent)) parent.splice(last as number, 1); else delete parent[last]; } else parent[last] = replacement;
      return copy;
    };
    const replacement = fc.oneof(fc.constant<unknown>(DELETE), fc.jsonValue({ maxDepth: 1 }), fc.constantFrom<unknown>(null, -1, '', [], {}, 'x', 1e300, [null]));
    const mutation = fc.array(fc.tuple(fc.nat(), fc.nat(), replacement), { minLength: 1, maxLength: 4 });
    fc.assert(fc.property(fc.nat({ max: seeds.length - 1 }), mutation, fc.nat(), (which, muts, reqSeed) => {
      const seed = seeds[which];
      const events = seed.events.map(([e, d]) => [e, d] as [string | null, unknown]);
      let body = seed.body;
      for (const [ev, at, rep] of muts) {
        const i = ev % (events.length + 1);
        if (i === events.length) body = damage(body, at, rep);
        else events[i] = [events[i][0], damage(events[i][1], at, rep)];
      }
      const req = damage(request, reqSeed, muts[0][2]);
      for (const r of [readUsage(input({ path: seed.path, requestBody: req, responseBody: body })), readUsage(input({ path: seed.path, requestBody: req, streamEvents: sse(events) }))]) {
        if (r.usage) for (const v of Object.values(r.usage)) assert.ok(typeof v === 'boolean' || (Number.isFinite(v) && v >= 0), JSON.stringify(r.usage));
      }
      for (const e of sse(events)) isContentEvent(seed.path, e);
    }), { numRuns: 500 });
  });
});

describe('isContentEvent', () => {
  const firstContent = (p: string, events: StreamEvent[]): number => events.findIndex((e) => isContentEvent(p, e));

  it('chat: skips the role chunk and empty content, fires on the first text, tool call or refusal', () => {
    const c = (delta: unknown, choices?: unknown[]): [null, unknown] => [null, { object: 'chat.completion.chunk', choices: choices ?? [{ index: 0, delta, finish_reason: null }] }];
    assert.equal(firstContent('/v1/chat/completions', sse([c({ role: 'assistant', content: '' }), c({ content: '' }), c({ content: 'Hi' })])), 2);
    assert.equal(firstContent('/v1/chat/completions', sse([c({ role: 'assistant', content: null }), c({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '' } }] })])), 1);
    assert.equal(firstContent('/v1/chat/completions', sse([c({ role: 'assistant' }), c({ refusal: 'No.' })])), 1);
    assert.equal(firstContent('/v1/chat/completions', sse([c(null, []), [null, '[DONE]'], [null, ': keep-alive']])), -1);
  });

  it('responses: fires on the first *.delta event, not on created/added/done', () => {
    const ev = (type: string, extra: Record<string, unknown> = {}): [string, unknown] => [type, { type, ...extra }];
    const events = sse([ev('response.created'), ev('response.in_progress'), ev('response.output_item.added'), ev('response.content_part.added'),
      ev('response.output_text.delta', { delta: 'Hi' }), ev('response.completed')]);
    assert.equal(firstContent('/v1/responses', events), 4);
    assert.equal(isContentEvent('/v1/responses', { event: 'response.function_call_arguments.delta', data: '{"type":"response.function_call_arguments.delta","delta":"{"}' }), true);
    // Without the `event:` line, the type in the data decides.
    assert.equal(isContentEvent('/v1/responses', { event: null, data: '{"type":"response.output_text.delta","delta":"x"}' }), true);
    assert.equal(isContentEvent('/v1/responses', { event: null, data: '{"type":"response.completed","response":{}}' }), false);
  });

  it('anthropic: fires on the first non-empty delta or a tool_use block start', () => {
    const ev = (type: string, extra: Record<string, unknown> = {}): [string, unknown] => [type, { type, ...extra }];
    const text = sse([ev('message_start', { message: { usage: {} } }), ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }), ev('ping'),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: '' } }), ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hi' } })]);
    assert.equal(firstContent('/anthropic/v1/messages', text), 4);
    const tool = sse([ev('message_start', { message: {} }), ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } })]);
    assert.equal(firstContent('/anthropic/v1/messages', tool), 1);
    const thinking = sse([ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }), ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Hmm' } })]);
    assert.equal(firstContent('/anthropic/v1/messages', thinking), 1);
  });

  it('is false for garbage', () => {
    for (const data of ['', '[DONE]', '{', 'null', '{"choices": 3}', '{"type":"content_block_delta","delta":null}']) {
      assert.equal(isContentEvent('/v1/chat/completions', { event: null, data }), false, data);
      assert.equal(isContentEvent('/v1/messages', { event: 'content_block_delta', data }), false, data);
    }
  });
});

describe('detectShape', () => {
  it('maps paths (with route prefixes and query strings) to APIs', () => {
    const cases: Array<[string, string]> = [
      ['/v1/chat/completions', 'openai-chat'],
      ['/openrouter/api/v1/chat/completions', 'openai-chat'],
      ['/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21', 'openai-chat'],
      ['/v1/completions', 'openai-completions'],
      ['/v1/responses', 'openai-responses'],
      ['/v1/responses/resp_123', 'openai-responses'],
      ['/v1/embeddings', 'openai-embeddings'],
      ['/anthropic/v1/messages', 'anthropic-messages'],
      ['/v1/messages?beta=true', 'anthropic-messages'],
      ['/anthropic/v1/messages/count_tokens', 'unknown'],
      ['/v1/threads/thread_1/messages', 'unknown'],
      ['/v1/models', 'unknown'],
    ];
    for (const [p, want] of cases) assert.equal(detectShape(p), want, p);
  });
});

// The tokenizer's table must stay out of the main bundles and be found beside them at run time:
// bundle usage.ts the way esbuild.mjs bundles the extension, then run the bundle with and without
// dist/tokenizer.js next to it.
describe('usage: packaging of the token counter', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'lens-usage-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const noUsageStream = (): UsageInput => input({
    path: '/v1/chat/completions',
    requestBody: { messages: [{ role: 'user', content: 'Say hello world' }] },
    streamEvents: sse([[null, { object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'Hello world' } }] }]]),
  });
  const node = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'silent' } as const;
  const load = (file: string): typeof import('../../src/pricing/usage') => {
    delete require.cache[require.resolve(file)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as typeof import('../../src/pricing/usage');
  };

  it('leaves the BPE table out of the bundle and says so on the record when tokenizer.js is missing', async () => {
    const out = path.join(dir, 'usage.js');
    const res = await build({ ...node, entryPoints: [path.resolve(__dirname, '../../src/pricing/usage.ts')], outfile: out, metafile: true });
    const inputs = Object.keys(res.metafile.inputs);
    assert.deepEqual(inputs.filter((f) => f.includes('gpt-tokenizer') || f.includes('tokenizerEntry')), []);
    // zod is most of what remains; the ~1 MB table would more than double it.
    assert.ok(statSync(out).size < 700_000, `usage bundle is ${statSync(out).size} bytes`);
    const r = load(out).extractUsage(noUsageStream());
    assert.equal(r.usage, null);
    assert.equal(r.warning, NO_TOKENIZER_WARNING);
  });

  it('loads dist/tokenizer.js beside the bundle and estimates exactly as from source', async () => {
    await build({ ...node, entryPoints: { tokenizer: path.resolve(__dirname, '../../src/pricing/tokenizerEntry.ts') }, outdir: dir });
    const bundled = load(path.join(dir, 'usage.js')).extractUsage(noUsageStream());
    assert.deepEqual(bundled.usage, usage({ promptTokens: 10, completionTokens: 2, totalTokens: 12, estimated: true }));
    assert.equal(bundled.warning, undefined);
    assert.deepEqual(bundled.usage, extractUsage(noUsageStream()).usage);
  });
});
