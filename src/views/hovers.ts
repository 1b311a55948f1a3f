// Inline cost hovers: on a model id string, its list price, what this machine's dev traffic on it
// cost and what a cheaper model of the same provider would have cost; on a property value, a
// session name or a session path, the stats of the requests carrying it. Answers come from the
// HoverIndex (kept current from store events) and the price book's in-memory table.
import * as vscode from 'vscode';
import type { LensServices } from '../host/services';
import { createHoverEngine, type HoverEngine } from './hoverEngine';
import { HoverIndex } from './hoverIndex';
import { findStringLiteral } from './hoverText';

/** A model id, property value or session path as written in plain text: no spaces, quotes or '='. */
const PLAIN_TOKEN = /[A-Za-z0-9_./:@-]+/;

export const HOVER_LANGUAGES = ['javascript', 'typescript', 'javascriptreact', 'typescriptreact', 'python', 'plaintext'] as const;

export function registerHovers(context: vscode.ExtensionContext, services: LensServices): HoverEngine {
  const initial = services.settings.current();
  const index = new HoverIndex({ store: services.store, environmentProperty: initial.environmentProperty, devEnvironment: initial.devEnvironment });
  const engine = createHoverEngine(services, index);
  const provider: vscode.HoverProvider = {
    provideHover(document, position) {
      if (!vscode.workspace.getConfiguration('llmLens', document).get<boolean>('hovers.enabled', true)) return undefined;
      const line = document.lineAt(position.line).text;
      let found: { value: string; range: vscode.Range } | undefined;
      const lit = findStringLiteral(line, position.character);
      if (lit) found = { value: lit.value, range: new vscode.Range(position.line, lit.start, position.line, lit.end) };
      else if (document.languageId === 'plaintext') {
        // Plain text (notes, .env-like files) names models without quotes: take the token under the cursor.
        const range = document.getWordRangeAtPosition(position, PLAIN_TOKEN);
        if (range) found = { value: document.getText(range), range };
      }
      if (!found) return undefined;
      const text = engine.markdownFor(found.value);
      if (!text) return undefined;
      const md = new vscode.MarkdownString(text, true);
      md.isTrusted = false;
      return new vscode.Hover(md, found.range);
    },
  };
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(HOVER_LANGUAGES.map((language) => ({ language })), provider),
    services.settings.onDidChange((s) => index.setEnvironment(s.environmentProperty, s.devEnvironment)),
    { dispose: () => index.dispose() },
  );
  return engine;
}
