import * as assert from 'node:assert/strict';
import { isLensError } from '../../src/core/errors';
import { buildUpstreamTable, parseUpstreamSpecs, providerBaseUrls, resolveRoute } from '../../src/proxy/routing';

describe('proxy routing', () => {
  const table = buildUpstreamTable({ groq: 'https://api.groq.com/openai/v1', ollama: 'http://127.0.0.1:11434', gw: 'https://oai.helicone.ai/v1' });
  const route = (p: string, target?: string) => resolveRoute(p, table, target ? new URL(target) : null);

  it('sends /v1/* to OpenAI with the query string', () => {
    assert.deepEqual(route('/v1/chat/completions?a=1'), {
      provider: 'openai', origin: 'https://api.openai.com', path: '/v1/chat/completions?a=1',
      targetUrl: 'https://api.openai.com/v1/chat/completions?a=1', helicone: false,
    });
    assert.equal(route('/openai/v1/embeddings')?.targetUrl, 'https://api.openai.com/v1/embeddings');
    assert.equal(route('/v1/models')?.targetUrl, 'https://api.openai.com/v1/models');
  });

  it('sends Anthropic paths to Anthropic, with or without the /anthropic prefix', () => {
    assert.equal(route('/anthropic/v1/messages')?.targetUrl, 'https://api.anthropic.com/v1/messages');
    assert.equal(route('/anthropic/v1/messages/count_tokens')?.provider, 'anthropic');
    assert.equal(route('/v1/messages')?.targetUrl, 'https://api.anthropic.com/v1/messages');
    assert.equal(route('/v1/messages/count_tokens')?.provider, 'anthropic');
  });

  it('sends /<name>/* to a configured upstream, folding a repeated /v1', () => {
    assert.equal(route('/groq/chat/completions')?.targetUrl, 'https://api.groq.com/openai/v1/chat/completions');
    assert.equal(route('/groq/v1/chat/completions')?.targetUrl, 'https://api.groq.com/openai/v1/chat/completions');
    assert.equal(route('/ollama/api/chat')?.targetUrl, 'http://127.0.0.1:11434/api/chat');
    assert.equal(route('/OLLAMA/x')?.provider, 'ollama');
    assert.equal(route('/nowhere/x'), null);
    assert.equal(route('/'), null);
  });

  it('marks Helicone gateways', () => {
    assert.equal(route('/gw/chat/completions')?.helicone, true);
    assert.equal(route('/groq/chat/completions')?.helicone, false);
    const t = buildUpstreamTable({ mine: 'http://127.0.0.1:9/v1' }, ['mine']);
    assert.equal(resolveRoute('/mine/x', t)?.helicone, true);
  });

  it('lets Helicone-Target-Url override the upstream, keeping the API path', () => {
    assert.equal(route('/v1/chat/completions?x=1', 'https://api.together.xyz')?.targetUrl, 'https://api.together.xyz/v1/chat/completions?x=1');
    assert.equal(route('/anthropic/v1/messages', 'https://proxy.example/base/')?.targetUrl, 'https://proxy.example/base/v1/messages');
    assert.equal(route('/anthropic/v1/messages', 'https://proxy.example')?.provider, 'anthropic');
    const unknown = route('/chat/completions', 'https://api.together.xyz');
    assert.equal(unknown?.provider, 'api.together.xyz');
    assert.equal(unknown?.targetUrl, 'https://api.together.xyz/chat/completions');
    assert.equal(route('/v1/chat/completions', 'https://gateway.helicone.ai')?.helicone, true);
  });

  it('lets a user override openai, adding /v1 to a bare origin', () => {
    const t = buildUpstreamTable({ openai: 'http://127.0.0.1:18080' });
    assert.equal(resolveRoute('/v1/chat/completions', t)?.targetUrl, 'http://127.0.0.1:18080/v1/chat/completions');
    const t2 = buildUpstreamTable({ openai: 'http://127.0.0.1:18080/v1/' });
    assert.equal(resolveRoute('/v1/chat/completions', t2)?.targetUrl, 'http://127.0.0.1:18080/v1/chat/completions');
  });

  it('rejects bad upstream names and URLs with BAD_CONFIG', () => {
    const bads: Array<Record<string, string>> = [{ api: 'http://x' }, { 'a b': 'http://x' }, { x: 'ftp://x' }, { x: 'not a url' }, { x: 'http://x/?q=1' }];
    for (const bad of bads) {
      assert.throws(() => buildUpstreamTable(bad), (e: unknown) => isLensError(e, 'BAD_CONFIG'));
    }
  });

  it('parses NAME=URL specs from flags and env', () => {
    assert.deepEqual(parseUpstreamSpecs(['a=http://x:1', 'B=https://y/v1,c=http://z']), { a: 'http://x:1', b: 'https://y/v1', c: 'http://z' });
    assert.throws(() => parseUpstreamSpecs(['nourl']), /NAME=URL/);
    assert.throws(() => parseUpstreamSpecs(['x=bad']), /not an http/);
  });

  it('gives each provider its base URL through the proxy', () => {
    assert.deepEqual(providerBaseUrls('http://127.0.0.1:8787/', { groq: 'https://x' }), {
      openai: 'http://127.0.0.1:8787/v1', anthropic: 'http://127.0.0.1:8787/anthropic', groq: 'http://127.0.0.1:8787/groq',
    });
  });
});
