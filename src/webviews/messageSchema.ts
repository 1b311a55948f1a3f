// Host-side validation of what a webview posts. A webview renders model output, so the host treats
// every message as untrusted input: unknown types, extra fields and oversized values are refused
// before any handler sees them. Kept apart from protocol.ts so zod never reaches a browser bundle.
import { z } from 'zod';
import type { PanelKind, WebviewToHost } from './protocol';

/** Ids are ours (UUIDs) or a client's Helicone-Request-Id / Session-Id: short, printable. */
const id = z.string().min(1).max(512);
/** Copying a code block or a replayed body: generous, but bounded (the store caps bodies at 2 MB by default). */
const MAX_TEXT = 16 * 1024 * 1024;

const ready = z.strictObject({ type: z.literal('ready'), panel: z.enum(['request', 'session', 'compare']) });
const openRequest = z.strictObject({ type: z.literal('openRequest'), id });
const openSession = z.strictObject({ type: z.literal('openSession'), sessionId: id });
const copy = z.strictObject({
  type: z.literal('copy'),
  what: z.enum(['requestBody', 'responseBody', 'requestId', 'text']),
  text: z.string().max(MAX_TEXT).optional(),
}).refine((m) => (m.what === 'text') === (m.text !== undefined), { message: 'text is required exactly when what is "text"' });
const copyCurl = z.strictObject({ type: z.literal('copyCurl') });
const replay = z.strictObject({
  type: z.literal('request'),
  reqId: z.number().int().nonnegative(),
  method: z.literal('replay'),
  params: z.strictObject({ body: z.string().max(MAX_TEXT) }),
});

const compareSetView = z.strictObject({
  type: z.literal('compareSetView'),
  window: z.enum(['1h', '24h', '7d', '30d']),
  // '' | 'model' | 'property:<name>' (property names are at most 128 characters in settings and headers).
  groupBy: z.string().max(200).regex(/^(|model|property:[^\u0000-\u001f]{1,190})$/),
});
const compareRefresh = z.strictObject({ type: z.literal('compareRefresh') });
const compareExportCsv = z.strictObject({ type: z.literal('compareExportCsv') });
const compareSetKey = z.strictObject({ type: z.literal('compareSetKey'), source: z.string().min(1).max(64) });

const schemas: ReadonlyMap<string, z.ZodType> = new Map<string, z.ZodType>([
  ['ready', ready], ['openRequest', openRequest], ['openSession', openSession], ['copy', copy], ['copyCurl', copyCurl], ['request', replay],
  ['compareSetView', compareSetView], ['compareRefresh', compareRefresh], ['compareExportCsv', compareExportCsv], ['compareSetKey', compareSetKey],
]);

/** Which messages each panel accepts: a session panel has no business asking for a replay. */
const allowed: Record<PanelKind, ReadonlySet<string>> = {
  request: new Set(['ready', 'openRequest', 'openSession', 'copy', 'copyCurl', 'request']),
  session: new Set(['ready', 'openRequest', 'openSession']),
  compare: new Set(['ready', 'compareSetView', 'compareRefresh', 'compareExportCsv', 'compareSetKey']),
};

export type ParsedMessage = { ok: true; message: WebviewToHost } | { ok: false; error: string };

export function parseWebviewMessage(raw: unknown, panel: PanelKind): ParsedMessage {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== 'string') return { ok: false, error: 'message without a string "type"' };
  if (!allowed[panel].has(type)) return { ok: false, error: `message type "${type.slice(0, 40)}" not accepted by the ${panel} panel` };
  const schema = schemas.get(type);
  if (!schema) return { ok: false, error: `unknown message type "${type.slice(0, 40)}"` };
  const r = schema.safeParse(raw);
  // A page announcing itself as another kind of panel is not the page this host built.
  const claimed = r.success && type === 'ready' ? (r.data as { panel: PanelKind }).panel : panel;
  if (claimed !== panel) return { ok: false, error: `"ready" from a ${claimed} page in the ${panel} panel` };
  if (r.success) return { ok: true, message: r.data as WebviewToHost };
  return { ok: false, error: `invalid "${type}" message: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
}
