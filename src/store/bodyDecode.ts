// Turns a body's stored bytes into what readers see (StoredBody). Bodies are written as the bytes
// that were sent and decoded here, when a record is read, so the proxy never re-serialises them.
import { isUtf8 } from 'node:buffer';
import type { StoredBody } from '../core/types';

/**
 * JSON bodies larger than this are shown as their raw text rather than parsed: a parsed megabyte
 * costs milliseconds and a second copy in memory, and the views render big bodies as text anyway.
 */
export const STORE_PARSED_JSON_MAX_BYTES = 256 * 1024;

/** Deeply nested JSON parses, but copying or serialising it again overflows the stack: such bodies stay text. */
const MAX_STORED_JSON_DEPTH = 256;

/** A body as readers see it: JSON when it parses, else text, else base64 for non-UTF-8 bytes. */
export function storedBodyFromBytes(bytes: Uint8Array, size: number, truncated: boolean, contentType: string | undefined): StoredBody {
  if (bytes.length === 0) return size === 0 ? { kind: 'empty', size: 0, truncated: false } : { kind: 'text', text: '', size, truncated };
  const buf = asBuffer(bytes);
  let text: string;
  if (isUtf8(buf)) text = buf.toString('utf8');
  else {
    // A cut in the middle of a multi-byte character is still text; anything else is binary.
    const trimmed = truncated ? trimPartialUtf8(buf) : null;
    if (trimmed && isUtf8(trimmed)) text = trimmed.toString('utf8');
    else return { kind: 'base64', text: buf.toString('base64'), size, truncated };
  }
  if (!truncated && buf.length <= STORE_PARSED_JSON_MAX_BYTES && looksJson(text, contentType)) {
    try {
      const json: unknown = JSON.parse(text);
      if (!nestingExceeds(text, MAX_STORED_JSON_DEPTH)) return { kind: 'json', json, size, truncated: false };
    } catch { /* not JSON after all: shown raw */ }
  }
  return { kind: 'text', text, size, truncated };
}

/** The same bytes as a Buffer, without copying. */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** True when brackets outside strings nest deeper than `limit` (a linear scan, stopped early). */
export function nestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) { if (++depth > limit) return true; } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

export function trimPartialUtf8(buf: Buffer): Buffer {
  let end = buf.length;
  let back = 0;
  while (end > 0 && back < 3 && (buf[end - 1] & 0xc0) === 0x80) { end--; back++; }
  if (end > 0 && buf[end - 1] >= 0xc0) end--;
  return buf.subarray(0, end);
}

export function looksJson(text: string, contentType: string | undefined): boolean {
  if (contentType && /json/i.test(contentType)) return true;
  const c = text.trimStart().charCodeAt(0);
  return c === 123 /* { */ || c === 91 /* [ */;
}
