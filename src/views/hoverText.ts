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

function priceTable(price: PriceInfo): string[] {
  return [
    '| Input | Cached input | Output |',
    '|---:|---:|---:|',
    `| ${formatPricePerM(price.inputPerM)} | ${formatPricePerM(price.cachedInputPerM ?? price.inputPerM)} | ${formatPricePerM(price.outputPerM)} |`,
  ];
}

function statsTable(stats: TrafficStats): string[] {
  const m = stats.metrics;
  const errors = m.errors ? ` · ${formatPercent(m.errorRate)} errors` : '';
  return [
    '| Requests | Avg tokens in / out | Avg cost / call | p50 / p95 latency | Last 24 h |',
    '|---:|---:|---:|---:|---:|',
    `| ${formatCount(m.requests)}${errors} | ${formatTokens(m.promptTokensPerRequest)} / ${formatTokens(m.completionTokensPerRequest)} | ${formatCost(m.costPerRequest)} | ${formatDuration(m.latency.p50)} / ${formatDuration(m.latency.p95)} | ${formatCost(stats.spend24hUsd)} |`,
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
  const title = `$(sparkle) **${escapeMarkdown(h.model)}**` + (h.provider ? ` · ${escapeMarkdown(h.provider)}` : '');
  out.push(title, '');
  if (h.price) {
    const matched = h.price.matchedModel && h.price.matchedModel !== h.model ? ` (priced as ${escapeMarkdown(h.price.matchedModel)})` : '';
    out.push(`List price per 1M tokens${matched}`, '', ...priceTable(h.price), '');
  } else {
    out.push('_No list price known for this model._ Add one with the `llmLens.priceOverrides` setting.', '');
  }
  if (h.stats && h.stats.metrics.requests > 0) {
    const total = h.stats.metrics.costTotal;
    out.push(`**Your ${escapeMarkdown(h.devEnvironment)} traffic** · ${formatCost(total)} in all` + (h.stats.metrics.costUnknown ? ` (+ ${formatCount(h.stats.metrics.costUnknown)} unpriced)` : ''), '', ...statsTable(h.stats), '');
    if (h.alternatives.length && h.baselineUsd !== null && h.baselineUsd > 0) {
      out.push('**Same traffic on a cheaper model**', '');
      for (const a of h.alternatives) {
        out.push(`- ${escapeMarkdown(a.model)}: ${formatCost(a.costUsd)} instead of ${formatCost(h.baselineUsd)}${savings(h.baselineUsd, a.costUsd)} · ${formatPricePerM(a.price.inputPerM)} in / ${formatPricePerM(a.price.outputPerM)} out per 1M`);
      }
      out.push('');
    }
  } else {
    out.push(`_No ${escapeMarkdown(h.devEnvironment)} traffic on this model logged yet._`, '');
    if (h.alternatives.length) {
      out.push('Cheaper models of the same provider: ' + h.alternatives.map((a) => `${escapeMarkdown(a.model)} (${formatPricePerM(a.price.inputPerM)} / ${formatPricePerM(a.price.outputPerM)})`).join(', '), '');
    }
  }
  if (h.price) out.push(`_Prices: ${escapeMarkdown(h.price.source)}_`);
  return out.join('\n').trim();
}

const KIND_LABEL: Record<ValueKind, string> = { property: 'property', sessionName: 'session name', sessionPath: 'session path' };

/** The hover for a property value, a session name or a session path. */
export function valueHoverMarkdown(value: string, matches: readonly ValueMatch[]): string {
  const out: string[] = [];
  for (const m of matches.slice(0, 3)) {
    const what = m.kind === 'property' ? `${KIND_LABEL.property} **${escapeMarkdown(m.name)}** = ${escapeMarkdown(value)}` : `${KIND_LABEL[m.kind]} **${escapeMarkdown(m.kind === 'sessionPath' ? m.name : value)}**`;
    const total = m.stats.metrics.costTotal;
    out.push(`$(tag) Requests with ${what} · ${formatCost(total)} in all`, '', ...statsTable(m.stats), '');
  }
  if (matches.length > 3) out.push(`_and ${matches.length - 3} more matches_`);
  return out.join('\n').trim();
}
