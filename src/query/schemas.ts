// Request bodies of the Helicone-compatible API, shared by the local server (which validates
// them) and the client (which sends them). Shapes are Helicone's: RequestQueryParams and
// SortLeafRequest (valhalla/jawn requestController.ts, sorts.ts), SessionQueryParams
// (sessionController.ts) and HeliconeAsyncLogRequest (docs: "Manual Logger - cURL").
import { z } from 'zod';
import { filterNodeSchema } from './filter';
import type { FilterNode } from './filter';

/** Helicone refuses a limit above 1000 ("invalid limit"); so do we. */
export const MAX_LIMIT = 1000;
/** Helicone's default page when no limit is given. */
export const DEFAULT_LIMIT = 10;

/** zod error option: "required field missing" when absent, else `text`. */
const err = (text: string): { error: (iss: { input?: unknown }) => string } => ({
  error: (iss) => (iss.input === undefined ? 'required field missing' : text),
});

const sortDirection = z.enum(['asc', 'desc'], err('expected "asc" or "desc"'));

export const SORT_KEYS = ['created_at', 'latency', 'cost', 'total_tokens', 'prompt_tokens', 'completion_tokens', 'user_id', 'body_model'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export const sortSchema = z.strictObject(
  {
    created_at: sortDirection.optional(),
    latency: sortDirection.optional(),
    cost: sortDirection.optional(),
    total_tokens: sortDirection.optional(),
    prompt_tokens: sortDirection.optional(),
    completion_tokens: sortDirection.optional(),
    user_id: sortDirection.optional(),
    body_model: sortDirection.optional(),
    properties: z.record(z.string(), sortDirection).optional(),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unsupported sort key ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}; supported: ${SORT_KEYS.join(', ')}, properties`
        : undefined,
  },
);
export type SortLeaf = z.infer<typeof sortSchema>;

const limitSchema = z
  .number(err('expected a whole number'))
  .int(err('expected a whole number'))
  .min(0, err('must be at least 0'))
  .max(MAX_LIMIT, err(`must be at most ${MAX_LIMIT}`));
const offsetSchema = z.number(err('expected a whole number')).int(err('expected a whole number')).min(0, err('must be at least 0'));

/**
 * POST /v1/request/query (and /query-clickhouse). Unknown keys are ignored, so a newer Helicone
 * client's extra flags do not break against LLM Lens.
 */
export const requestQueryBodySchema = z.looseObject({
  filter: filterNodeSchema.optional(),
  limit: limitSchema.optional(),
  offset: offsetSchema.optional(),
  sort: sortSchema.optional(),
  isCached: z.boolean(err('expected true or false')).optional(),
  includeInputs: z.boolean(err('expected true or false')).optional(),
  isPartOfExperiment: z.boolean(err('expected true or false')).optional(),
  isScored: z.boolean(err('expected true or false')).optional(),
  /** LLM Lens addition: include request_body / response_body in each row (read from disk). */
  includeBodies: z.boolean(err('expected true or false')).optional(),
});

export interface RequestQueryBody {
  filter: FilterNode;
  limit?: number;
  offset?: number;
  sort?: SortLeaf;
  isCached?: boolean;
  includeInputs?: boolean;
  isPartOfExperiment?: boolean;
  isScored?: boolean;
  includeBodies?: boolean;
}

/** POST /v1/session/query; Helicone requires every field but filter defaults sensibly here. */
export const sessionQueryBodySchema = z.looseObject({
  search: z.string(err('expected a string')).optional(),
  timeFilter: z
    .strictObject({
      startTimeUnixMs: z.number(err('expected epoch milliseconds')),
      endTimeUnixMs: z.number(err('expected epoch milliseconds')),
    })
    .optional(),
  nameEquals: z.string(err('expected a string')).optional(),
  /** Minutes; Helicone shifts its output times by it. Our times stay UTC ISO strings, so it is only validated. */
  timezoneDifference: z.number(err('expected minutes')).min(-24 * 60).max(24 * 60).optional(),
  filter: filterNodeSchema.optional(),
  limit: limitSchema.optional(),
  offset: offsetSchema.optional(),
});

export interface SessionQueryBody {
  search?: string;
  timeFilter?: { startTimeUnixMs: number; endTimeUnixMs: number };
  nameEquals?: string;
  timezoneDifference?: number;
  filter?: FilterNode;
  limit?: number;
  offset?: number;
}

const timePoint = z.looseObject({
  seconds: z.number(err('expected epoch seconds')).min(0),
  milliseconds: z.number(err('expected milliseconds')).min(0).max(999_999).optional(),
});

/** POST /custom/v1/log: Helicone's HeliconeAsyncLogRequest. */
export const customLogBodySchema = z.looseObject({
  providerRequest: z.looseObject({
    url: z.string(err('expected a string such as "custom-model-nopath"')).optional(),
    json: z.record(z.string(), z.unknown(), err('expected the request as a JSON object')),
    meta: z.record(z.string(), z.string(err('expected a string'))).optional(),
  }),
  providerResponse: z.looseObject({
    json: z.unknown().optional(),
    textBody: z.string(err('expected a string')).optional(),
    status: z.number(err('expected an HTTP status number')).int(err('expected a whole number')).min(0).max(999),
    headers: z.record(z.string(), z.string(err('expected a string'))).optional(),
  }),
  timing: z
    .looseObject({
      startTime: timePoint,
      endTime: timePoint,
      timeToFirstToken: z.number(err('expected milliseconds')).min(0).optional(),
    })
    .optional(),
});
export type CustomLogBody = z.infer<typeof customLogBodySchema>;

/** "body.filter.left: expected ..." from a zod error, naming the first bad field. */
export function describeZodError(error: z.ZodError, root = 'body'): string {
  const first = error.issues[0];
  if (!first) return `${root}: invalid`;
  let path = root;
  for (const p of first.path) {
    const k = typeof p === 'symbol' ? String(p) : p;
    path += typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  }
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  return `${path}: ${first.message}${more}`;
}
