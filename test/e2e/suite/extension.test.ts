// The extension's own UI in a real VS Code: start the proxy by command, send requests with the
// official OpenAI and Anthropic SDKs through it to the mock upstream, and check what a person sees:
// the status bar, the Sessions tree (sessions, path folders, filter), the inline cost hovers (the
// provider's answer AND the rendered hover widget), the terminal environment, export, delete and
// the port-in-use error. Screenshots of each state go to .e2e-out/shots/extension-*.png.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import * as vscode from 'vscode';
import type { LensTestApi } from '../../../src/host/testApi';
import type { MockUpstream } from '../../support/mockUpstream';
import { hasUiControl, hoverText, pressKey, screenshot, uiText, uiTextGone, uiTextNow, waitFor } from '../support/ui';
import { activateWithMockUpstream, EXTENSION_ID } from '../support/lens';

const shot = (name: string): Promise<string | null> => screenshot(`extension-${name}`);

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

function markdownOf(hovers: vscode.Hover[]): string {
  return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
}

describe('extension: proxy, Sessions tree, hovers and commands in a real VS Code', function () {
  let api: LensTestApi;
  let mock: MockUpstream;
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('llmLens');
  const run = `${Date.now().toString(36)}`;
  const sessionId = `e2e-ext-${run}`;
  const sessionName = `Trip planner ${run}`;
  const apiKey = `sk-e2e-ext-${run}-never-stored`;
  const ids: Record<string, string> = {};
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-e2e-ext-'));

  before(async function () {
    ({ api, mock } = await activateWithMockUpstream());
  });

  after(async function () {
    try { await vscode.commands.executeCommand('llmLens.clearFilter'); } catch { /* reported by its own test */ }
    await vscode.commands.executeCommand('llmLens.stopProxy');
    await mock?.close();
    await config().update('upstreams', undefined, vscode.ConfigurationTarget.Global);
    await config().update('port', undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the welcome view with Start LLM Proxy and the SDK base URLs when the log is empty', async function () {
    await vscode.commands.executeCommand('llmLens.clearLogs', true);
    assert.equal(api.services.store.count(), 0);
    await vscode.commands.executeCommand('llmLens.sessions.focus');
    if (!hasUiControl()) return this.skip();
    const texts = await uiText('.welcome-view-content', (t) => t.includes('Start LLM Proxy'));
    const welcome = texts.find((t) => t.includes('Start LLM Proxy'))!;
    assert.match(welcome, /http:\/\/127\.0\.0\.1:8787\/v1/);
    assert.match(welcome, /http:\/\/127\.0\.0\.1:8787\/anthropic/);
    await uiText('.statusbar-item', (t) => t.includes('LLM Lens'));
    await shot('1-empty');
  });

  it('starts the proxy by command: status bar with the port, terminal environment set', async function () {
    const { proxy, context } = { proxy: api.services.proxy, context: api.services.context };
    assert.equal(await vscode.commands.executeCommand('llmLens.startProxy'), true);
    assert.equal(proxy.state, 'running');
    const port = proxy.port!;
    assert.ok(port > 0);
    assert.equal(proxy.url, `http://127.0.0.1:${port}`);
    const env = context.environmentVariableCollection;
    assert.equal(env.get('OPENAI_BASE_URL')?.value, `http://127.0.0.1:${port}/v1`);
    assert.equal(env.get('ANTHROPIC_BASE_URL')?.value, `http://127.0.0.1:${port}/anthropic`);
    assert.equal(env.get('OPENAI_CUSTOM_HEADERS')?.value, 'Helicone-Property-Environment: development\n');
    assert.equal(env.get('OPENAI_CUSTOM_HEADERS')?.type, vscode.EnvironmentVariableMutatorType.Prepend, 'a user\'s own custom headers are kept');
    assert.equal(env.get('LLM_LENS_ENVIRONMENT')?.value, 'development');
    if (!hasUiControl()) return;
    await uiText('.statusbar-item', (t) => t.includes(`LLM Lens :${port}`));
    // The welcome content follows the state: running, nothing logged yet.
    await uiText('.welcome-view-content', (t) => t.includes('The proxy is running'));
    await shot('2-running-empty');
  });

  it('logs OpenAI and Anthropic SDK calls, live, as a session with its path folders', async function () {
    const { proxy, store } = api.services;
    const openai = new OpenAI({ baseURL: proxy.providerBaseUrl('openai')!, apiKey, maxRetries: 0, timeout: 15_000 });
    const anthropic = new Anthropic({ baseURL: proxy.providerBaseUrl('anthropic')!, apiKey, maxRetries: 0, timeout: 15_000 });
    const session = (p: string): Record<string, string> => ({ 'Helicone-Session-Id': sessionId, 'Helicone-Session-Name': sessionName, 'Helicone-Session-Path': p });

    const seen = new Map<string, number>();
    const sub = store.onDidChange((c) => { if (c.type === 'upsert' && c.summary.state !== 'pending') seen.set(c.summary.id, performance.now()); });
    const r1 = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Plan a trip' }] },
      { headers: { ...session('/'), 'Helicone-User-Id': 'alice' } });
    const s2 = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Research it' }] },
      { headers: session('/research') });
    for await (const _ of s2) { /* drain */ }
    const r3 = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Analyse it' }] },
      { headers: session('/research/analysis') });
    const r4 = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Outside any session' }] },
      { headers: { 'Helicone-Property-Environment': 'production', 'Helicone-Property-Feature': `search-${run}` } });
    assert.ok(r1.choices[0].message.content && r3.content.length && r4.content.length);
    const done = performance.now();
    sub.dispose();

    const inSession = await waitFor(() => { const l = store.list({ sessionId }); return l.length === 3 && l.every((r) => r.state !== 'pending') ? l : null; }, 10_000, 'three session records');
    ids.chat = inSession.find((r) => r.session?.path === '/')!.id;
    ids.stream = inSession.find((r) => r.session?.path === '/research')!.id;
    ids.claude = inSession.find((r) => r.session?.path === '/research/analysis')!.id;
    ids.loose = (await waitFor(() => store.list({ sessionId: null, model: 'claude-haiku-4-5' })[0], 10_000, 'the loose record')).id;
    assert.equal(store.get(ids.stream)?.streamed, true);
    assert.ok((store.get(ids.chat)?.costUsd ?? 0) > 0, 'priced from the list price table');

    // The model refreshes the tree within its coalescing window of the store's change.
    const snapshot = await waitFor(() => { const s = api.treeSnapshot(4); return s.some((l) => l.startsWith(sessionName)) && s.some((l) => l.startsWith('claude-haiku-4-5')) ? s : null; }, 2_000, 'the tree model');
    assert.match(snapshot[0], new RegExp(`^${sessionName} — 3 req · \\$[\\d.]+ · `), snapshot.join('\n'));
    assert.deepEqual(snapshot.slice(1, 4).map((l) => l.trim().split(' — ')[0]), ['research', 'analysis', 'claude-sonnet-4-5']);
    console.log(`  tree: ${snapshot.length} lines; last store change to SDK return ${(done - Math.max(...seen.values())).toFixed(0)} ms`);

    if (!hasUiControl()) return;
    const t0 = performance.now();
    await uiText('.monaco-list-row', (t) => t.includes('claude-haiku-4-5'), 5_000);
    console.log(`  first poll showing the new request: ${(performance.now() - t0).toFixed(0)} ms after the SDK returned (poll interval 150 ms)`);
    await uiText('.monaco-list-row', (t) => t.includes(sessionName) && /3 req · \$/.test(t));
    // Expand the session and its folders down to the Claude request, as "reveal" does.
    assert.equal(await api.tree.reveal(ids.claude), true);
    const rows = await uiText('.monaco-list-row', (t) => t.includes('claude-sonnet-4-5'));
    assert.ok(rows.some((t) => /^research\b/m.test(t) || t.startsWith('research')), `folder row: ${JSON.stringify(rows)}`);
    assert.ok(rows.some((t) => t.startsWith('analysis')), `nested folder row: ${JSON.stringify(rows)}`);
    // A row's text is the label then the description (no separator in innerText).
    assert.ok(rows.some((t) => /claude-sonnet-4-5\s*\d+ ms · \$[\d.]+ · (just now|\d+s ago)/.test(t)), `request row: ${JSON.stringify(rows)}`);
    await shot('3-tree-session-expanded');
    // Tooltips are resolved on hover (resolveTreeItem): tokens, cost, session, id.
    const tip = await hoverText({ selector: '.monaco-list-row', hasText: 'claude-sonnet-4-5' }, (t) => t.includes('Tokens'), 10_000);
    assert.match(tip, /claude-sonnet-4-5 · anthropic · 200/);
    assert.match(tip, /Tokens \d+ in · \d+ out/);
    assert.ok(tip.includes(`Session: ${sessionName} /research/analysis`), tip);
    assert.ok(tip.includes(ids.claude), tip);
    await new Promise((r) => setTimeout(r, 500)); // let the fade-in finish for the picture
    await shot('3b-tree-tooltip');
    await pressKey('Escape');
    await uiText('.statusbar-item', (t) => t.includes(`LLM Lens :${proxy.port}`));
  });

  it('hovers a model id string: the provider answers, and the hover widget renders it', async function () {
    const doc = await vscode.workspace.openTextDocument({ language: 'typescript', content: [
      `const model = 'gpt-4o-mini';`,
      `const headers = { 'Helicone-Property-Feature': 'search-${run}', 'Helicone-Session-Path': '/research' };`,
      `const other = 'claude-sonnet-4-5';`,
      '',
    ].join('\n') });
    const editor = await vscode.window.showTextDocument(doc);
    const at = (line: number, needle: string): vscode.Position => new vscode.Position(line, doc.lineAt(line).text.indexOf(needle) + 2);

    const t0 = performance.now();
    const model = markdownOf(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, at(0, 'gpt-4o-mini')));
    const hoverMs = performance.now() - t0;
    assert.match(model, /\$0\.15 input · \$0\.075 cached input · \$0\.60 output per 1M tokens/);
    assert.match(model, /\*\*Your development traffic:\*\* 2 requests · /, 'the two gpt-4o-mini requests logged above');
    assert.match(model, /Latency p50 \d+ ms · p95 \d+ ms/);
    assert.match(model, /Same traffic on a cheaper model/);
    const ours = performance.now();
    api.hovers.markdownFor('gpt-4o-mini');
    console.log(`  hover: LLM Lens answer ${(performance.now() - ours).toFixed(2)} ms; executeHoverProvider round trip ${hoverMs.toFixed(0)} ms (every provider, TypeScript server start included)`);

    const property = markdownOf(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, at(1, `search-${run}`)));
    // The SDK sends header names lower-cased (fetch), and properties keep the name as received.
    assert.match(property, /Requests with property \*\*feature\*\*/i);
    const sessionPath = markdownOf(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, at(1, `'/research'`)));
    assert.match(sessionPath, /session path \*\*\/research\*\*/);
    assert.match(sessionPath, /\n2 requests · /, '/research counts /research/analysis too');

    const notes = await vscode.workspace.openTextDocument({ language: 'plaintext', content: 'MODEL=gpt-4o-mini\n' });
    const plain = markdownOf(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', notes.uri, new vscode.Position(0, 9)));
    assert.match(plain, /\*\*gpt\\-4o\\-mini\*\*/, 'plain text names models without quotes');

    await config().update('hovers.enabled', false, vscode.ConfigurationTarget.Global);
    const off = markdownOf(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, at(0, 'gpt-4o-mini')));
    assert.ok(!off.includes('per 1M tokens'), 'llmLens.hovers.enabled = false turns them off');
    await config().update('hovers.enabled', undefined, vscode.ConfigurationTarget.Global);

    if (!hasUiControl()) return;
    editor.selection = new vscode.Selection(at(2, 'claude'), at(2, 'claude'));
    const text = await hoverText({ selector: '.view-line span', hasText: 'gpt-4o-mini' }, (t) => t.includes('per 1M tokens'), 15_000);
    assert.match(text, /gpt-4o-mini · openai/);
    assert.match(text, /\$0\.15 input · \$0\.075 cached input · \$0\.60 output per 1M tokens/);
    assert.match(text, /Your development traffic: 2 requests/);
    await shot('4-hover-model');
    await pressKey('Escape');
  });

  it('filters by model and by environment, shown in the view description, and clears', async function () {
    await vscode.commands.executeCommand('llmLens.sessions.focus');
    const filter = await vscode.commands.executeCommand('llmLens.filterRequests', { model: 'claude-haiku-4-5' });
    assert.deepEqual(filter, { model: 'claude-haiku-4-5' });
    assert.equal(api.tree.view.description, 'model: claude-haiku-4-5');
    assert.equal(api.tree.view.message, '1 request matches model: claude-haiku-4-5.');
    assert.deepEqual(api.treeSnapshot(1).map((l) => l.split(' — ')[0]), ['claude-haiku-4-5']);
    if (hasUiControl()) {
      await uiText('.pane-header', (t) => t.includes('model: claude-haiku-4-5'));
      await uiTextGone('.monaco-list-row', (t) => t.includes(sessionName));
      await shot('5-filtered');
    }
    await vscode.commands.executeCommand('llmLens.filterRequests', { environment: 'development' });
    const dev = api.treeSnapshot(1).map((l) => l.split(' — ')[0]);
    assert.ok(dev.includes(sessionName) && !dev.includes('claude-haiku-4-5'), `untagged = development, production excluded: ${dev.join(', ')}`);
    await vscode.commands.executeCommand('llmLens.clearFilter');
    assert.equal(api.tree.view.description, undefined);
    assert.equal(api.tree.model.getFilter(), null);
    if (hasUiControl()) await uiText('.monaco-list-row', (t) => t.includes(sessionName));
  });

  it('copies base URLs, request ids and cURL commands (API key as a placeholder)', async function () {
    const url = await vscode.commands.executeCommand<string>('llmLens.copyBaseUrl', 'anthropic');
    assert.equal(url, `${api.services.proxy.url}/anthropic`);
    const id = await vscode.commands.executeCommand<string>('llmLens.copyRequestId', { kind: 'request', id: `r/${ids.chat}`, requestId: ids.chat });
    assert.equal(id, ids.chat);
    const curl = await vscode.commands.executeCommand<string>('llmLens.copyAsCurl', ids.claude);
    assert.match(curl, /curl/);
    assert.ok(curl.includes(`${api.services.proxy.url}/anthropic/v1/messages`), curl);
    assert.match(curl, /\$ANTHROPIC_API_KEY/);
    assert.ok(!curl.includes(apiKey));
    // The clipboard holds the last copy (when the browser grants clipboard access to the workbench).
    const clip = await vscode.env.clipboard.readText();
    if (clip) assert.equal(clip, curl);
  });

  it('exports the log as JSONL and HAR without API keys', async function () {
    const jsonl = path.join(tmp, 'log.jsonl');
    const r1 = await vscode.commands.executeCommand<{ written: number }>('llmLens.exportLogs', 'jsonl', jsonl);
    assert.equal(r1.written, api.services.store.count());
    const lines = fs.readFileSync(jsonl, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string });
    assert.ok([ids.chat, ids.stream, ids.claude, ids.loose].every((id) => lines.some((l) => l.id === id)));
    const har = path.join(tmp, 'log.har');
    await vscode.commands.executeCommand('llmLens.exportLogs', 'har', har);
    const doc = JSON.parse(fs.readFileSync(har, 'utf8')) as { log: { entries: unknown[] } };
    assert.equal(doc.log.entries.length, lines.length);
    for (const f of [jsonl, har]) assert.ok(!fs.readFileSync(f, 'utf8').includes(apiKey), `${f} holds the API key`);
  });

  it('deletes a request from the tree', async function () {
    const n = await vscode.commands.executeCommand<number>('llmLens.deleteRequest', { kind: 'request', id: `r/${ids.loose}`, requestId: ids.loose });
    assert.equal(n, 1);
    assert.equal(api.services.store.get(ids.loose), undefined);
    await waitFor(() => !api.treeSnapshot(1).some((l) => l.startsWith('claude-haiku-4-5')), 2_000, 'the row to go');
    if (hasUiControl()) await uiTextGone('.monaco-list-row', (t) => t.startsWith('claude-haiku-4-5'));
  });

  it('explains a taken port, with the error in the status bar, and recovers', async function () {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      await vscode.commands.executeCommand('llmLens.stopProxy');
      await config().update('port', taken, vscode.ConfigurationTarget.Global);
      assert.equal(await vscode.commands.executeCommand('llmLens.startProxy'), false);
      assert.equal(api.services.proxy.state, 'error');
      assert.match(api.services.proxy.lastError ?? '', /in use|EADDRINUSE/i);
      if (hasUiControl()) {
        await uiText('.statusbar-item', (t) => t.includes('LLM Lens') && !/:\d+/.test(t));
        // Toasts wait for window focus, which a headless browser never has: read the notification center.
        await vscode.commands.executeCommand('notifications.showList');
        const items = await uiText('.notifications-center .notification-list-item', (t) => t.includes(`port ${taken} is already in use`));
        assert.ok(items.some((t) => t.includes('Use Another Port') && t.includes('Open Settings')), JSON.stringify(items));
        await shot('6-port-in-use');
        await vscode.commands.executeCommand('notifications.clearAll');
        await vscode.commands.executeCommand('notifications.hideList');
      }
      assert.equal(api.services.context.environmentVariableCollection.get('OPENAI_BASE_URL'), undefined, 'no terminal env while not running');
    } finally {
      blocker.close();
      await config().update('port', 0, vscode.ConfigurationTarget.Global);
    }
    assert.equal(await vscode.commands.executeCommand('llmLens.startProxy'), true);
    assert.equal(api.services.proxy.state, 'running');
  });

  it('stops the proxy: port closed, terminal environment cleared, status bar stopped', async function () {
    const port = api.services.proxy.port!;
    await vscode.commands.executeCommand('llmLens.stopProxy');
    assert.equal(api.services.proxy.state, 'stopped');
    assert.equal(await portAccepts(port), false);
    assert.equal(api.services.context.environmentVariableCollection.get('OPENAI_BASE_URL'), undefined);
    if (!hasUiControl()) return;
    await uiText('.statusbar-item', (t) => t.includes('LLM Lens') && !t.includes(`:${port}`));
    // History stays visible with the proxy off.
    await uiText('.monaco-list-row', (t) => t.includes(sessionName));
    await shot('7-stopped-with-history');
    const bar = await uiTextNow('.statusbar-item');
    console.log(`  status bar: ${JSON.stringify(bar.filter((t) => t.includes('LLM')))}`);
  });

  it('follows the colour theme (dark)', async function () {
    if (!hasUiControl()) return this.skip();
    const workbench = vscode.workspace.getConfiguration('workbench');
    await workbench.update('colorTheme', 'Default Dark Modern', vscode.ConfigurationTarget.Global);
    try {
      await waitFor(() => vscode.window.activeColorTheme.kind === vscode.ColorThemeKind.Dark, 10_000, 'the dark theme');
      await vscode.commands.executeCommand('llmLens.sessions.focus');
      assert.equal(await api.tree.reveal(ids.stream), true);
      await uiText('.monaco-list-row', (t) => t.startsWith('research'));
      await shot('9-dark-theme');
    } finally {
      await workbench.update('colorTheme', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('opens the walkthrough', async function () {
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#llmLens.gettingStarted`, false);
    if (!hasUiControl()) return this.skip();
    await uiText('.gettingStartedContainer', (t) => t.includes('Get Started with LLM Lens') || t.includes('Start the local proxy'), 15_000);
    // The step's markdown media renders in its own frame.
    try { await uiText('body', (t) => t.includes('never written to disk'), 15_000); } catch (e) { console.log(`  walkthrough media not seen: ${(e as Error).message.slice(0, 300)}`); }
    console.log('  completed steps:', JSON.stringify(await uiTextNow('.getting-started-step.complete')));
    await shot('8-walkthrough');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
