// The browser end of protocol.ts: posts commands, sends requests and matches their replies by id,
// and passes validated notifications to the view. Messages that fail isHostMessage are dropped.
import { isHostMessage } from '../protocol';
import type { HostToWebview, PanelKind, ReplyMessage, RequestMethod, RequestTypes, WebviewCommand } from '../protocol';

interface VsCodeApi<S> {
  postMessage(msg: unknown): void;
  getState(): S | undefined;
  setState(state: S): void;
}
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

export type Notification = Exclude<HostToWebview, ReplyMessage>;

export class HostChannel<S> {
  private readonly api: VsCodeApi<S>;
  private nextReqId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly panel: PanelKind, onNotification: (msg: Notification) => void) {
    // acquireVsCodeApi may be called only once per page: this class is the single owner.
    this.api = acquireVsCodeApi<S>();
    window.addEventListener('message', (ev: MessageEvent) => {
      const msg: unknown = ev.data;
      if (!isHostMessage(msg)) return;
      if (msg.type === 'reply') this.settle(msg);
      else onNotification(msg);
    });
  }

  /** Tells the host the listeners are in place; it answers with the full state. */
  ready(): void {
    this.post({ type: 'ready', panel: this.panel });
  }

  post(cmd: WebviewCommand): void {
    this.api.postMessage(cmd);
  }

  request<M extends RequestMethod>(method: M, params: RequestTypes[M]['params']): Promise<RequestTypes[M]['result']> {
    const reqId = this.nextReqId++;
    return new Promise((resolve, reject) => {
      this.pending.set(reqId, { resolve: resolve as (v: unknown) => void, reject });
      this.api.postMessage({ type: 'request', reqId, method, params });
    });
  }

  get state(): S | undefined { return this.api.getState(); }
  set state(s: S) { this.api.setState(s); }

  private settle(reply: ReplyMessage): void {
    const p = this.pending.get(reply.reqId);
    if (!p) return;
    this.pending.delete(reply.reqId);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new Error(reply.error));
  }
}
