// Wires the dev-vs-production comparison into VS Code: settings and SecretStorage keys in, the
// status bar item, the compare panel, the two commands and alert notifications out. The logic
// (sources, schedules, metrics, alerts) is the pure ComparisonEngine in src/compare.
import * as vscode from 'vscode';
import type { AlertTransition } from '../compare/alerts';
import { ComparisonEngine } from '../compare/comparison';
import type { ComparisonConfig, RemoteSourceConfig } from '../compare/comparison';
import type { WindowQueryClient } from '../compare/sources';
import { alertValueText } from '../compare/statusView';
import type { ComparisonBarView } from '../compare/statusView';
import { errorMessage } from '../core/errors';
import type * as ClientModuleNs from '../query/client';
import type { Settings } from '../settings/settings';
import { ComparisonStatusBar } from '../views/compareStatusBar';
import { registerComparePanel } from '../webviews/comparePanel';
import type { ComparePanels } from '../webviews/comparePanel';
import { Commands, DEFAULT_SOURCE_NAME, secretKeyForSource } from './constants';
import type { LensServices } from './services';

type ClientModule = typeof ClientModuleNs;

/** What llmLens.refreshComparison resolves to (automation and the e2e suite read it). */
export interface ComparisonRefreshResult {
  statusBarText: string;
  state: ComparisonBarView['state'];
  sources: Array<{ name: string; status: string; error: string | null; requests: Record<string, number> }>;
}

export interface ComparisonHandle {
  readonly engine: ComparisonEngine;
  readonly statusBar: ComparisonStatusBar;
  readonly panels: ComparePanels;
}

/** Sources in settings order: the default Helicone source (it needs a key), then llmLens.sources. */
export function remoteSourcesFromSettings(s: Settings): Array<Omit<RemoteSourceConfig, 'apiKey'>> {
  const out: Array<Omit<RemoteSourceConfig, 'apiKey'>> = [{ name: DEFAULT_SOURCE_NAME, baseUrl: s.helicone.baseUrl, keyRequired: true }];
  for (const src of s.sources) {
    // The default source's name is taken: a second "helicone" would share its key and its row in the UI.
    if (src.name.toLowerCase() === DEFAULT_SOURCE_NAME) continue;
    // Another LLM Lens proxy's /api answers without a key unless it was started with a token.
    out.push({ name: src.name, baseUrl: src.baseUrl, keyRequired: false });
  }
  return out;
}

export function registerComparison(context: vscode.ExtensionContext, services: LensServices): ComparisonHandle {
  const { logger, settings } = services;
  let clientModule: ClientModule | undefined;
  const engine = new ComparisonEngine({
    store: services.store,
    logger,
    createClient: (src): WindowQueryClient & { close: () => Promise<void> } => {
      // Loaded when a source is first queried, not at activation (undici and zod schemas).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      clientModule ??= require('../query/client') as ClientModule;
      return new clientModule.HeliconeQueryClient({
        baseUrl: src.baseUrl,
        apiKey: src.apiKey,
        logger,
        timeoutMs: 30_000,
        maxRetries: 2,
        // Longer waits are the scheduler's: the UI then shows "rate limited, retrying at …".
        maxRetryAfterMs: 5_000,
      });
    },
  });

  let generation = 0;
  let started = false;
  const configure = async (): Promise<void> => {
    const gen = ++generation;
    const s = settings.current();
    const remotes = remoteSourcesFromSettings(s);
    const keys = await Promise.all(remotes.map(async (r) => {
      try {
        return await context.secrets.get(secretKeyForSource(r.name));
      } catch (e) {
        logger.warn(`compare: could not read the API key of "${r.name}" from secret storage: ${errorMessage(e)}`);
        return undefined;
      }
    }));
    if (gen !== generation) return; // a newer change won
    const config: ComparisonConfig = {
      environmentProperty: s.environmentProperty,
      devEnvironment: s.devEnvironment,
      compareEnvironments: s.compare.environments,
      refreshMinutes: s.refreshMinutes,
      alerts: s.alerts,
      sources: remotes.map((r, i) => ({ ...r, apiKey: keys[i] || undefined })),
    };
    engine.configure(config);
    if (!started) { started = true; engine.start(); }
  };
  const reconfigure = (): void => {
    void configure().catch((e: unknown) => logger.error(`compare: configuration failed: ${errorMessage(e)}`));
  };

  const statusBar = new ComparisonStatusBar(engine, services.proxy);
  const panels = registerComparePanel(context, services, engine);

  context.subscriptions.push(
    engine,
    statusBar,
    settings.onDidChange(() => reconfigure()),
    context.secrets.onDidChange((e) => {
      if (remoteSourcesFromSettings(settings.current()).some((r) => secretKeyForSource(r.name) === e.key)) reconfigure();
    }),
    engine.onDidChangeAlert((t) => notify(t)),
    vscode.commands.registerCommand(Commands.refreshComparison, async (): Promise<ComparisonRefreshResult> => {
      if (!started) await configure();
      await engine.refresh();
      statusBar.render();
      const snap = engine.snapshot;
      const bar = statusBar.view;
      return {
        statusBarText: bar?.text ?? '',
        state: bar?.state ?? 'loading',
        sources: (snap?.sources ?? []).map((src) => ({
          name: src.name,
          status: src.status,
          error: src.error?.message ?? null,
          requests: Object.fromEntries(Object.entries(src.environments).map(([env, v]) => [env, v.requests])),
        })),
      };
    }),
  );
  // Keys come from SecretStorage (async): the first configuration lands just after activation.
  reconfigure();

  function notify(t: AlertTransition): void {
    const e = t.evaluation;
    const value = alertValueText(e.rule.metric, e.value);
    const win = e.rule.windowMinutes % 60 === 0 ? `${e.rule.windowMinutes / 60} h` : `${e.rule.windowMinutes} min`;
    if (t.kind === 'fired') {
      void vscode.window.showWarningMessage(`LLM Lens alert: ${e.rule.name}: ${value} over the last ${win} (${e.requests} requests).`, 'Open Comparison')
        .then((pick) => { if (pick) void vscode.commands.executeCommand(Commands.openCompare); });
    } else {
      void vscode.window.showInformationMessage(`LLM Lens: resolved: ${e.rule.name} (now ${value} over the last ${win}).`);
    }
  }

  return { engine, statusBar, panels };
}
