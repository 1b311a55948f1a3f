// The dev-vs-production status bar item: `$(pulse) dev $0.0021/req · prod $0.0034/req`, a
// markdown table of both environments in its tooltip, the warning colour while an alert fires.
// All wording and state logic lives in src/compare/statusView.ts; this class only paints it and
// repaints on a timer so "stale 12m" keeps counting between refreshes.
import * as vscode from 'vscode';
import type { ComparisonEngine } from '../compare/comparison';
import { comparisonBarView } from '../compare/statusView';
import type { ComparisonBarView } from '../compare/statusView';
import { Commands } from '../host/constants';
import type { ProxyController } from '../host/services';

/** Ages are shown in minutes: repainting twice a minute keeps them right without churn. */
const REPAINT_MS = 30_000;

export class ComparisonStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private last: ComparisonBarView | null = null;

  constructor(private readonly engine: ComparisonEngine, private readonly proxy: Pick<ProxyController, 'state' | 'onDidChangeState'>) {
    this.item = vscode.window.createStatusBarItem('llmLens.comparison', vscode.StatusBarAlignment.Right, 99);
    this.item.name = 'LLM Lens: Dev vs Production';
    this.item.command = Commands.openCompare;
    this.disposables.push(
      this.item,
      engine.onDidChange(() => this.render()),
      proxy.onDidChangeState(() => this.render()),
    );
    this.timer = setInterval(() => this.render(), REPAINT_MS);
    this.render();
    this.item.show();
  }

  /** What the item shows now (the e2e suite and the refresh command's result read it). */
  get view(): ComparisonBarView | null { return this.last; }

  render(): void {
    const v = comparisonBarView(this.engine.snapshot, { proxyState: this.proxy.state, now: Date.now() });
    this.last = v;
    this.item.text = v.text;
    const md = new vscode.MarkdownString(v.tooltip, true);
    // Only the commands this tooltip links to may run from it.
    md.isTrusted = { enabledCommands: v.commands };
    md.supportHtml = false;
    this.item.tooltip = md;
    this.item.backgroundColor = v.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.accessibilityInformation = { label: accessibleLabel(v.text), role: 'button' };
  }

  dispose(): void {
    clearInterval(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** Screen readers get words, not "$(pulse)". */
function accessibleLabel(text: string): string {
  return text.replace(/\$\((sync~spin|[a-z-]+)\)\s?/g, (_, name: string) => (name === 'warning' ? 'alert: ' : name === 'sync~spin' ? 'loading ' : '')).trim();
}
