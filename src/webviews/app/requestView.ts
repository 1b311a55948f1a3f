// The request panel's DOM: header, actions, and the Conversation / Raw / Tokens & cost / Details tabs.
import type { RecordBodies, RecordSummary, StoredBody } from '../../core/types';
import type { RecordPayload } from '../protocol';
import { normalizeConversation } from './conversation';
import { append, button, h, icon, linkButton } from './dom';
import { formatBytes, formatInt, formatMs, formatPerM, formatTimestamp, formatUsd } from './format';
import { jsonView, streamEventList } from './jsonView';
import { conversationView } from './messageView';
import { modelOf, statusText } from './summaryText';
import { createTabs } from './tabs';

export interface RequestViewActions {
  copy(what: 'requestBody' | 'responseBody' | 'requestId'): void;
  copyText(text: string): void;
  copyCurl(): void;
  replay(): void;
  openSession(sessionId: string): void;
  selectTab(tab: string): void;
}

function statusBadge(s: RecordSummary): HTMLElement {
  const cls = s.state === 'pending' ? 'is-pending' : s.state === 'error' ? 'is-error' : s.cache?.hit ? 'is-cached' : 'is-ok';
  const ic = s.state === 'pending' ? icon('loading', 'codicon-modifier-spin') : icon(s.state === 'error' ? 'error' : s.cache?.hit ? 'database' : 'pass');
  return h('span', { class: `lens-status ${cls}`, 'data-testid': 'status' }, ic, h('span', null, statusText(s)));
}

function fact(label: string, value: Node | string, title?: string, wide = false): HTMLElement {
  return h('div', { class: `lens-fact${wide ? ' is-wide' : ''}`, title: title ?? null }, h('dt', null, label), h('dd', null, value));
}

function header(p: RecordPayload, actions: RequestViewActions): HTMLElement {
  const s = p.summary;
  const latency = s.state === 'pending' ? h('span', { class: 'lens-elapsed', 'data-started': String(s.startedAt) }, formatMs(Date.now() - s.startedAt)) : formatMs(s.latencyMs);
  const tokens = s.usage ? `${formatInt(s.usage.promptTokens)} in · ${formatInt(s.usage.completionTokens)} out${s.usage.estimated ? ' (est.)' : ''}` : '—';
  const facts = h('dl', { class: 'lens-facts' },
    fact('Provider', s.provider),
    fact('Latency', latency),
    fact('TTFT', formatMs(s.ttftMs), 'Time to the first content token (streams) or first body byte'),
    fact('Streamed', s.streamed ? 'yes' : 'no'),
    fact('Cache', s.cache ? (s.cache.hit ? 'hit' : s.cache.enabled ? 'miss' : 'off') : 'off'),
    fact('Cost', s.costUsd === null ? (s.state === 'pending' ? '—' : 'unknown') : formatUsd(s.costUsd)),
    fact('Tokens', tokens),
    fact('Time', formatTimestamp(s.startedAt), undefined, true));
  const hasRequestBody = p.bodies !== null && p.bodies.request.kind !== 'omitted' && p.bodies.request.kind !== 'empty';
  const hasResponseBody = p.bodies !== null && (p.bodies.response.kind === 'json' || p.bodies.response.kind === 'text' || p.bodies.reassembled !== null);
  const bar = h('div', { class: 'lens-actions', role: 'toolbar', 'aria-label': 'Request actions' });
  const copyReq = button('Copy request body', () => actions.copy('requestBody'), { icon: 'copy' });
  copyReq.disabled = !hasRequestBody;
  const copyRes = button('Copy response', () => actions.copy('responseBody'), { icon: 'copy' });
  copyRes.disabled = !hasResponseBody;
  const curl = button('Copy as cURL', () => actions.copyCurl(), { icon: 'terminal', title: 'cURL through the proxy; the API key stays a placeholder' });
  curl.disabled = p.bodies === null;
  const replay = button('Replay…', () => actions.replay(), { icon: 'debug-rerun', kind: 'primary', title: 'Edit the body and resend it through the proxy' });
  replay.disabled = s.kind !== 'llm' || !hasRequestBody || p.bodies?.request.kind !== 'json';
  append(bar, copyReq, copyRes, curl, replay);
  if (s.session) append(bar, linkButton(`Session: ${s.session.name ?? s.session.id}`, () => actions.openSession(s.session!.id), 'Open the session panel'));

  const banners = h('div', { class: 'lens-banners' });
  if (s.error) banners.appendChild(h('div', { class: 'lens-banner lens-banner-error', role: 'alert' }, icon('error'), h('span', null, `${s.error.kind}: ${s.error.message}`)));
  for (const w of s.warnings) banners.appendChild(h('div', { class: 'lens-banner lens-banner-warning' }, icon('warning'), h('span', null, w)));
  if (p.bodiesError) banners.appendChild(h('div', { class: 'lens-banner lens-banner-warning' }, icon('warning'), h('span', null, p.bodiesError)));

  return h('header', { class: 'lens-header' },
    h('div', { class: 'lens-title' },
      h('h1', null, modelOf(s)),
      statusBadge(s),
      h('span', { class: 'lens-muted lens-mono' }, `${s.method} ${s.path}`)),
    facts, bar, banners);
}

// ---------------------------------------------------------------------------------------------

function bodyJson(b: StoredBody | undefined): unknown {
  return b && b.kind === 'json' ? b.json : undefined;
}

function conversationTab(p: RecordPayload, actions: RequestViewActions): Node {
  const s = p.summary;
  if (s.kind === 'custom') return h('p', { class: 'lens-muted' }, 'A custom-log step: no conversation. See Raw for what was logged.');
  if (!p.bodies) {
    return h('p', { class: 'lens-empty' }, s.state === 'pending'
      ? 'The request is in flight: the conversation appears when the response completes.'
      : 'The bodies of this request could not be read.');
  }
  const b = p.bodies;
  const conv = normalizeConversation({ path: s.path, provider: s.provider, request: bodyJson(b.request), response: b.reassembled ?? bodyJson(b.response) });
  const root = h('div', null);
  if (b.request.kind === 'omitted' || b.response.kind === 'omitted') {
    root.appendChild(h('div', { class: 'lens-banner' }, icon('eye-closed'), h('span', null, `Not logged (Helicone-Omit): ${[b.request.kind === 'omitted' ? 'request' : '', b.response.kind === 'omitted' ? 'response' : ''].filter(Boolean).join(' and ')} body.`)));
  }
  if (b.request.truncated || b.response.truncated) {
    root.appendChild(h('div', { class: 'lens-banner lens-banner-warning' }, icon('warning'), h('span', null, 'A body was larger than the store\'s cap and was stored cut: the conversation may be incomplete.')));
  }
  if (s.streamed && !b.reassembled && s.state !== 'pending') {
    root.appendChild(h('div', { class: 'lens-banner' }, icon('info'), h('span', null, 'The stream could not be reassembled into a response: see Raw → stream events.')));
  }
  if (conv.shape === 'unknown' || (conv.messages.length === 0 && !conv.error)) {
    root.appendChild(h('p', { class: 'lens-muted' }, `No conversation recognised for ${s.method} ${s.path}: see Raw.`));
    if (b.response.kind === 'text' && b.response.text) root.appendChild(h('pre', { class: 'lens-code' }, b.response.text));
    if (conv.notes.length) root.appendChild(conversationView(conv, { copyText: actions.copyText }));
    return root;
  }
  root.appendChild(conversationView(conv, { copyText: actions.copyText }));
  // A non-JSON error page (a gateway's HTML, a plain-text 502) is worth seeing as text.
  if (!conv.error && s.state === 'error' && b.response.kind === 'text' && b.response.text) {
    root.appendChild(h('section', null, h('h3', null, 'Response text'), h('pre', { class: 'lens-code' }, b.response.text)));
  }
  return root;
}

function storedBodyView(label: string, b: StoredBody): HTMLElement {
  const meta = h('span', { class: 'lens-muted' }, `${formatBytes(b.size)}${b.truncated ? ' · stored cut at the body cap' : ''}`);
  const head = h('h3', null, label, ' ', meta);
  switch (b.kind) {
    case 'json': return h('section', { class: 'raw-section' }, head, jsonView(b.json, { label: label.toLowerCase() }).element);
    case 'text': return h('section', { class: 'raw-section' }, head, h('pre', { class: 'lens-code raw-text' }, b.text ?? ''));
    case 'base64': return h('section', { class: 'raw-section' }, head, h('p', { class: 'lens-muted' }, 'Binary body (not UTF-8), stored as base64.'), h('pre', { class: 'lens-code raw-text' }, (b.text ?? '').slice(0, 4096)));
    case 'omitted': return h('section', { class: 'raw-section' }, head, h('p', { class: 'lens-muted' }, 'Not logged (Helicone-Omit).'));
    case 'empty': return h('section', { class: 'raw-section' }, head, h('p', { class: 'lens-muted' }, 'Empty.'));
  }
}

function rawTab(p: RecordPayload): Node {
  if (!p.bodies) return h('p', { class: 'lens-empty' }, p.summary.state === 'pending' ? 'Bodies are stored when the response completes.' : 'No bodies.');
  const b: RecordBodies = p.bodies;
  const root = h('div', { class: 'raw' }, storedBodyView('Request body', b.request));
  if (b.reassembled !== null && b.reassembled !== undefined) {
    root.appendChild(h('section', { class: 'raw-section' }, h('h3', null, 'Response (reassembled from the stream)'), jsonView(b.reassembled, { label: 'response' }).element));
  }
  if (b.streamEvents && b.streamEvents.length) {
    root.appendChild(h('section', { class: 'raw-section' }, h('h3', null, `Stream events `, h('span', { class: 'lens-muted' }, `${b.streamEvents.length}`)), streamEventList(b.streamEvents)));
  }
  const res = storedBodyView(b.streamEvents ? 'Response body (as received)' : 'Response body', b.response);
  if (b.streamEvents && b.response.kind === 'text') {
    root.appendChild(h('details', { class: 'raw-section' }, h('summary', null, 'Response body as received'), res));
  } else {
    root.appendChild(res);
  }
  return root;
}

function tokensTab(s: RecordSummary): Node {
  const u = s.usage;
  if (!u) {
    return h('p', { class: 'lens-empty' }, s.state === 'pending' ? 'Usage is known when the response completes.' : 'No token usage: the response carried none and nothing could be counted.');
  }
  const c = s.cost;
  const pr = s.price;
  const uncached = Math.max(0, u.promptTokens - u.cacheReadTokens - u.cacheWriteTokens);
  const row = (label: string, tokens: number, perM: number | null | undefined, usd: number | null | undefined, sub = false): HTMLElement =>
    h('tr', { class: sub ? 'is-sub' : null }, h('th', { scope: 'row' }, label), h('td', { class: 'num' }, formatInt(tokens)), h('td', { class: 'num' }, formatPerM(perM)), h('td', { class: 'num' }, formatUsd(usd)));
  const table = h('table', { class: 'lens-table tokens-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, ''), h('th', { scope: 'col', class: 'num' }, 'Tokens'), h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col', class: 'num' }, 'Cost'))),
    h('tbody', null,
      row('Input', uncached, pr?.inputPerM, c?.inputUsd),
      row('Cached input', u.cacheReadTokens, pr?.cachedInputPerM, c?.cachedInputUsd),
      row('Cache write', u.cacheWriteTokens, pr?.cacheWritePerM, c?.cacheWriteUsd),
      row('Output', u.completionTokens, pr?.outputPerM, c?.outputUsd),
      row('of which reasoning', u.reasoningTokens, null, null, true)),
    h('tfoot', null, h('tr', null, h('th', { scope: 'row' }, 'Total'), h('td', { class: 'num' }, formatInt(u.totalTokens)), h('td', null, ''), h('td', { class: 'num' }, s.costUsd === null ? 'unknown' : formatUsd(s.costUsd)))));
  const root = h('div', { class: 'tokens' });
  if (u.estimated) root.appendChild(h('div', { class: 'lens-banner lens-banner-warning' }, icon('warning'), h('span', null, 'Estimated: the provider reported no usage, so LLM Lens counted the tokens itself (gpt-tokenizer).')));
  root.appendChild(table);
  const src = pr ? `${pr.source}${pr.matchedModel ? ` · matched model ${pr.matchedModel}` : ''}` : 'no price known for this model: cost unknown';
  root.appendChild(h('p', { class: 'lens-muted' }, 'Prices per 1M tokens from ', h('span', { class: 'lens-mono' }, src)));
  if (s.cache?.hit) root.appendChild(h('p', null, icon('database'), ` Served from the LLM Lens cache${s.cache.savedUsd !== null ? `: saved ${formatUsd(s.cache.savedUsd)}` : ''}.`));
  return root;
}

function kvTable(caption: string, entries: Array<[string, Node | string]>, empty: string): HTMLElement {
  if (!entries.length) return h('section', { class: 'kv' }, h('h3', null, caption), h('p', { class: 'lens-muted' }, empty));
  return h('section', { class: 'kv' }, h('h3', null, caption),
    h('table', { class: 'lens-table kv-table' }, h('tbody', null, ...entries.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v))))));
}

function detailsTab(s: RecordSummary, actions: RequestViewActions): Node {
  const idCell = h('span', { class: 'lens-mono' }, s.id, ' ', button('Copy', () => actions.copy('requestId'), { icon: 'copy', kind: 'icon', title: 'Copy request id' }));
  const general: Array<[string, Node | string]> = [
    ['Request id', idCell],
    ['Kind', s.kind === 'llm' ? 'LLM request' : 'custom-log step'],
    ['Target', h('span', { class: 'lens-mono' }, `${s.method} ${s.targetUrl}`)],
    ['Model', s.requestModel === s.responseModel || !s.responseModel ? (s.requestModel ?? '—') : `${s.requestModel ?? '—'} → ${s.responseModel}`],
    ['Started', formatTimestamp(s.startedAt)],
    ['First byte', s.firstByteAt === null ? '—' : `${formatTimestamp(s.firstByteAt)} (+${formatMs(s.firstByteAt - s.startedAt)})`],
    ['Ended', s.endedAt === null ? '—' : formatTimestamp(s.endedAt)],
    ['Sizes', `request ${formatBytes(s.requestBytes)} · response ${formatBytes(s.responseBytes)}`],
    ['User', s.userId ?? '—'],
  ];
  if (s.session) {
    general.push(['Session', h('span', null, linkButton(s.session.name ?? s.session.id, () => actions.openSession(s.session!.id), 'Open the session panel'), h('span', { class: 'lens-muted lens-mono' }, ` ${s.session.path}`))]);
  }
  if (s.cache) general.push(['Cache', `${s.cache.enabled ? 'enabled' : 'off'}${s.cache.hit ? ' · hit' : ''}${s.cache.seed ? ` · seed ${s.cache.seed}` : ''} · bucket ${s.cache.bucketMaxSize}`]);
  const props = Object.entries(s.properties).map(([k, v]): [string, string] => [k, v]);
  const headers = (hs: Record<string, string>): Array<[string, Node | string]> =>
    Object.entries(hs).map(([k, v]) => [k, h('span', { class: `lens-mono${v.includes('[REDACTED]') ? ' is-redacted' : ''}` }, v)]);
  return h('div', { class: 'details' },
    kvTable('Request', general, ''),
    kvTable('Properties', props, 'No Helicone-Property-* headers.'),
    kvTable('Request headers', headers(s.requestHeaders), 'None recorded.'),
    kvTable('Response headers', headers(s.responseHeaders), 'None recorded.'),
    s.warnings.length ? h('section', null, h('h3', null, 'Warnings'), h('ul', null, ...s.warnings.map((w) => h('li', null, w)))) : null);
}

export function renderRequest(p: RecordPayload, tab: string | undefined, actions: RequestViewActions): HTMLElement {
  const tabs = createTabs([
    { id: 'conversation', label: 'Conversation', render: () => conversationTab(p, actions) },
    { id: 'raw', label: 'Raw', render: () => rawTab(p) },
    { id: 'tokens', label: 'Tokens & cost', render: () => tokensTab(p.summary) },
    { id: 'details', label: 'Details', render: () => detailsTab(p.summary, actions) },
  ], tab, actions.selectTab);
  return h('div', { class: 'lens-request' }, header(p, actions), tabs.element);
}
