// Dev vs production in a real VS Code: llmLens.helicone.baseUrl points at a fake Helicone started
// here on loopback, the key goes in through "Set Helicone API Key" with the key as its argument,
// development traffic is in the extension's own store. Checked where a person looks: the status
// bar item's text and warning colour, and the compare panel's rendered table (inside its webview
// frame). Screenshots go to .e2e-out/shots/compare-*.png.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ComparisonRefreshResult } from '../../../src/host/comparison';
import type { LensTestApi } from '../../../src/host/testApi';
import { startFakeHelicone } from '../../support/fakeHelicone';
import type { FakeHelicone, FakeRow } from '../../support/fakeHelicone';
import { makeRecord } from '../../support/records';
import { evaluateInFrames, hasUiControl, hoverText, pressKey, screenshot, uiText, uiTextNow, waitFor } from '../support/ui';

const EXTENSION_ID = 'llm-lens.llm-lens';
const KEY = `sk-helicone-e2e-${Date.now()}`;
const MIN = 60_000;

function row(id: string, env: string, agoMs: number, over: Partial<FakeRow> = {}): FakeRow {
  const t = new Date(Date.now() - agoMs).toISOString();
  return {
    request_id: id, request_created_at: t, response_created_at: t, response_status: 200,
    properties: { Environment: env }, request_properties: { Environment: env },
    request_model: 'gpt-4o-mini', model: 'gpt-4o-mini', provider: 'OPENAI', delay_ms: 1500, time_to_first_token: 300,
    prompt_tokens: 900, completion_tokens: 120, total_tokens: 1020, cost: env === 'production' ? 0.0034 : 0.003,
    cache_reference_id: '00000000-0000-0000-0000-000000000000', cache_enabled: false, ...over,
  };
}

/** What the panel's frame shows and whether it stayed inert (no script from data, strict CSP). */
const PANEL_PROBE = `JSON.stringify({
  table: (document.getElementById('compare-table') || {}).innerText || '',
  canvases: document.querySelectorAll('.compare-chart canvas').length,
  pwned: window.__pwned === undefined ? null : window.__pwned,
  csp: (document.querySelector('meta[http-equiv="Content-Security-Policy"]') || {}).content || null,
})`;

describe('compare: dev vs production in a real VS Code', function () {
  this.timeout(120_000);
  let api: LensTestApi;
  let helicone: FakeHelicone;
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('llmLens');
  const refresh = async (): Promise<ComparisonRefreshResult> => {
    const r = await vscode.commands.executeCommand<ComparisonRefreshResult | undefined>('llmLens.refreshComparison');
    assert.ok(r, 'llmLens.refreshComparison is registered (registerComparison is wired into activate())');
    return r;
  };
  const refreshUntil = (pred: (r: ComparisonRefreshResult) => boolean, what: string): Promise<ComparisonRefreshResult> =>
    waitFor(async () => { const r = await refresh(); return pred(r) ? r : null; }, 20_000, what);
  const heliconeState = (r: ComparisonRefreshResult): string | undefined => r.sources.find((s) => s.name === 'helicone')?.status;

  before(async function () {
    const ext = vscode.extensions.getExtension<LensTestApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
    api = await ext.activate();
    await api.storeReady;
    helicone = await startFakeHelicone({ apiKey: KEY });
    helicone.rows = [
      // production: 30 requests over the last day at $0.0034, all fine
      ...Array.from({ length: 30 }, (_, i) => row(`prod-${i}`, 'production', (i + 1) * 45 * MIN)),
      // staging: 6 requests at $0.003
      ...Array.from({ length: 6 }, (_, i) => row(`stg-${i}`, 'staging', (i + 1) * 90 * MIN)),
      // development rows in Helicone are somebody else's machine: not this column
      row('dev-remote', 'development', 5 * MIN, { cost: 9 }),
    ];
    // Development traffic: only this suite's, in the extension's own store.
    await vscode.commands.executeCommand('llmLens.clearLogs', true);
    for (let i = 0; i < 4; i++) {
      await api.services.store.complete(makeRecord({ startedAt: Date.now() - (i + 1) * 7 * MIN, costUsd: 0.0021, properties: i % 2 ? { Environment: 'development' } : {} }));
    }
    await vscode.commands.executeCommand('llmLens.setHeliconeApiKey', '');
    await config().update('helicone.baseUrl', helicone.url, vscode.ConfigurationTarget.Global);
  });

  after(async function () {
    await vscode.commands.executeCommand('llmLens.setHeliconeApiKey', '');
    await config().update('helicone.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('llmLens.clearLogs', true);
    await helicone?.close();
  });

  it('says "no key" and does not call Helicone before a key is set', async function () {
    const r = await refreshUntil((x) => heliconeState(x) === 'noKey', 'the helicone source without a key');
    assert.equal(r.statusBarText, '$(pulse) dev $0.0021/req · prod: no key');
    assert.equal(helicone.requests.length, 0);
    if (hasUiControl()) {
      await uiText('.statusbar-item', (t) => t.includes('dev $0.0021/req · prod: no key'));
    }
  });

  it('sets the key by argument, queries the fake Helicone and shows dev vs prod in the status bar', async function () {
    assert.equal(await vscode.commands.executeCommand('llmLens.setHeliconeApiKey', KEY), true);
    const r = await refreshUntil((x) => heliconeState(x) === 'ok', 'the helicone source to answer');
    assert.equal(r.statusBarText, '$(pulse) dev $0.0021/req · prod $0.0034/req');
    assert.deepEqual(r.sources.find((s) => s.name === 'helicone')!.requests, { staging: 6, production: 30 });
    assert.ok(helicone.requests.length > 0 && helicone.requests.every((q) => q.headers.authorization === `Bearer ${KEY}`), 'the key from SecretStorage, as a bearer token');
    assert.ok(helicone.requests.some((q) => JSON.stringify(q.body).includes('"Environment":{"equals":"production"}')));
    if (hasUiControl()) {
      const items = await uiText('.statusbar-item', (t) => t.includes('dev $0.0021/req · prod $0.0034/req'));
      console.log(`      status bar: ${JSON.stringify(items.find((t) => t.includes('/req')))}`);
      await screenshot('compare-statusbar');
      // The tooltip: a markdown table of both environments with the delta.
      const tip = await hoverText({ selector: '.statusbar-item', hasText: 'dev $0.0021/req' }, (t) => t.includes('Cost per request'));
      assert.match(tip, /Cost per request\s+\$0\.0021\s+\$0\.0034\s+−38 %/);
      await screenshot('compare-statusbar-tooltip');
      await pressKey('Escape');
    }
  });

  it('opens the compare panel and renders the table with deltas against production', async function () {
    await vscode.commands.executeCommand('llmLens.openCompare');
    if (!hasUiControl()) return;
    const tables = await uiText('#compare-table', (t) => t.includes('production') && t.includes('$0.0034'), 30_000);
    const table = tables.find((t) => t.includes('$0.0034'))!;
    console.log(`      compare table (first lines): ${JSON.stringify(table.split('\n').slice(0, 14).join(' | '))}`);
    assert.match(table, /development[\s\S]*staging[\s\S]*production/);
    // Each cell is the value then its delta against production (the baseline has none).
    assert.match(table, /Cost per request\s+\$0\.0021\s*−38 %\s+\$0\.003\s*−12 %\s+\$0\.0034\s*$/m);
    assert.match(table, /^Requests\s+4\s*−87 %\s+6\s*−80 %\s+30\s*$/m);
    const probe = (await evaluateInFrames<string>('#compare-table', PANEL_PROBE)).map((s) => JSON.parse(s) as Record<string, unknown>);
    assert.equal(probe.length, 1, 'one compare panel frame');
    assert.equal(probe[0].pwned, null);
    assert.ok(Number(probe[0].canvases) >= 4, 'uPlot drew the timeline charts and the 30-day chart');
    assert.match(String(probe[0].csp), /^default-src 'none'; style-src [^;]+; script-src 'nonce-[A-Za-z0-9+/=]+';/);
    await uiText('#compare-cost30', (t) => t.includes('production'));
    await screenshot('compare-panel');
  });

  it('marks the status bar and notifies once when production errors cross 5 %', async function () {
    // A burst of 12 production requests in the last few minutes, 3 of them failing (25 %).
    for (let i = 0; i < 12; i++) helicone.rows.push(row(`burst-${i}`, 'production', (i + 1) * 20_000, { response_status: i < 3 ? 500 : 200 }));
    const r = await refreshUntil((x) => x.statusBarText.includes('$(warning) 1 alert'), 'the error-rate alert');
    assert.match(r.statusBarText, /^\$\(pulse\) dev \$0\.0021\/req · prod \$0\.0034\/req · \$\(warning\) 1 alert$/);
    if (hasUiControl()) {
      await uiText('.statusbar-item.warning-kind', (t) => t.includes('1 alert'));
      // Another refresh while it still fires: no second notification. (Toasts wait for window
      // focus, which a headless browser never has: read the notification center.)
      await refresh();
      await vscode.commands.executeCommand('notifications.showList');
      await uiText('.notifications-center .notification-list-item', (t) => t.includes('Production error rate above 5 %'));
      await screenshot('compare-alert');
      const items = (await uiTextNow('.notifications-center .notification-list-item')).filter((t) => t.includes('Production error rate above 5 %'));
      assert.equal(items.length, 1, `one notification, got ${JSON.stringify(items)}`);
      await vscode.commands.executeCommand('notifications.clearAll');
      await vscode.commands.executeCommand('notifications.hideList');
    }
  });

  it('shows a rejected key as "key rejected" with the fix action in the panel', async function () {
    await vscode.commands.executeCommand('llmLens.setHeliconeApiKey', 'wrong-key');
    const r = await refreshUntil((x) => heliconeState(x) === 'authFailed', 'the rejected key');
    assert.match(r.statusBarText, /prod: key rejected/);
    if (hasUiControl()) {
      await uiText('.statusbar-item', (t) => t.includes('prod: key rejected'));
      await vscode.commands.executeCommand('llmLens.openCompare');
      await uiText('.lens-banners', (t) => t.includes('API key rejected by “helicone”') && t.includes('Replace API key'), 20_000);
      await screenshot('compare-key-rejected');
    }
  });
});
