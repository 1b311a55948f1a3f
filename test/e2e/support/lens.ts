// What every suite that drives LLM Lens starts with: the activated extension (store loaded) and a
// mock upstream the proxy forwards to, with the proxy on a free port. One place, so suites agree on
// how the extension is reached and configured.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { LensTestApi } from '../../../src/host/testApi';
import { startMockUpstream } from '../../support/mockUpstream';
import type { MockUpstream } from '../../support/mockUpstream';
import { waitFor } from './ui';

export const EXTENSION_ID = 'llm-lens.llm-lens';

export const lensConfig = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('llmLens');

/** Activates the extension, waits for its store, starts a mock upstream and points the proxy settings at it. */
export async function activateWithMockUpstream(): Promise<{ api: LensTestApi; mock: MockUpstream }> {
  const ext = vscode.extensions.getExtension<LensTestApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
  const api = await ext.activate();
  await api.storeReady;
  const mock = await startMockUpstream();
  await lensConfig().update('upstreams', { openai: mock.url, anthropic: mock.url }, vscode.ConfigurationTarget.Global);
  await lensConfig().update('port', 0, vscode.ConfigurationTarget.Global);
  return { api, mock };
}

/** Runs "Start LLM Proxy" and waits until it listens; returns its URL. */
export async function startLensProxy(api: LensTestApi): Promise<string> {
  await vscode.commands.executeCommand('llmLens.startProxy');
  await waitFor(() => api.services.proxy.state === 'running', 15_000, 'the proxy to run');
  return api.services.proxy.url!;
}
