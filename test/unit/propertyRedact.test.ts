// Property tests for secret redaction (src/store/redact.ts): for any key, in any of the places a
// key turns up (a secret header, a query parameter, URL userinfo, an auth scheme in free text),
// the redacted output does not contain it, and redacting is idempotent.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { REDACTED, redactHeaders, redactText, redactTextAlways, redactUrl } from '../../src/store/redact';

/** A key of letters and digits with no known prefix: only where it sits can tell it is a secret. */
const keyArb = fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('')), { minLength: 12, maxLength: 40 }).map((a) => a.join(''));
const caseArb = (name: string): fc.Arbitrary<string> => fc.constantFrom(name, name.toLowerCase(), name.toUpperCase());
const hostArb = fc.constantFrom('api.example.com', '127.0.0.1:8080', 'gateway.internal', '[::1]:9000');

describe('property: secret redaction', () => {
  it('secret headers: the value never survives, whatever the name case or the auth scheme', () => {
    const name = fc.oneof(
      fc.constantFrom('Authorization', 'Proxy-Authorization', 'X-Api-Key', 'Api-Key', 'Helicone-Auth', 'Cookie', 'Set-Cookie').chain(caseArb),
      fc.constantFrom('X-Goog-Api-Key', 'X-Custom-Token', 'X-Client-Secret', 'OpenAI-Session-Password', 'X-Auth-Credential'),
    );
    const value = fc.tuple(fc.constantFrom('', 'Bearer ', 'Basic ', 'Token ', 'session=', 'sid=abc; token='), keyArb).map(([p, k]) => ({ p, k }));
    fc.assert(fc.property(name, value, (n, { p, k }) => {
      const out = redactHeaders({ [n]: p + k, 'Content-Type': 'application/json' });
      assert.ok(!out[n].includes(k), `${n}: ${out[n]}`);
      assert.equal(out['Content-Type'], 'application/json');
      assert.deepEqual(redactHeaders(out), out);
    }), { numRuns: 500 });
  });

  it('URLs: secret query parameters and userinfo passwords never survive; the rest of the URL does', () => {
    const param = fc.constantFrom('key', 'api_key', 'api-key', 'apikey', 'access_token', 'token', 'sig', 'code', 'client_secret', 'password').chain(caseArb);
    fc.assert(fc.property(hostArb, param, keyArb, fc.constantFrom('', 'api-version=2024-02-01&'), (host, p, k, before) => {
      const url = `https://${host}/v1/chat/completions?${before}${p}=${k}&stream=true`;
      const out = redactUrl(url);
      assert.ok(!out.includes(k), out);
      assert.ok(out.includes('stream=true') && out.startsWith(`https://${host}/v1/chat/completions?`), out);
      assert.equal(redactUrl(out), out);
    }), { numRuns: 500 });
    fc.assert(fc.property(fc.constantFrom('http', 'https', 'postgres', 'redis'), fc.constantFrom('user', 'svc-account', ''), keyArb, hostArb, (scheme, user, k, host) => {
      const url = `${scheme}://${user}:${k}@${host}/v1`;
      for (const out of [redactUrl(url), redactText(`Helicone-Target-Url ${url} is not an http(s) URL`), redactText(JSON.stringify({ target: url }))]) {
        assert.ok(!out.includes(k), out);
        assert.ok(out.includes(REDACTED) && out.includes(host), out);
        assert.equal(redactText(out), out);
      }
    }), { numRuns: 500 });
  });

  it('free text: an auth scheme followed by a key, and key=value pairs named like secrets', () => {
    const text = fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'Basic ', 'Token '), keyArb, fc.constantFrom('upstream said: ', '', 'error 401 for ')).map(([s, k, pre]) => ({ t: `${pre}${s}${k} was rejected`, k }));
    fc.assert(fc.property(text, ({ t, k }) => {
      const out = redactText(t);
      assert.ok(!out.includes(k), out);
      assert.equal(redactText(out), out);
    }), { numRuns: 300 });
    const pair = fc.tuple(fc.constantFrom('api_key', 'apiKey', 'x-api-key', 'access_token', 'client_secret', 'password', 'authorization').chain(caseArb), keyArb, fc.constantFrom('=', ': ', '":"'))
      .map(([n, k, sep]) => ({ t: sep === '":"' ? `{"${n}":"${k}"}` : `${n}${sep}${k}`, k }));
    fc.assert(fc.property(pair, ({ t, k }) => {
      const out = redactText(t);
      assert.ok(!out.includes(k), `${t} -> ${out}`);
    }), { numRuns: 300 });
  });
});

describe('redactText pre-check', () => {
  // Pieces of every credential shape and secret name, in any case, glued to noise.
  const piece = fc.constantFrom('sk-', 'pk-', 'rk-', 'ant-', 'proj-', 'AIza', 'aiza', 'https://', 'u:p@', 'gsk_', 'xai-', 'ghp_', 'gho_', 'github_pat_',
    'Bearer ', 'BASIC ', 'token ', 'api_key', 'x-api-key', 'apikey', 'access-token', 'auth_token', 'client_secret', 'secret', 'PASSWORD',
    'helicone-auth', 'Authorization', '=', ': ', '"', "'", 'abcdefghijklmnopqrstuvwxyz0123456789', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_-', ' ', ',', '&', 'é');
  it('skips only text that the full scrub would leave unchanged', () => {
    fc.assert(fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 6 })), { maxLength: 12 }), (parts) => {
      const s = parts.join('');
      assert.equal(redactText(s), redactTextAlways(s));
    }), { numRuns: 5000 });
  });
  it('a key in a header value is still redacted', () => {
    assert.equal(redactText('x sk-proj-abcdefghijklmnop y'), `x sk-proj-${REDACTED} y`);
  });
});
