// The session explorer's data, without vscode: which nodes a level holds, how each one reads
// (label, description, icon, tooltip), and which node to refresh when the store changes.
// sessionTree.ts turns this into a TreeDataProvider; the unit tests and the benchmark drive it
// directly against a real RecordStore.
//
// Shape: sessions (newest activity first, paged), then requests outside any session (newest
// first, paged). Inside a session, the Helicone-Session-Path hierarchy as folders, in call order.
// Node objects are cached by id and reused, because the tree matches refresh targets by identity.
import { Emitter, type Event } from '../core/event';
import { propertyValue } from '../core/properties';
import { formatCost, formatCount, formatDateTime, formatDuration, formatRelativeTime, formatTokens } from '../core/format';
import type { RecordQuery, RecordReader, SessionSummary, StoreChange } from '../core/store';
import type { RecordSummary } from '../core/types';

export type TreeNode = SessionNode | PathNode | RequestNode | LoadMoreNode;

interface NodeBase {
  /** Stable across refreshes and reloads: the tree keeps expansion and selection by it. */
  readonly id: string;
  readonly parent: SessionNode | PathNode | undefined;
}
export interface SessionNode extends NodeBase { readonly kind: 'session'; readonly sessionId: string }
export interface PathNode extends NodeBase { readonly kind: 'path'; readonly sessionId: string; readonly path: string }
export interface RequestNode extends NodeBase { readonly kind: 'request'; readonly requestId: string }
export interface LoadMoreNode extends NodeBase { readonly kind: 'loadMore'; readonly container: string; remaining: number }

export type RequestStatusFilter = 'ok' | 'error' | 'cached' | 'pending';

/** What the user filtered by; every field narrows. */
export interface RequestFilter {
  model?: string;
  provider?: string;
  userId?: string;
  status?: RequestStatusFilter;
  /** Every listed property must equal the given value. */
  properties?: Record<string, string>;
  /** Environment property value; the dev environment also matches requests that carry none. */
  environment?: string;
  text?: string;
}

export interface IconView {
  /** A codicon id, '~spin' allowed. */
  id: string;
  /** A theme color id, or undefined for the default foreground. */
  color?: string;
}

/** Everything a tree item shows, as plain data. */
export interface ItemView {
  label: string;
  description: string;
  icon: IconView;
  contextValue: string;
  collapsible: 'none' | 'collapsed';
  /** Read by screen readers instead of label + description. */
  accessibilityLabel: string;
  command?: { command: string; title: string; arguments: unknown[] };
}

export interface SessionTreeModelOptions {
  store: RecordReader;
  /** Top-level sessions per page and requests per page (root and inside folders). */
  sessionPageSize?: number;
  requestPageSize?: number;
  /** How long changes are gathered before one refresh fires (ms). */
  coalesceMs?: number;
  now?: () => number;
  environmentProperty?: string;
  devEnvironment?: string;
  /** Command ids used for item clicks and paging (from src/host/constants.ts). */
  openRequestCommand?: string;
  loadMoreCommand?: string;
  /** Context value prefixes (from src/host/constants.ts TreeItemContexts). */
  contexts?: { session: string; sessionPath: string; request: string; customStep: string; loadMore: string };
}

const ROOT_SESSIONS = 'root/sessions';
const ROOT_LOOSE = 'root/requests';

interface SessionLevel {
  /** Requests directly at this path, in call order. */
  requests: RecordSummary[];
  /** Child folder paths, in order of their first call. */
  children: string[];
  /** Aggregate over this path and everything below it. */
  count: number;
  costUsd: number;
  costUnknown: number;
  pending: number;
  errors: number;
}

interface SessionShape {
  levels: Map<string, SessionLevel>;
  /** Requests in the session (all, or only the matching ones when filtered). */
  total: number;
}

interface FilteredIndex {
  /** Matching requests per session, newest first. */
  bySession: Map<string, RecordSummary[]>;
  /** Matching requests outside sessions, newest first. */
  loose: RecordSummary[];
  matched: number;
  /** Session ids in top-level order; rebuilt on read after a change. */
  sessionOrder: string[] | null;
}

export class SessionTreeModel {
  private readonly store: RecordReader;
  private readonly sessionPageSize: number;
  private readonly requestPageSize: number;
  private readonly coalesceMs: number;
  private readonly now: () => number;
  private readonly ctx: NonNullable<SessionTreeModelOptions['contexts']>;
  private readonly openRequestCommand: string;
  private readonly loadMoreCommand: string;
  private environmentProperty: string;
  private devEnvironment: string;

  private readonly nodes = new Map<string, TreeNode>();
  /** How many items each paged container shows (container id -> limit). */
  private readonly limits = new Map<string, number>();
  /** Session shapes built on demand and dropped when one of their requests changes. */
  private readonly shapes = new Map<string, SessionShape>();
  private filter: RequestFilter | null = null;
  private filtered: FilteredIndex | null = null;
  /** The first top-level session as last rendered: a change to it needs no root refresh. */
  private firstRootSession: string | undefined;

  private pendingRoot = false;
  private readonly pendingNodes = new Set<TreeNode>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  private readonly changeEmitter = new Emitter<TreeNode[] | undefined>();
  /** undefined = the whole tree; otherwise these nodes (and their subtrees). Coalesced. */
  readonly onDidChange: Event<TreeNode[] | undefined> = this.changeEmitter.event;
  private readonly storeSubscription: { dispose(): void };

  constructor(opts: SessionTreeModelOptions) {
    this.store = opts.store;
    this.sessionPageSize = opts.sessionPageSize ?? 50;
    this.requestPageSize = opts.requestPageSize ?? 100;
    this.coalesceMs = opts.coalesceMs ?? 50;
    this.now = opts.now ?? Date.now;
    this.environmentProperty = opts.environmentProperty ?? 'Environment';
    this.devEnvironment = opts.devEnvironment ?? 'development';
    this.openRequestCommand = opts.openRequestCommand ?? 'llmLens.openRequest';
    this.loadMoreCommand = opts.loadMoreCommand ?? 'llmLens.loadMore';
    this.ctx = opts.contexts ?? { session: 'llmLens.session', sessionPath: 'llmLens.sessionPath', request: 'llmLens.request', customStep: 'llmLens.customStep', loadMore: 'llmLens.loadMore' };
    this.storeSubscription = this.store.onDidChange((c) => this.onStoreChange(c));
  }

  dispose(): void {
    this.storeSubscription.dispose();
    if (this.timer) clearTimeout(this.timer);
    this.changeEmitter.dispose();
  }

  // ---- filter ----

  getFilter(): RequestFilter | null {
    return this.filter;
  }

  setFilter(filter: RequestFilter | null): void {
    this.filter = filter && !isEmptyFilter(filter) ? { ...filter } : null;
    this.filtered = null;
    this.shapes.clear();
    this.limits.clear();
    this.refreshNow(undefined);
  }

  setEnvironment(property: string, dev: string): void {
    if (property === this.environmentProperty && dev === this.devEnvironment) return;
    this.environmentProperty = property;
    this.devEnvironment = dev;
    if (this.filter?.environment !== undefined) this.setFilter(this.filter);
  }

  /** Requests matching the filter (all stored requests when unfiltered). */
  matchCount(): number {
    return this.filter ? this.filteredIndex().matched : this.store.count();
  }

  // ---- structure ----

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) return this.rootChildren();
    if (node.kind === 'session') return this.levelChildren(node, node.sessionId, '/');
    if (node.kind === 'path') return this.levelChildren(node, node.sessionId, node.path);
    return [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.parent;
  }

  /** The node for a request id, when it is (or was) shown. */
  findRequestNode(requestId: string): RequestNode | undefined {
    const n = this.nodes.get(`r/${requestId}`);
    return n?.kind === 'request' ? n : undefined;
  }

  /**
   * The chain of nodes from the top down to a request, creating (not rendering) the ones needed:
   * used to reveal a request in the tree. Undefined when the request is unknown or filtered out.
   */
  pathToRequest(requestId: string): TreeNode[] | undefined {
    const s = this.store.get(requestId);
    if (!s || (this.filter && !this.matches(s))) return undefined;
    if (!s.session) return [this.requestNode(requestId, undefined)];
    const chain: TreeNode[] = [];
    let parent: SessionNode | PathNode = this.sessionNode(s.session.id);
    chain.push(parent);
    for (const p of ancestors(normalizePath(s.session.path))) {
      parent = this.pathNode(s.session.id, p, parent);
      chain.push(parent);
    }
    chain.push(this.requestNode(requestId, parent));
    return chain;
  }

  /** Shows one more page in the container a "Load more…" node belongs to. */
  loadMore(node: LoadMoreNode): void {
    const isSessions = node.container === ROOT_SESSIONS;
    const page = isSessions ? this.sessionPageSize : this.requestPageSize;
    this.limits.set(node.container, (this.limits.get(node.container) ?? page) + page);
    const owner = node.parent;
    this.refreshNow(owner ? [owner] : undefined);
  }

  private rootChildren(): TreeNode[] {
    const out: TreeNode[] = [];
    let sessionIds: string[];
    let looseIds: string[];
    let looseTotal: number;
    if (this.filter) {
      const f = this.filteredIndex();
      sessionIds = this.filteredSessions();
      const limit = this.limit(ROOT_LOOSE, this.requestPageSize);
      looseIds = f.loose.slice(0, limit).map((s) => s.id);
      looseTotal = f.loose.length;
    } else {
      sessionIds = this.store.sessions().map((s) => s.id);
      const limit = this.limit(ROOT_LOOSE, this.requestPageSize);
      looseIds = this.store.list({ sessionId: null, limit }).map((s) => s.id);
      looseTotal = looseIds.length < limit ? looseIds.length : this.store.count({ sessionId: null });
    }
    const sessionLimit = this.limit(ROOT_SESSIONS, this.sessionPageSize);
    this.firstRootSession = sessionIds[0];
    for (const id of sessionIds.slice(0, sessionLimit)) out.push(this.sessionNode(id));
    if (sessionIds.length > sessionLimit) out.push(this.loadMoreNode(ROOT_SESSIONS, undefined, sessionIds.length - sessionLimit));
    for (const id of looseIds) out.push(this.requestNode(id, undefined));
    if (looseTotal > looseIds.length) out.push(this.loadMoreNode(ROOT_LOOSE, undefined, looseTotal - looseIds.length));
    return out;
  }

  private levelChildren(owner: SessionNode | PathNode, sessionId: string, path: string): TreeNode[] {
    const level = this.shape(sessionId).levels.get(path);
    if (!level) return [];
    const out: TreeNode[] = level.children.map((p) => this.pathNode(sessionId, p, owner));
    const limit = this.limit(owner.id, this.requestPageSize);
    for (const r of level.requests.slice(0, limit)) out.push(this.requestNode(r.id, owner));
    if (level.requests.length > limit) out.push(this.loadMoreNode(owner.id, owner, level.requests.length - limit));
    return out;
  }

  private limit(container: string, page: number): number {
    return this.limits.get(container) ?? page;
  }

  private shape(sessionId: string): SessionShape {
    let shape = this.shapes.get(sessionId);
    if (shape) return shape;
    const records = this.filter
      ? (this.filteredIndex().bySession.get(sessionId) ?? [])
      : this.store.list({ sessionId });
    shape = buildShape(records);
    this.shapes.set(sessionId, shape);
    return shape;
  }

  /**
   * The matches of the current filter, built once per filter (one pass over the log with the same
   * predicate as matches()) and then kept current per store change, so live traffic under a filter
   * costs a binary insert, not a new scan.
   */
  private filteredIndex(): FilteredIndex {
    if (this.filtered) return this.filtered;
    const bySession = new Map<string, RecordSummary[]>();
    const loose: RecordSummary[] = [];
    let matched = 0;
    for (const s of this.store.list()) {
      if (!this.matches(s)) continue;
      matched++;
      if (!s.session) { loose.push(s); continue; }
      let list = bySession.get(s.session.id);
      if (!list) bySession.set(s.session.id, (list = []));
      list.push(s);
    }
    this.filtered = { bySession, loose, matched, sessionOrder: null };
    return this.filtered;
  }

  private filteredSessions(): string[] {
    const f = this.filteredIndex();
    f.sessionOrder ??= f.bySession.size ? this.store.sessions().map((x) => x.id).filter((id) => f.bySession.has(id)) : [];
    return f.sessionOrder;
  }

  /** Applies one store upsert to the filtered index; true when what the tree shows changed. */
  private updateFiltered(s: RecordSummary): boolean {
    const f = this.filtered;
    const matches = this.matches(s);
    if (!f) return matches || this.nodes.has(`r/${s.id}`);
    const list = s.session ? f.bySession.get(s.session.id) : f.loose;
    const at = list ? list.findIndex((x) => x.id === s.id) : -1;
    if (at < 0 && !matches) return false;
    if (at >= 0) { list!.splice(at, 1); f.matched--; }
    if (matches) {
      let target = list;
      if (!target) f.bySession.set(s.session!.id, (target = []));
      insertNewestFirst(target, s);
      f.matched++;
    } else if (s.session && list && list.length === 0) f.bySession.delete(s.session.id);
    f.sessionOrder = null;
    return true;
  }

  private envMatches(s: RecordSummary, env: string): boolean {
    const v = propertyValue(s.properties, this.environmentProperty);
    return v === env || (v === undefined && env === this.devEnvironment);
  }

  /** Whether a request passes the current filter (true when unfiltered). */
  matches(s: RecordSummary): boolean {
    const f = this.filter;
    if (!f) return true;
    const model = s.responseModel ?? s.requestModel;
    if (f.model && s.requestModel !== f.model && s.responseModel !== f.model && model !== f.model) return false;
    if (f.provider && s.provider !== f.provider) return false;
    if (f.userId && s.userId !== f.userId) return false;
    // Exclusive buckets, as the tree's icons show them (and as the store's query reads status).
    if (f.status && statusOf(s) !== f.status) return false;
    if (f.properties) for (const [k, v] of Object.entries(f.properties)) if (propertyValue(s.properties, k) !== v) return false;
    if (f.environment !== undefined && !this.envMatches(s, f.environment)) return false;
    if (f.text && f.text.trim()) {
      const t = f.text.trim().toLowerCase();
      const hay = [model, s.requestModel, s.path, s.id, s.userId, s.session?.name, s.session?.id, ...Object.values(s.properties)];
      if (!hay.some((h) => h?.toLowerCase().includes(t))) return false;
    }
    return true;
  }

  // ---- nodes ----

  private sessionNode(sessionId: string): SessionNode {
    const id = `s/${sessionId}`;
    let n = this.nodes.get(id) as SessionNode | undefined;
    if (!n) this.nodes.set(id, (n = { kind: 'session', id, parent: undefined, sessionId }));
    return n;
  }

  private pathNode(sessionId: string, path: string, parent: SessionNode | PathNode): PathNode {
    const id = `p/${sessionId}\u0000${path}`;
    let n = this.nodes.get(id) as PathNode | undefined;
    if (!n) this.nodes.set(id, (n = { kind: 'path', id, parent, sessionId, path }));
    return n;
  }

  private requestNode(requestId: string, parent: SessionNode | PathNode | undefined): RequestNode {
    const id = `r/${requestId}`;
    let n = this.nodes.get(id) as RequestNode | undefined;
    if (!n || n.parent !== parent) this.nodes.set(id, (n = { kind: 'request', id, parent, requestId }));
    return n;
  }

  private loadMoreNode(container: string, parent: SessionNode | PathNode | undefined, remaining: number): LoadMoreNode {
    const id = `m/${container}`;
    let n = this.nodes.get(id) as LoadMoreNode | undefined;
    if (!n) this.nodes.set(id, (n = { kind: 'loadMore', id, parent, container, remaining }));
    n.remaining = remaining;
    return n;
  }

  // ---- item views ----

  getItem(node: TreeNode): ItemView {
    switch (node.kind) {
      case 'session': return this.sessionItem(node);
      case 'path': return this.pathItem(node);
      case 'request': return this.requestItem(node);
      case 'loadMore': {
        const what = node.container === ROOT_SESSIONS ? 'sessions' : 'requests';
        return {
          label: 'Load more…',
          description: `${formatCount(node.remaining)} more ${what}`,
          icon: { id: 'ellipsis' },
          contextValue: this.ctx.loadMore,
          collapsible: 'none',
          accessibilityLabel: `Load more ${what}, ${node.remaining} not shown`,
          command: { command: this.loadMoreCommand, title: 'Load More', arguments: [node] },
        };
      }
    }
  }

  /**
   * The tooltip (markdown, untrusted text escaped), built only when the user hovers an item:
   * formatting one for every row of a page would cost more than the rows themselves.
   */
  getTooltip(node: TreeNode): string {
    switch (node.kind) {
      case 'session': {
        const s = this.store.session(node.sessionId);
        return s ? sessionTooltip(s, this.now()) : '';
      }
      case 'path': {
        const level = this.shape(node.sessionId).levels.get(node.path);
        const cost = formatCost(level?.costUsd ?? 0) + ((level?.costUnknown ?? 0) > 0 ? '+' : '');
        return `**${escapeMarkdown(node.path)}**\n\n${formatCount(level?.count ?? 0)} requests · ${cost}${level?.errors ? ` · ${level.errors} failed` : ''}`;
      }
      case 'request': {
        const s = this.store.get(node.requestId);
        return s ? requestTooltip(s, this.now()) : '';
      }
      case 'loadMore':
        return `Show the next ${node.container === ROOT_SESSIONS ? this.sessionPageSize : this.requestPageSize} ${node.container === ROOT_SESSIONS ? 'sessions' : 'requests'}`;
    }
  }

  private sessionItem(node: SessionNode): ItemView {
    const s = this.store.session(node.sessionId);
    const label = s?.name || node.sessionId;
    if (!s) return { label, description: 'deleted', icon: { id: 'circle-slash' }, contextValue: this.ctx.session, collapsible: 'none', accessibilityLabel: `${label}, deleted` };
    const shown = this.filter ? this.shape(node.sessionId).total : s.requestCount;
    const count = this.filter ? `${shown} of ${s.requestCount} req` : `${s.requestCount} req`;
    const cost = formatCost(s.costUsd) + (s.costUnknown > 0 ? '+' : '');
    const duration = formatDuration(Math.max(0, s.endedAt - s.startedAt));
    const description = `${count} · ${cost} · ${duration}`;
    const icon: IconView = s.pendingCount > 0 ? { id: 'loading~spin' }
      : s.errorCount > 0 ? { id: 'type-hierarchy', color: 'list.errorForeground' }
      : { id: 'type-hierarchy' };
    return {
      label,
      description,
      icon,
      contextValue: this.ctx.session,
      collapsible: 'collapsed',
      accessibilityLabel: `Session ${label}, ${s.requestCount} requests, ${s.errorCount} errors, cost ${cost}, ${duration}`,
    };
  }

  private pathItem(node: PathNode): ItemView {
    const level = this.shape(node.sessionId).levels.get(node.path);
    const label = node.path.slice(node.path.lastIndexOf('/') + 1) || node.path;
    const count = level?.count ?? 0;
    const cost = formatCost(level?.costUsd ?? 0) + ((level?.costUnknown ?? 0) > 0 ? '+' : '');
    return {
      label,
      description: `${count} req · ${cost}`,
      icon: level?.pending ? { id: 'loading~spin' } : level?.errors ? { id: 'folder', color: 'list.errorForeground' } : { id: 'folder' },
      contextValue: this.ctx.sessionPath,
      collapsible: 'collapsed',
      accessibilityLabel: `Path ${node.path}, ${count} requests, cost ${cost}`,
    };
  }

  private requestItem(node: RequestNode): ItemView {
    const s = this.store.get(node.requestId);
    if (!s) return { label: 'deleted request', description: '', icon: { id: 'circle-slash' }, contextValue: this.ctx.request + '.deleted', collapsible: 'none', accessibilityLabel: 'deleted request' };
    const status = statusOf(s);
    const label = requestLabel(s);
    const parts: string[] = [];
    if (status === 'pending') parts.push(s.streamed || s.firstByteAt ? 'streaming…' : 'waiting…');
    else {
      if (status === 'error') parts.push(s.status ? String(s.status) : errorShort(s));
      parts.push(formatDuration(s.latencyMs));
      // A failed call usually costs nothing and has no known cost: say nothing rather than "—".
      if (s.kind === 'llm' && !(status === 'error' && s.costUsd === null)) parts.push(status === 'cached' ? 'cached' : formatCost(s.costUsd));
    }
    parts.push(formatRelativeTime(s.startedAt, this.now()));
    const state = s.state === 'pending' ? 'pending' : s.state;
    const context = (s.kind === 'custom' ? this.ctx.customStep : this.ctx.request) + `.${state}` + (s.session ? '.inSession' : '');
    return {
      label,
      description: parts.join(' · '),
      icon: statusIcon(s),
      contextValue: context,
      collapsible: 'none',
      accessibilityLabel: `${label}, ${status === 'pending' ? 'in progress' : status}, ${parts.join(', ')}`,
      command: { command: this.openRequestCommand, title: 'Open Request', arguments: [s.id] },
    };
  }

  // ---- live updates ----

  private onStoreChange(c: StoreChange): void {
    if (c.type === 'reset') {
      this.shapes.clear();
      this.filtered = null;
      this.limits.clear();
      this.nodes.clear();
      this.schedule(undefined);
      return;
    }
    if (c.type === 'delete') {
      this.filtered = null;
      for (const id of c.ids) this.nodes.delete(`r/${id}`);
      this.shapes.clear();
      this.schedule(undefined);
      return;
    }
    const s = c.summary;
    if (this.filter) {
      // A filtered tree shows only matches: a change to a request that neither matches nor was shown changes nothing.
      if (!this.updateFiltered(s)) return;
      if (s.session) this.shapes.delete(s.session.id);
      this.schedule(undefined);
      return;
    }
    if (!s.session) {
      const node = this.nodes.get(`r/${s.id}`);
      if (c.isNew || !node) this.schedule(undefined);
      else this.schedule(node);
      return;
    }
    this.shapes.delete(s.session.id);
    const sessionNode = this.nodes.get(`s/${s.session.id}`);
    // A session that is already first keeps its place when it gets activity: refresh it alone.
    if (sessionNode && this.firstRootSession === s.session.id) this.schedule(sessionNode);
    else this.schedule(undefined);
  }

  private schedule(node: TreeNode | undefined): void {
    if (node === undefined) this.pendingRoot = true;
    else this.pendingNodes.add(node);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.coalesceMs);
  }

  /** Fires the gathered refreshes now (tests and benchmarks call it instead of waiting). */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.pendingRoot) this.changeEmitter.fire(undefined);
    else if (this.pendingNodes.size) this.changeEmitter.fire([...this.pendingNodes]);
    this.pendingRoot = false;
    this.pendingNodes.clear();
  }

  private refreshNow(nodes: TreeNode[] | undefined): void {
    if (nodes === undefined) this.pendingRoot = true;
    else for (const n of nodes) this.pendingNodes.add(n);
    this.flush();
  }
}

// ---- pure helpers (exported for tests and the hover text) ----

export function isEmptyFilter(f: RequestFilter): boolean {
  return !f.model && !f.provider && !f.userId && !f.status && f.environment === undefined && !f.text && !(f.properties && Object.keys(f.properties).length);
}

/** "model: gpt-4o · status: error · "retry"" for the view's description. */
export function describeFilter(f: RequestFilter, environmentProperty = 'Environment'): string {
  const parts: string[] = [];
  if (f.environment !== undefined) parts.push(`${environmentProperty}: ${f.environment}`);
  for (const [k, v] of Object.entries(f.properties ?? {})) parts.push(`${k}: ${v}`);
  if (f.model) parts.push(`model: ${f.model}`);
  if (f.provider) parts.push(`provider: ${f.provider}`);
  if (f.userId) parts.push(`user: ${f.userId}`);
  if (f.status) parts.push(`status: ${f.status}`);
  if (f.text) parts.push(`"${f.text}"`);
  return parts.join(' · ');
}

export function statusOf(s: RecordSummary): RequestStatusFilter {
  if (s.state === 'pending') return 'pending';
  if (s.state === 'error') return 'error';
  return s.cache?.hit ? 'cached' : 'ok';
}

export function requestLabel(s: RecordSummary): string {
  if (s.kind === 'custom') return s.requestModel ?? s.properties.name ?? s.properties.Name ?? 'custom step';
  return s.responseModel ?? s.requestModel ?? `${s.method} ${s.path.split('?')[0]}`;
}

function errorShort(s: RecordSummary): string {
  switch (s.error?.kind) {
    case 'upstream_timeout': return 'timeout';
    case 'upstream_unreachable': return 'unreachable';
    case 'upstream_reset': return 'reset';
    case 'client_aborted': return 'aborted';
    default: return 'error';
  }
}

export function statusIcon(s: RecordSummary): IconView {
  switch (statusOf(s)) {
    case 'pending': return { id: 'loading~spin' };
    case 'error': return { id: 'error', color: 'testing.iconFailed' };
    case 'cached': return { id: 'database', color: 'charts.blue' };
    default: return s.kind === 'custom' ? { id: 'symbol-event' } : { id: 'pass', color: 'testing.iconPassed' };
  }
}

/** Escapes text from requests (headers, model ids) so a tooltip shows it literally. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~&]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** Inserts into a newest-first list (by start time, then id, as the store orders). */
function insertNewestFirst(list: RecordSummary[], s: RecordSummary): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = list[mid];
    if (m.startedAt > s.startedAt || (m.startedAt === s.startedAt && m.id > s.id)) lo = mid + 1; else hi = mid;
  }
  list.splice(lo, 0, s);
}

function normalizePath(p: string): string {
  const clean = ('/' + p).replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  return clean || '/';
}

/** '/a/b/c' -> ['/a', '/a/b', '/a/b/c']; '/' -> []. */
function ancestors(path: string): string[] {
  if (path === '/') return [];
  const segs = path.split('/').filter(Boolean);
  return segs.map((_, i) => '/' + segs.slice(0, i + 1).join('/'));
}

function emptyLevel(): SessionLevel {
  return { requests: [], children: [], count: 0, costUsd: 0, costUnknown: 0, pending: 0, errors: 0 };
}

/** Groups a session's records (newest first, as the store lists them) into its path hierarchy, in call order. */
export function buildShape(newestFirst: readonly RecordSummary[]): SessionShape {
  const levels = new Map<string, SessionLevel>([['/', emptyLevel()]]);
  for (let i = newestFirst.length - 1; i >= 0; i--) {
    const s = newestFirst[i];
    const path = normalizePath(s.session?.path ?? '/');
    let parent = levels.get('/')!;
    const chain = [parent];
    for (const p of ancestors(path)) {
      let level = levels.get(p);
      if (!level) {
        levels.set(p, (level = emptyLevel()));
        parent.children.push(p);
      }
      chain.push(level);
      parent = level;
    }
    parent.requests.push(s);
    for (const l of chain) {
      l.count++;
      if (s.costUsd === null) { if (s.kind === 'llm' && s.state !== 'pending') l.costUnknown++; } else l.costUsd += s.costUsd;
      if (s.state === 'pending') l.pending++;
      if (s.state === 'error') l.errors++;
    }
  }
  return { levels, total: newestFirst.length };
}

// Tooltips: a bold head line, a rule, then compact lines with hard breaks ("  \n"), so they stay
// short enough to read without scrolling.
const BR = '  \n';
const code = (t: string): string => `\`${t.replace(/`/g, "'")}\``;

function sessionTooltip(s: SessionSummary, now: number): string {
  const counts = `${formatCount(s.requestCount)} requests` + (s.errorCount ? ` · ${s.errorCount} failed` : '') + (s.pendingCount ? ` · ${s.pendingCount} in progress` : '');
  const details = [
    counts,
    `Cost ${formatCost(s.costUsd)}` + (s.costUnknown ? ` (+ ${s.costUnknown} with unknown price)` : '') + ` · tokens ${formatTokens(s.promptTokens)} in / ${formatTokens(s.completionTokens)} out`,
    `Started ${formatDateTime(s.startedAt)} (${formatRelativeTime(s.startedAt, now)}) · lasted ${formatDuration(s.endedAt - s.startedAt)}`,
    `Id: ${code(s.id)}`,
  ];
  return `**${escapeMarkdown(s.name ?? 'Session')}**\n\n---\n\n${details.join(BR)}`;
}

function requestTooltip(s: RecordSummary, now: number): string {
  const model = requestLabel(s);
  const status = s.state === 'pending' ? 'in progress' : s.state === 'error' ? `failed${s.status ? ` (${s.status})` : ''}${s.error ? `: ${s.error.message}` : ''}` : `${s.status ?? 'ok'}${s.cache?.hit ? ' · cache hit' : ''}`;
  const head = `**${escapeMarkdown(model)}** · ${escapeMarkdown(s.provider)} · ${escapeMarkdown(status)}${BR}${code(`${s.method} ${s.path}`)}`;
  const lines: string[] = [];
  const timing = [`Latency ${formatDuration(s.latencyMs)}`];
  if (s.ttftMs !== null) timing.push(`TTFT ${formatDuration(s.ttftMs)}`);
  if (s.streamed) timing.push('streamed');
  lines.push(timing.join(' · '));
  if (s.usage) {
    const u = s.usage;
    let tokens = `Tokens ${formatCount(u.promptTokens)} in`;
    if (u.cacheReadTokens) tokens += ` (${formatCount(u.cacheReadTokens)} cached)`;
    tokens += ` · ${formatCount(u.completionTokens)} out`;
    if (u.reasoningTokens) tokens += ` (${formatCount(u.reasoningTokens)} reasoning)`;
    if (u.estimated) tokens += ' · estimated';
    lines.push(tokens);
  }
  if (s.kind === 'llm') lines.push(`Cost ${s.costUsd === null ? 'unknown (no price for this model)' : formatCost(s.costUsd)}` + (s.cache?.hit && s.cache.savedUsd ? ` · saved ${formatCost(s.cache.savedUsd)}` : ''));
  const props = Object.entries(s.properties);
  if (props.length) lines.push('Properties: ' + props.map(([k, v]) => `${escapeMarkdown(k)} = ${escapeMarkdown(v)}`).join(', '));
  if (s.userId) lines.push(`User: ${escapeMarkdown(s.userId)}`);
  if (s.session) lines.push(`Session: ${escapeMarkdown(s.session.name ?? s.session.id)} ${escapeMarkdown(s.session.path)}`);
  lines.push(`${formatDateTime(s.startedAt)} (${formatRelativeTime(s.startedAt, now)})`, `Id: ${code(s.id)}`);
  return `${head}\n\n---\n\n${lines.join(BR)}`;
}
