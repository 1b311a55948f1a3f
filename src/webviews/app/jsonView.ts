// A collapsible, searchable JSON tree. Children render when their <details> first opens, so a
// 2 MB body costs a few nodes until someone digs in. The search is pure (findJsonMatches) and the
// tree re-renders with the matches' ancestors open and the matched text marked.
import { append, button, clear, h } from './dom';

/** A JSON-pointer-like path: keys and indexes from the root. */
export type JsonPath = Array<string | number>;

export const pathKey = (p: JsonPath): string => p.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * Paths whose key or primitive value contains `query` (case-insensitive), depth-first in document
 * order, at most `limit`. Keys match too because people search for "tool_calls" as often as for text.
 */
export function findJsonMatches(value: unknown, query: string, limit = 1000): { paths: JsonPath[]; capped: boolean } {
  const q = query.toLowerCase();
  const paths: JsonPath[] = [];
  if (!q) return { paths, capped: false };
  let capped = false;
  const walk = (v: unknown, path: JsonPath, key: string | null): void => {
    if (capped) return;
    const keyHit = key !== null && key.toLowerCase().includes(q);
    if (v !== null && typeof v === 'object') {
      if (keyHit) push(path);
      const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v as Record<string, unknown>);
      for (const [k, child] of entries) walk(child, [...path, k], typeof k === 'string' ? k : null);
    } else if (keyHit || String(v).toLowerCase().includes(q)) {
      push(path);
    }
  };
  const push = (p: JsonPath): void => {
    if (paths.length >= limit) { capped = true; return; }
    paths.push(p);
  };
  walk(value, [], null);
  return { paths, capped };
}

const STRING_PREVIEW = 2000;
const CHILDREN_PAGE = 200;

interface RenderCtx {
  query: string;
  /** pathKey of every node that must start open (ancestors of matches). */
  open: Set<string>;
  matches: Set<string>;
  defaultOpenDepth: number;
}

/** Splits text on the query and wraps the hits in <mark>, as text nodes only. */
export function highlighted(text: string, query: string): Node {
  const frag = document.createDocumentFragment();
  if (!query) { frag.appendChild(document.createTextNode(text)); return frag; }
  const lower = text.toLowerCase();
  const q = query.toLowerCase();
  let i = 0;
  for (;;) {
    const j = lower.indexOf(q, i);
    if (j < 0) break;
    if (j > i) frag.appendChild(document.createTextNode(text.slice(i, j)));
    frag.appendChild(h('mark', null, text.slice(j, j + q.length)));
    i = j + q.length;
  }
  if (i < text.length) frag.appendChild(document.createTextNode(text.slice(i)));
  return frag;
}

function keyLabel(key: string | number | null, ctx: RenderCtx): Node | null {
  if (key === null) return null;
  return h('span', { class: typeof key === 'number' ? 'json-index' : 'json-key' }, highlighted(typeof key === 'number' ? String(key) : JSON.stringify(key), ctx.query), ': ');
}

function primitive(v: unknown, ctx: RenderCtx): Node {
  if (typeof v === 'string') {
    const full = JSON.stringify(v);
    const span = h('span', { class: 'json-string' });
    if (full.length <= STRING_PREVIEW || (ctx.query && v.toLowerCase().includes(ctx.query.toLowerCase()))) {
      span.appendChild(highlighted(full, ctx.query));
      return span;
    }
    span.appendChild(document.createTextNode(full.slice(0, STRING_PREVIEW) + '…'));
    const more = button(`show all ${full.length.toLocaleString('en-US')} chars`, () => {
      clear(span);
      span.appendChild(document.createTextNode(full));
    }, { kind: 'secondary' });
    more.classList.add('lens-inline-btn');
    return h('span', null, span, ' ', more);
  }
  const cls = v === null ? 'json-null' : typeof v === 'number' ? 'json-number' : typeof v === 'boolean' ? 'json-boolean' : 'json-other';
  return h('span', { class: cls }, highlighted(v === undefined ? 'undefined' : String(v), ctx.query));
}

function node(key: string | number | null, v: unknown, path: JsonPath, depth: number, ctx: RenderCtx): HTMLElement {
  const pk = pathKey(path);
  const isMatch = ctx.matches.has(pk);
  if (v === null || typeof v !== 'object') {
    return h('div', { class: `json-row${isMatch ? ' json-match' : ''}`, 'data-path': pk }, keyLabel(key, ctx), primitive(v, ctx));
  }
  const isArr = Array.isArray(v);
  const entries: Array<[string | number, unknown]> = isArr ? (v as unknown[]).map((x, i) => [i, x]) : Object.entries(v as Record<string, unknown>);
  const summaryText = isArr ? `[ ${entries.length} item${entries.length === 1 ? '' : 's'} ]` : `{ ${entries.length} key${entries.length === 1 ? '' : 's'} }`;
  if (entries.length === 0) {
    return h('div', { class: `json-row${isMatch ? ' json-match' : ''}`, 'data-path': pk }, keyLabel(key, ctx), h('span', { class: 'json-punct' }, isArr ? '[]' : '{}'));
  }
  const details = h('details', { class: `json-node${isMatch ? ' json-match' : ''}`, 'data-path': pk });
  const body = h('div', { class: 'json-children' });
  details.appendChild(h('summary', null, keyLabel(key, ctx), h('span', { class: 'json-punct' }, summaryText)));
  details.appendChild(body);
  let shown = 0;
  const renderMore = (): void => {
    const end = Math.min(entries.length, shown + CHILDREN_PAGE);
    for (; shown < end; shown++) {
      const [k, child] = entries[shown]!;
      body.appendChild(node(k, child, [...path, k], depth + 1, ctx));
    }
    if (shown < entries.length) {
      const rest = entries.length - shown;
      const more = button(`show ${Math.min(rest, CHILDREN_PAGE)} more of ${rest}`, () => { more.remove(); renderMore(); }, { kind: 'secondary' });
      more.classList.add('lens-inline-btn');
      body.appendChild(more);
    }
  };
  let rendered = false;
  const ensure = (): void => { if (!rendered) { rendered = true; renderMore(); } };
  details.addEventListener('toggle', () => { if (details.open) ensure(); });
  if (depth < ctx.defaultOpenDepth || ctx.open.has(pk)) {
    ensure();
    details.open = true;
  }
  return details;
}

export interface JsonView {
  element: HTMLElement;
}

/** A JSON tree with its own search box. */
export function jsonView(value: unknown, opts: { label: string; openDepth?: number }): JsonView {
  const treeHost = h('div', { class: 'json-tree' });
  const status = h('span', { class: 'lens-muted json-search-status', 'aria-live': 'polite' });
  const input = h('input', { type: 'search', class: 'lens-input', placeholder: `Search ${opts.label}`, 'aria-label': `Search ${opts.label}`, spellcheck: 'false' });
  const render = (query: string): void => {
    clear(treeHost);
    const { paths, capped } = findJsonMatches(value, query);
    const open = new Set<string>();
    for (const p of paths) for (let i = 0; i < p.length; i++) open.add(pathKey(p.slice(0, i)));
    const ctx: RenderCtx = { query, open, matches: new Set(paths.map(pathKey)), defaultOpenDepth: query ? 0 : opts.openDepth ?? 3 };
    treeHost.appendChild(node(null, value, [], 0, ctx));
    status.textContent = query ? `${paths.length}${capped ? '+' : ''} match${paths.length === 1 ? '' : 'es'}` : '';
    if (query && paths.length) treeHost.querySelector('.json-match')?.scrollIntoView({ block: 'nearest' });
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => render(input.value.trim()), 150);
  });
  render('');
  const el = h('section', { class: 'json-view' }, h('div', { class: 'json-toolbar' }, input, status), treeHost);
  return { element: el };
}

/** Server-sent events as a list: time offset, event name, data (pretty JSON on expand). */
export function streamEventList(events: Array<{ t: number; event: string | null; data: string }>): HTMLElement {
  const list = h('ol', { class: 'sse-list', 'aria-label': `${events.length} stream events` });
  let shown = 0;
  const PAGE = 300;
  const more = h('div');
  const renderMore = (): void => {
    const end = Math.min(events.length, shown + PAGE);
    for (; shown < end; shown++) {
      const ev = events[shown]!;
      const d = h('details', { class: 'sse-event' });
      const preview = ev.data.length > 160 ? `${ev.data.slice(0, 160)}…` : ev.data;
      d.appendChild(h('summary', null,
        h('span', { class: 'sse-t' }, `+${Math.round(ev.t)} ms`),
        h('span', { class: 'sse-name' }, ev.event ?? 'message'),
        h('code', { class: 'sse-preview' }, preview)));
      d.addEventListener('toggle', () => {
        if (!d.open || d.childElementCount > 1) return;
        let pretty = ev.data;
        try { pretty = JSON.stringify(JSON.parse(ev.data), null, 2); } catch { /* not JSON ([DONE], text): shown as sent */ }
        d.appendChild(h('pre', { class: 'lens-code' }, pretty));
      });
      list.appendChild(h('li', null, d));
    }
    clear(more);
    if (shown < events.length) append(more, button(`show ${Math.min(PAGE, events.length - shown)} more of ${events.length - shown} events`, renderMore));
  };
  renderMore();
  return h('div', null, list, more);
}
