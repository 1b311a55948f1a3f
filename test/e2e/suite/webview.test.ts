// The request and session panels in a real VS Code: requests sent with the official OpenAI SDK
// through the proxy to the mock upstream, whose replies carry hostile markup. The panels must show
// it as text and run none of it (asserted from inside the webview frames), follow a pending
// request live, draw the session waterfall, open a request from a bar, and replay an edited body
// through the proxy. Screenshots of each panel go to .e2e-out/shots/webview-*.png.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import OpenAI from 'openai';
import type { LensTestApi } from '../../../src/host/testApi';
import type { RecordSummary } from '../../../src/core/types';
import type { MockUpstream } from '../../support/mockUpstream';
import { click, evaluateInFrames, hasUiControl, screenshot, uiText, uiTextNow, waitFor } from '../support/ui';
import { activateWithMockUpstream, startLensProxy } from '../support/lens';

/** One line (it travels in the x-mock-reply header), every classic way for text to become code. */
const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><a href="javascript:window.__pwned=3">click me</a></textarea><script>window.__pwned=4</script><svg onload="window.__pwned=5">';
const HOSTILE_NAME = 'Trip <img src=x onerror="window.__pwned=6">';

interface PanelRegistry { openIds(): string[] }

/** What ran in, and what was built into, every LLM Lens webview frame now open. */
const INERT_PROBE = `JSON.stringify({
  pwned: window.__pwned === undefined ? null : window.__pwned,
  dangerous: document.querySelectorAll('#app script, #app img, #app svg, #app iframe, #app object, #app embed, #app a[href], #app form').length,
  handlers: [...document.querySelectorAll('#app *')].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).length,
  ours: [...document.scripts].filter((s) => (s.src.endsWith('/media/dist/request.js') || s.src.endsWith('/media/dist/session.js')) && s.nonce).length,
  scripts: [...document.scripts].map((s) => s.src ? s.src.split('/').pop() : 'inline ' + (s.textContent || '').trim().slice(0, 60)),
  csp: (document.querySelector('meta[http-equiv="Content-Security-Policy"]') || {}).content || null,
})`;

describe('webview: request and session panels in a real VS Code', function () {
  let api: LensTestApi;
  let mock: MockUpstream;
  let client: OpenAI;
  const sessionId = `e2e-webview-${Date.now()}`;
  const ids: Record<string, string> = {};
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('llmLens');
  const requestPanels = (): PanelRegistry => api.panels.request() as PanelRegistry;
  const done = (id: string): Promise<RecordSummary> => waitFor(() => { const s = api.services.store.get(id); return s && s.state !== 'pending' ? s : undefined; }, 15_000, `record ${id} to complete`);
  /** The id of the newest record of this session whose path is `path`. */
  const recordAt = (path: string): Promise<RecordSummary> => waitFor(() => api.services.store.list({ sessionId }).find((r) => r.session?.path === path), 15_000, `a record at ${path}`);

  let loggedScripts = false;
  async function assertInert(what: string): Promise<void> {
    const results = (await evaluateInFrames<string>('#app', INERT_PROBE)).map((s) => JSON.parse(s) as Record<string, unknown>);
    assert.ok(results.length > 0, `no LLM Lens webview frame found for ${what}`);
    for (const r of results) {
      assert.equal(r.pwned, null, `${what}: a script from the data ran (window.__pwned = ${String(r.pwned)})`);
      assert.equal(r.dangerous, 0, `${what}: elements built from data that could run or load`);
      assert.equal(r.handlers, 0, `${what}: elements with on* handler attributes`);
      // VS Code adds its own script to the page (the acquireVsCodeApi bridge); ours is the one nonce'd bundle.
      assert.equal(r.ours, 1, `${what}: the panel's own nonce'd bundle; scripts: ${JSON.stringify(r.scripts)}`);
      if (!loggedScripts) { loggedScripts = true; console.log(`      webview scripts: ${JSON.stringify(r.scripts)}`); }
      // cspSource is VS Code's ("'self' https://*.vscode-cdn.net" here): any list without 'unsafe-*' or a bare scheme.
      const csp = String(r.csp);
      assert.match(csp, /^default-src 'none'; style-src [^;]+; script-src 'nonce-[A-Za-z0-9+/=]+'; img-src [^;]+ data:; font-src [^;]+; base-uri 'none'; form-action 'none'$/, `${what}: strict CSP, got ${csp}`);
      assert.doesNotMatch(csp, /unsafe-|\s(https?:|\*)(;|\s|$)/, `${what}: no unsafe or wildcard source in ${csp}`);
    }
  }

  before(async function () {
    ({ api, mock } = await activateWithMockUpstream());
    await startLensProxy(api);
    const baseURL = api.services.proxy.providerBaseUrl('openai');
    assert.ok(baseURL);
    client = new OpenAI({ baseURL, apiKey: 'sk-e2e-webview-original-key-0000', maxRetries: 0, timeout: 20_000 });
  });

  after(async function () {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    try { await vscode.commands.executeCommand('llmLens.stopProxy'); } catch { /* reported elsewhere */ }
    await mock?.close();
    await config().update('upstreams', undefined, vscode.ConfigurationTarget.Global);
    await config().update('port', undefined, vscode.ConfigurationTarget.Global);
    delete process.env.OPENAI_API_KEY;
  });

  const session = (path: string): Record<string, string> => ({
    'Helicone-Session-Id': sessionId, 'Helicone-Session-Name': HOSTILE_NAME, 'Helicone-Session-Path': path,
  });

  it('renders a hostile model reply as text in the request panel, and no script runs', async function () {
    const reply = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be <b>terse</b>.' }, { role: 'user', content: 'Repeat after me: ' + HOSTILE }] },
      { headers: { ...session('/research'), 'x-mock-reply': HOSTILE, 'Helicone-Property-Feature': '<script>window.__pwned=7</script>' } },
    );
    assert.equal(reply.choices[0]?.message.content, HOSTILE, 'the SDK got the hostile reply unchanged through the proxy');
    const rec = await recordAt('/research');
    ids.hostile = rec.id;
    await done(rec.id);

    await vscode.commands.executeCommand('llmLens.openRequest', rec.id);
    assert.deepEqual(requestPanels().openIds().includes(rec.id), true, 'the request panel is registered');
    if (!hasUiControl()) return this.skip();
    const texts = await uiText('.msg-from-response', (t) => t.includes(HOSTILE), 20_000);
    assert.ok(texts.some((t) => t.includes(HOSTILE)), 'the hostile markup is shown verbatim, as text');
    const header = (await uiTextNow('.lens-header')).join('\n');
    assert.match(header, /gpt-4o-mini/);
    assert.match(header, /200/);
    await uiText('.tab', (t) => /gpt-4o-mini.* · 200/.test(t));
    await assertInert('the request panel (Conversation)');
    await screenshot('webview-request-conversation');

    for (const [tab, marker] of [['Raw', '.json-tree'], ['Tokens & cost', '.tokens-table'], ['Details', '.kv-table']] as const) {
      await click({ selector: '[role="tab"]', hasText: tab });
      await uiText(marker, (t) => t.length > 0);
      await assertInert(`the request panel (${tab})`);
      await screenshot(`webview-request-${tab.split(' ')[0].toLowerCase()}`);
    }
    const details = (await uiTextNow('.lens-tabpanel:not([hidden])')).join('\n');
    assert.ok(details.includes('<script>window.__pwned=7</script>'), 'property values shown as text');
    assert.match(details, /Bearer \[REDACTED\]/, 'the Authorization header is shown redacted');
    assert.ok(!details.includes('sk-e2e-webview-original-key'), 'the API key is nowhere in the panel');
  });

  it('follows a pending streamed request live until it completes', async function () {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Count slowly' }] },
      { headers: { ...session('/research/analysis'), 'x-mock-chunk-delay-ms': '400', 'x-mock-chunks': '8' } },
    );
    const rec = await recordAt('/research/analysis');
    ids.streamed = rec.id;
    await vscode.commands.executeCommand('llmLens.openRequest', rec.id);
    let text = '';
    const consumed = (async () => { for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''; })();
    if (hasUiControl()) {
      await uiText('.lens-status', (t) => /pending/.test(t), 10_000);
      await screenshot('webview-request-pending');
    }
    await consumed;
    assert.ok(text.length > 0);
    const final = await done(rec.id);
    assert.equal(final.streamed, true);
    if (!hasUiControl()) return;
    await uiText('.lens-status', (t) => /^\s*200\s*$/.test(t), 10_000);
    await uiText('.msg-from-response', (t) => t.includes(text.trim().split(' ')[0] ?? 'The'), 10_000);
    await click({ selector: '[role="tab"]', hasText: 'Raw' });
    await uiText('.sse-list', (t) => /\+\d+ ms/.test(t));
    await screenshot('webview-request-stream-raw');
    await assertInert('the streamed request panel');
  });

  it('draws the session waterfall (one row per request, errors coloured) and opens a request from a bar', async function () {
    await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'fail please' }] },
      { headers: { ...session('/write'), 'x-mock-fault': 'status-500' } },
    ).then(() => assert.fail('a 500 should throw'), (e: unknown) => assert.equal((e as { status?: number }).status, 500));
    const failed = await recordAt('/write');
    await done(failed.id);

    await vscode.commands.executeCommand('llmLens.openSession', sessionId);
    if (!hasUiControl()) return this.skip();
    const rows = await waitFor(async () => {
      const r = await uiTextNow('.wf-row');
      return r.length >= 3 ? r : null;
    }, 15_000, 'three waterfall rows');
    assert.equal(rows.length, 3, `rows: ${JSON.stringify(rows)}`);
    // Sorted by start time on one axis: the order the requests were sent.
    assert.ok(rows[0]?.includes('/research') && !rows[0].includes('/research/analysis'), rows[0]);
    assert.ok(rows[1]?.includes('/research/analysis'), rows[1]);
    assert.ok(rows[2]?.includes('/write'), rows[2]);
    const header = (await uiTextNow('.lens-session .lens-header')).join('\n');
    assert.ok(header.includes(HOSTILE_NAME), 'the hostile session name is text');
    assert.match(header, /REQUESTS\s*3/i);
    assert.match(header, /ERRORS\s*1/i);
    const errorRows = await uiTextNow('.wf-row-error');
    assert.equal(errorRows.length, 1);
    assert.match(errorRows[0] ?? '', /\/write/);
    await assertInert('the session panel');
    await screenshot('webview-session');

    await click({ selector: '.wf-row-error' });
    await waitFor(() => requestPanels().openIds().includes(failed.id), 10_000, 'the failed request panel to open from its bar');
    await uiText('.lens-status', (t) => /500/.test(t));
    await screenshot('webview-request-error');
  });

  it('replays an edited body through the proxy (key from the environment) and opens the new request', async function () {
    if (!hasUiControl()) return this.skip();
    process.env.OPENAI_API_KEY = 'sk-e2e-replay-env-key-1111';
    await vscode.commands.executeCommand('llmLens.replayRequest', ids.hostile);
    await uiText('.lens-replay', (t) => t.includes('Replay'), 10_000);
    const before = mock.requests.length;
    // The edit goes in as the page's own input would (typing JSON char by char through the
    // workbench drops the first keystroke while focus moves into the webview).
    const edited = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'replayed </textarea> body' }] }, null, 2);
    const set = await evaluateInFrames<boolean>('.lens-replay textarea', `(() => { const t = document.querySelector('.lens-replay textarea'); t.focus(); t.value = ${JSON.stringify(edited)}; t.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`);
    assert.deepEqual(set, [true]);
    await screenshot('webview-request-replay');
    await click({ selector: '.lens-replay button', hasText: 'Send through proxy' });
    const replayed = await waitFor(() => api.services.store.list({ sessionId }).find((r) => r.properties['Replay-Of'] === ids.hostile && r.state !== 'pending'), 20_000, 'the replayed record');
    assert.equal(replayed.status, 200);
    const upstreamSaw = mock.requests.slice(before).find((r) => r.body.includes('replayed'));
    assert.ok(upstreamSaw, 'the upstream received the replay');
    assert.deepEqual(JSON.parse(upstreamSaw.body).messages, [{ role: 'user', content: 'replayed </textarea> body' }], 'the edited body was sent');
    assert.equal(upstreamSaw.headers.authorization, 'Bearer sk-e2e-replay-env-key-1111', 'the key came from OPENAI_API_KEY');
    assert.equal(replayed.session?.id, sessionId, 'the replay stays in the session');
    await waitFor(() => requestPanels().openIds().includes(replayed.id), 10_000, 'the replay to open in its own panel');
    // The new panel opens in front of the one the replay was sent from.
    await uiText('.msg-from-request', (t) => t.includes('replayed </textarea> body'));
    await assertInert('the replayed request panel');
    await screenshot('webview-request-replayed');
  });
  it('shows the replay in the session panel (4 rows) and follows the theme (dark screenshot)', async function () {
    if (!hasUiControl()) return this.skip();
    await vscode.commands.executeCommand('llmLens.openSession', sessionId);
    await waitFor(async () => (await uiTextNow('.wf-row')).length === 4, 15_000, 'the replay as a fourth waterfall row');
    const workbench = vscode.workspace.getConfiguration('workbench');
    const previous = workbench.inspect<string>('colorTheme')?.globalValue;
    await workbench.update('colorTheme', 'Default Dark Modern', vscode.ConfigurationTarget.Global);
    try {
      // VS Code pushes the new theme's variables into the webview: the page needs no message.
      await waitFor(async () => {
        const bg = await evaluateInFrames<string>('.lens-session', 'getComputedStyle(document.body).backgroundColor');
        return bg.some((c) => /rgb\((\d+), (\d+), (\d+)\)/.test(c) && Number(/rgb\((\d+)/.exec(c)![1]) < 80);
      }, 10_000, 'a dark webview background');
      await assertInert('the session panel (dark)');
      await screenshot('webview-session-dark');
      await vscode.commands.executeCommand('llmLens.openRequest', ids.hostile);
      // The page comes back on the tab it was left on (Details, from the first test): its saved state.
      await uiText('[role="tab"][aria-selected="true"]', (t) => t === 'Details');
      await click({ selector: '[role="tab"]', hasText: 'Conversation' });
      await uiText('.msg-from-response', (t) => t.includes(HOSTILE));
      await screenshot('webview-request-dark');
    } finally {
      await workbench.update('colorTheme', previous, vscode.ConfigurationTarget.Global);
    }
  });

  it('restores a request panel from its saved state (the serializer path of a window reload)', async function () {
    // What VS Code does after a reload: a fresh panel of our view type plus the state the page saved.
    const registry = api.panels.request() as PanelRegistry & { revive(panel: vscode.WebviewPanel, state: unknown): void };
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await waitFor(() => registry.openIds().length === 0, 5_000, 'all request panels closed');
    const panel = vscode.window.createWebviewPanel('llmLens.request', 'restored', vscode.ViewColumn.One, { enableScripts: true });
    registry.revive(panel, { recordId: ids.hostile, tab: 'details' });
    assert.deepEqual(registry.openIds(), [ids.hostile]);
    if (hasUiControl()) {
      await uiText('.msg-from-response', (t) => t.includes(HOSTILE), 15_000);
      await assertInert('the restored request panel');
      await screenshot('webview-request-restored');
    }
    // State from another version or none at all: the tab is closed rather than left empty.
    const junk = vscode.window.createWebviewPanel('llmLens.request', 'junk', vscode.ViewColumn.One, { enableScripts: true });
    let disposed = false;
    junk.onDidDispose(() => { disposed = true; });
    registry.revive(junk, { something: 'else' });
    assert.equal(disposed, true);
    assert.deepEqual(registry.openIds(), [ids.hostile]);
  });
});
