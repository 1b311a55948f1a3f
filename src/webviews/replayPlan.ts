// How a logged request is sent again: pure, so the unit tests check every header decision.
// The log holds headers with secrets redacted; the plan keeps the non-secret ones, drops what
// must not be replayed, and marks where the API key goes (the caller supplies it: the proxy never
// stored it, see replay.ts for where it comes from).
import type { RecordSummary } from '../core/types';

/** Hop-by-hop and per-connection headers, recomputed by the HTTP client. */
const HOP_BY_HOP = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'accept-encoding']);

export interface KeySlot {
  /** Header name as originally sent (raw case). */
  name: string;
  /** 'bearer' -> "Bearer <key>", 'raw' -> "<key>". */
  format: 'bearer' | 'raw';
}

export interface ReplayPlan {
  url: string;
  method: string;
  /** Headers to send, without the API key. */
  headers: Record<string, string>;
  /** Where the API key goes; empty when the original request carried none (e.g. a local model server). */
  keySlots: KeySlot[];
  /** Headers left out, with why: shown to the user in the log. */
  dropped: Array<{ name: string; why: string }>;
}

/** Environment variable the SDKs themselves read, so a developer's shell setup just works. */
export function envVarForProvider(provider: string): string {
  if (provider === 'openai') return 'OPENAI_API_KEY';
  if (provider === 'anthropic') return 'ANTHROPIC_API_KEY';
  return `${provider.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_API_KEY`;
}

const isRedacted = (v: string): boolean => v.includes('[REDACTED]');

export function planReplay(record: RecordSummary, proxyUrl: string, replayId: string): ReplayPlan {
  const headers: Record<string, string> = {};
  const keySlots: KeySlot[] = [];
  const dropped: ReplayPlan['dropped'] = [];
  for (const [name, value] of Object.entries(record.requestHeaders)) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === 'helicone-request-id') continue; // replaced by the replay's own id below
    if (lower.startsWith('helicone-cache') || lower === 'cache-control') {
      // A replay exists to reach the model again; a cache hit would answer with the old response.
      dropped.push({ name, why: 'cache headers are not replayed' });
      continue;
    }
    if (lower === 'helicone-property-replay-of') continue;
    if (isRedacted(value)) {
      if (lower === 'authorization' && /^bearer\s/i.test(value)) keySlots.push({ name, format: 'bearer' });
      else if (/(^|-)api-?key$/.test(lower)) keySlots.push({ name, format: 'raw' });
      else dropped.push({ name, why: 'secret value was not stored' });
      continue;
    }
    headers[name] = value;
  }
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  // Helicone-Request-Id makes the proxy use our id for the new record (it must be a UUID), so the
  // panel can follow the replay from its first byte. Replay-Of links the two in the Details tab.
  headers['Helicone-Request-Id'] = replayId;
  headers['Helicone-Property-Replay-Of'] = record.id;
  return { url: proxyUrl.replace(/\/+$/, '') + (record.path.startsWith('/') ? record.path : `/${record.path}`), method: record.method, headers, keySlots, dropped };
}

/** The headers with the key filled into every slot. */
export function withKey(plan: ReplayPlan, key: string): Record<string, string> {
  const out = { ...plan.headers };
  for (const slot of plan.keySlots) out[slot.name] = slot.format === 'bearer' ? `Bearer ${key}` : key;
  return out;
}

export type BodyCheck = { ok: true; body: string } | { ok: false; error: string };

/** The edited body must be a JSON object (every API LLM Lens proxies takes one); re-serialised compactly. */
export function checkReplayBody(text: string): BodyCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `the body is not valid JSON: ${(e as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, error: 'the body must be a JSON object' };
  return { ok: true, body: JSON.stringify(parsed) };
}
