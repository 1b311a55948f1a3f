// activate() only wires: logger -> settings -> store -> price book -> proxy controller -> one
// registerX(context, services) per feature. Everything slow (reading the log, loading the price
// table, starting the proxy) happens after it returns, so activation stays cheap.
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { errorMessage } from './core/errors';
import { registerCommands } from './host/commands';
import { registerComparison } from './host/comparison';
import { ContextKeys } from './host/constants';
import { createChannelLogger } from './host/logger';
import { LensProxyController } from './host/proxyController';
import type { LensServices } from './host/services';
import { VsCodeSettingsReader } from './host/settingsReader';
import { createTestApi, type LensTestApi } from './host/testApi';
import { PriceBook } from './pricing/priceBook';
import { bodyCapBytes, type Settings } from './settings/settings';
import { RecordStore } from './store/recordStore';
import { registerHovers } from './views/hovers';
import { registerSessionTree } from './views/sessionTree';
import { registerRequestPanels, requestPanels } from './webviews/requestPanel';
import { registerSessionPanels, sessionPanels } from './webviews/sessionPanel';

let running: { proxy: LensProxyController; store: RecordStore } | undefined;

function storeSettingsKey(s: Settings): string {
  return JSON.stringify([s.retentionDays, s.retentionMb, s.bodyCapMb]);
}

function priceBookFor(s: Settings): PriceBook {
  return new PriceBook({ overrides: s.priceOverrides, freeProviders: s.freeProviders });
}

export function activate(context: vscode.ExtensionContext): LensTestApi {
  const t0 = performance.now();
  // CPU time beside wall time: on a loaded machine the host can be descheduled mid-activation, and
  // that time is not spent by this code (budgets are judged on both; see scripts/checkBudgets.mjs).
  const cpu0 = process.cpuUsage();
  const steps: string[] = [];
  let last = t0;
  const step = (name: string): void => { const t = performance.now(); steps.push(`${name} ${(t - last).toFixed(1)}`); last = t; };
  const logger = createChannelLogger();
  context.subscriptions.push(logger);
  const settings = new VsCodeSettingsReader(logger);
  context.subscriptions.push(settings);
  const s = settings.current();
  step('settings');

  // History is visible with the proxy off: the store opens now and reads the log in the background.
  const store = new RecordStore({
    dataDir: context.globalStorageUri.fsPath,
    logger,
    bodyCapBytes: bodyCapBytes(s),
    retentionDays: s.retentionDays,
    retentionMb: s.retentionMb,
  });
  const storeReady = store.load().then(
    () => {
      const st = store.loadStats;
      logger.info(`Loaded ${st.records} logged requests in ${Math.round(st.ms)} ms${st.corruptLines ? ` (${st.corruptLines} damaged lines skipped)` : ''}`);
    },
    (e: unknown) => { logger.error(`Could not read the request log: ${errorMessage(e)}`); },
  ).finally(() => void vscode.commands.executeCommand('setContext', ContextKeys.storeLoaded, true));

  step('store');
  let priceBook = priceBookFor(s);
  const proxy = new LensProxyController({ context, logger, store, storeReady, priceBook: () => priceBook, settings });
  let storeSettings = storeSettingsKey(s);
  context.subscriptions.push(proxy, settings.onDidChange((next) => {
    priceBook = priceBookFor(next);
    // The store takes retention and its body cap when it opens: say so rather than ignore the change.
    const key = storeSettingsKey(next);
    if (key === storeSettings) return;
    storeSettings = key;
    void vscode.window.showInformationMessage('LLM Lens: the new storage settings apply after a window reload.', 'Reload Window').then((pick) => {
      if (pick) void vscode.commands.executeCommand('workbench.action.reloadWindow');
    });
  }));

  const services: LensServices = {
    context, logger, store, proxy, settings,
    get priceBook() { return priceBook; },
  };

  void vscode.commands.executeCommand('setContext', ContextKeys.proxyState, proxy.state);
  step('proxy');
  const tree = registerSessionTree(context, services);
  step('tree');
  const hovers = registerHovers(context, services);
  step('hovers');
  registerCommands(context, { services, tree, showLog: () => logger.show() });
  step('commands');
  registerRequestPanels(context, services);
  registerSessionPanels(context, services);
  step('webviews');
  const comparison = registerComparison(context, services);
  step('compare');

  running = { proxy, store };
  // After activation, not inside it: the proxy, and (once the log is read) the price table the
  // first priced request and the first hover would otherwise wait for.
  if (s.autoStart) setTimeout(() => void proxy.start(), 0);
  void storeReady.then(() => setTimeout(() => services.priceBook.preload(), 1_000));

  const activationMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const activationCpuMs = (cpu.user + cpu.system) / 1000;
  logger.info(`Activated in ${activationMs.toFixed(1)} ms, ${activationCpuMs.toFixed(1)} ms CPU (${steps.join(', ')})`);
  return createTestApi({ services, tree, hovers, comparison, activationMs, activationCpuMs, storeReady, panels: { request: requestPanels, session: sessionPanels } });
}

/** Stops the proxy (no port left open) and flushes the log before the extension host exits. */
export async function deactivate(): Promise<void> {
  const r = running;
  running = undefined;
  if (!r) return;
  await r.proxy.stop();
  await r.store.close();
}
