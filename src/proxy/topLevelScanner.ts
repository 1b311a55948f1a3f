// Reads the top-level fields of a JSON object from its bytes as they stream through, without
// keeping them: what jsonSkeleton (record.ts) gives for a whole buffer, for a body that is spilled
// to disk chunk by chunk. Long strings are jumped with indexOf (memchr speed), so a megabyte of
// prompt costs a few hundred microseconds, and only values up to maxValueBytes are ever copied.
//
// Like jsonSkeleton it checks the top-level structure only (and the values it parses): it is for
// metadata (model, stream, ...), not validation; the store decides how the body is shown. One
// difference: a key longer than 1 KB is not read (nor its value), where jsonSkeleton parses both.

const enum S {
  Start, KeyOrEnd, Key, KeyNext, Colon, ValueStart, ValueString, ValueNested, ValueNestedString, ValueScalar, AfterValue, Done, Bad,
}

const QUOTE = 34;
const BACKSLASH = 92;
const MAX_KEY_BYTES = 1024;

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

export class TopLevelScanner {
  private state = S.Start;
  private readonly out: Record<string, unknown> = {};
  /** Backslashes that ended the part of a string already scanned (an escape may straddle chunks). */
  private backslashes = 0;
  private depth = 0;
  private key: string | null = null;
  private keyParts: Buffer[] = [];
  private keyLen = 0;
  private valueParts: Buffer[] = [];
  private valueLen = 0;
  private capturing = false;

  constructor(private readonly maxValueBytes: number) {}

  /** The fields read, once the whole object has been fed; null when it was not a well-formed object. */
  result(): Record<string, unknown> | null {
    return this.state === S.Done ? this.out : null;
  }

  feed(c: Uint8Array): void {
    const b = c instanceof Buffer ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    let i = 0;
    let keyFrom = -1;
    let valueFrom = -1;
    const n = b.length;
    while (i < n && this.state !== S.Bad) {
      switch (this.state) {
        case S.Start: {
          const ch = b[i++];
          if (isWs(ch)) break;
          this.state = ch === 123 /* { */ ? S.KeyOrEnd : S.Bad;
          break;
        }
        case S.KeyOrEnd:
        case S.KeyNext: {
          const ch = b[i++];
          if (isWs(ch)) break;
          if (ch === QUOTE) {
            this.state = S.Key;
            this.backslashes = 0;
            this.keyParts = [];
            this.keyLen = 0;
            keyFrom = i - 1;
          } else if (ch === 125 /* } */ && this.state === S.KeyOrEnd) {
            this.state = S.Done;
          } else {
            this.state = S.Bad;
          }
          break;
        }
        case S.Key: {
          if (keyFrom < 0) keyFrom = i;
          const end = this.stringEnd(b, i);
          if (end < 0) { i = n; break; }
          this.keyPart(b.subarray(keyFrom, end));
          keyFrom = -1;
          i = end;
          const key = this.parseKey();
          this.key = key ?? null;
          this.state = key === undefined ? S.Bad : S.Colon;
          break;
        }
        case S.Colon: {
          const ch = b[i++];
          if (isWs(ch)) break;
          this.state = ch === 58 /* : */ ? S.ValueStart : S.Bad;
          break;
        }
        case S.ValueStart: {
          const ch = b[i];
          if (isWs(ch)) { i++; break; }
          this.valueParts = [];
          this.valueLen = 0;
          this.capturing = this.key !== null && this.key !== '__proto__';
          valueFrom = i;
          if (ch === QUOTE) {
            this.state = S.ValueString;
            this.backslashes = 0;
            i++;
          } else if (ch === 123 || ch === 91) {
            this.state = S.ValueNested;
            this.depth = 1;
            i++;
          } else {
            this.state = ch === 44 || ch === 125 || ch === 93 ? S.Bad : S.ValueScalar;
          }
          break;
        }
        case S.ValueString:
        case S.ValueNestedString: {
          if (valueFrom < 0) valueFrom = i;
          const end = this.stringEnd(b, i);
          if (end < 0) { i = n; break; }
          i = end;
          if (this.state === S.ValueNestedString) { this.state = S.ValueNested; break; }
          this.endValue(b, valueFrom, end);
          valueFrom = -1;
          break;
        }
        case S.ValueNested: {
          if (valueFrom < 0) valueFrom = i;
          // Structure outside strings is short (the bulk of a prompt is string content): a byte loop.
          while (i < n) {
            const ch = b[i++];
            if (ch === QUOTE) { this.state = S.ValueNestedString; this.backslashes = 0; break; }
            if (ch === 123 || ch === 91) this.depth++;
            else if ((ch === 125 || ch === 93) && --this.depth === 0) {
              this.endValue(b, valueFrom, i);
              valueFrom = -1;
              break;
            }
          }
          break;
        }
        case S.ValueScalar: {
          if (valueFrom < 0) valueFrom = i;
          while (i < n) {
            const ch = b[i];
            if (ch === 44 || ch === 125 || ch === 93 || isWs(ch)) break;
            i++;
          }
          if (i < n) {
            this.endValue(b, valueFrom, i);
            valueFrom = -1;
          }
          break;
        }
        case S.AfterValue: {
          const ch = b[i++];
          if (isWs(ch)) break;
          this.state = ch === 44 /* , */ ? S.KeyNext : ch === 125 /* } */ ? S.Done : S.Bad;
          break;
        }
        case S.Done: {
          if (!isWs(b[i++])) this.state = S.Bad;
          break;
        }
        default:
          i = n;
      }
    }
    // A key or value still open at the end of this chunk keeps its bytes so far (small ones only).
    if (this.state === S.Key && keyFrom >= 0) this.keyPart(b.subarray(keyFrom));
    const open = this.state === S.ValueString || this.state === S.ValueNested || this.state === S.ValueNestedString || this.state === S.ValueScalar;
    if (open && valueFrom >= 0) this.valuePart(b.subarray(valueFrom));
  }

  /** Index just past the closing quote of the string being scanned from `from`, or -1 when it goes on. */
  private stringEnd(b: Buffer, from: number): number {
    let at = from;
    for (;;) {
      const q = b.indexOf(QUOTE, at);
      const stop = q < 0 ? b.length : q;
      let k = stop - 1;
      let run = 0;
      while (k >= at && b[k] === BACKSLASH) { run++; k--; }
      if (k < at) run += this.backslashes;
      if (q < 0) { this.backslashes = run; return -1; }
      this.backslashes = 0;
      if (run % 2 === 0) return q + 1;
      at = q + 1;
    }
  }

  private keyPart(part: Buffer): void {
    if (this.keyLen + part.length <= MAX_KEY_BYTES) this.keyParts.push(Buffer.from(part));
    this.keyLen += part.length;
  }

  /** The key's name; null for a key too long to be one we read (its value is skipped); undefined when malformed. */
  private parseKey(): string | null | undefined {
    if (this.keyLen > MAX_KEY_BYTES) { this.keyParts = []; return null; }
    try {
      const k = JSON.parse(Buffer.concat(this.keyParts).toString('utf8')) as unknown;
      return typeof k === 'string' ? k : undefined;
    } catch {
      return undefined;
    } finally {
      this.keyParts = [];
    }
  }

  private valuePart(part: Buffer): void {
    if (!this.capturing) return;
    this.valueLen += part.length;
    if (this.valueLen > this.maxValueBytes) { this.capturing = false; this.valueParts = []; return; }
    this.valueParts.push(Buffer.from(part));
  }

  private endValue(b: Buffer, from: number, end: number): void {
    this.valuePart(b.subarray(from, end));
    this.state = S.AfterValue;
    if (!this.capturing || this.key === null) { this.valueParts = []; return; }
    try {
      this.out[this.key] = JSON.parse(Buffer.concat(this.valueParts, this.valueLen).toString('utf8'));
    } catch {
      this.state = S.Bad;
    }
    this.valueParts = [];
    this.capturing = false;
  }
}
