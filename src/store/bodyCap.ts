// The stored copy of a body is capped so one huge request cannot fill the disk or the read path;
// forwarding is never cut (that is the proxy's business, not the store's). A capped body keeps
// its original size and says truncated: true, so every view can tell the copy is partial.
import type { NewRecordBodies, RawBody, StoredBody, StreamEvent } from '../core/types';

export const DEFAULT_BODY_CAP_BYTES = 2 * 1024 * 1024;

/** Cuts a UTF-8 string to at most maxBytes bytes without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (s.length <= maxBytes / 3) return s; // fast path: even all 3-byte characters would fit
  // Measure without encoding: a copy of every megabyte body just to learn that it fits is waste.
  if (s.length <= maxBytes && Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  // Step back over UTF-8 continuation bytes (10xxxxxx) to the start of a character.
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end);
}

/** The first maxBytes of a body held as chunks, without copying (the same array when it fits). */
export function cutChunks<T extends Uint8Array>(chunks: T[], maxBytes: number): T[] {
  let total = 0;
  for (const c of chunks) total += c.length;
  if (total <= maxBytes) return chunks;
  const out: T[] = [];
  let left = maxBytes;
  for (const c of chunks) {
    if (left <= 0) break;
    out.push(c.length <= left ? c : c.subarray(0, left) as T);
    left -= c.length;
  }
  return out;
}

export function capBody(body: StoredBody, capBytes: number): StoredBody;
export function capBody(body: StoredBody | RawBody, capBytes: number): StoredBody | RawBody;
export function capBody(body: StoredBody | RawBody, capBytes: number): StoredBody | RawBody {
  switch (body.kind) {
    case 'raw': {
      // Only the first capBytes of a spool file are copied into the entry.
      if (body.spooled) return body.spooled.bytes <= capBytes ? body : { ...body, spooled: { path: body.spooled.path, bytes: capBytes }, truncated: true };
      const chunks = cutChunks(body.chunks, capBytes);
      return chunks === body.chunks ? body : { ...body, chunks, truncated: true };
    }
    case 'json': {
      // Re-serialising is never much larger than what was sent, so a body well under the cap
      // skips the second stringify (a few ms for a megabyte body, on the forwarding thread).
      if (body.size > 0 && body.size <= capBytes / 2) return body;
      const text = JSON.stringify(body.json) ?? 'null';
      if (Buffer.byteLength(text) <= capBytes) return body;
      // A cut JSON document no longer parses, so the stored copy becomes text, marked truncated.
      return { kind: 'text', text: truncateUtf8(text, capBytes), size: body.size, truncated: true };
    }
    case 'text': {
      const text = body.text ?? '';
      const cut = truncateUtf8(text, capBytes);
      return cut.length === text.length ? body : { ...body, text: cut, truncated: true };
    }
    case 'base64': {
      const text = body.text ?? '';
      // base64 is 4 characters per 3 bytes: cut on a 4-character boundary so it still decodes.
      const max = Math.floor(capBytes / 4) * 4;
      return text.length <= max ? body : { ...body, text: text.slice(0, max), truncated: true };
    }
    default:
      return body;
  }
}

/**
 * Applies the cap to every part of a record's bodies. Stream events share the response's budget:
 * events past it are dropped and the response is marked truncated. A reassembled message too big
 * to store is dropped (it can be rebuilt from the events), with a warning for the record.
 */
export function capBodies(bodies: NewRecordBodies, capBytes: number): { bodies: NewRecordBodies; warnings: string[] } {
  const warnings: string[] = [];
  let response = capBody(bodies.response, capBytes);
  let streamEvents: StreamEvent[] | null = bodies.streamEvents;
  if (streamEvents) {
    let used = 0;
    let keep = streamEvents.length;
    for (let i = 0; i < streamEvents.length; i++) {
      used += Buffer.byteLength(streamEvents[i].data) + (streamEvents[i].event?.length ?? 0) + 24;
      if (used > capBytes) { keep = i; break; }
    }
    if (keep < streamEvents.length) {
      warnings.push(`stored ${keep} of ${streamEvents.length} stream events (body cap ${capBytes} bytes)`);
      streamEvents = streamEvents.slice(0, keep);
      if (!response.truncated) response = { ...response, truncated: true };
    }
  }
  let reassembled = bodies.reassembled;
  if (reassembled !== null && reassembled !== undefined) {
    const size = Buffer.byteLength(JSON.stringify(reassembled) ?? '');
    if (size > capBytes) {
      warnings.push(`reassembled response (${size} bytes) not stored: over the body cap of ${capBytes} bytes`);
      reassembled = null;
    }
  }
  return { bodies: { request: capBody(bodies.request, capBytes), response, streamEvents, streamChunks: bodies.streamChunks ?? null, reassembled: reassembled ?? null }, warnings };
}
