// Runs the core proxy inside the extension host: start/stop with a state the UI follows, the
// status bar item, the terminal environment (so `node app.js` in a new terminal is logged with no
// code change), and clear recovery from a taken port.
import * as net from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorMessage, isLensError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { RecordStoreApi } from '../core/store';
import type { PriceBook } from '../pricing/priceBook';
import type { ResponseCache } from '../proxy/cache';
import { providerBaseUrls } from '../proxy/routing';
import type { ProxyServer } from '../proxy/server';
import type * as ServerModuleNs from '../proxy/server';
import type * as CacheModuleNs from '../proxy/cache';
import type * as QueryApiModuleNs from '../query/apiServer';
import { bodyCapBytes, type Settings } from '../settings/settings';
import { Commands, ContextKeys, InternalCommands, SETTINGS_SECTION, SettingKeys } from './constants';
import type { ProxyController, ProxyState, SettingsReader } from './services';

export interface ProxyControllerDeps {
  context: vscode.ExtensionContext;
  logger: Logger;
  store: RecordStoreApi;
  /** Resolves when the store has read its history: records must not be written before that. */
  storeReady: Promise<void>;
  priceBook: () => PriceBook;
  settings: SettingsReader;
}

/** Settings whose change needs a restart of a running proxy to take effect. */
const RESTART_FIELDS = ['port', 'host', 'upstreams', 'timeouts', 'bodyCapMb', 'priceOverrides', 'freeProviders'] as const satisfies ReadonlyArray<keyof Settings>;
const ENV_FIELDS = ['environmentProperty', 'devEnvironment'] as const satisfies ReadonlyArray<keyof Settings>;

function differs(a: Settings, b: Settings, fields: ReadonlyArray<keyof Settings>): boolean {
  return fields.some((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f]));
}

const DRAIN_MS = 2_000;

export class LensProxyController implements ProxyController, vscode.Disposable {
  private _state: ProxyState = 'stopped';
  private server: ProxyServer | null = null;
  private cache: ResponseCache | null = null;
  private _lastError: string | null = null;
  /** A port chosen through "Use Another Port" for this window, winning over the setting. */
  private portOverride: number | null = null;
  private starting: Promise<boolean> | null = null;
  private stopping: Promise<void> | null = null;
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeState = this.emitter.event;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: ProxyControllerDeps) {
    this.statusItem = vscode.window.createStatusBarItem('llmLens.proxy', vscode.StatusBarAlignment.Right, 100);
    this.statusItem.name = 'LLM Lens Proxy';
    this.disposables.push(
      this.statusItem,
      this.emitter,
      vscode.commands.registerCommand(InternalCommands.statusBarMenu, () => this.showStatusMenu()),
      deps.settings.onDidChange((next) => void this.onSettingsChanged(next)),
    );
    this.render();
    this.statusItem.show();
  }

  /** The settings the running proxy was started with, to tell which changes need a restart. */
  private applied: Settings | null = null;

  get state(): ProxyState { return this._state; }
  get port(): number | null { return this.server?.port ?? null; }
  get url(): string | null { return this.server ? `http://${urlHost(this.server.host)}:${this.server.port}` : null; }
  get lastError(): string | null { return this._lastError; }

  providerBaseUrl(provider: string): string | null {
    return this.providerBaseUrls()[provider] ?? null;
  }

  providerBaseUrls(): Record<string, string> {
    const url = this.url;
    return url ? providerBaseUrls(url, this.deps.settings.current().upstreams) : {};
  }

  start(): Promise<boolean> {
    if (this._state === 'running') return Promise.resolve(true);
    this.starting ??= this.doStart().finally(() => { this.starting = null; });
    return this.starting;
  }

  private async doStart(portOverride?: number): Promise<boolean> {
    if (this.stopping) await this.stopping;
    const s = this.deps.settings.current();
    const port = portOverride ?? this.portOverride ?? s.port;
    this.setState('starting');
    try {
      await this.deps.storeReady;
      // The proxy stack (undici, the HTTP server, the query API) loads on first start, not at activation.
      const { startProxy, ResponseCache, createQueryApi } = loadProxyStack();
      this.cache ??= new ResponseCache({ dir: path.join(this.deps.context.globalStorageUri.fsPath, 'cache'), logger: this.deps.logger });
      const cache = this.cache;
      await cache.load();
      const store = this.deps.store;
      this.server = await startProxy({
        host: s.host,
        port,
        upstreams: s.upstreams,
        store,
        priceBook: this.deps.priceBook(),
        logger: this.deps.logger,
        bodyCapBytes: bodyCapBytes(s),
        timeouts: { connectMs: s.timeouts.connectMs, headersMs: s.timeouts.firstByteMs, bodyIdleMs: s.timeouts.idleMs },
        cache,
        apiHandler: createQueryApi({ store, logger: this.deps.logger }),
      });
      this._lastError = null;
      this.deps.logger.info(`Proxy listening on ${this.url}`);
      if (!isLoopback(s.host)) this.deps.logger.warn(`The proxy listens on ${s.host}, which other machines may reach: requests carry API keys.`);
      this.applied = s;
      this.setState('running');
      this.applyEnvironment(s);
      return true;
    } catch (e) {
      this.server = null;
      this._lastError = errorMessage(e);
      this.setState('error');
      if (isLensError(e, 'PORT_IN_USE')) void this.offerAnotherPort(s.host, port);
      else {
        this.deps.logger.error(`Could not start the proxy: ${this._lastError}`);
        void vscode.window.showErrorMessage(`LLM Lens: could not start the proxy: ${this._lastError}`, 'Show Log').then((pick) => {
          if (pick) void vscode.commands.executeCommand(Commands.showLog);
        });
      }
      return false;
    }
  }

  private async offerAnotherPort(host: string, port: number): Promise<void> {
    const message = `LLM Lens: port ${port} is already in use, so the proxy could not start. Another LLM Lens window or another program is listening there.`;
    this.deps.logger.warn(message);
    const pick = await vscode.window.showErrorMessage(message, 'Use Another Port', 'Open Settings');
    if (pick === 'Open Settings') {
      void vscode.commands.executeCommand('workbench.action.openSettings', `${SETTINGS_SECTION}.${SettingKeys.port}`);
      return;
    }
    if (pick !== 'Use Another Port') return;
    const free = await findFreePort(host);
    this.portOverride = free;
    if (!(await this.start())) return;
    const save = await vscode.window.showInformationMessage(
      `LLM Lens proxy started on port ${free} instead of ${port}. New terminals use it.`, 'Save as Default Port');
    if (save) await vscode.workspace.getConfiguration(SETTINGS_SECTION).update(SettingKeys.port, free, vscode.ConfigurationTarget.Global);
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop().finally(() => { this.stopping = null; });
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => false);
    const server = this.server;
    this.server = null;
    this.deps.context.environmentVariableCollection.clear();
    if (server) {
      try {
        await server.close({ drainMs: DRAIN_MS });
        this.deps.logger.info('Proxy stopped');
      } catch (e) {
        this.deps.logger.error(`Stopping the proxy failed: ${errorMessage(e)}`);
      }
    }
    this.setState('stopped');
  }

  private async onSettingsChanged(next: Settings): Promise<void> {
    const applied = this.applied;
    if (this._state !== 'running' || !applied) return;
    if (!differs(applied, next, RESTART_FIELDS)) {
      if (differs(applied, next, ENV_FIELDS)) { this.applied = next; this.applyEnvironment(next); }
      return;
    }
    // A saved port setting replaces a "Use Another Port" choice.
    if (applied.port !== next.port) this.portOverride = null;
    const inFlight = this.server?.inFlight() ?? 0;
    this.deps.logger.info(`Settings changed: restarting the proxy${inFlight ? ` after ${inFlight} request(s) in flight finish` : ''}`);
    await this.stop();
    await this.start();
  }

  /**
   * Terminals opened from now on talk to the proxy. The SDKs read *_BASE_URL; recent official
   * Node SDKs also read *_CUSTOM_HEADERS ("Name: value" lines), which tags their requests with the
   * dev environment. Prepending keeps a user's own custom headers, and theirs win on a clash
   * because later lines overwrite earlier ones.
   */
  private applyEnvironment(s: Settings): void {
    const env = this.deps.context.environmentVariableCollection;
    env.clear();
    env.persistent = false;
    const urls = this.providerBaseUrls();
    const envHeader = `Helicone-Property-${s.environmentProperty}: ${s.devEnvironment}\n`;
    if (urls.openai) env.replace('OPENAI_BASE_URL', urls.openai);
    if (urls.anthropic) env.replace('ANTHROPIC_BASE_URL', urls.anthropic);
    env.prepend('OPENAI_CUSTOM_HEADERS', envHeader);
    env.prepend('ANTHROPIC_CUSTOM_HEADERS', envHeader);
    env.replace('LLM_LENS_ENVIRONMENT', s.devEnvironment);
    env.replace('LLM_LENS_PROXY_URL', this.url!);
    env.description = new vscode.MarkdownString(
      `Routes OpenAI and Anthropic SDK calls through the LLM Lens proxy on \`${this.url}\` and tags them \`${s.environmentProperty}: ${s.devEnvironment}\`.`);
  }

  private setState(state: ProxyState): void {
    if (this._state === state) return;
    this._state = state;
    void vscode.commands.executeCommand('setContext', ContextKeys.proxyState, state);
    this.render();
    this.emitter.fire();
  }

  private render(): void {
    const item = this.statusItem;
    item.backgroundColor = undefined;
    item.command = InternalCommands.statusBarMenu;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.isTrusted = { enabledCommands: [Commands.startProxy, Commands.stopProxy, Commands.copyBaseUrl, Commands.showLog, 'workbench.action.openSettings'] };
    switch (this._state) {
      case 'running': {
        item.text = `$(radio-tower) LLM Lens :${this.port}`;
        const urls = this.providerBaseUrls();
        tip.appendMarkdown(`**LLM Lens proxy** is listening on \`${this.url}\`\n\n`);
        for (const [name, url] of Object.entries(urls)) tip.appendMarkdown(`- ${name}: \`${url}\`\n`);
        tip.appendMarkdown(`\nNew terminals get \`OPENAI_BASE_URL\` and \`ANTHROPIC_BASE_URL\`.\n\n`);
        tip.appendMarkdown(`[$(copy) Copy Base URL](command:${Commands.copyBaseUrl}) · [$(debug-stop) Stop](command:${Commands.stopProxy}) · [$(output) Show Log](command:${Commands.showLog})`);
        item.accessibilityInformation = { label: `LLM Lens proxy running on port ${this.port}` };
        break;
      }
      case 'starting':
        item.text = '$(loading~spin) LLM Lens';
        tip.appendMarkdown('**LLM Lens proxy** is starting…');
        item.accessibilityInformation = { label: 'LLM Lens proxy starting' };
        break;
      case 'error':
        item.text = '$(error) LLM Lens';
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        tip.appendMarkdown(`**LLM Lens proxy** could not start:\n\n${escapeMd(this._lastError ?? 'unknown error')}\n\n`);
        tip.appendMarkdown(`[$(play) Try Again](command:${Commands.startProxy}) · [$(settings-gear) Settings](command:workbench.action.openSettings?${encodeURIComponent(JSON.stringify(`${SETTINGS_SECTION}.${SettingKeys.port}`))}) · [$(output) Show Log](command:${Commands.showLog})`);
        item.accessibilityInformation = { label: 'LLM Lens proxy failed to start' };
        break;
      default:
        item.text = '$(circle-slash) LLM Lens';
        tip.appendMarkdown(`**LLM Lens proxy** is stopped.\n\n[$(play) Start LLM Proxy](command:${Commands.startProxy})`);
        item.accessibilityInformation = { label: 'LLM Lens proxy stopped' };
    }
    item.tooltip = tip;
  }

  private async showStatusMenu(): Promise<void> {
    if (this._state !== 'running') {
      await vscode.commands.executeCommand(Commands.startProxy);
      return;
    }
    type Pick = vscode.QuickPickItem & { command?: string };
    const picks: Pick[] = [
      { label: '$(copy) Copy Proxy Base URL', description: this.url ?? '', command: Commands.copyBaseUrl },
      { label: '$(list-tree) Show Sessions', command: 'llmLens.sessions.focus' },
      { label: '$(output) Show Log', command: Commands.showLog },
      { label: '$(debug-stop) Stop LLM Proxy', command: Commands.stopProxy },
    ];
    const pick = await vscode.window.showQuickPick(picks, { title: `LLM Lens proxy on ${this.url}`, placeHolder: 'Choose an action' });
    if (pick?.command) await vscode.commands.executeCommand(pick.command);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

type ServerModule = typeof ServerModuleNs;
type CacheModule = typeof CacheModuleNs;
type QueryApiModule = typeof QueryApiModuleNs;

/** Required on first start: bundled, but evaluated only then (esbuild keeps require() lazy). */
function loadProxyStack(): Pick<ServerModule, 'startProxy'> & Pick<CacheModule, 'ResponseCache'> & Pick<QueryApiModule, 'createQueryApi'> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const server = require('../proxy/server') as ServerModule;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cache = require('../proxy/cache') as CacheModule;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const api = require('../query/apiServer') as QueryApiModule;
  return { startProxy: server.startProxy, ResponseCache: cache.ResponseCache, createQueryApi: api.createQueryApi };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}

/** A port that is free right now on `host` (the OS picks it). */
export function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
