// Host-side validation of what a webview posts. A webview renders model output, so the host treats
// every message as untrusted input: unknown types, extra fields and oversized values are refused
// before any handler sees them. Kept apart from protocol.ts so zod never reaches a browser bundle.
import { z } from 'zod';
import type { PanelKind, WebviewToHost } from './protocol';

/** Ids are ours (UUIDs) or a client's Helicone-Request-Id / Session-Id: short, printable. */
const id = z.string().min(1).max(512);
/** Copying a code block or a replayed body: generous, but bounded (the store caps bodies at 2 MB by default). */
const MAX_TEXT = 16 * 1024 * 1024;

const ready = z.strictObject({ type: z.literal('ready'), panel: z.enum(['request', 'session']) });
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

const schemas: ReadonlyMap<string, z.ZodType> = new Map<string, z.ZodType>([
  ['ready', ready], ['openRequest', openRequest], ['openSession', openSession], ['copy', copy], ['copyCurl', copyCurl], ['request', replay],
]);

/** Which messages each panel accepts: a session panel has no business asking for a replay. */
const allowed: Record<PanelKind, ReadonlySet<string>> = {
  request: new Set(['ready', 'openRequest', 'openSession', 'copy', 'copyCurl', 'request']),
  session: new Set(['ready', 'openRequest', 'openSession']),
};

export type ParsedMessage = { ok: true; message: WebviewToHost } | { ok: false; error: string };

export function parseWebviewMessage(raw: unknown, panel: PanelKind): ParsedMessage {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== 'string') return { ok: false, error: 'message without a string "type"' };
  if (!allowed[panel].has(type)) return { ok: false, error: `message type "${type.slice(0, 40)}" not accepted by the ${panel} panel` };
  const schema = schemas.get(type);
  if (!schema) return { ok: false, error: `unknown message type "${type.slice(0, 40)}"` };
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, message: r.data as WebviewToHost };
  return { ok: false, error: `invalid "${type}" message: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
}
