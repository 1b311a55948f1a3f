import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { SseParser, parseSse, type SseEvent } from '../../src/core/sse';
import { splitBytes } from '../support/bytes';

/** A deliberately naive whole-input reading of the WHATWG rules, to check the incremental parser against. */
function referenceParse(text: string): SseEvent[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop(); // the part after the last line end is not a line
  const out: SseEvent[] = [];
  let data: string[] | null = null;
  let type = '';
  let idBuf: string | null = null;
  for (const line of lines) {
    if (line === '') {
      if (data !== null) out.push({ event: type || null, data: data.join('\n'), id: idBuf });
      data = null;
      type = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') (data ??= []).push(value);
    else if (field === 'id' && !value.includes('\0')) idBuf = value;
  }
  return out;
}

function feed(parts: Array<Uint8Array | string>): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const c of parts) out.push(...p.push(c));
  out.push(...p.end());
  return out;
}

const eol = fc.constantFrom('\n', '\r', '\r\n');
const value = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ':', 'é', '😀', '\0', '日') , maxLength: 8 });
const lineArb = fc.oneof(
  fc.tuple(fc.constantFrom('data', 'event', 'id', 'retry', 'foo', 'Data'), fc.constantFrom(':', ': ', ':  ', ''), value).map(([f, s, v]) => f + (s === '' ? '' : s + v)),
  value.map((v) => ':' + v),
  fc.constant(''),
);
const streamArb = fc.array(fc.tuple(lineArb, eol).map(([l, e]) => l + e), { maxLength: 30 })
  .chain((lines) => fc.tuple(fc.constant(lines.join('')), fc.boolean(), value))
  .map(([s, bom, trailer]) => (bom ? '\uFEFF' : '') + s + trailer);

describe('sse parser', () => {
  it('parses the OpenAI stream shape', () => {
    const ev = parseSse('data: {"a":1}\n\ndata: [DONE]\n\n');
    assert.deepEqual(ev, [{ event: null, data: '{"a":1}', id: null }, { event: null, data: '[DONE]', id: null }]);
  });

  it('parses named Anthropic events', () => {
    const ev = parseSse('event: message_start\ndata: {"type":"message_start"}\n\nevent: ping\ndata: {}\n\n');
    assert.deepEqual(ev.map((e) => e.event), ['message_start', 'ping']);
  });

  it('joins multi-line data and skips comments', () => {
    assert.deepEqual(parseSse(': hi\ndata: one\n: mid\ndata:two\ndata\n\n'), [{ event: null, data: 'one\ntwo\n', id: null }]);
  });

  it('handles CRLF and lone CR line ends', () => {
    assert.deepEqual(parseSse('data: a\r\n\r\ndata: b\r\rdata: c\n\n').map((e) => e.data), ['a', 'b', 'c']);
  });

  it('treats a CR at a chunk end and an LF at the next chunk start as one line end', () => {
    const ev = feed(['data: a\r', '\n', '\r', '\ndata: b\r', '\r']);
    assert.deepEqual(ev.map((e) => e.data), ['a', 'b']);
  });

  it('decodes multi-byte characters split across chunks', () => {
    const bytes = Buffer.from('data: 日本😀\n\n', 'utf8');
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepEqual(feed([bytes.subarray(0, cut), bytes.subarray(cut)]).map((e) => e.data), ['日本😀']);
    }
  });

  it('drops one leading BOM only', () => {
    assert.deepEqual(parseSse(Buffer.from('\uFEFFdata: x\n\n')).map((e) => e.data), ['x']);
    // A second BOM makes the first line's field name "\uFEFFdata", which is ignored.
    assert.deepEqual(parseSse('\uFEFF\uFEFFdata: x\n\n'), []);
  });

  it('discards an unterminated last event, as the spec says', () => {
    assert.deepEqual(parseSse('data: a\n\ndata: b\n').map((e) => e.data), ['a']);
  });

  it('keeps the last event id across events and ignores ids containing NULL', () => {
    const ev = parseSse('id: 1\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n');
    assert.deepEqual(ev.map((e) => e.id), ['1', '1', '1', '']);
  });

  it('accepts retry with digits only', () => {
    const p = new SseParser();
    p.push('retry: 12a\n\nretry: 300\n\nretry: \n\n');
    assert.equal(p.reconnectionTime, 300);
  });

  it('does not dispatch an event with no data lines, and resets the type', () => {
    assert.deepEqual(parseSse('event: x\n\ndata: y\n\n'), [{ event: null, data: 'y', id: null }]);
  });

  it('gives the same events for any split of the bytes (property)', () => {
    fc.assert(fc.property(streamArb, fc.array(fc.nat(), { maxLength: 12 }), (text, cuts) => {
      const bytes = Buffer.from(text, 'utf8');
      const whole = parseSse(bytes);
      assert.deepEqual(feed(splitBytes(bytes, cuts)), whole);
      assert.deepEqual(whole, referenceParse(text));
    }), { numRuns: 500 });
  });

  it('gives the same events byte by byte', () => {
    fc.assert(fc.property(streamArb, (text) => {
      const bytes = Buffer.from(text, 'utf8');
      const parts = Array.from(bytes, (b) => Uint8Array.of(b));
      assert.deepEqual(feed(parts), referenceParse(text));
    }), { numRuns: 200 });
  });

  it('gives the same events for string chunks split anywhere', () => {
    fc.assert(fc.property(streamArb, fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
      const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
      const parts: string[] = [];
      let prev = 0;
      for (const p of points) { parts.push(text.slice(prev, p)); prev = p; }
      parts.push(text.slice(prev));
      // Splitting a surrogate pair between string chunks is the caller's problem, not the stream's.
      fc.pre(parts.every((s) => !/[\uD800-\uDBFF]$/.test(s)));
      assert.deepEqual(feed(parts), referenceParse(text));
    }), { numRuns: 300 });
  });
});
