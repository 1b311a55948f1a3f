// The compare panel's charts, drawn with uPlot (bundled from node_modules, no network). Colours
// come from VS Code's theme variables and are re-read when the theme changes; canvases follow
// the panel's width.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { CompareView, MetricFormat, SeriesView } from '../protocol';
import { h } from './dom';
import { formatValue } from './compareRender';

/** Theme chart colours, one per environment in column order (dev first). */
const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

interface Theme { fg: string; grid: string; colors: string[]; font: string }

function theme(): Theme {
  const family = cssVar('--vscode-font-family', 'sans-serif');
  return {
    fg: cssVar('--vscode-descriptionForeground', '#888'),
    grid: cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)'),
    colors: PALETTE.map((p, i) => cssVar(p, FALLBACK[i])),
    font: `11px ${family}`,
  };
}

const live = new Set<{ plot: uPlot; host: HTMLElement }>();

/** Destroys the charts of the previous render (each holds listeners and canvases). */
export function destroyCharts(): void {
  for (const c of live) c.plot.destroy();
  live.clear();
}

function chart(title: string, format: MetricFormat, t: number[], series: SeriesView[], opts: { id: string; hasData: boolean }): HTMLElement {
  const th = theme();
  const host = h('div', { class: 'compare-chart-canvas' });
  const box = h('figure', { class: 'compare-chart', id: opts.id }, h('figcaption', null, title), host);
  if (!opts.hasData) {
    host.appendChild(h('div', { class: 'lens-muted compare-chart-empty' }, 'No requests in this window.'));
    return box;
  }
  const axis = (): uPlot.Axis => ({ stroke: th.fg, font: th.font, grid: { stroke: th.grid, width: 1 }, ticks: { stroke: th.grid, width: 1 } });
  const options: uPlot.Options = {
    width: 600,
    height: 180,
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max === null || max <= 0 ? 1 : max * 1.1] } },
    axes: [axis(), { ...axis(), size: 64, values: (_u, vals) => vals.map((v) => formatValue(format, v)) }],
    cursor: { drag: { x: false, y: false } },
    legend: { show: true, live: true },
    series: [
      { value: (_u, v) => (v === null ? '' : new Date(v * 1000).toLocaleString()) },
      ...series.map((s, i) => ({
        label: s.environment,
        stroke: th.colors[i % th.colors.length],
        width: 2,
        points: { show: true, size: 5 },
        spanGaps: false,
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : formatValue(format, v)),
      })),
    ],
  };
  const data: uPlot.AlignedData = [t.map((x) => x / 1000), ...series.map((s) => s.values.map((v) => v))];
  const plot = new uPlot(options, data, host);
  live.add({ plot, host });
  return box;
}

export function renderTimeline(view: CompareView): HTMLElement {
  const grid = h('div', { class: 'compare-charts' });
  for (const c of view.timeline.charts) grid.appendChild(chart(c.title, c.format, view.timeline.t, c.series, { id: `compare-chart-${c.id}`, hasData: c.series.some((s) => s.values.some((v) => v !== null)) }));
  return grid;
}

export function renderCost30(view: CompareView): HTMLElement {
  return chart('Cost per day by environment, last 30 days', 'usd', view.cost30d.t, view.cost30d.series, { id: 'compare-chart-cost30', hasData: view.cost30d.totals.some((x) => x.requests > 0) });
}

/** Fits every chart to its box; called after insertion and on resize. */
export function fitCharts(): void {
  for (const c of live) {
    const width = Math.max(240, Math.floor(c.host.clientWidth || 600));
    if (Math.abs(c.plot.width - width) > 1) c.plot.setSize({ width, height: 180 });
  }
}

