// Inline cost hovers: on a model id string, its list price, what this machine's dev traffic on it
// cost and what a cheaper model of the same provider would have cost; on a property value, a
// session name or a session path, the stats of the requests carrying it. Answers come from the
// HoverIndex (kept current from store events) and the price book's in-memory table.
import * as vscode from 'vscode';
import type { Usage } from '../core/types';
import type { LensServices } from '../host/services';
import { costFor } from '../pricing/priceBook';
import { HoverIndex } from './hoverIndex';
import { findStringLiteral, isCandidate, modelHoverMarkdown, valueHoverMarkdown, type Alternative } from './hoverText';

export const HOVER_LANGUAGES = ['javascript', 'typescript', 'javascriptreact', 'typescriptreact', 'python', 'plaintext'] as const;

export interface HoverEngine {
  readonly index: HoverIndex;
  /** The hover markdown for a string value, or undefined when it is nothing we know. */
  markdownFor(value: string): string | undefined;
}

/** Builds the hover text; separate from the provider so the perf script and tests call it directly. */
export function createHoverEngine(services: Pick<LensServices, 'priceBook' | 'settings'>, index: HoverIndex): HoverEngine {
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
          for (const alt of book.cheaperAlternatives(value, stats?.provider ?? undefined, 2)) {
            alternatives.push({ ...alt, costUsd: usage ? costFor(alt.price, usage).totalUsd : 0 });
          }
        }
        return modelHoverMarkdown({ model: value, provider: stats?.provider ?? null, price, stats, baselineUsd, alternatives, devEnvironment: s.devEnvironment });
      }
      const matches = index.valueStats(value);
      return matches.length ? valueHoverMarkdown(value, matches) : undefined;
    },
  };
}

export function registerHovers(context: vscode.ExtensionContext, services: LensServices): HoverEngine {
  const initial = services.settings.current();
  const index = new HoverIndex({ store: services.store, environmentProperty: initial.environmentProperty, devEnvironment: initial.devEnvironment });
  const engine = createHoverEngine(services, index);
  const provider: vscode.HoverProvider = {
    provideHover(document, position) {
      if (!vscode.workspace.getConfiguration('llmLens', document).get<boolean>('hovers.enabled', true)) return undefined;
      const line = document.lineAt(position.line).text;
      const lit = findStringLiteral(line, position.character);
      if (!lit) return undefined;
      const text = engine.markdownFor(lit.value);
      if (!text) return undefined;
      const md = new vscode.MarkdownString(text, true);
      md.isTrusted = false;
      return new vscode.Hover(md, new vscode.Range(position.line, lit.start, position.line, lit.end));
    },
  };
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(HOVER_LANGUAGES.map((language) => ({ language })), provider),
    services.settings.onDidChange((s) => index.setEnvironment(s.environmentProperty, s.devEnvironment)),
    { dispose: () => index.dispose() },
  );
  return engine;
}
