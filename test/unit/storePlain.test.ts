// toPlain (src/store/recordStore.ts) copies a record's summary fields before the store keeps them:
// the direct copy must give exactly what the JSON round trip it replaced gives, for any value.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { headLooksValid, headSchemaAccepts, toPlain } from '../../src/store/recordStore';

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

describe('store: headLooksValid (the quick check before zod)', () => {
  const field = fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom('ok', 'error', 'pending', '', 'x'), fc.double(), fc.integer(),
    fc.constant(null), fc.constant(undefined), fc.constant([]), fc.constant({}), fc.constant({ id: 's' }), fc.constant({ id: 1 }),
    fc.constant(Object.create(null) as unknown), fc.constant(new Date(0)), fc.constant({ [Symbol('s')]: 1 }), fc.array(fc.string(), { maxLength: 2 }));
  const mostly = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: field, weight: 1 });
  const head = fc.record({
    id: mostly(fc.string({ minLength: 1, maxLength: 3 })), startedAt: mostly(fc.integer()), state: mostly(fc.constantFrom('ok', 'error', 'pending')),
    properties: mostly(fc.dictionary(fc.string({ maxLength: 2 }), fc.string())), warnings: mostly(fc.array(fc.string(), { maxLength: 2 })),
    session: mostly(fc.record({ id: fc.string(), path: fc.string() })), other: field,
  }, { requiredKeys: [] });
  it('never accepts a record zod refuses, and accepts the usual ones (property)', () => {
    let accepted = 0;
    fc.assert(fc.property(fc.oneof(head, fc.anything()), (r) => {
      if (headLooksValid(r)) {
        accepted++;
        assert.ok(headSchemaAccepts(r), JSON.stringify(r));
      }
    }), { numRuns: 20000 });
    assert.ok(accepted > 0, 'no record took the quick path');
    assert.ok(headLooksValid({ id: 'a', startedAt: 1, state: 'ok', properties: {}, warnings: [], session: { id: 's', path: '/' } }));
    assert.ok(headLooksValid({ id: 'a', startedAt: 1, state: 'pending', session: null }));
  });
});
