// The services every feature of the extension receives from activate(). Features register with
// `registerX(context, services)` and push every disposable into context.subscriptions; they never
// import extension.ts (no cycles) and never construct these services themselves.
import type * as vscode from 'vscode';
import type { Logger } from '../core/logger';
import type { RecordStoreApi } from '../core/store';
import type { PriceBook } from '../pricing/priceBook';
import type { Settings } from '../settings/settings';
import type { SettingKey } from './constants';

export type ProxyState = 'stopped' | 'starting' | 'running' | 'error';

export interface ProxyController {
  readonly state: ProxyState;
  readonly port: number | null;
  /** http://127.0.0.1:PORT while running, else null. */
  readonly url: string | null;
  /** Why the last start failed (state 'error'), for status bar tooltips and welcome views. */
  readonly lastError: string | null;
  readonly onDidChangeState: vscode.Event<void>;
  /** Resolves true once listening; false when it could not start (the user was told why). */
  start(): Promise<boolean>;
  stop(): Promise<void>;
  /** e.g. 'openai' -> http://127.0.0.1:8787/v1; null when stopped or the provider is unknown. */
  providerBaseUrl(provider: string): string | null;
  /** Every route the running proxy serves: provider -> base URL (empty when stopped). */
  providerBaseUrls(): Record<string, string>;
}

export interface SettingsReader {
  /** The validated settings as they are now (bad values already replaced by defaults). */
  current(): Settings;
  /** Fires after the `llmLens` section changed, with the new settings. */
  readonly onDidChange: vscode.Event<Settings>;
  /** Whether a configuration change touched `llmLens.<key>`. */
  changed(e: vscode.ConfigurationChangeEvent, key: SettingKey): boolean;
}

export interface LensServices {
  readonly context: vscode.ExtensionContext;
  /** Core Logger backed by the one LogOutputChannel "LLM Lens". */
  readonly logger: Logger;
  /** Created at activation and loaded asynchronously: history is visible with the proxy off. */
  readonly store: RecordStoreApi;
  readonly priceBook: PriceBook;
  readonly proxy: ProxyController;
  readonly settings: SettingsReader;
}
