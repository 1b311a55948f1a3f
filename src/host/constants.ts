// Every id the extension shares with package.json, in one typed place, so a renamed command or
// setting is a compile error here and a failing manifest test, not a silent no-op at run time.
// test/unit/manifest.test.ts checks that package.json "contributes" declares exactly these.

/** Command ids (package.json contributes.commands; all in category "LLM Lens"). */
export const Commands = {
  startProxy: 'llmLens.startProxy',
  stopProxy: 'llmLens.stopProxy',
  copyBaseUrl: 'llmLens.copyBaseUrl',
  openRequest: 'llmLens.openRequest',
  openSession: 'llmLens.openSession',
  replayRequest: 'llmLens.replayRequest',
  copyAsCurl: 'llmLens.copyAsCurl',
  copyRequestId: 'llmLens.copyRequestId',
  deleteRequest: 'llmLens.deleteRequest',
  exportLogs: 'llmLens.exportLogs',
  clearLogs: 'llmLens.clearLogs',
  filterRequests: 'llmLens.filterRequests',
  clearFilter: 'llmLens.clearFilter',
  setHeliconeApiKey: 'llmLens.setHeliconeApiKey',
  showLog: 'llmLens.showLog',
  refreshComparison: 'llmLens.refreshComparison',
  openCompare: 'llmLens.openCompare',
  /** Tree-internal: the "Load more…" node of a paged list. Hidden from the palette. */
  loadMore: 'llmLens.loadMore',
} as const;
export type CommandId = (typeof Commands)[keyof typeof Commands];

/** Commands registered for the UI's own use (status bar click), not contributed to the palette. */
export const InternalCommands = {
  statusBarMenu: 'llmLens.proxyStatusMenu',
} as const;

/** View container and view ids (package.json contributes.viewsContainers / views). */
export const Views = {
  container: 'llmLens',
  sessions: 'llmLens.sessions',
} as const;
export type ViewId = (typeof Views)[keyof typeof Views];

/** Webview panel view types (also the panel serializers' keys). */
export const WebviewTypes = {
  request: 'llmLens.request',
  session: 'llmLens.session',
  compare: 'llmLens.compare',
} as const;
export type WebviewType = (typeof WebviewTypes)[keyof typeof WebviewTypes];

/** Context keys set with `setContext`, read by `when` clauses in package.json. */
export const ContextKeys = {
  /** 'stopped' | 'starting' | 'running' | 'error' */
  proxyState: 'llmLens.proxyState',
  /** True once the store has read its history (welcome views wait for it instead of flashing). */
  storeLoaded: 'llmLens.storeLoaded',
  /** True when the store holds at least one record. */
  hasRecords: 'llmLens.hasRecords',
  /** True while the Sessions view shows a filtered list. */
  filtered: 'llmLens.filtered',
} as const;
export type ContextKey = (typeof ContextKeys)[keyof typeof ContextKeys];

/**
 * Tree item `contextValue`s, matched by `viewItem` in menus. Requests carry their state and
 * whether they belong to a session so menus can offer "Open Session" / "Replay" only where they work.
 */
export const TreeItemContexts = {
  session: 'llmLens.session',
  sessionPath: 'llmLens.sessionPath',
  /** + '.ok' | '.error' | '.pending', + '.inSession' when the request has a session. */
  request: 'llmLens.request',
  customStep: 'llmLens.customStep',
  loadMore: 'llmLens.loadMore',
} as const;

/** The configuration section; every key below is relative to it (`llmLens.port`, ...). */
export const SETTINGS_SECTION = 'llmLens';

/** Setting keys, relative to SETTINGS_SECTION (package.json contributes.configuration). */
export const SettingKeys = {
  port: 'port',
  host: 'host',
  autoStart: 'autoStart',
  upstreams: 'upstreams',
  retentionDays: 'retentionDays',
  retentionMb: 'retentionMb',
  bodyCapMb: 'bodyCapMb',
  priceOverrides: 'priceOverrides',
  freeProviders: 'freeProviders',
  environmentProperty: 'environmentProperty',
  devEnvironment: 'devEnvironment',
  hoversEnabled: 'hovers.enabled',
  timeouts: 'timeouts',
  heliconeBaseUrl: 'helicone.baseUrl',
  compareEnvironments: 'compare.environments',
  sources: 'sources',
  refreshMinutes: 'refreshMinutes',
  alerts: 'alerts',
} as const;
export type SettingKey = (typeof SettingKeys)[keyof typeof SettingKeys];

/** The name of the default remote source; its API key is stored in SecretStorage under this name. */
export const DEFAULT_SOURCE_NAME = 'helicone';

/**
 * SecretStorage key for a source's API key. SecretStorage is already private to this extension,
 * so the key is the source's plain name (issue 6: "keys go to SecretStorage under the source's name").
 */
export function secretKeyForSource(sourceName: string): string {
  return sourceName;
}

/** Output channel name (one LogOutputChannel for the whole extension). */
export const OUTPUT_CHANNEL_NAME = 'LLM Lens';
