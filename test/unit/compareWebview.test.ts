// The compare panel's real browser bundle (uPlot included) in a real Chromium page under the
// panels' real CSP, fed views built by the host's own buildCompareView: the table shows the
// numbers with deltas, charts draw on canvases with the theme's colours, hostile environment and
// group names stay text, and the controls post the protocol's messages. acquireVsCodeApi is the
// one stand-in (VS Code injects it). Needs Chromium; skipped, saying so, when there is none.
// LENS_COMPARE_SHOTS=<dir> keeps screenshots to look at.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { buildCompareView } from '../../src/compare/view';
import type { HostToWebview } from '../../src/webviews/protocol';
import { chromiumPath, launchChromium, panelPageHtml } from '../support/chromiumPanel';
import { DAY, MIN, NOW, env, mrow, snapshot } from '../support/compareFixtures';

const ROOT = path.resolve(__dirname, '../..');
const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';


const DARK = `html { --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: monospace;
  --vscode-editor-foreground: #d4d4d4; --vscode-foreground: #cccccc; --vscode-editor-background: #1e1e1e; --vscode-descriptionForeground: #9d9d9d;
  --vscode-panel-border: #3c3c3c; --vscode-button-background: #0e639c; --vscode-button-foreground: #fff; --vscode-button-secondaryBackground: #3a3d41;
  --vscode-button-secondaryForeground: #fff; --vscode-focusBorder: #007fd4; --vscode-dropdown-background: #3c3c3c; --vscode-dropdown-foreground: #f0f0f0;
  --vscode-charts-green: #89d185; --vscode-charts-red: #f14c4c; --vscode-charts-yellow: #cca700; --vscode-charts-blue: #3794ff; --vscode-charts-purple: #b180d7;
  --vscode-charts-orange: #d18616; --vscode-editorWarning-foreground: #cca700; --vscode-inputValidation-warningBorder: #b89500; --vscode-inputValidation-errorBorder: #be1100; }`;
const LIGHT = DARK.replace('#1e1e1e', '#ffffff').replace('#d4d4d4', '#1f1f1f').replace('#cccccc', '#3b3b3b').replace('#3794ff', '#1a85ff').replace('#d18616', '#c27d1a');

const PRELUDE = `window.__posted = []; window.__state = undefined; window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
if (window.__restored) window.__state = window.__restored;
window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => window.__state, setState: (s) => { window.__state = s; } });`;

function sampleSnapshot(hostileNames = false): ReturnType<typeof snapshot> {
  const version = (i: number): string => (hostileNames && i === 0 ? HOSTILE : `v${1 + (i % 2)}`);
  const devRows = Array.from({ length: 40 }, (_, i) => mrow(i * 37 * MIN, { costUsd: 0.0021, latencyMs: 600 + 20 * i, properties: { Version: version(i) } }));
  const prodRows = Array.from({ length: 120 }, (_, i) => mrow(i * 6 * 60 * MIN + 5 * MIN, {
    costUsd: 0.0034, latencyMs: 900 + (i % 10) * 150, ok: i % 17 !== 0, model: i % 3 ? 'gpt-4o' : 'gpt-4o-mini', properties: { Version: version(i + 1) },
  }));
  const stagingRows = Array.from({ length: 30 }, (_, i) => mrow(i * DAY / 2 + 9 * MIN, { costUsd: 0.003, latencyMs: 1200 }));
  const prodName = hostileNames ? `production${HOSTILE}` : 'production';
  return snapshot([env('development', devRows), env('staging', stagingRows, { status: 'stale', fresh: false, fetchedAt: NOW - 14 * MIN }), env(prodName, prodRows)], {}, [
    { name: 'this machine', kind: 'local', baseUrl: null, status: 'ok', refreshing: false, fetchedAt: NOW, error: null, nextAttemptAt: null, environments: { development: { requests: 40, capped: false, coveredSince: NOW - 30 * DAY } } },
    { name: 'helicone', kind: 'remote', baseUrl: 'https://api.helicone.ai', status: 'stale', refreshing: false, fetchedAt: NOW - 14 * MIN, error: { code: 'QUERY_UNAVAILABLE', message: 'HTTP 503 from https://api.helicone.ai' }, nextAttemptAt: Date.now() + 45_000, environments: { staging: { requests: 30, capped: false, coveredSince: NOW - 30 * DAY }, production: { requests: 120, capped: false, coveredSince: NOW - 30 * DAY } } },
    { name: 'eu', kind: 'remote', baseUrl: 'https://eu.api.helicone.ai', status: 'authFailed', refreshing: false, fetchedAt: null, error: { code: 'QUERY_AUTH', message: 'HTTP 401: Unauthorized' }, nextAttemptAt: null, environments: {} },
  ]);
}

describe('compare panel bundle in Chromium', function () {
  this.timeout(90_000);
  const exe = chromiumPath();
  let outDir = '';
  let server: http.Server;
  let base = '';
  let browser: Browser;
  const shotsDir = process.env.LENS_COMPARE_SHOTS;

  before(async function () {
    if (!exe) { console.log('    (skipped: no Chromium; set CHROMIUM or install chromium)'); this.skip(); }
    outDir = mkdtempSync(path.join(tmpdir(), 'lens-compare-webview-'));
    await esbuild.build({
      entryPoints: { compare: path.join(ROOT, 'src/webviews/app/compareMain.ts') },
      bundle: true, platform: 'browser', format: 'iife', target: 'es2022', outdir: outDir, logLevel: 'error',
      loader: { '.css': 'css', '.ttf': 'file' },
    });
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, type: string, body: string | Buffer): void => { res.writeHead(status, { 'content-type': type }); res.end(body); };
      if (url.pathname === '/dark.css') return send(200, 'text/css', DARK);
      if (url.pathname === '/light.css') return send(200, 'text/css', LIGHT);
      if (url.pathname === '/media/webview.css') return send(200, 'text/css', readFileSync(path.join(ROOT, 'media/webview.css')));
      const m = /^\/media\/dist\/([\w.-]+)$/.exec(url.pathname);
      if (m && existsSync(path.join(outDir, m[1]))) {
        return send(200, m[1].endsWith('.js') ? 'text/javascript' : m[1].endsWith('.css') ? 'text/css' : 'font/ttf', readFileSync(path.join(outDir, m[1])));
      }
      if (url.pathname === '/compare.html') {
        const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const themeCss = url.searchParams.get('theme') === 'light' ? 'light' : 'dark';
        return send(200, 'text/html', panelPageHtml({
          origin, bundle: 'compare', title: 'Compare Environments', prelude: PRELUDE,
          styleUris: [`${origin}/${themeCss}.css`, `${origin}/media/dist/compare.css`, `${origin}/media/webview.css`],
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

  async function open(theme: 'dark' | 'light' = 'dark'): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${base}/compare.html?theme=${theme}`);
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    return page;
  }
  const send = (page: Page, msg: HostToWebview): Promise<void> => page.evaluate((m) => window.postMessage(m, '*'), msg);
  const posted = (page: Page): Promise<Array<Record<string, unknown>>> => page.evaluate(() => (window as unknown as { __posted: Array<Record<string, unknown>> }).__posted);
  const shot = async (page: Page, name: string): Promise<void> => { if (shotsDir) await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: true }); };

  it('renders the table with deltas against production, charts on canvases, and source problems with their fixes', async () => {
    const page = await open();
    assert.deepEqual((await posted(page))[0], { type: 'ready', panel: 'compare' });
    await send(page, { type: 'compareView', view: buildCompareView(sampleSnapshot(), { window: '24h', groupBy: '' }) });
    await page.waitForSelector('#compare-table');
    const head = await page.innerText('#compare-table thead');
    assert.match(head, /development[\s\S]*staging[\s\S]*production[\s\S]*baseline/);
    assert.match(head, /stale/);
    const costRow = await page.innerText('#compare-table tr[data-metric="costPerRequest"]');
    assert.match(costRow, /\$0\.0021\s*−38 %/, 'dev cost per request with its delta against production');
    assert.match(costRow, /\$0\.0034/);
    assert.equal(await page.locator('#compare-table tr[data-metric="costPerRequest"] .compare-delta.is-better').count(), 2, 'cheaper than production is better');
    // uPlot drew the three timeline charts and the 30-day chart
    assert.equal(await page.locator('.compare-chart canvas').count(), 4);
    assert.match(await page.innerText('#compare-chart-cost30'), /development[\s\S]*production/);
    const banners = await page.innerText('.lens-banners');
    assert.match(banners, /“helicone” is not answering \(HTTP 503/);
    assert.match(banners, /API key rejected by “eu”/);
    const violations = await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
    assert.deepEqual(violations, [], 'nothing trips the CSP (uPlot included)');
    await shot(page, 'compare-dark-24h');

    await page.getByRole('button', { name: 'Replace API key' }).click();
    await page.getByRole('button', { name: 'Export CSV' }).click();
    await page.getByRole('button', { name: 'Refresh' }).click();
    const msgs = (await posted(page)).slice(1);
    assert.deepEqual(msgs, [{ type: 'compareSetKey', source: 'eu' }, { type: 'compareExportCsv' }, { type: 'compareRefresh' }]);
    await page.close();
  });

  it('sends the chosen window and grouping, keeps them in state, and renders groups', async () => {
    const page = await open('light');
    const snap = sampleSnapshot();
    await send(page, { type: 'compareView', view: buildCompareView(snap, { window: '24h', groupBy: '' }) });
    await page.waitForSelector('#compare-table');
    await page.selectOption('#compare-window', '7d');
    await page.selectOption('#compare-group', 'property:Version');
    const msgs = (await posted(page)).filter((m) => m.type === 'compareSetView');
    assert.deepEqual(msgs, [{ type: 'compareSetView', window: '7d', groupBy: '' }, { type: 'compareSetView', window: '7d', groupBy: 'property:Version' }]);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __state: unknown }).__state), { window: '7d', groupBy: 'property:Version' });
    await send(page, { type: 'compareView', view: buildCompareView(snap, { window: '7d', groupBy: 'property:Version' }) });
    await page.waitForSelector('.compare-group');
    const groups = await page.locator('.compare-group').allInnerTexts();
    assert.deepEqual(groups.map((g) => g.trim()).sort(), ['(not set)', 'All requests', 'v1', 'v2'], 'staging sends no Version');
    await shot(page, 'compare-light-7d-by-version');
    await page.close();
  });

  it('shows hostile environment and group names as text and runs nothing', async () => {
    const page = await open();
    await send(page, { type: 'compareView', view: buildCompareView(sampleSnapshot(true), { window: '30d', groupBy: 'property:Version' }) });
    await page.waitForSelector('.compare-group');
    const text = await page.innerText('#app');
    assert.ok(text.includes(`production${HOSTILE}`), 'the environment name is shown verbatim');
    assert.ok((await page.locator('.compare-group').allInnerTexts()).some((t) => t.includes(HOSTILE)));
    const r = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
      dangerous: document.getElementById('app')!.querySelectorAll('script, img, iframe, object, embed, a[href], form, link, meta, base').length,
      violations: (window as unknown as { __violations: string[] }).__violations,
    }));
    assert.deepEqual(r, { pwned: null, dangerous: 0, violations: [] });
    await page.close();
  });

  it('restores the window and grouping it kept (panel serializer / hidden tab) and asks the host for them', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.addInitScript(() => { (window as unknown as { __restored: unknown }).__restored = { window: '30d', groupBy: 'model' }; });
    await page.goto(`${base}/compare.html?theme=dark&restore=1`);
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length >= 2);
    assert.deepEqual((await posted(page)).slice(0, 2), [{ type: 'ready', panel: 'compare' }, { type: 'compareSetView', window: '30d', groupBy: 'model' }]);
    await page.close();
  });

  it('says so when there is nothing to draw', async () => {
    const page = await open();
    const empty = snapshot([env('development', []), env('production', [], { status: 'noKey', fresh: false, fetchedAt: null })], {}, [
      { name: 'this machine', kind: 'local', baseUrl: null, status: 'ok', refreshing: false, fetchedAt: NOW, error: null, nextAttemptAt: null, environments: {} },
      { name: 'helicone', kind: 'remote', baseUrl: 'https://api.helicone.ai', status: 'noKey', refreshing: false, fetchedAt: null, error: null, nextAttemptAt: null, environments: {} },
    ]);
    await send(page, { type: 'compareView', view: buildCompareView(empty, { window: '1h', groupBy: '' }) });
    await page.waitForSelector('#compare-table');
    assert.equal(await page.locator('.compare-chart-empty').count(), 4);
    assert.match(await page.innerText('.lens-banners'), /No API key for source “helicone”/);
    await page.getByRole('button', { name: 'Set API key' }).click();
    assert.deepEqual((await posted(page)).at(-1), { type: 'compareSetKey', source: 'helicone' });
    await shot(page, 'compare-empty-no-key');
    await page.close();
  });
});
