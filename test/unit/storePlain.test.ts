// toPlain (src/store/recordStore.ts) copies a record's summary fields before the store keeps them:
// the direct copy must give exactly what the JSON round trip it replaced gives, for any value.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { toPlain } from '../../src/store/recordStore';

function viaJson(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) ?? 'null');
}

describe('store: toPlain', () => {
  it('equals the JSON round trip for any value (property)', () => {
    const anything = fc.anything({
      withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true,
      withObjectString: true, withSparseArray: true, withTypedArray: true, withUnicodeString: true, maxDepth: 5,
    });
    fc.assert(fc.property(anything, (v) => {
      assert.deepStrictEqual(toPlain(v), viaJson(v));
    }), { numRuns: 3000 });
  });

  it('equals it for record-shaped values, -0, NaN, undefined fields, __proto__ keys and deep nesting', () => {
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 100; i++) { const next = {}; cur.n = next; cur = next; }
    const samples: unknown[] = [
      { id: 'a', usage: { promptTokens: 1, estimated: false }, warnings: ['w'], properties: { k: 'v' }, session: null, latencyMs: -0 },
      { a: NaN, b: Infinity, c: undefined, d: [undefined, () => 1, Symbol('s')], e: new Date(0) },
      JSON.parse('{"__proto__": {"x": 1}, "y": 2}'),
      deep, [1, [2, [3]]], 'text', 5, null, undefined, 10n,
    ];
    for (const v of samples) assert.deepStrictEqual(toPlain(v), viaJson(v));
  });

  it('still refuses what JSON refuses (a cycle)', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    assert.throws(() => toPlain(a), TypeError);
  });
});
