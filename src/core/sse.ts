// An incremental server-sent events parser that follows the WHATWG HTML "event stream
// interpretation" rules exactly, so that any split of the byte stream into chunks yields the same
// events: UTF-8 decoding across chunk edges (one leading BOM dropped), CRLF / LF / CR line ends
// (a CR at the end of one chunk and an LF at the start of the next are one line end), comments,
// multi-line data, `id` without NULL, `retry` with digits only, and no event for an empty data buffer.
// The proxy never sits on a stream waiting for this: it runs over tee'd copies of the bytes.

export interface SseEvent {
  /** The `event:` field; null when absent or empty (the spec's default type "message"). */
  event: string | null;
  /** The `data:` lines joined with '\n'. */
  data: string;
  /** The last event ID at dispatch time (it persists across events, as the spec says); null when never set. */
  id: string | null;
}

const LF = 10;
const CR = 13;

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  /** The unterminated tail of the text seen so far. */
  private tail = '';
  /** The previous chunk ended with CR: an LF at the start of the next chunk belongs to it. */
  private pendingCr = false;
  private sawText = false;
  private data = '';
  private hasData = false;
  private eventType = '';
  private lastIdBuffer: string | null = null;
  private lastId: string | null = null;
  private retry: number | null = null;

  /** The reconnection time set by the last valid `retry:` field, ms. */
  get reconnectionTime(): number | null { return this.retry; }
  get lastEventId(): string | null { return this.lastId; }

  /** Feeds bytes (decoded as UTF-8 across chunk edges) or already-decoded text; returns the events completed by it. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (text.length === 0) return [];
    // TextDecoder drops the byte stream's BOM itself; a string stream's leading BOM is dropped here.
    if (!this.sawText) {
      this.sawText = true;
      if (typeof chunk === 'string' && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.length === 0) return [];
    }
    const out: SseEvent[] = [];
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (text.charCodeAt(0) === LF) i = 1;
    }
    let s = text;
    let start = i;
    if (this.tail.length > 0) {
      s = this.tail + text.slice(i);
      this.tail = '';
      i = 0;
      start = 0;
    }
    const n = s.length;
    // Line ends found with indexOf (native scans) rather than a loop over every character; the
    // next CR is looked up again only once passed, so a stream without CRs pays for one search.
    let nextLf = s.indexOf('\n', i);
    let nextCr = s.indexOf('\r', i);
    while (nextLf >= 0 || nextCr >= 0) {
      const end = nextCr < 0 || (nextLf >= 0 && nextLf < nextCr) ? nextLf : nextCr;
      this.line(s.slice(start, end), out);
      i = end;
      if (s.charCodeAt(end) === CR) {
        if (end + 1 < n) { if (s.charCodeAt(end + 1) === LF) i++; } else this.pendingCr = true;
      }
      start = i + 1;
      if (nextLf >= 0 && nextLf < start) nextLf = s.indexOf('\n', start);
      if (nextCr >= 0 && nextCr < start) nextCr = s.indexOf('\r', start);
    }
    if (start < n) this.tail = s.slice(start);
    return out;
  }

  /**
   * The end of the stream. The spec discards an event that was not terminated by a blank line,
   * so this returns nothing; it exists to flush the decoder (a cut multi-byte character becomes U+FFFD).
   */
  end(): SseEvent[] {
    const rest = this.decoder.decode();
    const out = rest.length ? this.push(rest) : [];
    this.tail = '';
    this.data = '';
    this.hasData = false;
    this.eventType = '';
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line.length === 0) { this.dispatch(out); return; }
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 /* ' ' */ ? line.slice(colon + 2) : line.slice(colon + 1);
    } else {
      field = line;
      value = '';
    }
    switch (field) {
      case 'event': this.eventType = value; break;
      case 'data': this.data += value + '\n'; this.hasData = true; break;
      case 'id': if (!value.includes('\0')) this.lastIdBuffer = value; break;
      case 'retry': if (/^[0-9]+$/.test(value)) this.retry = Number(value); break;
      default: break;
    }
  }

  private dispatch(out: SseEvent[]): void {
    this.lastId = this.lastIdBuffer;
    if (!this.hasData) {
      this.eventType = '';
      return;
    }
    const data = this.data.slice(0, -1);
    out.push({ event: this.eventType === '' ? null : this.eventType, data, id: this.lastId });
    this.data = '';
    this.hasData = false;
    this.eventType = '';
  }
}

/** Parses a whole stream at once. */
export function parseSse(input: Uint8Array | string): SseEvent[] {
  const p = new SseParser();
  return [...p.push(input), ...p.end()];
}

/** An event with the time (ms since the request started) of the chunk whose arrival completed it. */
export interface TimedSseEvent {
  t: number;
  event: string | null;
  data: string;
}

/**
 * Events of a stream captured as chunks with their arrival times (same index): each event is
 * stamped with the chunk that completed it. `complete` false (the capture was cut) drops the
 * unterminated last event instead of flushing a half of it.
 */
export function eventsFromChunks(chunks: readonly Uint8Array[], times: readonly number[], complete = true): TimedSseEvent[] {
  const parser = new SseParser();
  const out: TimedSseEvent[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const t = times[i] ?? 0;
    for (const ev of parser.push(chunks[i])) out.push({ t, event: ev.event, data: ev.data });
  }
  if (complete) {
    const t = times.length ? times[times.length - 1] : 0;
    for (const ev of parser.end()) out.push({ t, event: ev.event, data: ev.data });
  }
  return out;
}
