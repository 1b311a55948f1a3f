import * as assert from 'node:assert/strict';
import { base64Size, detectShape, mediaLabel, normalizeConversation, splitMarkdown } from '../../src/webviews/app/conversation';
import type { ConvPart, Conversation } from '../../src/webviews/app/conversation';

/** Strings a model (or a prompt-injected page) could produce that must stay inert text. */
const HOSTILE = [
  '<script>window.__pwned=1</script>',
  '<img src=x onerror="window.__pwned=2">',
  '[click](javascript:window.__pwned=3)',
  '</textarea><script>window.__pwned=4</script>',
  '"><svg onload=alert(1)>',
  '{{constructor.constructor("alert(1)")()}}',
];
const HOSTILE_TEXT = HOSTILE.join('\n');

const texts = (c: Conversation): string[] => c.messages.flatMap((m) => m.parts.filter((p): p is Extract<ConvPart, { kind: 'text' }> => p.kind === 'text').map((p) => p.text));
const roles = (c: Conversation): string[] => c.messages.map((m) => `${m.origin}:${m.role}`);

describe('conversation: shape detection', () => {
  it('goes by path first, then by body shape for custom routes', () => {
    const d = (path: string, request: unknown = {}, response: unknown = undefined, provider = 'openai'): string => detectShape({ path, provider, request, response });
    assert.equal(d('/v1/chat/completions?x=1'), 'openai-chat');
    assert.equal(d('/v1/responses'), 'openai-responses');
    assert.equal(d('/anthropic/v1/messages', {}, undefined, 'anthropic'), 'anthropic');
    assert.equal(d('/v1/embeddings'), 'embeddings');
    assert.equal(d('/v1/completions'), 'openai-completions');
    assert.equal(d('/ollama/api/chat', { messages: [] }), 'openai-chat');
    assert.equal(d('/custom', { messages: [] }, undefined, 'anthropic'), 'anthropic');
    assert.equal(d('/custom', { input: 'hi', model: 'gpt-5' }), 'openai-responses');
    assert.equal(d('/custom', {}, { object: 'response' }), 'openai-responses');
    assert.equal(d('/v1/models'), 'unknown');
  });
});

describe('conversation: OpenAI chat completions', () => {
  it('lists request messages then the response choice, with tool calls, tool results and images', () => {
    const png = 'data:image/png;base64,' + Buffer.alloc(3000, 7).toString('base64');
    const c = normalizeConversation({
      path: '/v1/chat/completions', provider: 'openai',
      request: {
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: png, detail: 'low' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'result text' },
        ],
        tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks things up' } }],
      },
      response: { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'A cat.' }, finish_reason: 'stop' }] },
    });
    assert.equal(c.shape, 'openai-chat');
    assert.deepEqual(roles(c), ['request:system', 'request:user', 'request:assistant', 'request:tool', 'response:assistant']);
    assert.deepEqual(c.messages[1].parts[1], { kind: 'media', label: 'image · image/png · 2.9 KB · detail low' });
    assert.deepEqual(c.messages[2].parts, [{ kind: 'toolCall', name: 'lookup', callId: 'call_1', args: '{\n  "q": "x"\n}' }]);
    assert.deepEqual(c.messages[3].parts, [{ kind: 'toolResult', callId: 'call_1', text: 'result text', isError: false }]);
    assert.deepEqual(c.tools, [{ name: 'lookup', description: 'Looks things up' }]);
    assert.deepEqual(c.notes, ['finish reason: stop']);
    assert.equal(c.error, null);
  });

  it('keeps hostile strings verbatim (the view renders them as text, so nothing is escaped or stripped here)', () => {
    const c = normalizeConversation({
      path: '/v1/chat/completions', provider: 'openai',
      request: { messages: [{ role: 'user', content: HOSTILE_TEXT, name: '<b>bob</b>' }] },
      response: { choices: [{ message: { role: 'assistant', content: HOSTILE_TEXT, tool_calls: [{ id: '<i>', function: { name: '<script>', arguments: '<img onerror=1>' } }] } }] },
    });
    assert.deepEqual(texts(c), [HOSTILE_TEXT, HOSTILE_TEXT]);
    assert.equal(c.messages[0].label, '<b>bob</b>');
    assert.deepEqual(c.messages[1].parts[1], { kind: 'toolCall', name: '<script>', callId: '<i>', args: '<img onerror=1>' });
  });

  it('labels multiple choices and shows refusals, reasoning_content and an error body', () => {
    const c = normalizeConversation({
      path: '/v1/chat/completions', provider: 'openai', request: { messages: [] },
      response: { choices: [
        { index: 0, message: { role: 'assistant', content: 'one', reasoning_content: 'thinking…' } },
        { index: 1, message: { role: 'assistant', content: null, refusal: 'I cannot.' } },
      ] },
    });
    assert.deepEqual(c.messages.map((m) => m.label), ['choice 1', 'choice 2']);
    assert.deepEqual(c.messages[0].parts, [{ kind: 'reasoning', text: 'thinking…' }, { kind: 'text', text: 'one' }]);
    assert.deepEqual(c.messages[1].parts, [{ kind: 'refusal', text: 'I cannot.' }]);
    const e = normalizeConversation({ path: '/v1/chat/completions', provider: 'openai', request: { messages: [{ role: 'user', content: 'x' }] },
      response: { error: { message: 'Rate limit <b>reached</b>', type: 'rate_limit_error' } } });
    assert.equal(e.error, 'rate_limit_error: Rate limit <b>reached</b>');
    assert.deepEqual(roles(e), ['request:user']);
  });

  it('survives garbage where messages should be', () => {
    const c = normalizeConversation({ path: '/v1/chat/completions', provider: 'openai', request: { messages: [null, 5, { content: [7, { type: 'weird', x: 1 }] }] }, response: { choices: 'no' } });
    assert.equal(c.messages.length, 3);
    assert.equal(c.messages[0].parts[0].kind, 'json');
    assert.deepEqual(c.messages[2].parts.map((p) => p.kind), ['json', 'json']);
  });
});

describe('conversation: OpenAI Responses API', () => {
  it('reads instructions, string input, item lists, function calls/outputs, reasoning summaries and output messages', () => {
    const c = normalizeConversation({
      path: '/v1/responses', provider: 'openai',
      request: {
        instructions: 'You are terse.',
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'Weather?' }, { type: 'input_image', image_url: 'https://example.com/a.png' }] },
          { type: 'function_call', call_id: 'fc_1', name: 'weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: 'fc_1', output: '{"temp":21}' },
        ],
        tools: [{ type: 'function', name: 'weather', description: 'Gets weather' }],
        previous_response_id: 'resp_0',
      },
      response: {
        object: 'response', status: 'completed',
        output: [
          { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Need the tool result.' }] },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: HOSTILE_TEXT }] },
          { type: 'web_search_call', id: 'ws_1', status: 'completed' },
        ],
      },
    });
    assert.equal(c.shape, 'openai-responses');
    assert.deepEqual(roles(c), ['request:system', 'request:user', 'request:assistant', 'request:tool', 'response:assistant', 'response:assistant', 'response:assistant']);
    assert.deepEqual(c.messages[1].parts[1], { kind: 'media', label: 'image · https://example.com/a.png' });
    assert.deepEqual(c.messages[2].parts[0], { kind: 'toolCall', name: 'weather', callId: 'fc_1', args: '{\n  "city": "Paris"\n}' });
    assert.deepEqual(c.messages[3].parts[0], { kind: 'toolResult', callId: 'fc_1', text: '{"temp":21}', isError: false });
    assert.deepEqual(c.messages[4].parts, [{ kind: 'reasoning', text: 'Need the tool result.' }]);
    assert.deepEqual(texts(c).slice(-1), [HOSTILE_TEXT]);
    assert.equal(c.messages[6].label, 'web_search_call');
    assert.ok(c.notes.includes('continues response resp_0'));
    assert.deepEqual(c.tools, [{ name: 'weather', description: 'Gets weather' }]);
    const s = normalizeConversation({ path: '/v1/responses', provider: 'openai', request: { input: 'hello' }, response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [] } });
    assert.deepEqual(texts(s), ['hello']);
    assert.deepEqual(s.notes, ['status: incomplete', 'incomplete: max_output_tokens']);
  });
});

describe('conversation: Anthropic Messages', () => {
  it('reads system blocks, images, tool_use / tool_result (as a tool turn), thinking and the response', () => {
    const data = Buffer.alloc(1024).toString('base64');
    const c = normalizeConversation({
      path: '/anthropic/v1/messages', provider: 'anthropic',
      request: {
        system: [{ type: 'text', text: 'Be kind.', cache_control: { type: 'ephemeral' } }],
        messages: [
          { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data } }, { type: 'text', text: 'Describe' }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 'zoom', input: { level: 2 } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: [{ type: 'text', text: 'zoomed' }], is_error: true }] },
        ],
        tools: [{ name: 'zoom', description: 'Zooms', input_schema: {} }],
      },
      response: { type: 'message', role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm' }, { type: 'text', text: HOSTILE_TEXT }], stop_reason: 'end_turn' },
    });
    assert.equal(c.shape, 'anthropic');
    assert.deepEqual(roles(c), ['request:system', 'request:user', 'request:assistant', 'request:tool', 'response:assistant']);
    assert.deepEqual(c.messages[1].parts[0], { kind: 'media', label: 'image · image/jpeg · 1.0 KB' });
    assert.deepEqual(c.messages[2].parts[0], { kind: 'toolCall', name: 'zoom', callId: 'tu_1', args: '{\n  "level": 2\n}' });
    assert.deepEqual(c.messages[3].parts[0], { kind: 'toolResult', callId: 'tu_1', text: 'zoomed', isError: true });
    assert.deepEqual(c.messages[4].parts, [{ kind: 'reasoning', text: 'hmm' }, { kind: 'text', text: HOSTILE_TEXT }]);
    assert.deepEqual(c.notes, ['stop reason: end_turn']);
  });

  it('shows an Anthropic error body as the error and a string system prompt as a system message', () => {
    const c = normalizeConversation({ path: '/v1/messages', provider: 'anthropic', request: { system: 'sys', messages: [{ role: 'user', content: 'hi' }] },
      response: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
    assert.equal(c.error, 'overloaded_error: Overloaded');
    assert.deepEqual(roles(c), ['request:system', 'request:user']);
  });
});

describe('conversation: completions and embeddings', () => {
  it('shows prompts and choices; embeddings as inputs plus a count and dimension note', () => {
    const c = normalizeConversation({ path: '/v1/completions', provider: 'openai', request: { prompt: ['a', 'b'] }, response: { choices: [{ text: 'x' }] } });
    assert.deepEqual(texts(c), ['a', 'b', 'x']);
    const e = normalizeConversation({ path: '/v1/embeddings', provider: 'openai', request: { input: ['one', 'two'] }, response: { object: 'list', data: [{ embedding: [0.1, 0.2, 0.3] }, { embedding: [0, 0, 0] }] } });
    assert.deepEqual(texts(e), ['one', 'two']);
    assert.deepEqual(e.notes, ['2 embeddings · 3 dimensions']);
  });
});

describe('conversation: media placeholders', () => {
  it('computes decoded base64 sizes without decoding', () => {
    for (const n of [0, 1, 2, 3, 4, 100, 1001]) assert.equal(base64Size(Buffer.alloc(n).toString('base64')), n);
  });
  it('never includes the payload of a data: URL and shortens long remote URLs', () => {
    const label = mediaLabel('image', 'data:image/svg+xml;base64,' + Buffer.from('<svg onload=alert(1)>').toString('base64'));
    assert.equal(label, 'image · image/svg+xml · 21 B');
    const long = mediaLabel('image', 'https://x.test/' + 'a'.repeat(500));
    assert.ok(long.length < 230 && long.endsWith('…'));
  });
});

describe('splitMarkdown', () => {
  it('splits prose and fenced code blocks, keeping the language', () => {
    assert.deepEqual(splitMarkdown('Intro\n\n```ts\nconst a = 1;\n```\nOutro'), [
      { kind: 'prose', text: 'Intro' },
      { kind: 'code', lang: 'ts', code: 'const a = 1;' },
      { kind: 'prose', text: 'Outro' },
    ]);
  });
  it('handles ~~~ fences, longer fences holding ``` and an unclosed fence (a cut stream)', () => {
    assert.deepEqual(splitMarkdown('~~~\nx\n~~~'), [{ kind: 'code', lang: null, code: 'x' }]);
    assert.deepEqual(splitMarkdown('````md\n```\ninner\n```\n````'), [{ kind: 'code', lang: 'md', code: '```\ninner\n```' }]);
    assert.deepEqual(splitMarkdown('a\n```py\nprint(1)'), [{ kind: 'prose', text: 'a' }, { kind: 'code', lang: 'py', code: 'print(1)' }]);
  });
  it('leaves hostile markup in prose and code untouched (rendered as text later)', () => {
    const segs = splitMarkdown(`${HOSTILE_TEXT}\n\`\`\`html\n${HOSTILE_TEXT}\n\`\`\``);
    assert.deepEqual(segs, [{ kind: 'prose', text: HOSTILE_TEXT }, { kind: 'code', lang: 'html', code: HOSTILE_TEXT }]);
  });
  it('keeps inline backticks in prose', () => {
    assert.deepEqual(splitMarkdown('use `x` and ``` in text'), [{ kind: 'prose', text: 'use `x` and ``` in text' }]);
  });
});
