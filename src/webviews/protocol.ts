// The one message protocol between the panel hosts (extension host) and their browser bundles.
// Imported by both sides, so it holds only types, constants and small dependency-free guards:
// the browser bundle must stay small (no zod there). The host additionally validates every
// incoming message with the zod schema in messageSchema.ts, because a webview is untrusted input.
//
// Shape (after GitLens' ipc model): the webview sends *commands* (fire and forget) and *requests*
// (carry a `reqId`, answered by exactly one `reply`); the host sends *notifications*. The host
// posts nothing until the webview says `ready`, and answers every `ready` (the webview is rebuilt
// each time its tab becomes visible again) with the full current state.
import type { SessionSummary } from '../core/store';
import type { RecordBodies, RecordSummary } from '../core/types';
import type { CompareView, WindowKey } from '../compare/viewModel';

// The compare panel's payload is computed by the host (src/compare/view.ts); re-exported so the
// browser side imports only this file.
export type * from '../compare/viewModel';

export type PanelKind = 'request' | 'session' | 'compare';

/** What the request panel's Copy actions can copy; bodies are read by the host, not sent back. */
export type CopyTarget = 'requestBody' | 'responseBody' | 'requestId' | 'text';

// ---------------------------------------------------------------------------------------------
// Requests (webview -> host, answered by a reply)

export interface ReplayParams {
  /** The edited request body, as JSON text (parsed and checked by the host). */
  body: string;
}
export interface ReplayResult {
  /** Id of the new record, whose panel the host has opened. */
  newId: string;
  status: number;
}

/** Every request method with its params and result types. */
export interface RequestTypes {
  replay: { params: ReplayParams; result: ReplayResult };
}
export type RequestMethod = keyof RequestTypes;

export type WebviewRequest = {
  [M in RequestMethod]: { type: 'request'; reqId: number; method: M; params: RequestTypes[M]['params'] };
}[RequestMethod];

export type ReplyMessage<M extends RequestMethod = RequestMethod> =
  | { type: 'reply'; reqId: number; method: M; ok: true; result: RequestTypes[M]['result'] }
  | { type: 'reply'; reqId: number; method: M; ok: false; error: string };

// ---------------------------------------------------------------------------------------------
// Commands (webview -> host)

export type WebviewCommand =
  | { type: 'ready'; panel: PanelKind }
  | { type: 'openRequest'; id: string }
  | { type: 'openSession'; sessionId: string }
  /** `text` only with what: 'text' (e.g. a code block); bodies are copied from the store by id. */
  | { type: 'copy'; what: CopyTarget; text?: string }
  | { type: 'copyCurl' }
  /** Compare panel: show another time window / grouping (the host answers with a compareView). */
  | { type: 'compareSetView'; window: WindowKey; groupBy: string }
  | { type: 'compareRefresh' }
  /** Compare panel: save the current view as CSV (the host asks where). */
  | { type: 'compareExportCsv' }
  /** Compare panel: the "API key rejected / no key" fix action for a source. */
  | { type: 'compareSetKey'; source: string };

export type WebviewToHost = WebviewCommand | WebviewRequest;

// ---------------------------------------------------------------------------------------------
// Notifications (host -> webview)

export interface RecordPayload {
  summary: RecordSummary;
  /** null while the request is pending (bodies are written when it completes) or when unreadable. */
  bodies: RecordBodies | null;
  /** Why bodies are null when the record is not pending (e.g. the body file could not be read). */
  bodiesError: string | null;
  /** The proxy URL replay would go through, null when the proxy is stopped. */
  proxyUrl: string | null;
}

export interface SessionPayload {
  sessionId: string;
  session: SessionSummary | null;
  /** The session's records (LLM requests and custom-log steps), oldest first. */
  records: RecordSummary[];
  /** True when the session has more records than the panel was sent. */
  truncated: boolean;
}

export type HostToWebview =
  | { type: 'record'; payload: RecordPayload }
  | { type: 'session'; payload: SessionPayload }
  /** The record or session is gone (deleted, cleared) or was never there. */
  | { type: 'missing'; what: PanelKind; id: string }
  /** Asks the request panel to show its replay editor (the Replay Request command). */
  | { type: 'showReplay' }
  | { type: 'compareView'; view: CompareView }
  | ReplyMessage;

/** What each webview keeps through getState/setState, and what the panel serializer receives. */
export interface RequestPanelState {
  recordId: string;
  tab?: string;
}
export interface SessionPanelState {
  sessionId: string;
}
export interface ComparePanelState {
  window: WindowKey;
  groupBy: string;
}

// ---------------------------------------------------------------------------------------------
// Guards. Small on purpose: the browser uses isHostMessage on every message event (which any
// frame could post), the host uses them for the panel serializer's state.

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

export function isHostMessage(v: unknown): v is HostToWebview {
  if (!isObj(v) || !isStr(v.type)) return false;
  switch (v.type) {
    case 'record':
      return isObj(v.payload) && isObj(v.payload.summary) && isStr(v.payload.summary.id)
        && (v.payload.bodies === null || isObj(v.payload.bodies));
    case 'session':
      return isObj(v.payload) && isStr(v.payload.sessionId) && Array.isArray(v.payload.records);
    case 'missing':
      return (v.what === 'request' || v.what === 'session') && isStr(v.id);
    case 'showReplay':
      return true;
    case 'compareView':
      return isObj(v.view) && Array.isArray(v.view.columns) && Array.isArray(v.view.groups) && Array.isArray(v.view.metrics);
    case 'reply':
      return typeof v.reqId === 'number' && isStr(v.method) && typeof v.ok === 'boolean'
        && (v.ok ? 'result' in v : isStr(v.error));
    default:
      return false;
  }
}

export function isRequestPanelState(v: unknown): v is RequestPanelState {
  return isObj(v) && isStr(v.recordId) && v.recordId.length > 0 && (v.tab === undefined || isStr(v.tab));
}

export function isSessionPanelState(v: unknown): v is SessionPanelState {
  return isObj(v) && isStr(v.sessionId) && v.sessionId.length > 0;
}

const COMPARE_WINDOWS: readonly string[] = ['1h', '24h', '7d', '30d'];

export function isComparePanelState(v: unknown): v is ComparePanelState {
  return isObj(v) && isStr(v.window) && COMPARE_WINDOWS.includes(v.window) && isStr(v.groupBy) && v.groupBy.length <= 200;
}
