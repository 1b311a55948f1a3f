// Hostile content in every LLM Lens panel (request, session, compare), in a real VS Code, in the
// fields webview.test.ts does not reach: a model name reported by the upstream, property NAMES
// (only a custom log can carry markup there: header names cannot), session paths, a JSON body in
// the Raw tab, stream events, environment, source and alert names from (workspace) settings.
// For every panel frame, from inside the page: no script from the data ran, nothing built from data
// can run or load, no javascript: link, the page's only script is its own nonce'd bundle, the CSP
// is the strict one, and the CSP really blocks a fetch to the local proxy.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as vscode from 'vscode';
import OpenAI from 'openai';
import type { LensTestApi } from '../../../src/host/testApi';
import type { RecordSummary } from '../../../src/core/types';
import type { MockUpstream } from '../../support/mockUpstream';
import { click, evaluateInFrames, hasUiControl, screenshot, uiText, waitFor } from '../support/ui';
import { activateWithMockUpstream, startLensProxy } from '../support/lens';

const X = (n: number): string => `<script>window.__pwned=${n}</script><img src=x onerror="window.__pwned=${n + 1}"><a href="javascript:window.__pwned=${n + 2}">x</a></textarea><svg onload="window.__pwned=${n + 3}">`;
const HOSTILE_MODEL = `gpt-4o-mini<img src=x onerror="window.__pwned=20">`;
const HOSTILE_PROP_NAME = `Feature<img src=x onerror="window.__pwned=30">`;
const HOSTILE_ENV = `staging<img src=x onerror="window.__pwned=40">`;
const HOSTILE_ALERT = `Spend <img src=x onerror="window.__pwned=60"> alert`;

/** Everything that could have run or could run, in every LLM Lens webview frame now open. */
const PROBE = (proxyUrl: string): string => `(async () => {
  let fetched = 'blocked';
  // no-cors: without a CSP this resolves (with an opaque answer), so only the CSP can make it fail.
  try { await fetch(${JSON.stringify(proxyUrl + '/api/health')}, { mode: 'no-cors' }); fetched = 'allowed'; } catch { /* CSP: default-src 'none' covers connect-src */ }
  return JSON.stringify({
    panel: (document.getElementById('app') || {}).dataset ? document.getElementById('app').dataset.panel : null,
    pwned: window.__pwned === undefined ? null : window.__pwned,
    dangerous: document.querySelectorAll('#app script, #app img, #app svg, #app iframe, #app object, #app embed, #app form, #app base, #app meta, #app link').length,
    jsLinks: [...document.querySelectorAll('[href], [src], [action]')].filter((el) => /^\\s*javascript:/i.test(el.getAttribute('href') || el.getAttribute('src') || el.getAttribute('action') || '')).length,
    handlers: [...document.querySelectorAll('#app *')].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).length,
    ours: [...document.scripts].filter((s) => /\\/media\\/dist\\/(request|session|compare)\\.js$/.test(s.src) && s.nonce).length,
    inline: [...document.scripts].filter((s) => !s.src && (s.textContent || '').includes('__pwned')).length,
    csp: (document.querySelector('meta[http-equiv="Content-Security-Policy"]') || {}).content || null,
    text: (document.getElementById('app') || {}).innerText || '',
    fetched,
  });
})()`;

interface Probe { panel: string | null; pwned: unknown; dangerous: number; jsLinks: number; handlers: number; ours: number; inline: number; csp: string | null; text: string; fetched: string }

describe('security: hostile content in every panel, CSP in every panel (real VS Code)', function () {
  let api: LensTestApi;
  let mock: MockUpstream;
  let client: OpenAI;
  let proxyUrl: string;
  const sessionId = `e2e-security-${Date.now()}`;
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('llmLens');
  const done = (pred: (s: RecordSummary) => boolean, what: string): Promise<RecordSummary> =>
    waitFor(() => api.services.store.list({ limit: 500 }).find((s) => s.state !== 'pending' && pred(s)), 15_000, what);
  const seenPanels = new Set<string>();
  const closers: Array<() => Promise<void>> = [];

  async function assertInert(what: string, mustShow: string[] = []): Promise<Probe[]> {
    const probes = (await evaluateInFrames<string>('#app', PROBE(proxyUrl))).map((s) => JSON.parse(s) as Probe);
    assert.ok(probes.length > 0, `no LLM Lens webview frame for ${what}`);
    for (const p of probes) {
      assert.equal(p.pwned, null, `${what} (${p.panel}): a script from the data ran (window.__pwned = ${String(p.pwned)})`);
      assert.equal(p.dangerous, 0, `${what} (${p.panel}): elements built from data that could run or load`);
      assert.equal(p.jsLinks, 0, `${what} (${p.panel}): a javascript: URL in an attribute`);
      assert.equal(p.handlers, 0, `${what} (${p.panel}): on* handler attributes`);
      assert.equal(p.inline, 0, `${what} (${p.panel}): an inline script carrying data`);
      assert.equal(p.ours, 1, `${what} (${p.panel}): exactly its own nonce'd bundle`);
      const csp = String(p.csp);
      assert.match(csp, /^default-src 'none'; style-src [^;]+; script-src 'nonce-[A-Za-z0-9+/=]+'; img-src [^;]+ data:; font-src [^;]+; base-uri 'none'; form-action 'none'$/, `${what} (${p.panel}): strict CSP, got ${csp}`);
      assert.doesNotMatch(csp, /unsafe-|\s(https?:|\*)(;|\s|$)/, `${what} (${p.panel}): no unsafe or wildcard source`);
      assert.equal(p.fetched, 'blocked', `${what} (${p.panel}): the page could fetch the local proxy`);
    }
    const all = probes.map((p) => p.text).join('\n');
    for (const s of mustShow) assert.ok(all.includes(s), `${what}: ${JSON.stringify(s.slice(0, 40))} is not shown as text`);
    for (const p of probes) if (p.panel) seenPanels.add(p.panel);
    return probes;
  }

  before(async function () {
    ({ api, mock } = await activateWithMockUpstream());
    proxyUrl = await startLensProxy(api);
    client = new OpenAI({ baseURL: api.services.proxy.providerBaseUrl('openai')!, apiKey: 'sk-e2e-security-0000', maxRetries: 0, timeout: 20_000 });
  });

  after(async function () {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    try { await vscode.commands.executeCommand('llmLens.stopProxy'); } catch { /* reported elsewhere */ }
    await mock?.close();
    for (const c of closers) await c();
    for (const k of ['upstreams', 'port', 'compare.environments', 'devEnvironment', 'sources', 'alerts']) await config().update(k, undefined, vscode.ConfigurationTarget.Global);
  });

  it('request panel: a hostile model name and a hostile streamed reply, in every tab', async function () {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: X(1) }] },
      { headers: { 'x-mock-reply': X(5), 'x-mock-model': HOSTILE_MODEL, 'Helicone-Session-Id': sessionId, 'Helicone-Session-Path': `/a<b>/${X(9)}`, 'Helicone-Session-Name': X(13) } },
    );
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, X(5));
    const rec = await done((s) => s.responseModel === HOSTILE_MODEL, 'the streamed record');
    await vscode.commands.executeCommand('llmLens.openRequest', rec.id);
    if (!hasUiControl()) return this.skip();
    await uiText('.msg-from-response', (t) => t.includes(X(5)), 20_000);
    await assertInert('request panel, Conversation', [X(5), HOSTILE_MODEL]);
    for (const tab of ['Raw', 'Tokens & cost', 'Details']) {
      await click({ selector: '[role="tab"]', hasText: tab });
      await waitFor(async () => (await evaluateInFrames<boolean>('#app', `!!document.querySelector('.lens-tabpanel:not([hidden])')`)).some(Boolean), 10_000, `the ${tab} tab`);
      await assertInert(`request panel, ${tab}`);
    }
    await screenshot('security-request');
  });

  it('request panel: hostile property names and values, and a hostile JSON body, from a custom log', async function () {
    const now = Math.floor(Date.now() / 1000);
    const res = await fetch(`${proxyUrl}/api/custom/v1/log`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        providerRequest: { url: 'custom://tool', json: { query: X(70), [X(74)]: 'key of markup' }, meta: { [`Helicone-Property-${HOSTILE_PROP_NAME}`]: X(78), 'Helicone-Session-Id': sessionId, 'Helicone-Session-Path': '/tool' } },
        providerResponse: { json: { answer: X(82), nested: { [X(86)]: [X(90)] } }, status: 200, headers: {} },
        timing: { startTime: { seconds: now - 1, milliseconds: 0 }, endTime: { seconds: now, milliseconds: 0 } },
      }),
    });
    assert.equal(res.status, 200);
    const id = ((await res.json()) as { data: { request_id: string } }).data.request_id;
    await done((s) => s.id === id, 'the custom log record');
    await vscode.commands.executeCommand('llmLens.openRequest', id);
    if (!hasUiControl()) return this.skip();
    for (const tab of ['Raw', 'Details']) {
      await click({ selector: '[role="tab"]', hasText: tab });
      await waitFor(async () => (await evaluateInFrames<string>('#app', `(document.querySelector('.lens-tabpanel:not([hidden])') || {}).innerText || ''`)).some((t) => t.length > 0), 10_000, `the ${tab} tab`);
      await assertInert(`custom log request panel, ${tab}`, tab === 'Details' ? [HOSTILE_PROP_NAME] : []);
    }
    await screenshot('security-custom-log');
  });

  it('session panel: hostile session name and paths in the header and the waterfall', async function () {
    await vscode.commands.executeCommand('llmLens.openSession', sessionId);
    if (!hasUiControl()) return this.skip();
    await waitFor(async () => (await evaluateInFrames<number>('#app', `document.querySelectorAll('.wf-row').length`)).some((n) => n >= 2), 15_000, 'two waterfall rows');
    await assertInert('session panel', [X(13)]);
    await screenshot('security-session');
  });

  it('compare panel: hostile environment and alert names from settings, a hostile error text from a remote source', async function () {
    // A Helicone-compatible source that answers every query with an error whose text is markup.
    // (Source names are refused by the settings unless plain: letters, digits, ".", "_" and "-".)
    const evil = http.createServer((req, res) => {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: null, error: X(50) }));
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => evil.close(() => resolve())));
    const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/api`;
    await config().update('compare.environments', [HOSTILE_ENV, 'production'], vscode.ConfigurationTarget.Global);
    await config().update('sources', [{ name: 'hostile-box', baseUrl: evilUrl }], vscode.ConfigurationTarget.Global);
    await config().update('alerts', [{ name: HOSTILE_ALERT, metric: 'cost', threshold: 0, windowMinutes: 1440, minRequests: 0, environment: 'development' }], vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('llmLens.refreshComparison');
    await vscode.commands.executeCommand('llmLens.openCompare');
    if (!hasUiControl()) return this.skip();
    await waitFor(async () => (await evaluateInFrames<string>('#app', `(document.getElementById('app') || {}).innerText || ''`)).some((t) => t.includes(HOSTILE_ENV)), 30_000, 'the compare panel to show the environments');
    await waitFor(async () => (await evaluateInFrames<string>('#app', `(document.getElementById('app') || {}).innerText || ''`)).some((t) => t.includes('hostile-box')), 30_000, 'the failing source in the panel');
    await assertInert('compare panel', [HOSTILE_ENV, '“hostile-box”', X(50)]);
    await screenshot('security-compare');
  });

  it('checked the CSP and the hostile content in every kind of panel', function () {
    if (!hasUiControl()) return this.skip();
    assert.deepEqual([...seenPanels].sort(), ['compare', 'request', 'session']);
  });
});
