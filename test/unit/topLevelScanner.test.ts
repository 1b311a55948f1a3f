// The streaming top-level reader must agree with jsonSkeleton (which reads a whole buffer) however
// the bytes are cut into chunks: it is what reads a spilled request body's model and flags.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonSkeleton } from '../../src/proxy/record';
import { TopLevelScanner } from '../../src/proxy/topLevelScanner';
import { splitBytes } from '../support/bytes';

function scan(chunks: Buffer[], max: number): Record<string, unknown> | null {
  const s = new TopLevelScanner(max);
  for (const c of chunks) s.feed(c);
  return s.result();
}

describe('TopLevelScanner (streamed top-level fields)', () => {
  it('agrees with jsonSkeleton on any object, pretty or not, cut anywhere (property)', () => {
    const obj = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });
    fc.assert(fc.property(obj, fc.boolean(), fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 0, max: 200 }), (o, pretty, cuts, max) => {
      const buf = Buffer.from(JSON.stringify(o, null, pretty ? 2 : undefined));
      assert.deepEqual(scan(splitBytes(buf, cuts), max), jsonSkeleton(buf, max));
    }), { numRuns: 400 });
  });

  it('agrees with jsonSkeleton on damaged input: cut short, extra bytes, bad keys and values (property)', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.tuple(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), fc.nat(), fc.string({ maxLength: 4 }))
        .map(([o, cut, junk]) => { const t = JSON.stringify(o); const at = cut % (t.length + 1); return t.slice(0, at) + junk + t.slice(at); }),
    );
    fc.assert(fc.property(text, fc.array(fc.nat(), { maxLength: 8 }), (t, cuts) => {
      const buf = Buffer.from(t);
      assert.deepEqual(scan(splitBytes(buf, cuts), 64), jsonSkeleton(buf, 64), JSON.stringify(t));
    }), { numRuns: 600 });
  });

  it('handles escapes split across chunks, one byte at a time', () => {
    const body = Buffer.from(JSON.stringify({ messages: [{ content: 'a \\" quote \\\\ and "quotes" \\\\\\" end' }], model: 'gpt-4o', n: 2, x: true }));
    const bytes = [...body].map((b) => Buffer.from([b]));
    assert.deepEqual(scan(bytes, 16), { model: 'gpt-4o', n: 2, x: true });
  });

  it('reads the model that follows a megabyte of prompt, keeping no large value', () => {
    const prompt = 'word "quoted" \\ '.repeat(70_000);
    const body = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: prompt }], model: 'claude-sonnet-4-5', stream: true, stream_options: { include_usage: true } }));
    const s = new TopLevelScanner(16 * 1024);
    for (let i = 0; i < body.length; i += 65_536) s.feed(body.subarray(i, i + 65_536));
    assert.deepEqual(s.result(), { model: 'claude-sonnet-4-5', stream: true, stream_options: { include_usage: true } });
  });

  it('leaves out __proto__ and refuses what is not one object', () => {
    assert.deepEqual(scan([Buffer.from('{"__proto__": {"x": 1}, "a": 1}')], 100), { a: 1 });
    for (const bad of ['', '[]', '{"a":1}x', '{"a":}', '{"a" 1}', '{a:1}', '{"a":1', '{"a":1,}']) assert.equal(scan([Buffer.from(bad)], 100), null, bad);
  });
});
