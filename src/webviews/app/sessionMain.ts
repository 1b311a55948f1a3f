// Browser entry of the session panel (built to media/dist/session.js).
import '@vscode/codicons/dist/codicon.css';
import type { SessionPanelState, SessionPayload } from '../protocol';
import { HostChannel } from './channel';
import type { Notification } from './channel';
import { clear, h, icon } from './dom';
import { renderSession } from './sessionView';

const app = document.getElementById('app') as HTMLElement;
let current: SessionPayload | null = null;
const channel = new HostChannel<SessionPanelState & { filter?: string }>('session', onNotification);
let filter = channel.state?.filter ?? '/';

function onNotification(msg: Notification): void {
  if (msg.type === 'session') {
    current = msg.payload;
    channel.state = { sessionId: current.sessionId, filter };
    render();
  } else if (msg.type === 'missing') {
    current = null;
    clear(app);
    app.appendChild(h('div', { class: 'lens-empty', role: 'status' }, icon('trash'), h('span', null, ` Session ${msg.id} has no records in the log (deleted or cleared).`)));
  }
}

function render(): void {
  if (!current) return;
  const scroll = document.scrollingElement?.scrollTop ?? 0;
  const focused = (document.activeElement as HTMLElement | null)?.dataset;
  const focusedId = focused?.id;
  const focusedPath = focused?.path;
  clear(app);
  app.appendChild(renderSession(current, filter, Date.now(), {
    openRequest: (id) => channel.post({ type: 'openRequest', id }),
    setFilter: (path) => {
      filter = path;
      if (current) channel.state = { sessionId: current.sessionId, filter };
      render();
    },
  }));
  if (document.scrollingElement) document.scrollingElement.scrollTop = scroll;
  // Live updates rebuild the rows: keep keyboard focus on the same request.
  if (focusedId) app.querySelector<HTMLElement>(`.wf-row[data-id="${CSS.escape(focusedId)}"]`)?.focus();
  else if (focusedPath) app.querySelector<HTMLElement>(`.tree-btn[data-path="${CSS.escape(focusedPath)}"]`)?.focus();
}

// Pending bars grow with time; re-layout while any is pending.
setInterval(() => {
  if (current?.records.some((r) => r.state === 'pending')) render();
}, 500);

channel.ready();
