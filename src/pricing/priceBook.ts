// Cost of a request from its usage. Prices come from @pydantic/genai-prices' bundled table (tiered
// and date-bound prices, cache read/write rates), user overrides win, and local upstreams can be
// free. An unknown model costs null with a warning: a 0 would read as "free" in every total.
//
// No network, ever: the package only fetches when updatePrices() is set up, and we never call it.
// Prices therefore change when the package is upgraded (GENAI_PRICES_VERSION names the data).
import * as path from 'node:path';
import { z } from 'zod';
import type { CostBreakdown, PriceInfo, Usage } from '../core/types';

type GenaiPrices = typeof import('@pydantic/genai-prices');
type GenaiProvider = import('@pydantic/genai-prices').Provider;
type ModelPrice = import('@pydantic/genai-prices').ModelPrice;
type PriceCalculation = import('@pydantic/genai-prices').PriceCalculation;

/**
 * The version of the price data we ship. The package does not export its package.json, so this is
 * written here and a unit test fails when it drifts from the installed package.
 */
export const GENAI_PRICES_VERSION = '0.1.8';

export const FREE_SOURCE = 'local upstream (free)';

export const PriceOverrideSchema = z.object({
  /** An exact model id, or a glob where `*` matches any run of characters (case-insensitive). */
  model: z.string().min(1),
  /** Limits the override to one upstream (the proxy's provider name). */
  provider: z.string().min(1).optional(),
  inputPerM: z.number().nonnegative(),
  outputPerM: z.number().nonnegative(),
  cachedInputPerM: z.number().nonnegative().optional(),
  cacheWritePerM: z.number().nonnegative().optional(),
});
export type PriceOverride = z.infer<typeof PriceOverrideSchema>;

export interface PriceBookOptions {
  overrides?: PriceOverride[];
  /** Provider (upstream) names whose traffic costs nothing, e.g. 'ollama'. */
  freeProviders?: string[];
}

export interface PriceQuery {
  provider: string;
  model: string | null;
  usage: Usage | null;
  /** When the request was made (epoch ms), for prices that changed over time; default now. */
  at?: number;
}

export interface PriceResult {
  /** null when the model is unknown or there is no usage to cost; never 0 for "unknown". */
  costUsd: number | null;
  cost: CostBreakdown | null;
  price: PriceInfo | null;
  warning: string | null;
}

/** Providers whose models the hovers recognise in source code (first-party APIs people call by model id). */
const HOVER_PROVIDERS = ['openai', 'anthropic', 'google', 'mistral', 'deepseek', 'x-ai', 'groq', 'cohere'];

/** Ids of models that are not chat/text generation, so never a sensible "cheaper alternative". */
const NOT_CHAT = /embed|whisper|tts|transcri|image|audio|realtime|moderation|search|computer-use|deep-research|safeguard|instruct|^(ada|babbage|curie|davinci)$|^text-/;

/** Weight of input vs output tokens when ranking models by one number (typical chat traffic is input-heavy). */
const BLEND_INPUT = 3;
const BLEND_OUTPUT = 1;

let lib: GenaiPrices | undefined;
/**
 * Loaded on first use: the table is ~480 KB of JavaScript that activation does not need. In the
 * bundles it is a separate file beside extension.js / cli.js (dist/prices.js, built from
 * pricesEntry.ts); from source (tests, tsx) it is pricesEntry.ts itself. The specifiers are not
 * literals on purpose, so that esbuild leaves the table out of the main bundle.
 */
function genai(): GenaiPrices {
  if (lib) return lib;
  const tried: string[] = [];
  for (const candidate of [path.join(__dirname, 'prices.js'), path.join(__dirname, 'pricesEntry')]) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(candidate) as Partial<GenaiPrices>;
      if (typeof mod.calcPrice === 'function') return (lib = mod as GenaiPrices);
    } catch (e) {
      tried.push(`${candidate}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  // A packaging bug, not a user error: say exactly what is missing rather than price everything at null silently.
  throw new Error(`LLM Lens price table not found (${tried.join('; ')})`);
}

interface Match { providerId: string | undefined; modelId: string }

interface CompiledOverride { override: PriceOverride; exact: boolean; re: RegExp }

export class PriceBook {
  /** Problems found in the configuration (invalid overrides are skipped, not fatal). */
  readonly configWarnings: string[] = [];
  private readonly overrides: CompiledOverride[];
  private readonly free: Set<string>;
  private readonly matches = new Map<string, Match | null>();
  private known: string[] | null = null;
  private readonly listCache = new Map<string, { hour: number; price: PriceInfo | null }>();
  private readonly flat = new Map<string, PriceCalculation | null>();

  constructor(opts: PriceBookOptions = {}) {
    const compiled: CompiledOverride[] = [];
    (opts.overrides ?? []).forEach((raw, i) => {
      const r = PriceOverrideSchema.safeParse(raw);
      if (!r.success) {
        this.configWarnings.push(`price override #${i + 1} ignored: ${r.error.issues.map((x) => `${x.path.join('.') || 'value'}: ${x.message}`).join('; ')}`);
        return;
      }
      const o = r.data;
      const exact = !o.model.includes('*');
      const re = new RegExp('^' + o.model.split('*').map(escapeRegExp).join('.*') + '$', 'i');
      compiled.push({ override: o, exact, re });
    });
    // Exact ids beat globs; within each kind, the first in the list wins.
    this.overrides = [...compiled.filter((c) => c.exact), ...compiled.filter((c) => !c.exact)];
    this.free = new Set((opts.freeProviders ?? []).map((p) => p.toLowerCase()));
  }

  price(q: PriceQuery): PriceResult {
    if (this.isFree(q.provider)) {
      const price = freePrice(q.model);
      return { costUsd: 0, cost: q.usage ? costFor(price, q.usage) : zeroCost(), price, warning: null };
    }
    if (!q.model) return { costUsd: null, cost: null, price: null, warning: 'no model in the request: no price' };
    const o = this.findOverride(q.model, q.provider);
    if (o) {
      const price = overridePrice(o);
      if (!q.usage) return { costUsd: null, cost: null, price, warning: null };
      const cost = costFor(price, q.usage);
      return { costUsd: cost.totalUsd, cost, price, warning: null };
    }
    const m = this.match(q.model, q.provider);
    if (!m) return { costUsd: null, cost: null, price: null, warning: `unknown model ${q.model}: no price` };
    const when = q.at !== undefined ? new Date(q.at) : undefined;
    if (!q.usage) {
      const calc = this.calc(m, ZERO_USAGE, when);
      return { costUsd: null, cost: null, price: calc ? tablePrice(calc, 0) : null, warning: null };
    }
    const flat = this.flatPrice(m);
    if (flat && consistent(q.usage)) {
      const price = priceInfo(flat.model_price, flat.provider.id, flat.model.id, q.usage.promptTokens);
      const cost = breakdown(flat.model_price, q.usage, round(flatTotal(flat.model_price, q.usage)));
      return { costUsd: cost.totalUsd, cost, price, warning: null };
    }
    let calc: PriceCalculation | null;
    try {
      calc = this.calc(m, toGenaiUsage(q.usage), when);
    } catch (e) {
      // genai-prices refuses inconsistent usage (e.g. cached > prompt): say so rather than guess.
      return { costUsd: null, cost: null, price: null, warning: `cannot price ${q.model}: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (!calc) return { costUsd: null, cost: null, price: null, warning: `unknown model ${q.model}: no price` };
    const price = tablePrice(calc, q.usage.promptTokens);
    const cost = breakdown(calc.model_price, q.usage, round(calc.total_price));
    return { costUsd: cost.totalUsd, cost, price, warning: null };
  }

  /** Prices per 1M tokens for a model at list (lowest-tier) rates, or null when unknown. */
  listPrice(model: string, provider?: string): PriceInfo | null {
    if (provider && this.isFree(provider)) return freePrice(model);
    const o = this.findOverride(model, provider ?? null);
    if (o) return overridePrice(o);
    const m = this.match(model, provider ?? null);
    return m ? this.tableListPrice(m) : null;
  }

  /** Loads the price table now (~100 ms, once) so that the first proxied request does not pay for it. */
  preload(): void {
    genai();
  }

  /**
   * Model ids the hovers can recognise in source: canonical ids and exact aliases (dated ids) of
   * first-party providers, plus exact-id overrides. For any other string, `listPrice(s) !== null`
   * tells whether it can be priced (that also covers provider prefixes and date suffixes).
   */
  knownModels(): string[] {
    if (this.known) return this.known;
    const ids = new Set<string>();
    for (const pid of HOVER_PROVIDERS) {
      const p = genai().findProvider({ providerId: pid });
      for (const m of p?.models ?? []) {
        if (isCallableId(m.id)) ids.add(m.id);
        for (const alias of equalsAliases(m.match)) if (isCallableId(alias)) ids.add(alias);
      }
    }
    for (const c of this.overrides) if (c.exact) ids.add(c.override.model);
    this.known = [...ids].sort();
    return this.known;
  }

  /**
   * Models of the same provider with a lower blended price (3 input : 1 output per token), the
   * closest-priced first: "what would this traffic cost one step down". Excludes deprecated and
   * non-chat models (embeddings, audio, images).
   */
  cheaperAlternatives(model: string, provider?: string, limit = 3): Array<{ model: string; price: PriceInfo }> {
    const current = this.listPrice(model, provider);
    const currentBlend = current ? blended(current) : null;
    if (!current || currentBlend === null || currentBlend === 0) return [];
    const m = this.match(model, provider ?? null);
    const pid = m ? this.calc(m, ZERO_USAGE)?.provider.id : provider && genai().findProvider({ providerId: provider })?.id;
    if (!pid) return [];
    const p = genai().findProvider({ providerId: pid });
    const self = current.matchedModel;
    const out: Array<{ model: string; price: PriceInfo; blend: number }> = [];
    for (const cand of p?.models ?? []) {
      if (cand.deprecated || cand.id === self || !isCallableId(cand.id) || NOT_CHAT.test(cand.id)) continue;
      // Plain price records are read directly (a full calcPrice per model made this ~60 ms for OpenAI);
      // date- or time-bound ones go through the table to pick the price in force now.
      const price = Array.isArray(cand.prices)
        ? this.tableListPrice({ providerId: pid, modelId: cand.id })
        : priceInfo(cand.prices, pid, cand.id, 0);
      if (!price || price.matchedModel !== cand.id) continue;
      const b = blended(price);
      if (b === null || b <= 0 || b >= currentBlend) continue;
      out.push({ model: cand.id, price, blend: b });
    }
    out.sort((a, b) => b.blend - a.blend || a.model.localeCompare(b.model));
    return out.slice(0, Math.max(0, limit)).map(({ model: id, price }) => ({ model: id, price }));
  }

  private isFree(provider: string): boolean {
    return this.free.has(provider.toLowerCase());
  }

  private findOverride(model: string, provider: string | null): PriceOverride | null {
    for (const c of this.overrides) {
      if (c.override.provider && (!provider || c.override.provider.toLowerCase() !== provider.toLowerCase())) continue;
      if (c.re.test(model)) return c.override;
    }
    return null;
  }

  /** Which (provider, model id) of the table prices this model; memoised, misses included. */
  private match(model: string, provider: string | null): Match | null {
    const key = `${provider ?? ''}\u0000${model}`;
    const hit = this.matches.get(key);
    if (hit !== undefined) return hit;
    const found = this.findMatch(model.trim(), provider);
    this.matches.set(key, found);
    return found;
  }

  private findMatch(model: string, provider: string | null): Match | null {
    const g = genai();
    const candidates: Match[] = [];
    const known = (id: string | undefined): boolean => !!id && !!g.findProvider({ providerId: id });
    if (provider && known(provider)) candidates.push({ providerId: provider, modelId: model });
    const slash = model.indexOf('/');
    if (slash > 0) {
      // Gateway ids like 'openai/gpt-4o' (OpenRouter, LiteLLM): try the vendor's own table too.
      const vendor = model.slice(0, slash);
      const rest = model.slice(slash + 1);
      if (known(vendor)) candidates.push({ providerId: vendor, modelId: rest });
      candidates.push({ providerId: undefined, modelId: rest });
    }
    // Last resort: let the table pick the provider from the model id (e.g. 'claude-*' through a custom upstream).
    candidates.push({ providerId: undefined, modelId: model });
    // The table's provider guess only knows model families (gpt-*, claude-*): an id such as
    // 'text-embedding-3-small' in source code needs the first-party tables searched by name.
    for (const pid of HOVER_PROVIDERS) if (pid !== provider) candidates.push({ providerId: pid, modelId: model });
    for (const c of candidates) {
      if (this.calc(c, ZERO_USAGE)) return c;
    }
    return null;
  }

  /**
   * List price of a matched model, cached per hour: hovers ask for the same few models on every
   * mouse move, and prices bound to dates or times of day can only change on such boundaries.
   */
  private tableListPrice(m: Match): PriceInfo | null {
    const hour = Math.floor(Date.now() / 3_600_000);
    const key = `${m.providerId ?? ''}\u0000${m.modelId}`;
    const hit = this.listCache.get(key);
    if (hit && hit.hour === hour) return hit.price;
    const calc = this.calc(m, ZERO_USAGE);
    const price = calc ? tablePrice(calc, 0) : null;
    this.listCache.set(key, { hour, price });
    return price;
  }

  /**
   * The table entry of a matched model whose price never changes with time and has only the four
   * token rates, plain or tiered (most chat models), memoised: genai-prices' calcPrice resolves the model
   * again on every call, which was ~5 % of the proxy's CPU. Anything else still goes through calcPrice.
   */
  private flatPrice(m: Match): PriceCalculation | null {
    const key = `${m.providerId ?? ''}\u0000${m.modelId}`;
    const hit = this.flat.get(key);
    if (hit !== undefined) return hit;
    let found: PriceCalculation | null = null;
    try {
      const calc = this.calc(m, ZERO_USAGE);
      if (calc && !Array.isArray(calc.model.prices) && isFlat(calc.model_price)) found = calc;
    } catch { /* priced the slow way */ }
    this.flat.set(key, found);
    return found;
  }

  private calc(m: Match, usage: Record<string, number>, when?: Date): PriceCalculation | null {
    const opts: { providerId?: string; timestamp?: Date } = {};
    if (m.providerId) opts.providerId = m.providerId;
    if (when && !Number.isNaN(when.getTime())) opts.timestamp = when;
    return genai().calcPrice(usage, m.modelId, opts);
  }
}

const ZERO_USAGE: Record<string, number> = { input_tokens: 0, output_tokens: 0 };

const FLAT_KEYS = new Set(['input_mtok', 'output_mtok', 'cache_read_mtok', 'cache_write_mtok']);
/** Rates for usage we never pass to genai-prices (audio, images, searches...): they price at 0 here. */
const UNUSED_KEYS = new Set(['web_searches_kcount', 'storage_searches_kcount', 'input_audio_mtok', 'cache_audio_read_mtok', 'output_audio_mtok',
  'input_image_mtok', 'cache_image_read_mtok', 'output_image_mtok', 'cache_write_1h_mtok', 'input_video_mtok', 'output_video_mtok']);

/** Only per-1M token rates (plain or tiered by input size) for the counts we have, plus rates for usage we never pass. */
function isFlat(mp: ModelPrice): boolean {
  for (const [k, v] of Object.entries(mp)) {
    if (v === undefined || UNUSED_KEYS.has(k)) continue;
    if (!FLAT_KEYS.has(k)) return false;
    if (typeof v !== 'number' && !(typeof v === 'object' && v !== null && typeof (v as { base?: unknown }).base === 'number' && Array.isArray((v as { tiers?: unknown }).tiers))) return false;
  }
  return true;
}

/** Counts genai-prices accepts as they are (it refuses e.g. cached > prompt; those take its path for its message). */
function consistent(u: Usage): boolean {
  const whole = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
  return whole(u.promptTokens) && whole(u.completionTokens) && whole(u.cacheReadTokens) && whole(u.cacheWriteTokens)
    && whole(u.reasoningTokens) && u.cacheReadTokens + u.cacheWriteTokens <= u.promptTokens && u.reasoningTokens <= u.completionTokens;
}

/** calcPrice's total for a flat price: cache rates a model lacks bill as plain input; tiers key on total input. */
function flatTotal(mp: ModelPrice, u: Usage): number {
  const input = tier(mp.input_mtok, u.promptTokens) ?? 0;
  const read = tier(mp.cache_read_mtok, u.promptTokens) ?? input;
  const write = tier(mp.cache_write_mtok, u.promptTokens) ?? input;
  const output = tier(mp.output_mtok, u.promptTokens) ?? 0;
  const uncached = u.promptTokens - u.cacheReadTokens - u.cacheWriteTokens;
  return (uncached * input + u.cacheReadTokens * read + u.cacheWriteTokens * write) / 1e6 + (u.completionTokens * output) / 1e6;
}

function toGenaiUsage(u: Usage): Record<string, number> {
  // genai-prices' input_tokens is all input (cache reads and writes are partitions of it), like ours.
  const usage: Record<string, number> = { input_tokens: u.promptTokens, output_tokens: u.completionTokens };
  if (u.cacheReadTokens > 0) usage.cache_read_tokens = u.cacheReadTokens;
  if (u.cacheWriteTokens > 0) usage.cache_write_tokens = u.cacheWriteTokens;
  if (u.reasoningTokens > 0) usage.output_reasoning_tokens = u.reasoningTokens;
  return usage;
}

/** The per-1M price in force for a request with `inputTokens` of input (tiers key on total input). */
function tier(v: ModelPrice[string], inputTokens: number): number | null {
  if (v === undefined) return null;
  if (typeof v === 'number') return v;
  let p = v.base;
  for (const t of [...v.tiers].sort((a, b) => a.start - b.start)) if (inputTokens > t.start) p = t.price;
  return p;
}

function tablePrice(calc: PriceCalculation, inputTokens: number): PriceInfo {
  return priceInfo(calc.model_price, calc.provider.id, calc.model.id, inputTokens);
}

function priceInfo(mp: ModelPrice, providerId: string, modelId: string, inputTokens: number): PriceInfo {
  return {
    inputPerM: tier(mp.input_mtok, inputTokens),
    cachedInputPerM: tier(mp.cache_read_mtok, inputTokens),
    cacheWritePerM: tier(mp.cache_write_mtok, inputTokens),
    outputPerM: tier(mp.output_mtok, inputTokens),
    source: `genai-prices ${GENAI_PRICES_VERSION} (${providerId}/${modelId})`,
    matchedModel: modelId,
  };
}

function breakdown(mp: ModelPrice, u: Usage, totalUsd: number): CostBreakdown {
  const input = tier(mp.input_mtok, u.promptTokens) ?? 0;
  const output = tier(mp.output_mtok, u.promptTokens) ?? 0;
  const reasoning = tier(mp.output_reasoning_mtok, u.promptTokens) ?? output;
  // As in genai-prices: a cache rate the model lacks falls back to the plain input rate.
  const read = tier(mp.cache_read_mtok, u.promptTokens) ?? input;
  const write = tier(mp.cache_write_mtok, u.promptTokens) ?? input;
  const uncached = Math.max(0, u.promptTokens - u.cacheReadTokens - u.cacheWriteTokens);
  const reasoningTokens = Math.min(u.reasoningTokens, u.completionTokens);
  return {
    inputUsd: round((uncached * input) / 1e6),
    cachedInputUsd: round((u.cacheReadTokens * read) / 1e6),
    cacheWriteUsd: round((u.cacheWriteTokens * write) / 1e6),
    outputUsd: round(((u.completionTokens - reasoningTokens) * output + reasoningTokens * reasoning) / 1e6),
    totalUsd,
  };
}

/**
 * Cost of `usage` at flat per-1M `price` (no tiers): what the hovers use to re-cost traffic on
 * another model. A missing cached-input or cache-write price means "billed as plain input".
 */
export function costFor(price: PriceInfo, usage: Usage): CostBreakdown {
  const input = price.inputPerM ?? 0;
  const read = price.cachedInputPerM ?? input;
  const write = price.cacheWritePerM ?? input;
  const output = price.outputPerM ?? 0;
  const uncached = Math.max(0, usage.promptTokens - usage.cacheReadTokens - usage.cacheWriteTokens);
  const inputUsd = round((uncached * input) / 1e6);
  const cachedInputUsd = round((usage.cacheReadTokens * read) / 1e6);
  const cacheWriteUsd = round((usage.cacheWriteTokens * write) / 1e6);
  const outputUsd = round((usage.completionTokens * output) / 1e6);
  return { inputUsd, cachedInputUsd, cacheWriteUsd, outputUsd, totalUsd: round(inputUsd + cachedInputUsd + cacheWriteUsd + outputUsd) };
}

/** One number per model for ranking: USD per 1M tokens of 3:1 input:output traffic; null when either price is unknown. */
export function blendedPricePerM(price: PriceInfo): number | null {
  return blended(price);
}

function blended(p: PriceInfo): number | null {
  if (p.inputPerM === null || p.outputPerM === null) return null;
  return (BLEND_INPUT * p.inputPerM + BLEND_OUTPUT * p.outputPerM) / (BLEND_INPUT + BLEND_OUTPUT);
}

function overridePrice(o: PriceOverride): PriceInfo {
  return {
    inputPerM: o.inputPerM,
    cachedInputPerM: o.cachedInputPerM ?? null,
    cacheWritePerM: o.cacheWritePerM ?? null,
    outputPerM: o.outputPerM,
    source: `override: ${o.model}${o.provider ? ` (${o.provider})` : ''}`,
    matchedModel: o.model,
  };
}

function freePrice(model: string | null): PriceInfo {
  return { inputPerM: 0, cachedInputPerM: 0, cacheWritePerM: 0, outputPerM: 0, source: FREE_SOURCE, matchedModel: model };
}

function zeroCost(): CostBreakdown {
  return { inputUsd: 0, cachedInputUsd: 0, cacheWriteUsd: 0, outputUsd: 0, totalUsd: 0 };
}

/** Sub-nano-dollar float noise (0.0045000000000000005) would leak into totals, filters and JSON. */
function round(usd: number): number {
  return Math.round(usd * 1e12) / 1e12;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isCallableId(id: string): boolean {
  return /^[a-z0-9][a-z0-9._-]*[a-z0-9]$/i.test(id);
}

function equalsAliases(match: GenaiProvider['models'][number]['match']): string[] {
  if ('equals' in match) return [match.equals];
  if ('or' in match) return match.or.flatMap(equalsAliases);
  return [];
}
