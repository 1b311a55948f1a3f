import * as assert from 'node:assert/strict';
import { REDACTED, isSecretHeader, redactHeaders, redactText, redactUrl } from '../../src/store/redact';

describe('redact', () => {
  describe('redactHeaders', () => {
    it('redacts the named secret headers, keeping raw case and the Authorization scheme', () => {
      const out = redactHeaders({
        Authorization: 'Bearer sk-proj-abcdefghijklmnop1234',
        'Proxy-Authorization': 'Basic dXNlcjpwYXNz',
        'X-Api-Key': 'sk-ant-api03-abcdefghijklmnop',
        'api-key': 'azure0123456789abcdef',
        'Helicone-Auth': 'Bearer sk-helicone-abcdefg-hijklmn',
        Cookie: 'session=abc; other=def',
        'set-cookie': ['a=1; HttpOnly', 'b=2'],
        'Content-Type': 'application/json',
      });
      assert.deepEqual(out, {
        Authorization: 'Bearer [REDACTED]',
        'Proxy-Authorization': 'Basic [REDACTED]',
        'X-Api-Key': REDACTED,
        'api-key': REDACTED,
        'Helicone-Auth': 'Bearer [REDACTED]',
        Cookie: REDACTED,
        'set-cookie': REDACTED,
        'Content-Type': 'application/json',
      });
    });

    it('redacts any header whose name mentions key, token, secret or auth', () => {
      const out = redactHeaders({ 'X-Goog-Api-Key': 'AIzaSomething', 'X-Auth-Token': 'abc', 'X-Client-Secret': 's3cr3t', 'x-my-KEY': 'v' });
      for (const v of Object.values(out)) assert.equal(v, REDACTED);
    });

    it('keeps harmless look-alikes such as rate-limit token counters and cache ignore keys', () => {
      const input = { 'x-ratelimit-remaining-tokens': '149984', 'anthropic-ratelimit-input-tokens-limit': '40000', 'Helicone-Cache-Ignore-Keys': 'user,stream' };
      assert.deepEqual(redactHeaders(input), input);
    });

    it('still scrubs a key pasted into an innocent header and drops undefined values', () => {
      const out = redactHeaders({ 'X-Note': 'use sk-proj-ABCDEFGHIJKLMNOPQRST please', 'X-Missing': undefined });
      assert.equal(out['X-Note'], `use sk-proj-${REDACTED} please`);
      assert.ok(!('X-Missing' in out));
    });

    it('is idempotent', () => {
      const once = redactHeaders({ Authorization: 'Bearer sk-abcdefghijklmnopqrst', 'x-api-key': 'k' });
      assert.deepEqual(redactHeaders(once), once);
    });

    it('classifies names case-insensitively', () => {
      assert.ok(isSecretHeader('AUTHORIZATION'));
      assert.ok(isSecretHeader('helicone-auth'));
      assert.ok(!isSecretHeader('content-length'));
      assert.ok(!isSecretHeader('Helicone-Session-Id'));
    });
  });

  describe('redactText', () => {
    const cases: Array<[string, string]> = [
      ['sk-abcdefghijklmnopqrstuvwxyz012345', 'sk-abcdefghijklmnopqrstuvwxyz012345'],
      ['sk-proj-AbC_dEf-123456789012345678', 'sk-proj-AbC_dEf-123456789012345678'],
      ['sk-ant-api03-ABCDEFGHIJKLMNOP_qrstuv-wxyz', 'api03-ABCDEFGHIJKLMNOP'],
      ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig', 'eyJhbGciOiJIUzI1NiJ9'],
      ['{"api_key": "abcd1234efgh"}', 'abcd1234efgh'],
      ['https://x.test/v1?key=AIzaSyA1234567890abcdefghijklmnopqrstu', 'AIzaSyA1234567890abcdefghijklmnopqrstu'],
    ];
    for (const [input, secret] of cases) {
      it(`removes the secret from ${JSON.stringify(input.slice(0, 30))}`, () => {
        const out = redactText(input);
        assert.ok(!out.includes(secret), out);
        assert.ok(out.includes(REDACTED), out);
      });
    }

    it('leaves ordinary text alone', () => {
      const s = 'task-management: the model gpt-4o-mini answered 200 OK in 420 ms (sk-learn)';
      assert.equal(redactText(s), s);
    });
  });

  describe('redactUrl', () => {
    it('redacts secret-looking query parameters and keeps the rest', () => {
      assert.equal(
        redactUrl('https://r.test/openai/deployments/x/chat?api-version=2024-06-01&api-key=abc123&key=zzz#frag'),
        `https://r.test/openai/deployments/x/chat?api-version=2024-06-01&api-key=${REDACTED}&key=${REDACTED}#frag`,
      );
      assert.equal(redactUrl('https://api.openai.com/v1/chat/completions'), 'https://api.openai.com/v1/chat/completions');
    });
  });
});
