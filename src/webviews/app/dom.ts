// The only way the panels build DOM. Text goes in through textContent, never innerHTML, and the
// attribute setter refuses anything that can execute or load (on*, href, src, style, srcdoc,
// action, formaction...), so untrusted strings cannot become markup whatever a caller passes.

export type Child = Node | string | number | null | undefined | false;

/** Attributes the panels use; everything else is refused at run time (see setAttr). */
const SAFE_ATTR = /^(class|id|title|role|tabindex|type|placeholder|spellcheck|for|value|colspan|rowspan|scope|open|disabled|hidden|rows|cols|readonly|name|aria-[a-z-]+|data-[a-z-]+)$/;

export interface Props {
  [attr: string]: string | number | boolean | null | undefined;
}

function setAttr(el: Element, name: string, value: string | number | boolean | null | undefined): void {
  if (!SAFE_ATTR.test(name)) throw new Error(`dom: attribute "${name}" is not allowed`);
  if (value === null || value === undefined || value === false) return;
  el.setAttribute(name, value === true ? '' : String(value));
}

/** h('div', { class: 'x' }, 'text', child) — strings become text nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) for (const [k, v] of Object.entries(props)) setAttr(el, k, v);
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A codicon (font glyph from @vscode/codicons); decorative, hidden from screen readers. */
export function icon(name: string, extraClass = ''): HTMLSpanElement {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`dom: bad codicon name "${name}"`);
  return h('span', { class: `codicon codicon-${name} ${extraClass}`.trim(), 'aria-hidden': 'true' });
}

/** A real <button> (focusable, Enter/Space for free) with an optional codicon. */
export function button(label: string, onClick: (ev: MouseEvent) => void, opts: { icon?: string; title?: string; kind?: 'primary' | 'secondary' | 'icon' } = {}): HTMLButtonElement {
  const b = h('button', { type: 'button', class: `lens-btn lens-btn-${opts.kind ?? 'secondary'}`, title: opts.title ?? null });
  if (opts.icon) b.appendChild(icon(opts.icon));
  if (opts.kind === 'icon') b.setAttribute('aria-label', opts.title ?? label);
  else append(b, h('span', null, label));
  b.addEventListener('click', onClick);
  return b;
}

/** A text-only link look-alike: a button, because javascript:/data: hrefs from data must never exist. */
export function linkButton(label: string, onClick: () => void, title?: string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'lens-link', title: title ?? null }, label);
  b.addEventListener('click', onClick);
  return b;
}
