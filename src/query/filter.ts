// Helicone's filter tree: validation, evaluation over rows, and builders for the client.
//
// The tree is Helicone's own (packages/filters/filterDefs.ts in Helicone/helicone):
//   FilterNode = "all" | FilterLeaf | { left: FilterNode, operator: "and" | "or", right: FilterNode }
//   FilterLeaf = { request_response_rmt?: {...}, sessions_request_response_rmt?: {...}, properties?: {...} }
// and the operator semantics follow how Helicone compiles it to SQL (packages/filters/filters.ts):
// like = LIKE (case-sensitive, % and _ wildcards), ilike = ILIKE, contains = ILIKE '%v%' (the value
// stays a pattern, as in Helicone), not-contains = NOT ILIKE '%v%', equals "null" = IS NULL.
//
// Two deliberate differences, both strictly more useful and both safe for trees Helicone accepts:
// several fields or operators in one leaf are ANDed (Helicone silently keeps only the first), and
// an unknown field or operator is a 400 naming its path (Helicone answers 500).
import { z } from 'zod';
import { LensError } from '../core/errors';
import type { HeliconeRow, HeliconeSessionRow } from './rows';

// ---------------------------------------------------------------------------------------------
// Types

export type TextOperator = 'equals' | 'not-equals' | 'like' | 'ilike' | 'contains' | 'not-contains';
export type NumberOperator = 'equals' | 'not-equals' | 'gte' | 'lte' | 'gt' | 'lt';
export type TimestampOperator = 'equals' | 'gte' | 'lte' | 'gt' | 'lt';

export type TextOps = Partial<Record<TextOperator, string>>;
export type NumberOps = Partial<Record<NumberOperator, number>>;
/** Timestamps are ISO 8601 strings (what a JS Date becomes in JSON); no offset means UTC. */
export type TimestampOps = Partial<Record<TimestampOperator, string>>;
export type BooleanOps = { equals?: boolean };

export const TEXT_OPERATORS: readonly TextOperator[] = ['equals', 'not-equals', 'like', 'ilike', 'contains', 'not-contains'];
export const NUMBER_OPERATORS: readonly NumberOperator[] = ['equals', 'not-equals', 'gte', 'lte', 'gt', 'lt'];
export const TIMESTAMP_OPERATORS: readonly TimestampOperator[] = ['equals', 'gte', 'lte', 'gt', 'lt'];

export interface RequestResponseRmtLeaf {
  model?: TextOps;
  user_id?: TextOps;
  request_id?: TextOps;
  target_url?: TextOps;
  /** LLM Lens addition; values are Helicone's upper-case provider names (OPENAI, ANTHROPIC, ...). */
  provider?: TextOps;
  status?: NumberOps;
  latency?: NumberOps;
  time_to_first_token?: NumberOps;
  prompt_tokens?: NumberOps;
  completion_tokens?: NumberOps;
  prompt_cache_read_tokens?: NumberOps;
  prompt_cache_write_tokens?: NumberOps;
  total_tokens?: NumberOps;
  /** USD. */
  cost?: NumberOps;
  request_created_at?: TimestampOps;
  response_created_at?: TimestampOps;
  cache_enabled?: BooleanOps;
  properties?: Record<string, TextOps>;
}

export interface SessionsRmtLeaf {
  session_session_id?: TextOps;
  session_session_name?: TextOps;
  // Aggregates: only meaningful in the session query (Helicone evaluates them in HAVING).
  session_total_cost?: NumberOps;
  session_total_tokens?: NumberOps;
  session_prompt_tokens?: NumberOps;
  session_completion_tokens?: NumberOps;
  session_total_requests?: NumberOps;
  session_created_at?: TimestampOps;
  session_latest_request_created_at?: TimestampOps;
}

export interface FilterLeaf {
  request_response_rmt?: RequestResponseRmtLeaf;
  sessions_request_response_rmt?: SessionsRmtLeaf;
  /** Helicone's top-level properties table: same meaning as request_response_rmt.properties. */
  properties?: Record<string, TextOps>;
}

export interface FilterBranch {
  left: FilterNode;
  operator: 'and' | 'or';
  right: FilterNode;
}

export type FilterNode = 'all' | FilterLeaf | FilterBranch;

/** An invalid filter tree; `path` names the offending part (e.g. "filter.left.request_response_rmt.model"). */
export class FilterError extends LensError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('QUERY_BAD_REQUEST', `${path}: ${message}`);
    this.name = 'FilterError';
    this.path = path;
  }
}

// ---------------------------------------------------------------------------------------------
// Field tables: which fields exist, their kind, and how to read them from a row.

type FieldKind = 'text' | 'number' | 'timestamp' | 'boolean';
type Getter<R> = (row: R) => string | number | boolean | null;

const SESSION_ID_PROP = 'Helicone-Session-Id';
const SESSION_NAME_PROP = 'Helicone-Session-Name';

const prop = (row: HeliconeRow, name: string): string | null =>
  Object.prototype.hasOwnProperty.call(row.properties, name) ? row.properties[name] : null;

const RMT_FIELDS: Record<string, { kind: FieldKind; get: Getter<HeliconeRow> }> = {
  model: { kind: 'text', get: (r) => r.model },
  user_id: { kind: 'text', get: (r) => r.request_user_id },
  request_id: { kind: 'text', get: (r) => r.request_id },
  target_url: { kind: 'text', get: (r) => r.target_url },
  provider: { kind: 'text', get: (r) => r.provider },
  status: { kind: 'number', get: (r) => r.response_status },
  latency: { kind: 'number', get: (r) => r.delay_ms },
  time_to_first_token: { kind: 'number', get: (r) => r.time_to_first_token },
  prompt_tokens: { kind: 'number', get: (r) => r.prompt_tokens },
  completion_tokens: { kind: 'number', get: (r) => r.completion_tokens },
  prompt_cache_read_tokens: { kind: 'number', get: (r) => r.prompt_cache_read_tokens },
  prompt_cache_write_tokens: { kind: 'number', get: (r) => r.prompt_cache_write_tokens },
  total_tokens: { kind: 'number', get: (r) => r.total_tokens },
  cost: { kind: 'number', get: (r) => r.cost },
  request_created_at: { kind: 'timestamp', get: (r) => r.request_created_at },
  response_created_at: { kind: 'timestamp', get: (r) => r.response_created_at },
  cache_enabled: { kind: 'boolean', get: (r) => r.cache_enabled },
};

const SESSION_ROW_FIELDS: Record<string, { kind: FieldKind; get: Getter<HeliconeRow> }> = {
  session_session_id: { kind: 'text', get: (r) => prop(r, SESSION_ID_PROP) },
  session_session_name: { kind: 'text', get: (r) => prop(r, SESSION_NAME_PROP) },
};

const SESSION_AGG_FIELDS: Record<string, { kind: FieldKind; get: Getter<HeliconeSessionRow> }> = {
  session_total_cost: { kind: 'number', get: (s) => s.total_cost },
  session_total_tokens: { kind: 'number', get: (s) => s.total_tokens },
  session_prompt_tokens: { kind: 'number', get: (s) => s.prompt_tokens },
  session_completion_tokens: { kind: 'number', get: (s) => s.completion_tokens },
  session_total_requests: { kind: 'number', get: (s) => s.total_requests },
  session_created_at: { kind: 'timestamp', get: (s) => s.created_at },
  session_latest_request_created_at: { kind: 'timestamp', get: (s) => s.latest_request_created_at },
};

const RMT_FIELD_NAMES = [...Object.keys(RMT_FIELDS), 'properties'];
const SESSION_FIELD_NAMES = [...Object.keys(SESSION_ROW_FIELDS), ...Object.keys(SESSION_AGG_FIELDS)];
const TABLES = ['request_response_rmt', 'sessions_request_response_rmt', 'properties'];

// ---------------------------------------------------------------------------------------------
// Timestamps

const TIMESTAMP_RE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Epoch ms of an ISO 8601 timestamp (also ClickHouse's "YYYY-MM-DD HH:MM:SS.fff"), or null.
 * No offset means UTC, as in ClickHouse; JS alone would read a bare date-time as local time.
 */
export function parseTimestamp(s: string): number | null {
  // Rows are compared against several leaves in a row: remember the last answer.
  if (s === memo.input) return memo.output;
  let out: number | null;
  if (s.length === 24 && CANONICAL_RE.test(s)) {
    // The form toISOString() writes, on every row: a round trip catches "Feb 30" and "24:00".
    const t = Date.parse(s);
    out = Number.isFinite(t) && new Date(t).toISOString() === s ? t : null;
  } else {
    out = parseTimestampSlow(s);
  }
  memo.input = s;
  memo.output = out;
  return out;
}

const CANONICAL_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const memo: { input: string | null; output: number | null } = { input: null, output: null };

function parseTimestampSlow(s: string): number | null {
  const m = TIMESTAMP_RE.exec(s.trim());
  if (!m) return null;
  const [, date, hm, sec, frac, zone] = m;
  const ms = frac ? '.' + frac.slice(0, 3).padEnd(3, '0') : '';
  let offset = zone ? zone.toUpperCase() : 'Z';
  if (offset !== 'Z' && offset.length === 5) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`;
  const iso = `${date}T${hm ?? '00:00'}:${sec ?? '00'}${ms}${offset}`;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return null;
  // Date.parse rolls "2024-02-31" over to March; a calendar date that does not exist is an error.
  const [y, mo, d] = date.split('-').map(Number);
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return null;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Validation (zod for the pieces; the node dispatch is ours so errors name the right path)

const NUMERIC_STRING = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i;

const numberValue = z.preprocess(
  (v) => (typeof v === 'string' && NUMERIC_STRING.test(v) ? Number(v) : v),
  z.number({ error: 'expected a finite number' }),
);
const textValue = z.string({ error: 'expected a string' });
const timestampValue = z
  .string({ error: 'expected an ISO 8601 timestamp string' })
  .refine((s) => parseTimestamp(s) !== null, { error: 'expected an ISO 8601 timestamp such as "2025-01-31T12:00:00Z"' });
const booleanValue = z.boolean({ error: 'expected true or false' });

function opsSchema<K extends string, T>(kind: string, ops: readonly K[], value: z.ZodType<T>): z.ZodType<Partial<Record<K, T>>> {
  const shape = Object.fromEntries(ops.map((o) => [o, value.optional()])) as Record<K, z.ZodOptional<z.ZodType<T>>>;
  return z
    .strictObject(shape, {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown operator ${iss.keys.map((k) => JSON.stringify(k)).join(', ')} for a ${kind} field; expected one of ${ops.join(', ')}`
          : iss.code === 'invalid_type'
            ? `expected an operator object such as {"${ops[0]}": ...}`
            : undefined,
    })
    .refine((o) => Object.keys(o).length > 0, {
      error: `no operator given; expected one of ${ops.join(', ')}`,
      // An unknown operator already said what is wrong; "no operator" on top would only confuse.
      when: (payload) => payload.issues.length === 0,
    }) as unknown as z.ZodType<
    Partial<Record<K, T>>
  >;
}

export const textOpsSchema = opsSchema('text', TEXT_OPERATORS, textValue);
export const numberOpsSchema = opsSchema('number', NUMBER_OPERATORS, numberValue);
export const timestampOpsSchema = opsSchema('timestamp', TIMESTAMP_OPERATORS, timestampValue);
export const booleanOpsSchema = opsSchema('boolean', ['equals'] as const, booleanValue);

const KIND_SCHEMA: Record<FieldKind, z.ZodType<unknown>> = {
  text: textOpsSchema,
  number: numberOpsSchema,
  timestamp: timestampOpsSchema,
  boolean: booleanOpsSchema,
};

const propertiesSchema = z.record(z.string(), textOpsSchema, { error: 'expected an object of property names to operators' });

function tableSchema(fields: Record<string, { kind: FieldKind }>, extra: Record<string, z.ZodType<unknown>>, names: string[]): z.ZodType<unknown> {
  const shape: Record<string, z.ZodType<unknown>> = {};
  for (const [name, f] of Object.entries(fields)) shape[name] = KIND_SCHEMA[f.kind].optional();
  for (const [name, s] of Object.entries(extra)) shape[name] = s.optional();
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown field ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}; supported: ${names.join(', ')}`
        : iss.code === 'invalid_type'
          ? 'expected an object of fields to operators'
          : undefined,
  });
}

const leafSchema = z.strictObject(
  {
    request_response_rmt: tableSchema(RMT_FIELDS, { properties: propertiesSchema }, RMT_FIELD_NAMES).optional(),
    sessions_request_response_rmt: tableSchema({ ...SESSION_ROW_FIELDS, ...SESSION_AGG_FIELDS }, {}, SESSION_FIELD_NAMES).optional(),
    properties: propertiesSchema.optional(),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown table ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}; supported: ${TABLES.join(', ')} (or a branch {left, operator, right})`
        : undefined,
  },
);

/** Deeper trees are refused: real filters are a few levels deep, and recursion must stay bounded. */
export const MAX_FILTER_DEPTH = 200;

interface Issue { path: (string | number)[]; message: string }

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

function validateNode(value: unknown, path: (string | number)[], depth: number, issues: Issue[]): FilterNode | undefined {
  if (depth > MAX_FILTER_DEPTH) {
    issues.push({ path, message: `filter nested deeper than ${MAX_FILTER_DEPTH} levels` });
    return undefined;
  }
  if (value === 'all') return 'all';
  if (typeof value === 'string') {
    issues.push({ path, message: `expected "all", a leaf or a branch, got the string ${JSON.stringify(value.slice(0, 40))}` });
    return undefined;
  }
  if (!isPlainObject(value)) {
    issues.push({ path, message: `expected "all", a leaf such as {"request_response_rmt": {"model": {"equals": "gpt-4o"}}} or a branch {"left", "operator", "right"}, got ${describe(value)}` });
    return undefined;
  }
  if ('left' in value || 'right' in value || 'operator' in value) {
    const before = issues.length;
    const extra = Object.keys(value).filter((k) => k !== 'left' && k !== 'right' && k !== 'operator');
    if (extra.length) issues.push({ path, message: `a branch has only left, operator and right; unexpected ${extra.map((k) => JSON.stringify(k)).join(', ')}` });
    if (value.operator !== 'and' && value.operator !== 'or') {
      issues.push({ path: [...path, 'operator'], message: `expected "and" or "or", got ${describe(value.operator)}` });
    }
    if (!('left' in value)) issues.push({ path: [...path, 'left'], message: 'missing' });
    if (!('right' in value)) issues.push({ path: [...path, 'right'], message: 'missing' });
    const left = 'left' in value ? validateNode(value.left, [...path, 'left'], depth + 1, issues) : undefined;
    const right = 'right' in value ? validateNode(value.right, [...path, 'right'], depth + 1, issues) : undefined;
    if (issues.length > before || left === undefined || right === undefined) return undefined;
    return { left, operator: value.operator as 'and' | 'or', right };
  }
  // zod drops a "__proto__" key from records, which would silently widen the filter to "all".
  for (const [table, fields] of Object.entries(value)) {
    const props = table === 'properties' ? fields : isPlainObject(fields) ? fields.properties : undefined;
    if (isPlainObject(props) && Object.prototype.hasOwnProperty.call(props, '__proto__')) {
      issues.push({ path: [...path, table, ...(table === 'properties' ? [] : ['properties']), '__proto__'], message: 'the property name "__proto__" is not supported' });
      return undefined;
    }
  }
  const r = leafSchema.safeParse(value);
  if (!r.success) {
    for (const iss of r.error.issues) issues.push({ path: [...path, ...(iss.path as (string | number)[])], message: iss.message });
    return undefined;
  }
  return r.data as FilterLeaf;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 40));
  if (typeof v === 'object') return 'an object';
  return typeof v === 'undefined' ? 'nothing' : `${typeof v} ${String(v)}`;
}

function formatPath(root: string, path: (string | number)[]): string {
  let out = root;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
  return out;
}

/**
 * The zod schema of a filter tree, for embedding in request body schemas. Its issues carry the
 * path of the bad part relative to where the schema sits.
 */
export const filterNodeSchema: z.ZodType<FilterNode, unknown> = z.unknown().transform((value, ctx) => {
  const issues: Issue[] = [];
  const node = safeValidate(value, issues);
  if (node === undefined) {
    for (const i of issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  }
  return node;
});

function safeValidate(value: unknown, issues: Issue[]): FilterNode | undefined {
  try {
    return validateNode(value, [], 0, issues);
  } catch (e) {
    // Exotic inputs (getters that throw, proxies) must still end as a validation error.
    issues.push({ path: [], message: `unreadable filter (${e instanceof Error ? e.message : String(e)})` });
    return undefined;
  }
}

export type FilterParseResult = { ok: true; filter: FilterNode } | { ok: false; error: FilterError };

/** Validates a filter tree without throwing. `root` prefixes paths in messages (default "filter"). */
export function safeParseFilter(value: unknown, root = 'filter'): FilterParseResult {
  const issues: Issue[] = [];
  const node = safeValidate(value, issues);
  if (node !== undefined) return { ok: true, filter: node };
  const first = issues[0] ?? { path: [], message: 'invalid filter' };
  const error = new FilterError(formatPath(root, first.path), first.message);
  if (issues.length > 1) error.message += ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})`;
  return { ok: false, error };
}

/** Validates a filter tree; throws FilterError (code QUERY_BAD_REQUEST) naming the bad path. */
export function parseFilter(value: unknown, root = 'filter'): FilterNode {
  const r = safeParseFilter(value, root);
  if (!r.ok) throw r.error;
  return r.filter;
}

// ---------------------------------------------------------------------------------------------
// Semantics

/**
 * SQL LIKE: % = any run of characters, _ = exactly one (code point), backslash escapes the next
 * character. A linear-space, O(text × pattern) matcher: no regex, so a hostile pattern cannot
 * cause catastrophic backtracking.
 */
export function sqlLike(text: string, pattern: string, caseInsensitive = false): boolean {
  const t = Array.from(caseInsensitive ? text.toLowerCase() : text);
  const raw = Array.from(caseInsensitive ? pattern.toLowerCase() : pattern);
  type Tok = { any: true } | { one: true } | { ch: string };
  const p: Tok[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && i + 1 < raw.length) p.push({ ch: raw[++i] });
    else if (c === '%') { if (!(p.length && 'any' in p[p.length - 1])) p.push({ any: true }); }
    else if (c === '_') p.push({ one: true });
    else p.push({ ch: c });
  }
  let ti = 0;
  let pi = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    const tok = p[pi];
    if (tok && 'any' in tok) { starP = pi++; starT = ti; continue; }
    if (tok && ('one' in tok || tok.ch === t[ti])) { ti++; pi++; continue; }
    if (starP >= 0) { pi = starP + 1; ti = ++starT; continue; }
    return false;
  }
  while (pi < p.length && 'any' in p[pi]) pi++;
  return pi === p.length;
}

function textMatches(op: string, actual: string | null, v: string): boolean {
  // Helicone's columns default to '' (ClickHouse), so a missing value compares as '';
  // the string "null" with equals / not-equals asks whether the value is absent, as in Helicone.
  const a = actual ?? '';
  switch (op) {
    case 'equals': return v === 'null' ? actual === null : a === v;
    case 'not-equals': return v === 'null' ? actual !== null : a !== v;
    case 'like': return sqlLike(a, v, false);
    case 'ilike': return sqlLike(a, v, true);
    case 'contains': return sqlLike(a, `%${v}%`, true);
    case 'not-contains': return !sqlLike(a, `%${v}%`, true);
    default: return false;
  }
}

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case 'equals': return a === b;
    case 'not-equals': return a !== b;
    case 'gte': return a >= b;
    case 'lte': return a <= b;
    case 'gt': return a > b;
    case 'lt': return a < b;
    default: return false;
  }
}

type Pred<R> = (row: R) => boolean;

function fieldPred<R>(kind: FieldKind, get: Getter<R>, ops: Record<string, unknown>): Pred<R> {
  const preds: Pred<R>[] = [];
  for (const [op, v] of Object.entries(ops)) {
    if (v === undefined) continue;
    switch (kind) {
      case 'text': {
        const value = v as string;
        preds.push((r) => { const a = get(r); return textMatches(op, typeof a === 'string' ? a : a === null ? null : String(a), value); });
        break;
      }
      case 'number': {
        const value = v as number;
        // SQL NULL semantics: a missing number satisfies no comparison.
        preds.push((r) => { const a = get(r); return typeof a === 'number' && compare(op, a, value); });
        break;
      }
      case 'timestamp': {
        const value = parseTimestamp(v as string) as number;
        preds.push((r) => { const a = get(r); const t = typeof a === 'string' ? parseTimestamp(a) : null; return t !== null && compare(op, t, value); });
        break;
      }
      case 'boolean': {
        const value = v as boolean;
        preds.push((r) => get(r) === value);
        break;
      }
    }
  }
  return (r) => preds.every((p) => p(r));
}

function propertiesPred(props: Record<string, TextOps>): Pred<HeliconeRow> {
  const preds = Object.entries(props).map(([name, ops]) => fieldPred<HeliconeRow>('text', (r) => prop(r, name), ops as Record<string, unknown>));
  return (r) => preds.every((p) => p(r));
}

/** 'error' refuses session aggregates (request query); 'ignore' makes them true (Helicone's WHERE pass). */
type AggregateMode = 'error' | 'ignore';

function compileRowNode(node: FilterNode, aggregates: AggregateMode, path: (string | number)[]): Pred<HeliconeRow> {
  if (node === 'all') return () => true;
  if ('left' in node) {
    const l = compileRowNode(node.left, aggregates, [...path, 'left']);
    const r = compileRowNode(node.right, aggregates, [...path, 'right']);
    return node.operator === 'and' ? (row) => l(row) && r(row) : (row) => l(row) || r(row);
  }
  const preds: Pred<HeliconeRow>[] = [];
  const rmt = node.request_response_rmt;
  if (rmt) {
    for (const [field, ops] of Object.entries(rmt)) {
      if (ops === undefined) continue;
      if (field === 'properties') preds.push(propertiesPred(ops as Record<string, TextOps>));
      else preds.push(fieldPred(RMT_FIELDS[field].kind, RMT_FIELDS[field].get, ops as Record<string, unknown>));
    }
  }
  const sess = node.sessions_request_response_rmt;
  if (sess) {
    for (const [field, ops] of Object.entries(sess)) {
      if (ops === undefined) continue;
      const rowField = SESSION_ROW_FIELDS[field];
      if (rowField) preds.push(fieldPred(rowField.kind, rowField.get, ops as Record<string, unknown>));
      else if (aggregates === 'error') {
        throw new FilterError(formatPath('filter', [...path, 'sessions_request_response_rmt', field]), 'a session aggregate can only be used in POST /v1/session/query');
      }
    }
  }
  if (node.properties) preds.push(propertiesPred(node.properties));
  return (row) => preds.every((p) => p(row));
}

function compileSessionNode(node: FilterNode): Pred<HeliconeSessionRow> {
  if (node === 'all') return () => true;
  if ('left' in node) {
    const l = compileSessionNode(node.left);
    const r = compileSessionNode(node.right);
    return node.operator === 'and' ? (s) => l(s) && r(s) : (s) => l(s) || r(s);
  }
  const preds: Pred<HeliconeSessionRow>[] = [];
  for (const [field, ops] of Object.entries(node.sessions_request_response_rmt ?? {})) {
    const agg = SESSION_AGG_FIELDS[field];
    if (agg && ops !== undefined) preds.push(fieldPred(agg.kind, agg.get, ops as Record<string, unknown>));
  }
  return (s) => preds.every((p) => p(s));
}

/**
 * Validates `tree` and returns a predicate over rows with Helicone's semantics.
 * Throws only FilterError (code QUERY_BAD_REQUEST), naming the bad path.
 */
export function compileFilter(tree: unknown): (row: HeliconeRow) => boolean {
  const node = parseFilter(tree);
  return compileRowNode(node, 'error', []);
}

/**
 * For the session query, split as Helicone does: request-level leaves filter the requests that
 * make up sessions (WHERE), session aggregates filter the resulting sessions (HAVING); a leaf of
 * the other kind counts as true in each pass.
 */
export function compileSessionFilter(tree: unknown): { row: (row: HeliconeRow) => boolean; session: (s: HeliconeSessionRow) => boolean } {
  const node = parseFilter(tree);
  return { row: compileRowNode(node, 'ignore', []), session: compileSessionNode(node) };
}

/**
 * The request_created_at bounds that every matching row must satisfy (from leaves on the
 * top-level AND spine), so a caller can narrow its scan before evaluating the full predicate.
 */
export function createdAtBounds(node: FilterNode): { since?: number; until?: number } {
  const out: { since?: number; until?: number } = {};
  const visit = (n: FilterNode): void => {
    if (n === 'all') return;
    if ('left' in n) { if (n.operator === 'and') { visit(n.left); visit(n.right); } return; }
    const ops = n.request_response_rmt?.request_created_at;
    if (!ops) return;
    for (const [op, v] of Object.entries(ops)) {
      const t = typeof v === 'string' ? parseTimestamp(v) : null;
      if (t === null) continue;
      if (op === 'gte' || op === 'gt' || op === 'equals') out.since = Math.max(out.since ?? -Infinity, t);
      if (op === 'lte' || op === 'lt' || op === 'equals') out.until = Math.min(out.until ?? Infinity, t);
    }
  };
  visit(node);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Builders. Each leaf holds ONE field with ONE operator, because Helicone's server reads only the
// first key of a leaf: anything else is combined with branches.

export function propertyEquals(name: string, value: string): FilterLeaf {
  return { request_response_rmt: { properties: { [name]: { equals: value } } } };
}

export function modelEquals(model: string): FilterLeaf {
  return { request_response_rmt: { model: { equals: model } } };
}

export function userEquals(userId: string): FilterLeaf {
  return { request_response_rmt: { user_id: { equals: userId } } };
}

/** Requests created in [since, until) (epoch ms): half-open, so adjacent windows never overlap. */
export function timeWindow(since: number, until: number): FilterNode {
  if (!Number.isFinite(since) || !Number.isFinite(until) || Math.abs(since) > 8.64e15 || Math.abs(until) > 8.64e15) {
    throw new FilterError('timeWindow', `since and until must be epoch milliseconds, got ${since} and ${until}`);
  }
  return and(
    { request_response_rmt: { request_created_at: { gte: new Date(since).toISOString() } } },
    { request_response_rmt: { request_created_at: { lt: new Date(until).toISOString() } } },
  );
}

/** Conjunction; "all" operands drop out and no operand at all means "all". */
export function and(...nodes: FilterNode[]): FilterNode {
  const kept = nodes.filter((n) => n !== 'all');
  if (kept.length === 0) return 'all';
  return kept.reduce((left, right) => ({ left, operator: 'and', right }));
}

/** Disjunction of at least one operand; an "all" operand makes the whole of it "all". */
export function or(first: FilterNode, ...rest: FilterNode[]): FilterNode {
  const nodes = [first, ...rest];
  if (nodes.includes('all')) return 'all';
  return nodes.reduce((left, right) => ({ left, operator: 'or', right }));
}
