import * as assert from 'node:assert/strict';
import { parseWebviewMessage } from '../../src/webviews/messageSchema';
import { isHostMessage, isRequestPanelState, isSessionPanelState } from '../../src/webviews/protocol';
import { makeRecord } from '../support/records';

describe('webview protocol: host-side validation (parseWebviewMessage)', () => {
  const ok = (raw: unknown, panel: 'request' | 'session' = 'request'): unknown => {
    const r = parseWebviewMessage(raw, panel);
    assert.ok(r.ok, `expected ok, got ${r.ok ? '' : r.error}`);
    return r.message;
  };
  const bad = (raw: unknown, panel: 'request' | 'session' = 'request'): string => {
    const r = parseWebviewMessage(raw, panel);
    assert.equal(r.ok, false, `expected a refusal for ${JSON.stringify(raw)?.slice(0, 100)}`);
    return r.ok ? '' : r.error;
  };

  it('accepts every command and request of the protocol', () => {
    assert.deepEqual(ok({ type: 'ready', panel: 'request' }), { type: 'ready', panel: 'request' });
    ok({ type: 'openRequest', id: 'a1' });
    ok({ type: 'openSession', sessionId: 's1' });
    ok({ type: 'copy', what: 'requestBody' });
    ok({ type: 'copy', what: 'responseBody' });
    ok({ type: 'copy', what: 'requestId' });
    ok({ type: 'copy', what: 'text', text: '<script>x</script>' });
    ok({ type: 'copyCurl' });
    assert.deepEqual(ok({ type: 'request', reqId: 3, method: 'replay', params: { body: '{}' } }),
      { type: 'request', reqId: 3, method: 'replay', params: { body: '{}' } });
  });

  it('refuses non-objects, unknown types and missing types', () => {
    for (const raw of [null, undefined, 42, 'ready', [], {}, { type: 7 }]) assert.match(bad(raw), /type/);
    assert.match(bad({ type: 'eval', code: 'alert(1)' }), /not accepted/);
    assert.match(bad({ type: '__proto__' }), /not accepted/);
  });

  it('refuses extra fields, wrong field types and empty ids (strict schemas)', () => {
    assert.match(bad({ type: 'openRequest', id: 'a', extra: 1 }), /invalid "openRequest"/);
    bad({ type: 'openRequest', id: '' });
    bad({ type: 'openRequest', id: 5 });
    bad({ type: 'openSession' });
    bad({ type: 'ready', panel: 'compare' });
    bad({ type: 'request', reqId: -1, method: 'replay', params: { body: '{}' } });
    bad({ type: 'request', reqId: 1.5, method: 'replay', params: { body: '{}' } });
    bad({ type: 'request', reqId: 1, method: 'delete', params: {} });
    bad({ type: 'request', reqId: 1, method: 'replay', params: { body: {} } });
  });

  it('requires text exactly for copy "text"', () => {
    bad({ type: 'copy', what: 'text' });
    bad({ type: 'copy', what: 'requestBody', text: 'x' });
    bad({ type: 'copy', what: 'everything' });
  });

  it('refuses oversized values instead of handing them to a handler', () => {
    bad({ type: 'openRequest', id: 'x'.repeat(513) });
    bad({ type: 'copy', what: 'text', text: 'x'.repeat(16 * 1024 * 1024 + 1) });
  });

  it('lets each panel send only its own messages', () => {
    ok({ type: 'openRequest', id: 'a' }, 'session');
    assert.match(bad({ type: 'copyCurl' }, 'session'), /not accepted by the session panel/);
    assert.match(bad({ type: 'request', reqId: 1, method: 'replay', params: { body: '{}' } }, 'session'), /not accepted/);
  });
});

describe('webview protocol: browser-side guard (isHostMessage)', () => {
  const r = makeRecord();
  const { bodies, ...summary } = r;

  it('accepts the notifications and replies the host sends', () => {
    assert.ok(isHostMessage({ type: 'record', payload: { summary, bodies, bodiesError: null, proxyUrl: null } }));
    assert.ok(isHostMessage({ type: 'record', payload: { summary, bodies: null, bodiesError: null, proxyUrl: null } }));
    assert.ok(isHostMessage({ type: 'session', payload: { sessionId: 's', session: null, records: [summary], truncated: false } }));
    assert.ok(isHostMessage({ type: 'missing', what: 'request', id: 'x' }));
    assert.ok(isHostMessage({ type: 'showReplay' }));
    assert.ok(isHostMessage({ type: 'reply', reqId: 1, method: 'replay', ok: true, result: { newId: 'n', status: 200 } }));
    assert.ok(isHostMessage({ type: 'reply', reqId: 1, method: 'replay', ok: false, error: 'no' }));
  });

  it('drops anything else (any frame can post a message event)', () => {
    for (const m of [null, 'record', {}, { type: 'record' }, { type: 'record', payload: { summary: {} } },
      { type: 'session', payload: { sessionId: 's' } }, { type: 'missing', what: 'x', id: 'y' },
      { type: 'reply', reqId: '1', method: 'replay', ok: true, result: 1 }, { type: 'reply', reqId: 1, method: 'replay', ok: false },
      { type: 'html', html: '<img src=x onerror=alert(1)>' }]) {
      assert.equal(isHostMessage(m), false, JSON.stringify(m));
    }
  });

  it('validates the state the serializers get back', () => {
    assert.ok(isRequestPanelState({ recordId: 'a', tab: 'raw' }));
    assert.ok(isRequestPanelState({ recordId: 'a' }));
    assert.equal(isRequestPanelState({ recordId: '' }), false);
    assert.equal(isRequestPanelState(undefined), false);
    assert.equal(isRequestPanelState({ recordId: 'a', tab: 3 }), false);
    assert.ok(isSessionPanelState({ sessionId: 's', filter: '/a' }));
    assert.equal(isSessionPanelState({ id: 's' }), false);
  });
});
