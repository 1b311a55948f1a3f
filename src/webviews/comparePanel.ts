// The compare-environments panel: one per window, fed with views computed by the host from the
// comparison engine's snapshots (the browser only draws), restored after a reload by its
// serializer with the time window and grouping it had.
import * as vscode from 'vscode';
import type { ComparisonEngine } from '../compare/comparison';
import { buildCompareView, compareViewCsv } from '../compare/view';
import type { CompareView, WindowKey } from '../compare/viewModel';
import { errorMessage } from '../core/errors';
import { Commands, WebviewTypes } from '../host/constants';
import type { LensServices } from '../host/services';
import { panelOptions } from './html';
import { Debouncer, PanelHost } from './panelHost';
import { isComparePanelState } from './protocol';
import type { ComparePanelState, WebviewToHost } from './protocol';

const TITLE = 'Compare Environments';
const DEFAULT_STATE: ComparePanelState = { window: '24h', groupBy: '' };

class ComparePanel extends PanelHost {
  private readonly debounce: Debouncer;
  private viewState: ComparePanelState;
  private lastView: CompareView | null = null;

  constructor(panel: vscode.WebviewPanel, services: LensServices, private readonly engine: ComparisonEngine, state: ComparePanelState) {
    super(panel, services, 'compare');
    this.viewState = { ...state };
    this.debounce = this.register(new Debouncer(250, () => void this.refresh().catch((e: unknown) => services.logger.error(`compare panel refresh: ${errorMessage(e)}`))));
    this.register(engine.onDidChange(() => this.debounce.trigger()));
  }

  get view(): CompareView | null { return this.lastView; }
  get state(): ComparePanelState { return { ...this.viewState }; }

  protected async refresh(): Promise<void> {
    const snap = this.engine.snapshot;
    if (!snap) return; // the page keeps "Loading…" until the first snapshot
    this.lastView = buildCompareView(snap, this.viewState);
    this.post({ type: 'compareView', view: this.lastView });
  }

  protected async handle(msg: Exclude<WebviewToHost, { type: 'ready' }>): Promise<void> {
    switch (msg.type) {
      case 'compareSetView':
        this.viewState = { window: msg.window, groupBy: msg.groupBy };
        await this.refresh();
        return;
      case 'compareRefresh':
        await vscode.commands.executeCommand(Commands.refreshComparison);
        return;
      case 'compareSetKey':
        await vscode.commands.executeCommand(Commands.setHeliconeApiKey, undefined, msg.source);
        return;
      case 'compareExportCsv':
        await this.exportCsv();
        return;
      default:
        return;
    }
  }

  private async exportCsv(): Promise<void> {
    const view = this.lastView;
    if (!view) return;
    const stamp = new Date(view.generatedAt).toISOString().slice(0, 16).replace(/[:T]/g, '-');
    const base = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `llm-lens-compare-${view.window}-${stamp}.csv`;
    const target = await vscode.window.showSaveDialog({
      title: 'Export Comparison as CSV',
      defaultUri: base ? vscode.Uri.joinPath(base, name) : undefined,
      filters: { 'CSV': ['csv'] },
      saveLabel: 'Export',
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, Buffer.from(compareViewCsv(view), 'utf8'));
    vscode.window.setStatusBarMessage(`$(check) Exported the comparison to ${vscode.workspace.asRelativePath(target)}`, 4000);
  }
}

export class ComparePanels implements vscode.Disposable {
  private current: ComparePanel | null = null;

  constructor(private readonly services: LensServices, private readonly engine: ComparisonEngine) {}

  open(window?: WindowKey): vscode.WebviewPanel {
    if (this.current && !this.current.isDisposed) {
      this.current.panel.reveal(undefined, false);
      return this.current.panel;
    }
    const panel = vscode.window.createWebviewPanel(WebviewTypes.compare, TITLE, vscode.ViewColumn.Active, panelOptions(this.services.context.extensionUri));
    this.adopt(panel, { ...DEFAULT_STATE, ...(window ? { window } : {}) });
    return panel;
  }

  revive(panel: vscode.WebviewPanel, state: unknown): void {
    if (this.current && !this.current.isDisposed) { panel.dispose(); return; }
    this.adopt(panel, isComparePanelState(state) ? state : DEFAULT_STATE);
  }

  /** The open panel's last view (for the e2e suite), or null. */
  view(): CompareView | null { return this.current?.view ?? null; }

  private adopt(panel: vscode.WebviewPanel, state: ComparePanelState): void {
    panel.title = TITLE;
    const p = new ComparePanel(panel, this.services, this.engine, state);
    this.current = p;
    p.onDidDispose(() => { if (this.current === p) this.current = null; });
  }

  dispose(): void {
    this.current?.dispose();
    this.current = null;
  }
}

export function registerComparePanel(context: vscode.ExtensionContext, services: LensServices, engine: ComparisonEngine): ComparePanels {
  const panels = new ComparePanels(services, engine);
  context.subscriptions.push(
    panels,
    vscode.commands.registerCommand(Commands.openCompare, (window?: unknown) => {
      panels.open(typeof window === 'string' && ['1h', '24h', '7d', '30d'].includes(window) ? window as WindowKey : undefined);
    }),
    vscode.window.registerWebviewPanelSerializer(WebviewTypes.compare, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => { panels.revive(panel, state); },
    }),
  );
  return panels;
}
