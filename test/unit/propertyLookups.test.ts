// Property tests for every lookup of a Helicone property by name: a name is whatever a client put
// after Helicone-Property-, and names such as "constructor" or "toString" must read the record's
// own property (or nothing), never something inherited from Object.prototype.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyValue } from '../../src/core/properties';
import { groupMetrics, propertyKey } from '../../src/metrics/metrics';
import type { MetricRow } from '../../src/metrics/metrics';
import { compileFilter, propertyEquals } from '../../src/query/filter';
import type { HeliconeRow } from '../../src/query/rows';

const OBJECT_NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'propertyIsEnumerable', 'toLocaleString'];
const nameArb = fc.oneof(fc.constantFrom(...OBJECT_NAMES, ...OBJECT_NAMES.map((n) => n.toUpperCase())), fc.string({ minLength: 1, maxLength: 12 }));
/** Properties as records hold them: own string values; never a "__proto__" key (the header parser refuses or keeps it as own data). */
const propsArb = fc.dictionary(nameArb, fc.string({ maxLength: 10 }), { maxKeys: 6 }).map((d) => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d)) if (k !== '__proto__') out[k] = v;
  return out;
});

function ownCaseInsensitive(props: Record<string, string>, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(props, name)) return props[name];
  const k = Object.keys(props).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : props[k];
}

function metricRow(properties: Record<string, string>): MetricRow {
  return { createdAt: 0, ok: true, latencyMs: 1, ttftMs: null, costUsd: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, cacheHit: false, model: 'm', properties };
}

describe('property: lookups of properties by name', () => {
  it('propertyValue (core) returns an own value or undefined, for any name', () => {
    fc.assert(fc.property(propsArb, nameArb, (props, name) => {
      const v = propertyValue(props, name);
      assert.ok(v === undefined || typeof v === 'string', `propertyValue(${JSON.stringify(props)}, ${JSON.stringify(name)}) = ${String(v)}`);
      assert.equal(v, ownCaseInsensitive(props, name));
    }), { numRuns: 500 });
  });

  it('metrics propertyKey groups by own values only: a row without the property is in no group', () => {
    fc.assert(fc.property(fc.array(propsArb, { maxLength: 6 }), nameArb, (rows, name) => {
      const key = propertyKey(name);
      for (const props of rows) {
        const k = key(metricRow(props));
        assert.ok(k === null || typeof k === 'string', `propertyKey(${JSON.stringify(name)}) on ${JSON.stringify(props)} = ${String(k)}`);
        assert.equal(k, ownCaseInsensitive(props, name) ?? null);
      }
      const groups = groupMetrics(rows.map(metricRow), key);
      for (const g of groups.keys()) assert.equal(typeof g, 'string');
    }), { numRuns: 500 });
  });

  it('query filter: propertyEquals matches own values only (Helicone semantics: exact name, a missing one reads as "")', () => {
    fc.assert(fc.property(propsArb, nameArb, fc.string({ maxLength: 10 }).filter((v) => v !== 'null'), (props, name, value) => {
      const row = { properties: props } as unknown as HeliconeRow;
      // Refused by design (zod would drop the key and widen the filter to "all"): a clear error instead.
      if (name === '__proto__') { assert.throws(() => compileFilter(propertyEquals(name, value)), /"__proto__" is not supported/); return; }
      const want = (Object.prototype.hasOwnProperty.call(props, name) ? props[name] : '') === value;
      assert.equal(compileFilter(propertyEquals(name, value))(row), want);
    }), { numRuns: 500 });
  });
});
