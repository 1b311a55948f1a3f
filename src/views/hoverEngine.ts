// The hover text for a string found in code, from the HoverIndex and the price book. No vscode:
// the unit tests and the benchmark call it directly; hovers.ts wraps it in a HoverProvider.
import type { Usage } from '../core/types';
import type { LensServices } from '../host/services';
import { costFor } from '../pricing/priceBook';
import type { PriceBook } from '../pricing/priceBook';
import type { HoverIndex } from './hoverIndex';
import { isCandidate, modelHoverMarkdown, valueHoverMarkdown } from './hoverText';
import type { Alternative } from './hoverText';

export interface HoverEngine {
  readonly index: HoverIndex;
  /** The hover markdown for a string value, or undefined when it is nothing we know. */
  markdownFor(value: string): string | undefined;
}

/** Builds the hover text; separate from the provider so the perf script and tests call it directly. */
export function createHoverEngine(services: Pick<LensServices, 'priceBook' | 'settings'>, index: HoverIndex): HoverEngine {
  // Alternatives depend only on the price table: remember them per model until the book changes.
  let altBook: unknown = null;
  const altCache = new Map<string, ReturnType<PriceBook['cheaperAlternatives']>>();
  const cheaper = (book: PriceBook, model: string, provider: string | undefined): ReturnType<PriceBook['cheaperAlternatives']> => {
    if (altBook !== book) { altBook = book; altCache.clear(); }
    const key = `${provider ?? ''}\u0000${model}`;
    let all = altCache.get(key);
    if (!all) altCache.set(key, (all = book.cheaperAlternatives(model, provider, 100)));
    return all;
  };
  return {
    index,
    markdownFor(value: string): string | undefined {
      if (!isCandidate(value)) return undefined;
      const s = services.settings.current();
      const book = services.priceBook;
      const stats = index.modelStats(value);
      // A model string usually has no spaces; skip the table lookup for prose.
      const price = /\s/.test(value) ? null : book.listPrice(value, stats?.provider ?? undefined);
      if (price || stats) {
        const alternatives: Alternative[] = [];
        let baselineUsd: number | null = null;
        const usage: Usage | null = stats && stats.usage.totalTokens > 0 ? stats.usage : null;
        if (price) {
          if (usage) baselineUsd = costFor(price, usage).totalUsd;
          // One step down (closest price) and the cheapest: "a bit cheaper" and "how low can it go".
          const all = cheaper(book, value, stats?.provider ?? undefined);
          const picks = all.length > 1 ? [all[0], all[all.length - 1]] : all;
          for (const alt of picks) alternatives.push({ ...alt, costUsd: usage ? costFor(alt.price, usage).totalUsd : 0 });
        }
        return modelHoverMarkdown({ model: value, provider: stats?.provider ?? null, price, stats, baselineUsd, alternatives, devEnvironment: s.devEnvironment });
      }
      const matches = index.valueStats(value);
      return matches.length ? valueHoverMarkdown(value, matches) : undefined;
    },
  };
}
