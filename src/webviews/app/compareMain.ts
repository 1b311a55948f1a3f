// Browser entry of the compare-environments panel (built to media/dist/compare.js, its CSS with
// uPlot's to media/dist/compare.css). The host computes every number; this draws them and sends
// the user's choices back. State (window, grouping) survives hiding and reloads via setState.
import '@vscode/codicons/dist/codicon.css';
import './compare.css';
import type { CompareView, ComparePanelState, WindowKey } from '../protocol';
import { HostChannel } from './channel';
import type { Notification } from './channel';
import { destroyCharts, fitCharts, renderCost30, renderTimeline } from './compareCharts';
import { renderAlerts, renderBanners, renderCostTotals, renderHeader, renderSources, renderTable } from './compareRender';
import type { CompareActions } from './compareRender';
import { clear, h } from './dom';

const app = document.getElementById('app') as HTMLElement;
const channel = new HostChannel<ComparePanelState>('compare', onNotification);
let current: CompareView | null = null;
let state: ComparePanelState = channel.state ?? { window: '24h', groupBy: '' };

const actions: CompareActions = {
  setWindow: (w) => { state = { ...state, window: w as WindowKey }; choose(); },
  setGroupBy: (g) => { state = { ...state, groupBy: g }; choose(); },
  refresh: () => channel.post({ type: 'compareRefresh' }),
  exportCsv: () => channel.post({ type: 'compareExportCsv' }),
  setKey: (source) => channel.post({ type: 'compareSetKey', source }),
};

function choose(): void {
  channel.state = state;
  channel.post({ type: 'compareSetView', window: state.window, groupBy: state.groupBy });
}

function onNotification(msg: Notification): void {
  if (msg.type !== 'compareView') return;
  current = msg.view;
  // The host may not know a restored grouping any more (the property vanished): keep what it shows.
  state = { window: current.window, groupBy: current.groupBy };
  channel.state = state;
  render();
}

function section(title: string, ...children: Array<Node | null>): HTMLElement {
  return h('section', { class: 'compare-section' }, h('h2', null, title), ...children);
}

function render(): void {
  const view = current;
  if (!view) return;
  const now = Date.now();
  const scroll = document.scrollingElement?.scrollTop ?? 0;
  const focusId = (document.activeElement as HTMLElement | null)?.id;
  destroyCharts();
  clear(app);
  app.appendChild(renderHeader(view, actions, now));
  app.appendChild(renderBanners(view, actions, now));
  const alerts = renderAlerts(view.alerts);
  if (alerts) app.appendChild(alerts);
  const windowLabel = view.windowOptions.find((o) => o.value === view.window)?.label ?? view.window;
  app.appendChild(section(`${windowLabel}${view.groupBy ? `, by ${view.groupByOptions.find((o) => o.value === view.groupBy)?.label ?? view.groupBy}` : ''}`,
    h('div', { class: 'compare-table-wrap' }, renderTable(view, now)),
    view.groupsOmitted > 0 ? h('p', { class: 'lens-muted' }, `${view.groupsOmitted} smaller groups not shown (CSV export has the same groups).`) : null));
  app.appendChild(section(`Over time (${view.timeline.bucketLabel})`, renderTimeline(view)));
  app.appendChild(section('Cost by environment, last 30 days', renderCost30(view), renderCostTotals(view)));
  app.appendChild(section('Sources', renderSources(view, now)));
  fitCharts();
  if (document.scrollingElement) document.scrollingElement.scrollTop = scroll;
  if (focusId) document.getElementById(focusId)?.focus();
}

new ResizeObserver(() => fitCharts()).observe(app);
// A theme switch changes the CSS variables the canvases were drawn with: draw again.
new MutationObserver(() => render()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
// "updated 3m ago" and retry countdowns move on between host updates.
setInterval(() => { if (current && !document.hidden && document.activeElement?.tagName !== 'SELECT') render(); }, 60_000);

channel.ready();
// The host knows the view it restored with; tell it ours in case this page kept a newer choice.
if (channel.state) choose();
