// The Helicone filter tree: validation errors that name the bad path, operator semantics as
// Helicone's SQL has them, and builders whose trees Helicone's server reads the same way.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { isLensError } from '../../src/core/errors';
import {
  FilterError,
  and,
  compileFilter,
  compileSessionFilter,
  createdAtBounds,
  modelEquals,
  or,
  parseFilter,
  parseTimestamp,
  propertyEquals,
  safeParseFilter,
  sqlLike,
  timeWindow,
} from '../../src/query/filter';
import type { FilterNode } from '../../src/query/filter';
import type { HeliconeRow, HeliconeSessionRow } from '../../src/query/rows';
import { parseHeliconeRow } from '../../src/query/client';
import { fakeMatches, makeHeliconeRows } from '../support/fakeHelicone';

function row(over: Partial<HeliconeRow> = {}): HeliconeRow {
  return {
    request_id: 'r1',
    request_created_at: '2025-03-01T12:00:00.000Z',
    response_created_at: '2025-03-01T12:00:01.000Z',
    request_model: 'gpt-4o-mini',
    response_model: 'gpt-4o-mini-2024-07-18',
    model: 'gpt-4o-mini',
    provider: 'OPENAI',
    response_status: 200,
    delay_ms: 1000,
    time_to_first_token: 200,
    prompt_tokens: 20,
    completion_tokens: 10,
    prompt_cache_read_tokens: 0,
    prompt_cache_write_tokens: 0,
    total_tokens: 30,
    cost: 0.002,
    properties: { Environment: 'production', Version: 'v2' },
    request_properties: { Environment: 'production', Version: 'v2' },
    request_user_id: 'alice@example.com',
    request_path: '/v1/chat/completions',
    target_url: 'https://api.openai.com/v1/chat/completions',
    cache_enabled: false,
    cache_reference_id: null,
    cache_hit: false,
    ...over,
  };
}

const rmt = (field: string, ops: unknown): unknown => ({ request_response_rmt: { [field]: ops } });
const prop = (name: string, ops: Record<string, unknown>): unknown => ({ request_response_rmt: { properties: { [name]: ops } } });

function errorOf(tree: unknown): FilterError {
  const r = safeParseFilter(tree);
  assert.equal(r.ok, false, 'expected the tree to be refused');
  return (r as { ok: false; error: FilterError }).error;
}

describe('query filter: validation', () => {
  it('accepts "all", leaves, branches and the empty leaf Helicone examples use', () => {
    for (const t of ['all', {}, { request_response_rmt: {} }, rmt('model', { equals: 'gpt-4o' }), prop('Environment', { equals: 'production' }),
      { properties: { Environment: { equals: 'production' } } }, { left: 'all', operator: 'or', right: rmt('status', { gte: 400 }) }]) {
      assert.equal(safeParseFilter(t).ok, true, JSON.stringify(t));
    }
  });

  const cases: Array<[string, unknown, string, RegExp]> = [
    ['an unknown operator', rmt('model', { equal: 'x' }), 'filter.request_response_rmt.model', /unknown operator "equal" for a text field; expected one of equals/],
    ['an unknown field', rmt('modle', { equals: 'x' }), 'filter.request_response_rmt', /unknown field "modle"; supported: model,/],
    ['an unknown table', { request: { model: { equals: 'x' } } }, 'filter', /unknown table "request"/],
    ['a range operator on text', prop('Environment', { gte: 'a' }), 'filter.request_response_rmt.properties.Environment', /unknown operator "gte"/],
    ['a string where a number goes', rmt('status', { equals: 'ok' }), 'filter.request_response_rmt.status.equals', /finite number/],
    ['a date that is not one', rmt('request_created_at', { gte: 'yesterday' }), 'filter.request_response_rmt.request_created_at.gte', /ISO 8601/],
    ['a calendar date that does not exist', rmt('request_created_at', { gte: '2025-02-31' }), 'filter.request_response_rmt.request_created_at.gte', /ISO 8601/],
    ['no operator', rmt('model', {}), 'filter.request_response_rmt.model', /no operator given/],
    ['a bare value for a field', rmt('model', 'gpt-4o'), 'filter.request_response_rmt.model', /operator object/],
    ['a bad branch operator', { left: 'all', operator: 'xor', right: 'all' }, 'filter.operator', /"and" or "or"/],
    ['a branch without right', { left: 'all', operator: 'and' }, 'filter.right', /missing/],
    ['a nested bad leaf', { left: 'all', operator: 'and', right: { left: rmt('cost', { gt: 'cheap' }), operator: 'or', right: 'all' } }, 'filter.right.left.request_response_rmt.cost.gt', /finite number/],
    ['a string other than "all"', 'everything', 'filter', /expected "all"/],
    ['null', null, 'filter', /got null/],
    ['an array', [], 'filter', /got an array/],
    ['a property named __proto__', JSON.parse('{"properties":{"__proto__":{"equals":"x"}}}') as unknown, 'filter.properties.__proto__', /not supported/],
  ];
  for (const [what, tree, path, message] of cases) {
    it(`refuses ${what}, naming ${path}`, () => {
      const e = errorOf(tree);
      assert.equal(e.path, path);
      assert.match(e.message, message);
      assert.ok(e.message.startsWith(`${path}: `));
      assert.ok(isLensError(e, 'QUERY_BAD_REQUEST'));
    });
  }

  it('refuses trees nested deeper than the limit instead of overflowing the stack', () => {
    let t: unknown = 'all';
    for (let i = 0; i < 5000; i++) t = { left: t, operator: 'and', right: 'all' };
    assert.match(errorOf(t).message, /deeper than/);
  });

  it('reads numeric strings as numbers (a lenient client sends "200")', () => {
    assert.deepEqual(parseFilter(rmt('status', { equals: '200' })), rmt('status', { equals: 200 }));
  });

  it('refuses session aggregates in a request filter, naming them', () => {
    assert.throws(() => compileFilter({ sessions_request_response_rmt: { session_total_cost: { gt: 1 } } }),
      (e: unknown) => e instanceof FilterError && /session_total_cost: a session aggregate can only be used/.test(e.message));
  });

  it('is total: any JSON value either parses or gives a FilterError, never another exception', () => {
    const ops = fc.constantFrom('equals', 'not-equals', 'like', 'ilike', 'contains', 'gte', 'lt', 'bogus');
    const fields = fc.constantFrom('model', 'status', 'latency', 'cost', 'user_id', 'request_created_at', 'request_id', 'provider', 'properties', 'nope');
    const leafish = fc.record({ request_response_rmt: fc.dictionary(fields, fc.oneof(fc.dictionary(ops, fc.jsonValue()), fc.jsonValue())) }, { requiredKeys: [] });
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.constant('all'), leafish, fc.jsonValue(), fc.record({ left: tie('node'), operator: fc.constantFrom('and', 'or', 'nand'), right: tie('node') })),
    })).node;
    fc.assert(fc.property(tree, (t) => {
      try {
        const pred = compileFilter(t);
        assert.equal(typeof pred(row()), 'boolean');
      } catch (e) {
        assert.ok(e instanceof FilterError, `unexpected ${String(e)}`);
      }
    }), { numRuns: 500 });
  });
});

describe('query filter: semantics', () => {
  const r = row();
  const table: Array<[string, unknown, HeliconeRow, boolean]> = [
    ['all', 'all', r, true],
    ['empty leaf', {}, r, true],
    ['model equals', rmt('model', { equals: 'gpt-4o-mini' }), r, true],
    ['model equals is case-sensitive', rmt('model', { equals: 'GPT-4o-mini' }), r, false],
    ['model not-equals', rmt('model', { 'not-equals': 'gpt-4o' }), r, true],
    ['like with % is anchored and case-sensitive', rmt('model', { like: 'gpt-4o%' }), r, true],
    ['like without % must match whole', rmt('model', { like: 'gpt-4o' }), r, false],
    ['like is case-sensitive', rmt('model', { like: 'GPT%' }), r, false],
    ['like _ matches exactly one character', rmt('model', { like: 'gpt-4_-mini' }), r, true],
    ['ilike ignores case', rmt('model', { ilike: 'GPT-4O%' }), r, true],
    ['contains is case-insensitive substring', rmt('model', { contains: '4O-MI' }), r, true],
    ['contains keeps % a wildcard, as Helicone', rmt('model', { contains: 'gpt%mini' }), r, true],
    ['not-contains', rmt('model', { 'not-contains': 'claude' }), r, true],
    ['user_id equals', rmt('user_id', { equals: 'alice@example.com' }), r, true],
    ['request_id equals', rmt('request_id', { equals: 'r1' }), r, true],
    ['provider equals', rmt('provider', { equals: 'OPENAI' }), r, true],
    ['status gte 400 on a 200', rmt('status', { gte: 400 }), r, false],
    ['status equals 500', rmt('status', { equals: 500 }), row({ response_status: 500 }), true],
    ['status on a row without status satisfies nothing', rmt('status', { 'not-equals': 200 }), row({ response_status: null }), false],
    ['latency gt', rmt('latency', { gt: 999 }), r, true],
    ['latency gt is strict', rmt('latency', { gt: 1000 }), r, false],
    ['latency lte', rmt('latency', { lte: 1000 }), r, true],
    ['cost lt', rmt('cost', { lt: 0.0021 }), r, true],
    ['unknown cost matches no comparison', rmt('cost', { gte: 0 }), row({ cost: null }), false],
    ['created_at gte (inclusive)', rmt('request_created_at', { gte: '2025-03-01T12:00:00Z' }), r, true],
    ['created_at gt (exclusive)', rmt('request_created_at', { gt: '2025-03-01T12:00:00Z' }), r, false],
    ['created_at with an offset', rmt('request_created_at', { lt: '2025-03-01T13:00:01+01:00' }), r, true],
    ['created_at without an offset is UTC', rmt('request_created_at', { equals: '2025-03-01 12:00:00' }), r, true],
    ['property equals', prop('Environment', { equals: 'production' }), r, true],
    ['property equals other', prop('Environment', { equals: 'staging' }), r, false],
    ['property like', prop('Version', { like: 'v%' }), r, true],
    ['missing property compares as empty', prop('Team', { equals: '' }), r, true],
    ['missing property is not-equals anything', prop('Team', { 'not-equals': 'a' }), r, true],
    ['"null" asks for absence', prop('Team', { equals: 'null' }), r, true],
    ['"null" absence, present', prop('Environment', { equals: 'null' }), r, false],
    ['not-equals "null" asks for presence', prop('Environment', { 'not-equals': 'null' }), r, true],
    ['top-level properties table', { properties: { Environment: { equals: 'production' } } }, r, true],
    ['property names are exact', prop('environment', { equals: 'production' }), r, false],
    ['cache_enabled', rmt('cache_enabled', { equals: true }), row({ cache_enabled: true }), true],
    ['session id through sessions table', { sessions_request_response_rmt: { session_session_id: { equals: 's1' } } }, row({ properties: { 'Helicone-Session-Id': 's1' } }), true],
    ['two fields in one leaf are ANDed', { request_response_rmt: { model: { equals: 'gpt-4o-mini' }, status: { equals: 500 } } }, r, false],
    ['two operators on one field are ANDed', rmt('latency', { gte: 500, lt: 900 }), r, false],
    ['two tables in one leaf are ANDed', { request_response_rmt: { model: { equals: 'gpt-4o-mini' } }, properties: { Environment: { equals: 'dev' } } }, r, false],
    ['and', { left: rmt('model', { equals: 'gpt-4o-mini' }), operator: 'and', right: prop('Environment', { equals: 'production' }) }, r, true],
    ['and, one false', { left: rmt('model', { equals: 'gpt-4o-mini' }), operator: 'and', right: prop('Environment', { equals: 'staging' }) }, r, false],
    ['or, one true', { left: rmt('model', { equals: 'nope' }), operator: 'or', right: prop('Environment', { equals: 'production' }) }, r, true],
    ['or, none true', { left: rmt('model', { equals: 'nope' }), operator: 'or', right: prop('Environment', { equals: 'staging' }) }, r, false],
  ];
  for (const [what, tree, input, expected] of table) {
    it(`${what} -> ${expected}`, () => {
      assert.equal(compileFilter(tree)(input), expected);
    });
  }

  it('like: escapes, multi-byte characters and hostile patterns', () => {
    assert.equal(sqlLike('50%', '50\\%'), true);
    assert.equal(sqlLike('500', '50\\%'), false);
    assert.equal(sqlLike('a_b', 'a\\_b'), true);
    assert.equal(sqlLike('héllo', 'h_llo'), true);
    assert.equal(sqlLike('🙂x', '_x'), true);
    assert.equal(sqlLike('', '%'), true);
    assert.equal(sqlLike('', '_'), false);
    assert.equal(sqlLike('ab', 'a%%%b'), true);
    // Would take exponential time with a naive backtracking regex.
    const started = process.hrtime.bigint();
    assert.equal(sqlLike('a'.repeat(5000), `${'%a'.repeat(30)}%b`), false);
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 5000);
  });

  it('timestamps: ISO, ClickHouse style and offsets; rejects nonsense', () => {
    assert.equal(parseTimestamp('2025-03-01T12:00:00Z'), Date.UTC(2025, 2, 1, 12));
    assert.equal(parseTimestamp('2025-03-01 12:00:00.250'), Date.UTC(2025, 2, 1, 12, 0, 0, 250));
    assert.equal(parseTimestamp('2025-03-01T12:00:00.123456789Z'), Date.UTC(2025, 2, 1, 12, 0, 0, 123));
    assert.equal(parseTimestamp('2025-03-01T14:00:00+0200'), Date.UTC(2025, 2, 1, 12));
    assert.equal(parseTimestamp('2025-03-01'), Date.UTC(2025, 2, 1));
    for (const bad of ['', 'now', '2025-13-01', '2025-02-30', '12:00', '2025-03-01T25:00:00Z', '2025-02-30T00:00:00.000Z', '2025-03-01T24:00:00.000Z']) assert.equal(parseTimestamp(bad), null, bad);
    // The same string twice gives the same answer (the last parse is remembered).
    assert.equal(parseTimestamp('2025-03-01T12:00:00.000Z'), Date.UTC(2025, 2, 1, 12));
    assert.equal(parseTimestamp('2025-03-01T12:00:00.000Z'), Date.UTC(2025, 2, 1, 12));
  });

  it('session filter: request leaves filter rows, aggregate leaves filter sessions (Helicone WHERE / HAVING)', () => {
    const f = compileSessionFilter({
      left: prop('Environment', { equals: 'production' }),
      operator: 'and',
      right: { sessions_request_response_rmt: { session_total_cost: { gte: 1 } } },
    });
    assert.equal(f.row(row()), true);
    assert.equal(f.row(row({ properties: { Environment: 'dev' } })), false);
    const s: HeliconeSessionRow = { session_id: 's', session_name: 'n', created_at: '2025-03-01T12:00:00Z', latest_request_created_at: '2025-03-01T12:00:00Z', total_cost: 2, total_requests: 3, prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, avg_latency: 10 };
    assert.equal(f.session(s), true);
    assert.equal(f.session({ ...s, total_cost: 0.5 }), false);
  });
});

describe('query filter: builders', () => {
  it('build one-field, one-operator leaves (Helicone reads only the first key of a leaf)', () => {
    const t = and(timeWindow(Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 2)), propertyEquals('Environment', 'production'), modelEquals('gpt-4o'));
    const leaves: unknown[] = [];
    const walk = (n: FilterNode): void => {
      if (n === 'all') return;
      if ('left' in n) { walk(n.left); walk(n.right); return; }
      leaves.push(n);
    };
    walk(t);
    assert.equal(leaves.length, 4);
    for (const leaf of leaves) {
      const tables = Object.values(leaf as Record<string, Record<string, unknown>>);
      assert.equal(tables.length, 1);
      const fields = Object.values(tables[0]);
      assert.equal(fields.length, 1);
      const ops = fields[0] as Record<string, unknown>;
      const inner = 'equals' in ops || 'gte' in ops || 'lt' in ops ? ops : (Object.values(ops)[0] as Record<string, unknown>);
      assert.equal(Object.keys(inner).length, 1);
    }
    assert.equal(safeParseFilter(t).ok, true);
  });

  it('timeWindow is half-open [since, until)', () => {
    const p = compileFilter(timeWindow(Date.UTC(2025, 2, 1, 12), Date.UTC(2025, 2, 1, 13)));
    assert.equal(p(row({ request_created_at: '2025-03-01T12:00:00.000Z' })), true);
    assert.equal(p(row({ request_created_at: '2025-03-01T12:59:59.999Z' })), true);
    assert.equal(p(row({ request_created_at: '2025-03-01T13:00:00.000Z' })), false);
    assert.equal(p(row({ request_created_at: '2025-03-01T11:59:59.999Z' })), false);
  });

  it('and / or simplify "all" and evaluate as logic says', () => {
    assert.equal(and(), 'all');
    assert.equal(and('all', 'all'), 'all');
    assert.deepEqual(and('all', modelEquals('x')), modelEquals('x'));
    assert.equal(or(modelEquals('x'), 'all'), 'all');
    const p = compileFilter(or(modelEquals('nope'), propertyEquals('Version', 'v2')));
    assert.equal(p(row()), true);
  });

  it('createdAtBounds reads the AND spine only', () => {
    const since = Date.UTC(2025, 0, 1);
    const until = Date.UTC(2025, 0, 2);
    assert.deepEqual(createdAtBounds(and(timeWindow(since, until), modelEquals('x'))), { since, until });
    assert.deepEqual(createdAtBounds(or(timeWindow(since, until), modelEquals('x'))), {});
  });
});

describe('query filter: agrees with the fake Helicone\'s independent reading', () => {
  // One field and one operator per leaf: where Helicone (and so the fake) reads only the first key,
  // LLM Lens ANDs them all, so multi-key leaves are the one place the two may differ by design.
  const since = Date.UTC(2025, 5, 1);
  const raw = makeHeliconeRows({ count: 60, since, until: since + 60 * 60_000, errorEvery: 4 });
  raw[3].properties = {};
  raw[3].request_properties = {};
  raw[7].cost = null;
  raw[7].costUSD = null;
  raw[9].request_user_id = null;
  const rows = raw.map((r) => parseHeliconeRow(r));

  const patternChars = fc.constantFrom(...'gptcladu4o-mn%_0123'.split(''));
  const pattern = fc.array(patternChars, { maxLength: 8 }).map((a) => a.join(''));
  const plain = fc.array(fc.constantFrom(...'gptclaudeo4-mini'.split('')), { maxLength: 6 }).map((a) => a.join(''));
  const textValue = fc.oneof(fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet', 'user-1', 'production', 'staging', 'null', ''), plain);
  const textLeaf = (field: string): fc.Arbitrary<unknown> => fc.oneof(
    fc.record({ op: fc.constantFrom('equals', 'not-equals'), v: textValue }),
    fc.record({ op: fc.constantFrom('like', 'ilike'), v: pattern }),
    fc.record({ op: fc.constantFrom('contains', 'not-contains'), v: plain }),
  ).map(({ op, v }) => (field.startsWith('prop:')
    ? { request_response_rmt: { properties: { [field.slice(5)]: { [op]: v } } } }
    : { request_response_rmt: { [field]: { [op]: v } } }));
  const numberLeaf = (field: string, values: fc.Arbitrary<number>): fc.Arbitrary<unknown> =>
    fc.record({ op: fc.constantFrom('equals', 'not-equals', 'gte', 'lte', 'gt', 'lt'), v: values }).map(({ op, v }) => ({ request_response_rmt: { [field]: { [op]: v } } }));
  const timeLeaf = fc.record({ op: fc.constantFrom('equals', 'gte', 'lte', 'gt', 'lt'), m: fc.integer({ min: -5, max: 65 }) })
    .map(({ op, m }) => ({ request_response_rmt: { request_created_at: { [op]: new Date(since + m * 60_000).toISOString() } } }));
  const leaf = fc.oneof(
    textLeaf('model'), textLeaf('user_id'), textLeaf('provider'), textLeaf('prop:Environment'), textLeaf('prop:Team'),
    numberLeaf('status', fc.constantFrom(200, 404, 500)), numberLeaf('latency', fc.integer({ min: 90, max: 800 })),
    numberLeaf('cost', fc.constantFrom(0, 0.001, 0.002, 0.003, 0.005)), timeLeaf, fc.constant('all'),
  );
  const tree = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.record({ left: tie('node'), operator: fc.constantFrom('and', 'or'), right: tie('node') })),
  })).node;

  it('on random trees over fixture rows', () => {
    fc.assert(fc.property(tree, (t) => {
      const pred = compileFilter(t);
      rows.forEach((r, i) => assert.equal(pred(r), fakeMatches(t, raw[i]), `row ${i}: ${JSON.stringify(t)}`));
    }), { numRuns: Number(process.env.QUERY_FC_RUNS ?? 400) });
  });
});
