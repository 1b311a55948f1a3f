// The Sessions view: a thin TreeDataProvider over SessionTreeModel, plus the filter UI state
// (view description, message, context key) and the in-flight badge.
import * as vscode from 'vscode';
import { formatCount } from '../core/format';
import { Commands, ContextKeys, TreeItemContexts, Views } from '../host/constants';
import type { LensServices } from '../host/services';
import { describeFilter, SessionTreeModel, type LoadMoreNode, type RequestFilter, type TreeNode } from './sessionTreeModel';

/** How often relative times ("3m ago") are brought up to date while the view is visible. */
const RELATIVE_TIME_REFRESH_MS = 60_000;

export class SessionTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subscription: { dispose(): void };

  constructor(readonly model: SessionTreeModel) {
    this.subscription = model.onDidChange((nodes) => this.emitter.fire(nodes));
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const v = this.model.getItem(node);
    const item = new vscode.TreeItem(v.label, v.collapsible === 'collapsed' ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.description = v.description;
    item.iconPath = new vscode.ThemeIcon(v.icon.id, v.icon.color ? new vscode.ThemeColor(v.icon.color) : undefined);
    item.contextValue = v.contextValue;
    item.accessibilityInformation = { label: v.accessibilityLabel };
    if (v.command) item.command = v.command;
    return item;
  }

  getChildren(node?: TreeNode): TreeNode[] {
    return this.model.getChildren(node);
  }

  /** Tooltips are built on hover only (VS Code calls this when the item's tooltip is undefined). */
  resolveTreeItem(item: vscode.TreeItem, node: TreeNode): vscode.TreeItem {
    const tooltip = new vscode.MarkdownString(this.model.getTooltip(node));
    tooltip.supportHtml = false;
    tooltip.isTrusted = false;
    item.tooltip = tooltip;
    return item;
  }

  /** Re-renders every visible item (relative times age even when nothing changes). */
  refreshAll(): void {
    this.emitter.fire(undefined);
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return this.model.getParent(node);
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}

export interface SessionTreeHandle {
  readonly model: SessionTreeModel;
  readonly view: vscode.TreeView<TreeNode>;
  setFilter(filter: RequestFilter | null): void;
  /** Reveals and selects a request (expanding its session and path folders). */
  reveal(requestId: string): Promise<boolean>;
}

/** Registers the Sessions view; returns the handle the filter commands and the test API use. */
export function registerSessionTree(context: vscode.ExtensionContext, services: LensServices): SessionTreeHandle {
  const { store, settings } = services;
  const initial = settings.current();
  const model = new SessionTreeModel({
    store,
    environmentProperty: initial.environmentProperty,
    devEnvironment: initial.devEnvironment,
    openRequestCommand: Commands.openRequest,
    loadMoreCommand: Commands.loadMore,
    contexts: TreeItemContexts,
  });
  const provider = new SessionTreeProvider(model);
  const view = vscode.window.createTreeView(Views.sessions, { treeDataProvider: provider, showCollapseAll: true, canSelectMany: true });

  const updateFilterUi = (): void => {
    const filter = model.getFilter();
    const envProp = settings.current().environmentProperty;
    void vscode.commands.executeCommand('setContext', ContextKeys.filtered, !!filter);
    if (!filter) {
      view.description = undefined;
      view.message = undefined;
      return;
    }
    view.description = describeFilter(filter, envProp);
    const n = model.matchCount();
    view.message = n === 0
      ? `No requests match ${describeFilter(filter, envProp)}.`
      : `${formatCount(n)} ${n === 1 ? 'request matches' : 'requests match'} ${describeFilter(filter, envProp)}.`;
  };

  // hasRecords drives the welcome views; the badge counts requests in flight.
  let lastHas: boolean | undefined;
  let lastPending = -1;
  const updateCounts = (): void => {
    const has = store.count() > 0;
    if (has !== lastHas) {
      lastHas = has;
      void vscode.commands.executeCommand('setContext', ContextKeys.hasRecords, has);
    }
    const pending = store.count({ status: 'pending' });
    if (pending !== lastPending) {
      lastPending = pending;
      view.badge = pending > 0 ? { value: pending, tooltip: `${pending} LLM request${pending === 1 ? '' : 's'} in progress` } : undefined;
    }
  };

  // The counts and the filter message ride on the model's coalesced refresh, not on every store event.
  const onModelChange = model.onDidChange(() => {
    updateCounts();
    if (model.getFilter()) updateFilterUi();
  });

  let timer: ReturnType<typeof setInterval> | undefined;
  const syncTimer = (): void => {
    if (view.visible && !timer) timer = setInterval(() => provider.refreshAll(), RELATIVE_TIME_REFRESH_MS);
    else if (!view.visible && timer) { clearInterval(timer); timer = undefined; }
  };
  syncTimer();

  context.subscriptions.push(
    provider,
    view,
    { dispose: () => { model.dispose(); onModelChange.dispose(); if (timer) clearInterval(timer); } },
    view.onDidChangeVisibility(syncTimer),
    settings.onDidChange((s) => { model.setEnvironment(s.environmentProperty, s.devEnvironment); updateFilterUi(); }),
    vscode.commands.registerCommand(Commands.loadMore, (node: LoadMoreNode) => { if (node?.kind === 'loadMore') model.loadMore(node); }),
  );
  updateCounts();

  return {
    model,
    view,
    setFilter: (filter) => {
      model.setFilter(filter);
      updateFilterUi();
    },
    reveal: async (requestId) => {
      const chain = model.pathToRequest(requestId);
      if (!chain) return false;
      try {
        await view.reveal(chain[chain.length - 1], { select: true, focus: false, expand: true });
        return true;
      } catch {
        // Not on a loaded page of its folder: the request exists but is not rendered yet.
        return false;
      }
    },
  };
}
