// What every LLM Lens panel host shares: the CSP'd HTML shell, validation of every incoming
// message, the ready handshake, and disposal. Subclasses say what state to push and how to
// handle commands.
import * as vscode from 'vscode';
import type { LensServices } from '../host/services';
import { renderPanelHtml, panelOptions } from './html';
import { parseWebviewMessage } from './messageSchema';
import type { HostToWebview, PanelKind, WebviewToHost } from './protocol';

export abstract class PanelHost implements vscode.Disposable {
  /**
   * True once the page said `ready`. Without retainContextWhenHidden a hidden page is destroyed
   * and rebuilt when shown, saying `ready` again, which answers with the full state; posts to a
   * hidden page are simply dropped by VS Code, so nothing needs to track visibility here.
   */
  private isReady = false;
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly onDisposeCallbacks: Array<() => void> = [];

  protected constructor(
    readonly panel: vscode.WebviewPanel,
    protected readonly services: LensServices,
    private readonly kind: PanelKind,
  ) {
    const extensionUri = services.context.extensionUri;
    panel.webview.options = panelOptions(extensionUri);
    panel.webview.html = renderPanelHtml(panel.webview, extensionUri, kind, panel.title);
    this.register(panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)));
    this.register(panel.onDidDispose(() => this.dispose()));
  }

  get ready(): boolean { return this.isReady && !this.disposed; }
  get isDisposed(): boolean { return this.disposed; }

  protected register<T extends vscode.Disposable>(d: T): T {
    if (this.disposed) d.dispose(); else this.disposables.push(d);
    return d;
  }

  onDidDispose(cb: () => void): void { this.onDisposeCallbacks.push(cb); }

  protected post(msg: HostToWebview): void {
    if (!this.ready) return;
    this.panel.webview.postMessage(msg).then(undefined, (err: unknown) => this.services.logger.debug(`webview post failed: ${String(err)}`));
  }

  /** Sends the full current state (after `ready`, and on every change worth showing). */
  protected abstract refresh(): Promise<void>;
  /** Handles a validated command or request (never `ready`). */
  protected abstract handle(msg: Exclude<WebviewToHost, { type: 'ready' }>): Promise<void>;

  private receive(raw: unknown): void {
    const parsed = parseWebviewMessage(raw, this.kind);
    if (!parsed.ok) {
      this.services.logger.warn(`${this.kind} panel: ignored a message: ${parsed.error}`);
      return;
    }
    const msg = parsed.message;
    if (msg.type === 'ready') {
      this.isReady = true;
      void this.refresh().catch((err: unknown) => this.services.logger.error(`${this.kind} panel: refresh failed: ${String(err)}`));
      return;
    }
    void this.handle(msg).catch((err: unknown) => {
      this.services.logger.error(`${this.kind} panel: "${msg.type}" failed: ${err instanceof Error ? err.message : String(err)}`);
      void vscode.window.showErrorMessage(`LLM Lens: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.isReady = false;
    for (const cb of this.onDisposeCallbacks.splice(0)) {
      try { cb(); } catch (err) { this.services.logger.error(`panel dispose callback failed: ${String(err)}`); }
    }
    for (const d of this.disposables.splice(0)) {
      try { d.dispose(); } catch (err) { this.services.logger.error(`panel dispose failed: ${String(err)}`); }
    }
    this.panel.dispose();
  }
}

/** Coalesces bursts (a streaming request fires several store changes) into one refresh. */
export class Debouncer implements vscode.Disposable {
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(private readonly ms: number, private readonly fn: () => void) {}
  trigger(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.fn(); }, this.ms);
  }
  dispose(): void { if (this.timer) clearTimeout(this.timer); this.timer = undefined; }
}
