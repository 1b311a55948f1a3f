// The real browser bundles, built from source, in a real Chromium page under the panels' real CSP
// (buildPanelHtml), fed hostile records through the same postMessage channel VS Code uses. This
// proves in seconds what the e2e suite proves inside VS Code: model output is text, nothing runs.
// acquireVsCodeApi is the one stand-in (VS Code injects it); it records what the page posts.
// Needs Chromium (/usr/bin/chromium or $CHROMIUM); skipped, saying so, when there is none.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import type { LogRecord, RecordSummary } from '../../src/core/types';
import type { HostToWebview } from '../../src/webviews/protocol';
import { chromiumPath, launchChromium, panelPageHtml } from '../support/chromiumPanel';
import { makeRecord } from '../support/records';

const ROOT = path.resolve(__dirname, '../..');
const HOSTILE = '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> [x](javascript:window.__pwned=3) </textarea><script>window.__pwned=4</script> <svg onload="window.__pwned=5">';


/** A dark theme's worth of the variables VS Code defines on a webview's <html>. */
const THEME_CSS = `html {
  --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: monospace; --vscode-editor-font-size: 12px;
  --vscode-editor-foreground: #d4d4d4; --vscode-foreground: #cccccc; --vscode-editor-background: #1e1e1e; --vscode-descriptionForeground: #9d9d9d;
  --vscode-panel-border: #3c3c3c; --vscode-badge-background: #4d4d4d; --vscode-badge-foreground: #fff; --vscode-button-background: #0e639c;
  --vscode-button-foreground: #fff; --vscode-button-secondaryBackground: #3a3d41; --vscode-button-secondaryForeground: #fff; --vscode-focusBorder: #007fd4;
  --vscode-textLink-foreground: #3794ff; --vscode-textCodeBlock-background: #0a0a0a66; --vscode-input-background: #3c3c3c; --vscode-input-foreground: #ccc;
  --vscode-charts-green: #89d185; --vscode-charts-red: #f14c4c; --vscode-charts-yellow: #cca700; --vscode-charts-blue: #3794ff; --vscode-charts-purple: #b180d7;
  --vscode-charts-orange: #d18616; --vscode-errorForeground: #f48771; --vscode-editorWidget-background: #252526; --vscode-list-hoverBackground: #2a2d2e;
  --vscode-debugTokenExpression-string: #ce9178; --vscode-debugTokenExpression-number: #b5cea8; --vscode-debugTokenExpression-boolean: #4e94ce;
  --vscode-symbolIcon-propertyForeground: #9cdcfe; --vscode-editor-findMatchHighlightBackground: #ea5c0055; --vscode-textBlockQuote-background: #222;
  --vscode-inputValidation-errorBorder: #be1100; --vscode-inputValidation-warningBorder: #b89500;
}`;

/** Installed before the bundle: VS Code's acquireVsCodeApi, recording posts and state. */
const PRELUDE = `window.__posted = []; window.__state = undefined; window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => window.__state, setState: (s) => { window.__state = s; } });`;

function hostileRecord(): LogRecord {
  const requestJson = {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are <b>helpful</b>.' },
      { role: 'user', content: [{ type: 'text', text: `Repeat: ${HOSTILE}` }, { type: 'image_url', image_url: { url: 'data:image/png;base64,' + Buffer.alloc(2048).toString('base64') } }] },
    ],
    '<img src=x onerror="window.__pwned=6">': HOSTILE,
  };
  const responseJson = {
    id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: `Sure:\n${HOSTILE}\n\`\`\`html\n${HOSTILE}\n\`\`\`` }, finish_reason: 'stop' }],
  };
  return makeRecord({
    id: 'rec-hostile',
    properties: { '<img src=x onerror=window.__pwned=7>': '<script>window.__pwned=8</script>' },
    userId: '<svg onload=window.__pwned=9>',
    session: { id: 'sess-1', path: '/research', name: '<script>window.__pwned=10</script>' },
    warnings: ['<img src=x onerror="window.__pwned=11">'],
    requestHeaders: { 'Content-Type': 'application/json', Authorization: 'Bearer [REDACTED]', 'X-Evil': '<script>window.__pwned=12</script>' },
    bodies: {
      request: { kind: 'json', json: requestJson, size: 900, truncated: false },
      response: { kind: 'json', json: responseJson, size: 700, truncated: false },
      streamEvents: null,
      reassembled: null,
    },
  });
}

function recordMessage(r: LogRecord): HostToWebview {
  const { bodies, ...summary } = r;
  return { type: 'record', payload: { summary, bodies, bodiesError: null, proxyUrl: 'http://127.0.0.1:8787' } };
}

describe('webview bundles in Chromium (hostile content, CSP, interactions)', function () {
  this.timeout(60_000);
  const exe = chromiumPath();
  let outDir = '';
  let server: http.Server;
  let base = '';
  let browser: Browser;
  const shotsDir = process.env.LENS_WEBVIEW_SHOTS;

  before(async function () {
    if (!exe) { console.log('    (skipped: no Chromium; set CHROMIUM or install chromium)'); this.skip(); }
    outDir = mkdtempSync(path.join(tmpdir(), 'lens-webview-'));
    await esbuild.build({
      entryPoints: { request: path.join(ROOT, 'src/webviews/app/requestMain.ts'), session: path.join(ROOT, 'src/webviews/app/sessionMain.ts') },
      bundle: true, platform: 'browser', format: 'iife', target: 'es2022', outdir: outDir, logLevel: 'error',
      loader: { '.css': 'css', '.ttf': 'file' },
    });
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, type: string, body: string | Buffer): void => { res.writeHead(status, { 'content-type': type }); res.end(body); };
      if (url.pathname === '/theme.css') return send(200, 'text/css', THEME_CSS);
      if (url.pathname === '/media/webview.css') return send(200, 'text/css', readFileSync(path.join(ROOT, 'media/webview.css')));
      const m = /^\/media\/dist\/([\w.-]+)$/.exec(url.pathname);
      if (m && existsSync(path.join(outDir, m[1]))) {
        const type = m[1].endsWith('.js') ? 'text/javascript' : m[1].endsWith('.css') ? 'text/css' : 'font/ttf';
        return send(200, type, readFileSync(path.join(outDir, m[1])));
      }
      const page = /^\/(request|session)\.html$/.exec(url.pathname);
      if (page) {
        const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        return send(200, 'text/html', panelPageHtml({
          origin, bundle: page[1] as 'request' | 'session', title: 't', prelude: PRELUDE,
          styleUris: [`${origin}/theme.css`, `${origin}/media/dist/${page[1]}.css`, `${origin}/media/webview.css`],
        }));
      }
      send(404, 'text/plain', 'not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium(exe!);
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  async function openPanel(kind: 'request' | 'session', size = { width: 1100, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport: size });
    await page.goto(`${base}/${kind}.html`);
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    return page;
  }
  const send = (page: Page, msg: HostToWebview): Promise<void> => page.evaluate((m) => window.postMessage(m, '*'), msg);
  const posted = (page: Page): Promise<Array<Record<string, unknown>>> => page.evaluate(() => (window as unknown as { __posted: Array<Record<string, unknown>> }).__posted);
  const shot = async (page: Page, name: string): Promise<void> => { if (shotsDir) await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: true }); };

  /** Nothing ran, and nothing that could run or load was created from data. */
  async function assertInert(page: Page): Promise<void> {
    const r = await page.evaluate(() => {
      const app = document.getElementById('app')!;
      const withHandlers = [...app.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name) || a.name === 'style' && /url\(/.test(a.value)));
      return {
        pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
        dangerous: app.querySelectorAll('script, img, svg, iframe, object, embed, a[href], form, link, style, meta, base').length,
        withHandlers: withHandlers.length,
        scripts: document.querySelectorAll('script').length,
        violations: (window as unknown as { __violations: string[] }).__violations,
      };
    });
    assert.deepEqual(r, { pwned: null, dangerous: 0, withHandlers: 0, scripts: 2, violations: [] });
  }

  it('says ready first, then renders a hostile conversation as text, runs nothing and trips no CSP rule', async () => {
    const page = await openPanel('request');
    assert.deepEqual((await posted(page))[0], { type: 'ready', panel: 'request' });
    await send(page, recordMessage(hostileRecord()));
    await page.waitForSelector('.msg-from-response');
    const text = await page.innerText('#app');
    assert.ok(text.includes(HOSTILE), 'the hostile markup is visible, verbatim, as text');
    assert.ok(text.includes('image · image/png · 2.0 KB'), 'images are placeholders with their size');
    assert.equal(await page.locator('.msg-codeblock pre').innerText(), HOSTILE, 'the fenced block is a monospaced <pre> of text');
    assert.ok((await page.innerText('.lens-banners')).includes('onerror'), 'warnings shown as text');
    assert.equal(await page.title(), 't');
    await assertInert(page);
    await shot(page, 'dom-request-conversation');
    // Every other tab renders the same data, also as text.
    for (const tab of ['Raw', 'Tokens & cost', 'Details']) {
      await page.getByRole('tab', { name: tab }).click();
      await page.waitForSelector('.lens-tabpanel:not([hidden]) > *');
      await assertInert(page);
      await shot(page, `dom-request-${tab.split(' ')[0].toLowerCase()}`);
    }
    const details = await page.innerText('.lens-tabpanel:not([hidden])');
    assert.ok(details.includes('<script>window.__pwned=8</script>'), 'property values as text');
    assert.ok(details.includes('Bearer [REDACTED]'), 'redacted headers shown as recorded');
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __state: unknown }).__state), { recordId: 'rec-hostile', tab: 'details' });
    await page.close();
  });

  it('searches the raw JSON tree, opening the matches', async () => {
    const page = await openPanel('request');
    await send(page, recordMessage(hostileRecord()));
    await page.getByRole('tab', { name: 'Raw' }).click();
    const search = page.getByRole('searchbox', { name: 'Search request body' });
    await search.fill('onerror');
    await page.waitForFunction(() => /match/.test(document.querySelector('.json-search-status')?.textContent ?? ''));
    const status = await page.locator('.json-search-status').first().innerText();
    assert.equal(status, '2 matches', 'the hostile key (its value counted with it) and the user message text');
    assert.ok(await page.locator('mark').count() >= 2);
    await assertInert(page);
    await page.close();
  });

  it('wires the actions to protocol messages, and the replay editor keeps </textarea> as text', async () => {
    const page = await openPanel('request');
    await send(page, recordMessage(hostileRecord()));
    await page.getByRole('button', { name: 'Copy as cURL' }).click();
    await page.getByRole('button', { name: 'Copy request body' }).click();
    await page.getByRole('button', { name: /^Session: / }).click();
    await send(page, { type: 'showReplay' });
    const area = page.getByRole('textbox', { name: 'Request body to replay (JSON)' });
    const value = await area.inputValue();
    assert.ok(value.includes('</textarea><script>window.__pwned=4</script>'), 'the body is in the textarea as its value');
    assert.deepEqual(JSON.parse(value), hostileRecord().bodies.request.json);
    await area.fill('{ "model": "gpt-4o-mini", "messages": [] ');
    await page.getByRole('button', { name: 'Send through proxy' }).click();
    assert.match(await page.locator('.replay-status').innerText(), /Not valid JSON/);
    await area.fill('{ "model": "gpt-4o-mini", "messages": [] }');
    await page.getByRole('button', { name: 'Send through proxy' }).click();
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'request'));
    const msgs = await posted(page);
    assert.deepEqual(msgs.slice(1), [
      { type: 'copyCurl' },
      { type: 'copy', what: 'requestBody' },
      { type: 'openSession', sessionId: 'sess-1' },
      { type: 'request', reqId: 1, method: 'replay', params: { body: '{ "model": "gpt-4o-mini", "messages": [] }' } },
    ]);
    await send(page, { type: 'reply', reqId: 1, method: 'replay', ok: false, error: 'the proxy is stopped <b>x</b>' });
    await page.waitForFunction(() => /Replay failed/.test(document.querySelector('.replay-status')?.textContent ?? ''));
    assert.equal(await page.locator('.replay-status').innerText(), 'Replay failed: the proxy is stopped <b>x</b>');
    await shot(page, 'dom-request-replay');
    await assertInert(page);
    await page.close();
  });

  it('shows pending, error and missing states', async () => {
    const page = await openPanel('request', { width: 800, height: 600 });
    const pending = makeRecord({ id: 'p1', state: 'pending', status: null, latencyMs: null, endedAt: null, usage: null, costUsd: null, cost: null, responseModel: null, startedAt: Date.now() - 1500 });
    const { bodies: _b, ...summary } = pending;
    await send(page, { type: 'record', payload: { summary, bodies: null, bodiesError: null, proxyUrl: null } });
    await page.waitForSelector('.lens-status.is-pending');
    assert.match(await page.innerText('.lens-tabpanel:not([hidden])'), /in flight/);
    assert.ok(await page.getByRole('button', { name: 'Replay…' }).isDisabled());
    await shot(page, 'dom-request-pending');
    const failed = makeRecord({ id: 'e1', state: 'error', status: 429, error: { kind: 'upstream_status', message: 'Rate limited' }, usage: null, costUsd: null, cost: null,
      bodies: { request: { kind: 'json', json: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, size: 10, truncated: false },
        response: { kind: 'json', json: { error: { message: 'Rate limit reached for <model>', type: 'requests' } }, size: 10, truncated: false }, streamEvents: null, reassembled: null } });
    await send(page, recordMessage(failed));
    await page.waitForSelector('.lens-status.is-error');
    assert.match(await page.innerText('.lens-status'), /429 · upstream_status/);
    assert.match(await page.innerText('.conversation'), /requests: Rate limit reached for <model>/);
    await shot(page, 'dom-request-error');
    await send(page, { type: 'missing', what: 'request', id: 'e1' });
    await page.waitForSelector('.lens-empty');
    assert.match(await page.innerText('#app'), /no longer in the log/);
    await page.close();
  });

  it('draws the session waterfall on one axis and opens a request from a bar, by mouse and keyboard', async () => {
    const page = await openPanel('session');
    assert.deepEqual((await posted(page))[0], { type: 'ready', panel: 'session' });
    const t0 = Date.now() - 60_000;
    const mk = (id: string, off: number, dur: number, pathName: string, over: Partial<RecordSummary> = {}): RecordSummary => {
      const { bodies: _b, ...s } = makeRecord({ id, startedAt: t0 + off, latencyMs: dur, endedAt: t0 + off + dur, ttftMs: Math.round(dur / 3),
        session: { id: 'sess-1', path: pathName, name: 'Trip <script>window.__pwned=1</script>' }, ...over });
      return s;
    };
    const records = [
      mk('r1', 0, 1200, '/research'),
      mk('r2', 300, 2500, '/research/analysis', { costUsd: 0.0123 }),
      mk('r3', 1500, 400, '/write', { state: 'error', status: 500, error: { kind: 'upstream_status', message: 'x' } }),
      mk('r4', 2900, 10, '/write', { kind: 'custom', requestModel: '<img src=x onerror=window.__pwned=2>', responseModel: null }),
    ];
    await send(page, { type: 'session', payload: { sessionId: 'sess-1', session: null, records, truncated: false } });
    await page.waitForSelector('.wf-row');
    assert.equal(await page.locator('.wf-row').count(), 4);
    const text = await page.innerText('#app');
    assert.ok(text.includes('Trip <script>window.__pwned=1</script>'));
    assert.ok(text.includes('<img src=x onerror=window.__pwned=2>'));
    // Bars are placed by CSSOM (allowed under the CSP): r2 starts later than r1 and is wider.
    const boxes = await page.locator('.wf-bar').evaluateAll((els) => els.map((e) => { const b = e.getBoundingClientRect(); return { x: b.x, w: b.width }; }));
    assert.ok(boxes[1].x > boxes[0].x && boxes[1].w > boxes[0].w, JSON.stringify(boxes));
    assert.equal(await page.locator('.wf-row-error').count(), 1);
    assert.equal(await page.locator('.wf-ttft').count(), 3, 'first-token marks on LLM requests, not on the custom step');
    await assertInert(page);
    await shot(page, 'dom-session');
    await page.locator('.wf-row').nth(1).click();
    await page.locator('.wf-row').nth(1).press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'write', exact: true }).click();
    assert.equal(await page.locator('.wf-row').count(), 2, 'the path tree filters the waterfall');
    const msgs = await posted(page);
    assert.deepEqual(msgs.slice(1), [{ type: 'openRequest', id: 'r2' }, { type: 'openRequest', id: 'r3' }]);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __state: unknown }).__state), { sessionId: 'sess-1', filter: '/write' });
    await page.close();
  });
});
