// The session panel: totals, path tree and waterfall of one Helicone session, live as requests
// arrive, restored after a window reload by its serializer.
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { StoreChange } from '../core/store';
import { Commands, WebviewTypes } from '../host/constants';
import type { LensServices } from '../host/services';
import { sessionIdFromArg } from './commandArgs';
import { panelOptions } from './html';
import { Debouncer, PanelHost } from './panelHost';
import { isSessionPanelState } from './protocol';
import type { SessionPayload, WebviewToHost } from './protocol';

/** More than any real session; the waterfall stays readable and the message small. */
export const SESSION_RECORD_CAP = 5000;

export function sessionPayload(services: Pick<LensServices, 'store'>, sessionId: string): SessionPayload | null {
  const store = services.store;
  const session = store.session(sessionId) ?? null;
  const newestFirst = store.list({ sessionId, limit: SESSION_RECORD_CAP + 1 });
  if (!session && newestFirst.length === 0) return null;
  const truncated = newestFirst.length > SESSION_RECORD_CAP;
  const records = newestFirst.slice(0, SESSION_RECORD_CAP).reverse();
  return { sessionId, session, records, truncated };
}

class SessionPanel extends PanelHost {
  private readonly debounce: Debouncer;
  private ids = new Set<string>();

  constructor(panel: vscode.WebviewPanel, services: LensServices, readonly sessionId: string) {
    super(panel, services, 'session');
    this.debounce = this.register(new Debouncer(120, () => void this.refresh().catch((e: unknown) => services.logger.error(`session panel refresh: ${errorMessage(e)}`))));
    this.register(services.store.onDidChange((e) => this.onStoreChange(e)));
    panel.title = sessionTitle(services, sessionId);
  }

  private onStoreChange(e: StoreChange): void {
    if (e.type === 'reset'
      || (e.type === 'upsert' && e.summary.session?.id === this.sessionId)
      || (e.type === 'delete' && e.ids.some((id) => this.ids.has(id)))) {
      this.debounce.trigger();
    }
  }

  protected async refresh(): Promise<void> {
    const payload = sessionPayload(this.services, this.sessionId);
    this.panel.title = sessionTitle(this.services, this.sessionId);
    if (!payload) {
      this.ids = new Set();
      this.post({ type: 'missing', what: 'session', id: this.sessionId });
      return;
    }
    this.ids = new Set(payload.records.map((r) => r.id));
    this.post({ type: 'session', payload });
  }

  protected async handle(msg: Exclude<WebviewToHost, { type: 'ready' }>): Promise<void> {
    if (msg.type === 'openRequest') await vscode.commands.executeCommand(Commands.openRequest, msg.id);
    else if (msg.type === 'openSession') await vscode.commands.executeCommand(Commands.openSession, msg.sessionId);
  }
}

function sessionTitle(services: LensServices, sessionId: string): string {
  const s = services.store.session(sessionId);
  return `Session · ${s?.name ?? (sessionId.length > 12 ? `${sessionId.slice(0, 8)}…` : sessionId)}`;
}

export class SessionPanels implements vscode.Disposable {
  private readonly panels = new Map<string, SessionPanel>();

  constructor(private readonly services: LensServices) {}

  open(sessionId: string): vscode.WebviewPanel {
    let p = this.panels.get(sessionId);
    if (p) {
      p.panel.reveal(undefined, false);
      return p.panel;
    }
    const panel = vscode.window.createWebviewPanel(WebviewTypes.session, sessionTitle(this.services, sessionId), vscode.ViewColumn.Active,
      panelOptions(this.services.context.extensionUri));
    p = this.adopt(panel, sessionId);
    return p.panel;
  }

  revive(panel: vscode.WebviewPanel, state: unknown): void {
    if (!isSessionPanelState(state) || this.panels.has(state.sessionId)) { panel.dispose(); return; }
    this.adopt(panel, state.sessionId);
  }

  private adopt(panel: vscode.WebviewPanel, sessionId: string): SessionPanel {
    const p = new SessionPanel(panel, this.services, sessionId);
    this.panels.set(sessionId, p);
    p.onDidDispose(() => { if (this.panels.get(sessionId) === p) this.panels.delete(sessionId); });
    return p;
  }

  openIds(): string[] { return [...this.panels.keys()]; }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
  }
}

async function pickSession(services: LensServices): Promise<string | undefined> {
  const items = services.store.sessions().slice(0, 200).map((s) => ({
    label: s.name ?? s.id,
    description: `${s.requestCount} request${s.requestCount === 1 ? '' : 's'}${s.errorCount ? ` · ${s.errorCount} errors` : ''}`,
    detail: `${new Date(s.startedAt).toLocaleString()} · ${s.id}`,
    id: s.id,
  }));
  if (!items.length) {
    void vscode.window.showInformationMessage('LLM Lens: no sessions logged yet (send requests with a Helicone-Session-Id header).');
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: 'LLM Lens: Open Session', matchOnDescription: true, matchOnDetail: true }))?.id;
}

let current: SessionPanels | undefined;

/** The live panel registry (for the extension's test API). */
export function sessionPanels(): SessionPanels | undefined { return current; }

export function registerSessionPanels(context: vscode.ExtensionContext, services: LensServices): void {
  const panels = new SessionPanels(services);
  current = panels;
  context.subscriptions.push(
    panels,
    { dispose: () => { if (current === panels) current = undefined; } },
    vscode.commands.registerCommand(Commands.openSession, async (arg?: unknown) => {
      const id = arg === undefined ? await pickSession(services) : sessionIdFromArg(arg, services.store);
      if (!id) {
        if (arg !== undefined) void vscode.window.showInformationMessage('LLM Lens: this request is not part of a session.');
        return;
      }
      if (!services.store.session(id) && services.store.count({ sessionId: id }) === 0) {
        void vscode.window.showWarningMessage(`LLM Lens: session ${id} is not in the log.`);
        return;
      }
      panels.open(id);
    }),
    vscode.window.registerWebviewPanelSerializer(WebviewTypes.session, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => { panels.revive(panel, state); },
    }),
  );
}
