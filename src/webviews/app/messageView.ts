// Renders a normalised conversation (conversation.ts) as DOM. Text only: every string goes
// through textContent, code blocks are <pre> text, media are placeholders.
import type { Conversation, ConvMessage, ConvPart } from './conversation';
import { splitMarkdown } from './conversation';
import { button, h, icon } from './dom';

export interface MessageViewActions {
  copyText(text: string): void;
}

const ROLE_ICON: Record<string, string> = {
  system: 'settings-gear', developer: 'settings-gear', user: 'account', assistant: 'sparkle', tool: 'tools', function: 'tools',
};

function textBlock(text: string, actions: MessageViewActions): HTMLElement {
  const box = h('div', { class: 'msg-text' });
  for (const seg of splitMarkdown(text)) {
    if (seg.kind === 'prose') {
      box.appendChild(h('div', { class: 'msg-prose' }, seg.text));
    } else {
      const copy = button('Copy', () => actions.copyText(seg.code), { icon: 'copy', kind: 'icon', title: 'Copy code' });
      box.appendChild(h('div', { class: 'msg-codeblock' },
        h('div', { class: 'msg-codebar' }, h('span', { class: 'lens-muted' }, seg.lang ?? 'code'), copy),
        h('pre', { class: 'lens-code' }, h('code', null, seg.code))));
    }
  }
  return box;
}

function partView(p: ConvPart, actions: MessageViewActions): HTMLElement {
  switch (p.kind) {
    case 'text':
      return textBlock(p.text, actions);
    case 'reasoning': {
      const d = h('details', { class: 'msg-reasoning' }, h('summary', null, icon('lightbulb'), ' Reasoning'), h('div', { class: 'msg-prose' }, p.text));
      return d;
    }
    case 'refusal':
      return h('div', { class: 'msg-refusal' }, icon('circle-slash'), ' Refusal: ', h('span', null, p.text));
    case 'media':
      return h('div', { class: 'msg-media', role: 'img', 'aria-label': p.label }, icon('file-media'), h('span', null, p.label));
    case 'toolCall':
      return h('div', { class: 'msg-tool msg-tool-call' },
        h('div', { class: 'msg-tool-head' }, icon('symbol-method'), h('span', { class: 'msg-tool-name' }, p.name), p.callId ? h('span', { class: 'lens-muted msg-tool-id' }, p.callId) : null),
        p.args ? h('pre', { class: 'lens-code' }, p.args) : null);
    case 'toolResult':
      return h('div', { class: `msg-tool msg-tool-result${p.isError ? ' is-error' : ''}` },
        h('div', { class: 'msg-tool-head' }, icon(p.isError ? 'error' : 'reply'), h('span', null, p.isError ? 'Tool error' : 'Tool result'), p.callId ? h('span', { class: 'lens-muted msg-tool-id' }, p.callId) : null),
        textBlock(p.text, actions));
    case 'json':
      return h('details', { class: 'msg-json' }, h('summary', null, icon('json'), ' ', p.label), h('pre', { class: 'lens-code' }, p.json));
  }
}

function messageView(m: ConvMessage, actions: MessageViewActions): HTMLElement {
  const role = m.role.toLowerCase();
  const roleClass = /^[a-z]+$/.test(role) ? role : 'other';
  const head = h('header', { class: 'msg-head' },
    icon(ROLE_ICON[role] ?? 'comment'),
    h('span', { class: 'msg-role' }, m.role),
    m.label ? h('span', { class: 'lens-muted' }, m.label) : null,
    m.origin === 'response' ? h('span', { class: 'lens-badge' }, 'response') : null);
  const body = h('div', { class: 'msg-body' });
  if (m.parts.length === 0) body.appendChild(h('div', { class: 'lens-muted' }, '(empty)'));
  for (const p of m.parts) body.appendChild(partView(p, actions));
  return h('article', { class: `msg msg-${roleClass} msg-from-${m.origin}`, 'aria-label': `${m.role} message` }, head, body);
}

export function conversationView(conv: Conversation, actions: MessageViewActions): HTMLElement {
  const root = h('div', { class: 'conversation' });
  if (conv.error) root.appendChild(h('div', { class: 'lens-banner lens-banner-error', role: 'alert' }, icon('error'), h('span', null, conv.error)));
  if (conv.tools.length) {
    root.appendChild(h('div', { class: 'conv-tools' }, h('span', { class: 'lens-muted' }, 'Tools:'),
      ...conv.tools.map((t) => h('span', { class: 'lens-chip', title: t.description ?? t.name }, t.name))));
  }
  for (const m of conv.messages) root.appendChild(messageView(m, actions));
  if (conv.notes.length) root.appendChild(h('ul', { class: 'conv-notes lens-muted' }, ...conv.notes.map((n) => h('li', null, n))));
  return root;
}
