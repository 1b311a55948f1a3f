// Smoke: the extension as a user gets it. Runs against the working tree (dev) and against the
// .vsix installed into code-server (scripts/runE2e.mjs --vsix), so what ships is what was tested:
// it activates without starting the proxy, every command is there, the status bar and the Sessions
// view render, and a request sent with the official OpenAI SDK through the proxy is logged, shown
// in the tree, and stored without its API key.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import OpenAI from 'openai';
import type { LensTestApi } from '../../../src/host/testApi';
import { startMockUpstream } from '../../support/mockUpstream';
import type { MockUpstream } from '../../support/mockUpstream';
import { hasUiControl, screenshot, uiText, waitFor } from '../support/ui';

const EXTENSION_ID = 'llm-lens.llm-lens';
const MODE = process.env.E2E_MODE ?? 'dev';

/** The command ids the team brief promises, each with category "LLM Lens". */
const BRIEF_COMMANDS = [
  'llmLens.startProxy', 'llmLens.stopProxy', 'llmLens.copyBaseUrl', 'llmLens.openRequest', 'llmLens.openSession',
  'llmLens.replayRequest', 'llmLens.copyAsCurl', 'llmLens.copyRequestId', 'llmLens.deleteRequest', 'llmLens.exportLogs',
  'llmLens.clearLogs', 'llmLens.filterRequests', 'llmLens.clearFilter', 'llmLens.setHeliconeApiKey', 'llmLens.showLog',
  'llmLens.refreshComparison', 'llmLens.openCompare',
];

interface ContributedCommand { command: string; title: string; category?: string }

function walkFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walkFiles(p) : e.isFile() ? [p] : [];
  });
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

describe('smoke: LLM Lens in a real VS Code', function () {
  let ext: vscode.Extension<LensTestApi>;
  let api: LensTestApi;
  let mock: MockUpstream | undefined;
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('llmLens');

  before(async function () {
    const found = vscode.extensions.getExtension<LensTestApi>(EXTENSION_ID);
    assert.ok(found, `extension ${EXTENSION_ID} is not installed`);
    ext = found;
  });

  after(async function () {
    // Leave nothing listening, whatever failed above.
    try { await vscode.commands.executeCommand('llmLens.stopProxy'); } catch { /* not registered: reported by its own test */ }
    await mock?.close();
    await config().update('upstreams', undefined, vscode.ConfigurationTarget.Global);
    await config().update('port', undefined, vscode.ConfigurationTarget.Global);
  });

  it('activates without starting the proxy, from the expected install', async function () {
    api = await ext.activate();
    assert.ok(api?.services, 'activate() returns the test API with services');
    assert.equal(api.services.proxy.state, 'stopped', 'no proxy is started at activation (autoStart is off)');
    assert.equal(typeof api.activationMs, 'number', 'the test API reports activationMs');

    const extensionsDir = process.env.E2E_EXTENSIONS_DIR;
    if (MODE === 'vsix') {
      // The .vsix run must exercise the installed copy, not the working tree.
      assert.ok(extensionsDir && path.resolve(ext.extensionPath).startsWith(path.resolve(extensionsDir) + path.sep),
        `expected the installed extension under ${extensionsDir}, got ${ext.extensionPath}`);
      assert.ok(!fs.existsSync(path.join(ext.extensionPath, 'src')), 'the installed package carries no sources');
    } else if (extensionsDir) {
      assert.ok(!path.resolve(ext.extensionPath).startsWith(path.resolve(extensionsDir)), 'dev runs test the working tree');
    }

    const out = process.env.E2E_OUT_DIR;
    if (out) {
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, `activation-${MODE}.json`), JSON.stringify({
        activationMs: api.activationMs, activationCpuMs: api.activationCpuMs, mode: MODE, proxyState: api.services.proxy.state, vscode: vscode.version,
        node: process.version, extensionPath: ext.extensionPath, version: (ext.packageJSON as { version: string }).version,
      }, null, 2) + '\n');
    }
    console.log(`  activation: ${api.activationMs.toFixed(2)} ms, ${api.activationCpuMs.toFixed(2)} ms CPU (${MODE}), VS Code ${vscode.version}, Node ${process.version}`);
  });

  it('registers every promised command, each contributed with category "LLM Lens"', async function () {
    const registered = new Set(await vscode.commands.getCommands(true));
    const contributed = ((ext.packageJSON as { contributes?: { commands?: ContributedCommand[] } }).contributes?.commands ?? []);
    const contributedIds = new Set(contributed.map((c) => c.command));
    assert.deepEqual(BRIEF_COMMANDS.filter((c) => !contributedIds.has(c)), [], 'commands missing from package.json contributes.commands');
    assert.deepEqual(BRIEF_COMMANDS.filter((c) => !registered.has(c)), [], 'promised commands with no handler');
    // A contributed command without a handler is an error popup for the user who picks it.
    assert.deepEqual(contributed.map((c) => c.command).filter((c) => !registered.has(c)), [], 'contributed commands with no handler');
    assert.deepEqual(contributed.filter((c) => c.category !== 'LLM Lens').map((c) => c.command), [], 'commands without the "LLM Lens" category');
  });

  it('shows the proxy as stopped in the status bar', async function () {
    if (!hasUiControl()) return this.skip();
    const items = await uiText('.statusbar-item', (t) => /LLM/i.test(t));
    const ours = items.filter((t) => /LLM/i.test(t));
    // Stopped: no port is shown (the running state shows it; checked below).
    assert.ok(ours.every((t) => !/\b\d{4,5}\b/.test(t)), `status bar shows a port while stopped: ${JSON.stringify(ours)}`);
  });

  it('renders the Sessions view, with the welcome content while nothing is logged', async function () {
    await vscode.commands.executeCommand('llmLens.sessions.focus');
    if (!hasUiControl()) return this.skip();
    await uiText('.pane-header', (t) => /sessions/i.test(t));
    await uiText('.welcome-view-content', (t) => t.includes('Start LLM Proxy'));
    await screenshot('smoke-sessions-empty');
  });

  it('logs a request sent with the OpenAI SDK through the proxy, without storing the API key', async function () {
    mock = await startMockUpstream();
    await config().update('upstreams', { openai: mock.url, anthropic: mock.url }, vscode.ConfigurationTarget.Global);
    await config().update('port', 0, vscode.ConfigurationTarget.Global);
    const { proxy, store } = api.services;

    await vscode.commands.executeCommand('llmLens.startProxy');
    await waitFor(() => proxy.state === 'running', 15_000, 'the proxy to run');
    const port = proxy.port;
    assert.ok(port && port > 0, 'a running proxy has a port');
    const baseURL = proxy.providerBaseUrl('openai');
    assert.ok(baseURL?.startsWith(`http://127.0.0.1:${port}`), `openai base URL on loopback: ${baseURL}`);

    const apiKey = `sk-e2e-smoke-${Date.now().toString(36)}-do-not-store`;
    const sessionId = `e2e-smoke-${Date.now()}`;
    const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 15_000 });
    const reply = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello to the smoke test' }] },
      { headers: { 'Helicone-Session-Id': sessionId, 'Helicone-Session-Name': 'smoke session', 'Helicone-Session-Path': '/smoke' } },
    );
    assert.ok(reply.choices[0]?.message.content, 'the SDK got a reply through the proxy');
    assert.equal(mock.requests.length, 1, 'the upstream saw exactly one request');
    assert.equal(mock.requests[0]?.headers.authorization, `Bearer ${apiKey}`, 'the key is forwarded upstream');

    const logged = await waitFor(() => store.list({ sessionId }).find((r) => r.state !== 'pending'), 10_000, 'the request in the store');
    assert.equal(logged.requestModel, 'gpt-4o-mini');
    assert.equal(logged.status, 200);
    assert.equal(logged.session?.name, 'smoke session');
    assert.ok(!JSON.stringify(logged).includes(apiKey), 'the stored summary carries no API key');

    if (hasUiControl()) {
      await uiText('.statusbar-item', (t) => t.includes(String(port)));
      await uiText('.monaco-list-row', (t) => t.includes('smoke session'));
      await screenshot('smoke-sessions-logged');
    }

    // Nothing on disk may hold the key: flush, then read every file of the extension's storage.
    await (store as { flush?: () => Promise<void> }).flush?.();
    const storageDirs = [ext.exports.services.context.globalStorageUri.fsPath, ext.exports.services.context.storageUri?.fsPath]
      .filter((d): d is string => typeof d === 'string');
    const files = storageDirs.flatMap(walkFiles);
    assert.ok(files.length > 0, `the store wrote something under ${storageDirs.join(', ')}`);
    const leaking = files.filter((f) => fs.readFileSync(f).includes(apiKey));
    assert.deepEqual(leaking, [], 'files holding the API key');

    await vscode.commands.executeCommand('llmLens.stopProxy');
    await waitFor(() => proxy.state === 'stopped', 10_000, 'the proxy to stop');
    assert.equal(await portAccepts(port), false, `port ${port} is closed after Stop LLM Proxy`);
  });
});
