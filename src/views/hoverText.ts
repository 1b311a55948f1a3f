// The hover texts as pure functions of their numbers: unit-tested without vscode, and the only
// place that decides how a price or a latency reads in a hover.
import { formatCost, formatCount, formatDuration, formatPercent, formatPricePerM, formatTokens } from '../core/format';
import type { PriceInfo } from '../core/types';
import type { TrafficStats, ValueKind, ValueMatch } from './hoverIndex';
import { escapeMarkdown } from './sessionTreeModel';

export interface Alternative {
  model: string;
  price: PriceInfo;
  /** What the same traffic (same tokens) would have cost on this model. */
  costUsd: number;
}

export interface ModelHoverInput {
  model: string;
  provider: string | null;
  price: PriceInfo | null;
  stats: TrafficStats | null;
  /** Cost of the same traffic on the model itself at list price (the baseline for savings). */
  baselineUsd: number | null;
  alternatives: Alternative[];
  devEnvironment: string;
}

/** Where a string in code is, as found by findStringLiteral. */
export interface StringLiteral {
  value: string;
  /** Offsets within the line: start of the opening quote, end after the closing quote. */
  start: number;
  end: number;
}

/**
 * The quoted string around `column` on one line of code ('…', "…" or `…` without `${`), or
 * undefined. Escaped quotes inside are handled; strings spanning lines are not (model ids,
 * property values and session paths are one-line strings).
 */
export function findStringLiteral(line: string, column: number): StringLiteral | undefined {
  let i = 0;
  while (i < line.length) {
    const ch = line[i];
    if (ch === '"' || ch === "'" || ch === '`') {
      const start = i;
      let j = i + 1;
      let value = '';
      let closed = false;
      while (j < line.length) {
        const c = line[j];
        if (c === '\\' && j + 1 < line.length) { value += line[j + 1]; j += 2; continue; }
        if (c === ch) { closed = true; break; }
        value += c;
        j++;
      }
      if (!closed) return undefined;
      const end = j + 1;
      if (column >= start && column < end) return ch === '`' && value.includes('${') ? undefined : { value, start, end };
      i = end;
      continue;
    }
    // A comment ends the code on this line (# for Python, // for the C family).
    if ((ch === '/' && line[i + 1] === '/') || ch === '#') {
      if (ch === '#' && i > 0 && /\w/.test(line[i - 1])) { i++; continue; }
      return undefined;
    }
    i++;
  }
  return undefined;
}

/** Strings worth looking up: short, one token, no spaces in the middle of a sentence. */
export function isCandidate(value: string): boolean {
  return value.length >= 2 && value.length <= 200 && !/[\r\n]/.test(value);
}

// Hovers are narrow and short (they scroll past ~10 lines): compact lines with hard breaks
// ("  \n"), not wide tables, which VS Code renders without column spacing.
const BR = '  \n';

function priceLine(price: PriceInfo): string {
  const cached = price.cachedInputPerM !== null && price.cachedInputPerM !== price.inputPerM ? ` · ${formatPricePerM(price.cachedInputPerM)} cached input` : '';
  return `${formatPricePerM(price.inputPerM)} input${cached} · ${formatPricePerM(price.outputPerM)} output per 1M tokens`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** Three lines: volume and spend, tokens and cost per call, latency and errors. */
function statsLines(stats: TrafficStats): string[] {
  const m = stats.metrics;
  const unpriced = m.costUnknown ? ` (${formatCount(m.costUnknown)} unpriced)` : '';
  const errors = m.errors ? ` · ${formatPercent(m.errorRate)} errors` : '';
  return [
    `${plural(m.requests, 'request')} · ${formatCost(m.costTotal)} in all${unpriced} · ${formatCost(stats.spend24hUsd)} in the last 24 h`,
    `Avg ${formatTokens(m.promptTokensPerRequest)} in / ${formatTokens(m.completionTokensPerRequest)} out tokens · ${formatCost(m.costPerRequest)} per call`,
    `Latency p50 ${formatDuration(m.latency.p50)} · p95 ${formatDuration(m.latency.p95)}${errors}`,
  ];
}

function savings(from: number, to: number): string {
  if (from <= 0) return '';
  const pct = Math.round((1 - to / from) * 100);
  return pct > 0 ? ` (−${pct} %)` : '';
}

/** The hover for a model id string. */
export function modelHoverMarkdown(h: ModelHoverInput): string {
  const out: string[] = [];
  const head = `$(sparkle) **${escapeMarkdown(h.model)}**` + (h.provider ? ` · ${escapeMarkdown(h.provider)}` : '');
  if (h.price) {
    const matched = h.price.matchedModel && h.price.matchedModel !== h.model ? ` (priced as ${escapeMarkdown(h.price.matchedModel)})` : '';
    out.push(head + BR + priceLine(h.price) + matched);
  } else {
    out.push(head + BR + '_No list price known._ Add one in the `llmLens.priceOverrides` setting.');
  }
  out.push('---');
  if (h.stats && h.stats.metrics.requests > 0) {
    const [first, ...rest] = statsLines(h.stats);
    out.push(`**Your ${escapeMarkdown(h.devEnvironment)} traffic:** ${first}${BR}${rest.join(BR)}`);
    if (h.alternatives.length && h.baselineUsd !== null && h.baselineUsd > 0) {
      const lines = h.alternatives.map((a) => `${escapeMarkdown(a.model)}: ${formatCost(a.costUsd)}${savings(h.baselineUsd!, a.costUsd)} · ${formatPricePerM(a.price.inputPerM)} / ${formatPricePerM(a.price.outputPerM)} per 1M`);
      out.push(`**Same traffic on a cheaper model** (instead of ${formatCost(h.baselineUsd)} at list price)${BR}${lines.join(BR)}`);
    }
  } else {
    let text = `_No ${escapeMarkdown(h.devEnvironment)} traffic on this model logged yet._`;
    if (h.alternatives.length) text += `${BR}Cheaper: ` + h.alternatives.map((a) => `${escapeMarkdown(a.model)} (${formatPricePerM(a.price.inputPerM)} / ${formatPricePerM(a.price.outputPerM)})`).join(', ');
    out.push(text);
  }
  if (h.price) out.push(`_${escapeMarkdown(h.price.source)}_`);
  return out.join('\n\n');
}

const KIND_LABEL: Record<ValueKind, string> = { property: 'property', sessionName: 'session name', sessionPath: 'session path' };

/** The hover for a property value, a session name or a session path. */
export function valueHoverMarkdown(value: string, matches: readonly ValueMatch[]): string {
  const out: string[] = [];
  for (const m of matches.slice(0, 3)) {
    const what = m.kind === 'property' ? `${KIND_LABEL.property} **${escapeMarkdown(m.name)}** = ${escapeMarkdown(value)}` : `${KIND_LABEL[m.kind]} **${escapeMarkdown(m.kind === 'sessionPath' ? m.name : value)}**`;
    out.push(`$(tag) Requests with ${what}${BR}${statsLines(m.stats).join(BR)}`);
  }
  if (matches.length > 3) out.push(`_and ${matches.length - 3} more matches_`);
  return out.join('\n\n---\n\n');
}
