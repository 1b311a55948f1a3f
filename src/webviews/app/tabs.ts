// WAI-ARIA tabs: one tab stop for the tab list, arrow keys / Home / End move between tabs.
import { h } from './dom';

export interface TabSpec {
  id: string;
  label: string;
  render: () => Node;
}

export interface Tabs {
  element: HTMLElement;
  select(id: string, focus?: boolean): void;
  readonly selected: string;
}

export function createTabs(specs: TabSpec[], initial: string | undefined, onSelect: (id: string) => void): Tabs {
  const list = h('div', { class: 'lens-tablist', role: 'tablist', 'aria-label': 'Views' });
  const panels = h('div', { class: 'lens-tabpanels' });
  const buttons = new Map<string, HTMLButtonElement>();
  const panelEls = new Map<string, HTMLElement>();
  let selected = specs.some((s) => s.id === initial) ? (initial as string) : specs[0]?.id ?? '';

  for (const spec of specs) {
    const tab = h('button', {
      type: 'button', role: 'tab', id: `tab-${spec.id}`, class: 'lens-tab', 'aria-controls': `panel-${spec.id}`,
    }, spec.label);
    tab.addEventListener('click', () => select(spec.id, false));
    tab.addEventListener('keydown', (ev) => {
      const i = specs.findIndex((s) => s.id === spec.id);
      let next = -1;
      if (ev.key === 'ArrowRight') next = (i + 1) % specs.length;
      else if (ev.key === 'ArrowLeft') next = (i - 1 + specs.length) % specs.length;
      else if (ev.key === 'Home') next = 0;
      else if (ev.key === 'End') next = specs.length - 1;
      if (next >= 0) { ev.preventDefault(); select(specs[next]!.id, true); }
    });
    buttons.set(spec.id, tab);
    list.appendChild(tab);
    const panel = h('div', { role: 'tabpanel', id: `panel-${spec.id}`, class: 'lens-tabpanel', 'aria-labelledby': `tab-${spec.id}`, tabindex: 0 });
    panelEls.set(spec.id, panel);
    panels.appendChild(panel);
  }

  const rendered = new Set<string>();
  function select(id: string, focus = false): void {
    if (!buttons.has(id)) return;
    selected = id;
    for (const spec of specs) {
      const on = spec.id === id;
      const b = buttons.get(spec.id)!;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      const p = panelEls.get(spec.id)!;
      p.hidden = !on;
      // Tabs render on first view: the Raw tab of a 2 MB body costs nothing until it is opened.
      if (on && !rendered.has(spec.id)) { rendered.add(spec.id); p.appendChild(spec.render()); }
    }
    if (focus) buttons.get(id)!.focus();
    onSelect(id);
  }
  select(selected);

  return { element: h('div', { class: 'lens-tabs' }, list, panels), select, get selected() { return selected; } };
}
