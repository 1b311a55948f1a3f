// Browser entry of the request panel (built to media/dist/request.js).
import '@vscode/codicons/dist/codicon.css';
import type { RecordPayload, RequestPanelState } from '../protocol';
import { HostChannel } from './channel';
import type { Notification } from './channel';
import { button, clear, h, icon } from './dom';
import { formatMs } from './format';
import { renderRequest } from './requestView';
import { modelOf } from './summaryText';

const app = document.getElementById('app') as HTMLElement;
const content = h('div', { class: 'lens-content' });
const replayHost = h('div', { class: 'lens-replay-host' });

let current: RecordPayload | null = null;
let replayOpen = false;

const channel = new HostChannel<RequestPanelState>('request', onNotification);
let tab = channel.state?.tab;

function saveState(): void {
  if (current) channel.state = { recordId: current.summary.id, tab };
}

function onNotification(msg: Notification): void {
  switch (msg.type) {
    case 'record':
      current = msg.payload;
      saveState();
      render();
      break;
    case 'missing':
      current = null;
      clear(content);
      content.appendChild(h('div', { class: 'lens-empty', role: 'status' }, icon('trash'), h('span', null, ` Request ${msg.id} is no longer in the log (deleted or cleared).`)));
      break;
    case 'showReplay':
      openReplay();
      break;
    case 'session':
      break;
  }
}

function render(): void {
  if (!current) return;
  const p = current;
  // Keep the reader's place across live updates (a pending request completing re-renders).
  const scroll = document.scrollingElement?.scrollTop ?? 0;
  clear(content);
  content.appendChild(renderRequest(p, tab, {
    copy: (what) => channel.post({ type: 'copy', what }),
    copyText: (text) => channel.post({ type: 'copy', what: 'text', text }),
    copyCurl: () => channel.post({ type: 'copyCurl' }),
    replay: () => openReplay(),
    openSession: (sessionId) => channel.post({ type: 'openSession', sessionId }),
    selectTab: (id) => { tab = id; saveState(); },
  }));
  if (document.scrollingElement) document.scrollingElement.scrollTop = scroll;
  if (replayOpen && !replayHost.firstChild) openReplay();
}

/** The replay editor: the request body as editable JSON, sent back through the proxy by the host. */
function openReplay(): void {
  if (!current || !current.bodies || current.bodies.request.kind !== 'json') {
    replayOpen = false;
    clear(replayHost);
    replayHost.appendChild(h('div', { class: 'lens-banner lens-banner-warning', role: 'alert' }, icon('warning'),
      h('span', null, current?.summary.state === 'pending' ? 'Replay is available once the request completes.' : 'Only requests with a JSON body can be replayed.')));
    return;
  }
  if (replayOpen && replayHost.firstChild) {
    replayHost.querySelector('textarea')?.focus();
    return;
  }
  replayOpen = true;
  const original = JSON.stringify(current.bodies.request.json, null, 2);
  const source = current.summary;
  const area = h('textarea', { class: 'lens-textarea lens-mono', spellcheck: 'false', rows: 18, 'aria-label': 'Request body to replay (JSON)' });
  // .value, not markup: a body holding "</textarea>" stays text.
  area.value = original;
  const status = h('div', { class: 'replay-status', role: 'status', 'aria-live': 'polite' });
  const send = button('Send through proxy', () => void doSend(), { icon: 'send', kind: 'primary' });
  const reset = button('Reset', () => { area.value = original; status.textContent = ''; }, { icon: 'discard' });
  const close = button('Close', () => { replayOpen = false; clear(replayHost); }, { icon: 'close' });
  const doSend = async (): Promise<void> => {
    try {
      JSON.parse(area.value);
    } catch (e) {
      status.className = 'replay-status is-error';
      status.textContent = `Not valid JSON: ${(e as Error).message}`;
      return;
    }
    send.disabled = true;
    status.className = 'replay-status';
    status.textContent = 'Sending…';
    const t0 = Date.now();
    try {
      const r = await channel.request('replay', { body: area.value });
      status.textContent = `Sent: HTTP ${r.status} in ${formatMs(Date.now() - t0)}; opened the new request.`;
    } catch (e) {
      status.className = 'replay-status is-error';
      status.textContent = `Replay failed: ${(e as Error).message}`;
    } finally {
      send.disabled = false;
    }
  };
  area.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 'Enter') { ev.preventDefault(); void doSend(); }
  });
  clear(replayHost);
  replayHost.appendChild(h('section', { class: 'lens-replay', 'aria-label': 'Replay request' },
    h('h2', null, icon('debug-rerun'), ` Replay ${modelOf(source)} request`),
    h('p', { class: 'lens-muted' }, `Edit the JSON body and send it again through the LLM Lens proxy to ${source.method} ${source.path}, with the original headers (the API key is supplied by the extension, never stored in the log). Ctrl+Enter sends.`),
    area,
    h('div', { class: 'lens-actions' }, send, reset, close),
    status));
  area.focus();
}

// Live elapsed time while a request is pending, without re-rendering the panel.
setInterval(() => {
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('.lens-elapsed'))) {
    const started = Number(el.dataset.started);
    if (Number.isFinite(started)) el.textContent = formatMs(Date.now() - started);
  }
}, 250);

clear(app);
app.appendChild(replayHost);
app.appendChild(content);
channel.ready();
