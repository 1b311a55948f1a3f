// The request panel: one webview per logged request (reused when opened again), live while the
// request is pending, restored after a window reload by its serializer.
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { StoreChange } from '../core/store';
import type { RecordBodies, RecordSummary, StoredBody } from '../core/types';
import { Commands, WebviewTypes } from '../host/constants';
import type { LensServices } from '../host/services';
import { requestTitle, modelOf } from './app/summaryText';
import { requestIdFromArg } from './commandArgs';
import { panelOptions } from './html';
import { Debouncer, PanelHost } from './panelHost';
import { isRequestPanelState } from './protocol';
import type { CopyTarget, RecordPayload, WebviewToHost } from './protocol';
import { replayRequest } from './replay';

class RequestPanel extends PanelHost {
  private readonly debounce: Debouncer;
  private seq = 0;
  private lastPayload: RecordPayload | null = null;
  private pendingShowReplay = false;

  constructor(panel: vscode.WebviewPanel, services: LensServices, readonly recordId: string, private readonly panels: RequestPanels) {
    super(panel, services, 'request');
    this.debounce = this.register(new Debouncer(60, () => void this.refresh().catch((e: unknown) => services.logger.error(`request panel refresh: ${errorMessage(e)}`))));
    this.register(services.store.onDidChange((e) => this.onStoreChange(e)));
    const s = services.store.get(recordId);
    if (s) panel.title = requestTitle(s);
  }

  private onStoreChange(e: StoreChange): void {
    if (e.type === 'reset' || (e.type === 'upsert' && e.summary.id === this.recordId) || (e.type === 'delete' && e.ids.includes(this.recordId))) {
      this.debounce.trigger();
    }
  }

  showReplay(): void {
    // A hidden page is rebuilt when revealed (the reveal's visibility change arrives later), so
    // unless the page is on screen and has its record, the request waits for the next refresh.
    if (this.panel.visible && this.ready && this.lastPayload) this.post({ type: 'showReplay' });
    else this.pendingShowReplay = true;
  }

  protected async refresh(): Promise<void> {
    const seq = ++this.seq;
    const summary = this.services.store.get(this.recordId);
    if (!summary) {
      this.lastPayload = null;
      this.panel.title = `Request ${this.recordId.slice(0, 8)} · gone`;
      this.post({ type: 'missing', what: 'request', id: this.recordId });
      return;
    }
    let bodies: RecordBodies | null = null;
    let bodiesError: string | null = null;
    let headers: Pick<RecordSummary, 'requestHeaders' | 'responseHeaders'> | null = null;
    if (summary.state !== 'pending') {
      try {
        // The store keeps headers beside the bodies, not in its in-memory summaries.
        const record = await this.services.store.getRecord(this.recordId);
        if (record) {
          bodies = record.bodies;
          headers = { requestHeaders: record.requestHeaders, responseHeaders: record.responseHeaders };
        } else {
          bodiesError = 'The bodies of this request are not in the log.';
        }
      } catch (err) {
        bodiesError = `The bodies of this request could not be read: ${errorMessage(err)}`;
      }
    }
    // A newer refresh started while this one read the disk: let it win.
    if (seq !== this.seq || this.isDisposed) return;
    const latest = { ...(this.services.store.get(this.recordId) ?? summary), ...headers };
    this.lastPayload = { summary: latest, bodies, bodiesError, proxyUrl: this.services.proxy.url };
    this.panel.title = requestTitle(latest);
    this.post({ type: 'record', payload: this.lastPayload });
    if (this.pendingShowReplay) {
      this.pendingShowReplay = false;
      this.post({ type: 'showReplay' });
    }
  }

  protected async handle(msg: Exclude<WebviewToHost, { type: 'ready' }>): Promise<void> {
    switch (msg.type) {
      case 'openRequest':
        await vscode.commands.executeCommand(Commands.openRequest, msg.id);
        return;
      case 'openSession':
        await vscode.commands.executeCommand(Commands.openSession, msg.sessionId);
        return;
      case 'copy':
        await this.copy(msg.what, msg.text);
        return;
      case 'copyCurl':
        // One implementation of the cURL copy (the tree's context menu uses the same command).
        await vscode.commands.executeCommand(Commands.copyAsCurl, this.recordId);
        return;
      case 'request': {
        try {
          // The full record: the summary alone has no headers to replay.
          const source = await this.services.store.getRecord(this.recordId);
          if (!source) throw new Error(`request ${this.recordId} is no longer in the log`);
          const result = await replayRequest(this.services, source, msg.params.body, (id) => this.panels.open(id, { preserveFocus: false }));
          this.post({ type: 'reply', reqId: msg.reqId, method: 'replay', ok: true, result });
        } catch (err) {
          this.services.logger.warn(`replay of ${this.recordId} failed: ${errorMessage(err)}`);
          this.post({ type: 'reply', reqId: msg.reqId, method: 'replay', ok: false, error: errorMessage(err) });
        }
        return;
      }
    }
  }

  private async copy(what: CopyTarget, text: string | undefined): Promise<void> {
    let out: string | undefined;
    let label = '';
    if (what === 'text') { out = text; label = 'text'; }
    else if (what === 'requestId') { out = this.recordId; label = 'request id'; }
    else {
      const bodies = await this.services.store.getBodies(this.recordId);
      if (!bodies) throw new Error('the bodies of this request are not in the log');
      if (what === 'requestBody') { out = bodyText(bodies.request); label = 'request body'; }
      else { out = bodies.reassembled !== null && bodies.reassembled !== undefined ? JSON.stringify(bodies.reassembled, null, 2) : bodyText(bodies.response); label = 'response'; }
    }
    if (out === undefined) throw new Error(`nothing to copy: the ${label} was not logged`);
    await vscode.env.clipboard.writeText(out);
    vscode.window.setStatusBarMessage(`$(check) LLM Lens: ${label} copied`, 3000);
  }
}

function bodyText(b: StoredBody): string | undefined {
  if (b.kind === 'json') return JSON.stringify(b.json, null, 2);
  if (b.kind === 'text' || b.kind === 'base64') return b.text;
  return undefined;
}

/** The open request panels, one per record id. */
export class RequestPanels implements vscode.Disposable {
  private readonly panels = new Map<string, RequestPanel>();

  constructor(private readonly services: LensServices) {}

  /** Opens (or reveals) the panel of `recordId`. Returns the panel's webview panel. */
  open(recordId: string, opts: { replay?: boolean; preserveFocus?: boolean } = {}): vscode.WebviewPanel {
    let p = this.panels.get(recordId);
    if (p) {
      p.panel.reveal(undefined, opts.preserveFocus ?? false);
    } else {
      const s = this.services.store.get(recordId);
      const panel = vscode.window.createWebviewPanel(WebviewTypes.request, s ? requestTitle(s) : `Request ${recordId.slice(0, 8)}`,
        { viewColumn: vscode.ViewColumn.Active, preserveFocus: opts.preserveFocus ?? false },
        panelOptions(this.services.context.extensionUri));
      p = this.adopt(panel, recordId);
    }
    if (opts.replay) p.showReplay();
    return p.panel;
  }

  /** Serializer path: VS Code recreated the panel after a reload; rebuild its host. */
  revive(panel: vscode.WebviewPanel, state: unknown): void {
    if (!isRequestPanelState(state)) {
      // Nothing to restore from (state from an older version, or none): close rather than show an empty tab.
      panel.dispose();
      return;
    }
    if (this.panels.has(state.recordId)) { panel.dispose(); return; }
    this.adopt(panel, state.recordId);
  }

  private adopt(panel: vscode.WebviewPanel, recordId: string): RequestPanel {
    const p = new RequestPanel(panel, this.services, recordId, this);
    this.panels.set(recordId, p);
    p.onDidDispose(() => { if (this.panels.get(recordId) === p) this.panels.delete(recordId); });
    return p;
  }

  /** Record ids of the open panels (for the test API and diagnostics). */
  openIds(): string[] { return [...this.panels.keys()]; }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
  }
}

async function pickRecentRequest(services: LensServices): Promise<string | undefined> {
  const items = services.store.list({ kind: 'llm', limit: 200 }).map((s) => ({
    label: modelOf(s),
    description: `${new Date(s.startedAt).toLocaleTimeString()} · ${s.state === 'pending' ? 'pending' : s.status ?? s.error?.kind ?? ''}`,
    detail: `${s.method} ${s.path}${s.session ? ` · session ${s.session.name ?? s.session.id}` : ''}`,
    id: s.id,
  }));
  if (!items.length) {
    void vscode.window.showInformationMessage('LLM Lens: no requests logged yet.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(items, { title: 'LLM Lens: Open Request', matchOnDescription: true, matchOnDetail: true });
  return pick?.id;
}

let current: RequestPanels | undefined;

/** The live panel registry (for the extension's test API). */
export function requestPanels(): RequestPanels | undefined { return current; }

export function registerRequestPanels(context: vscode.ExtensionContext, services: LensServices): void {
  const panels = new RequestPanels(services);
  current = panels;
  const open = async (arg: unknown, replay: boolean): Promise<void> => {
    const id = arg === undefined ? await pickRecentRequest(services) : requestIdFromArg(arg, services.store);
    if (!id) return;
    if (!services.store.get(id)) {
      void vscode.window.showWarningMessage(`LLM Lens: request ${id} is not in the log.`);
      return;
    }
    panels.open(id, { replay });
  };
  context.subscriptions.push(
    panels,
    { dispose: () => { if (current === panels) current = undefined; } },
    vscode.commands.registerCommand(Commands.openRequest, (arg?: unknown) => open(arg, false)),
    vscode.commands.registerCommand(Commands.replayRequest, (arg?: unknown) => open(arg, true)),
    vscode.window.registerWebviewPanelSerializer(WebviewTypes.request, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => { panels.revive(panel, state); },
    }),
  );
}
