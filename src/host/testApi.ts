// What activate() returns: the hooks the e2e suites (and other extensions' tests) use to reach
// the running extension without scraping the UI for facts the UI does not show.
import type { HoverEngine } from '../views/hoverEngine';
import type { SessionTreeHandle } from '../views/sessionTree';
import type { TreeNode } from '../views/sessionTreeModel';
import type { ComparisonHandle } from './comparison';
import type { LensServices } from './services';

export interface LensTestApi {
  readonly services: LensServices;
  readonly tree: SessionTreeHandle;
  readonly hovers: HoverEngine;
  /** Dev-vs-production comparison: engine, status bar item and compare panels (issue 6). */
  readonly comparison: ComparisonHandle;
  /** Time activate() took, from its first line to its return (ms). */
  readonly activationMs: number;
  /** CPU time of the extension host process during activate() (user + system, ms; all its threads). */
  readonly activationCpuMs: number;
  /** Resolves when the store has read its history. */
  readonly storeReady: Promise<void>;
  /**
   * The Sessions tree as rendered: one line per node, `label — description`, indented two spaces
   * per level. Expands every folder down to `depth` (default 3) without touching the view.
   */
  treeSnapshot(depth?: number): string[];
  /** The webview helper's panel managers (request and session panels), when registered. */
  readonly panels: { readonly request: () => unknown; readonly session: () => unknown };
}

export function createTestApi(parts: Omit<LensTestApi, 'treeSnapshot'>): LensTestApi {
  return {
    ...parts,
    treeSnapshot(depth = 3): string[] {
      const model = parts.tree.model;
      const lines: string[] = [];
      const walk = (node: TreeNode | undefined, level: number): void => {
        for (const child of model.getChildren(node)) {
          const item = model.getItem(child);
          lines.push(`${'  '.repeat(level)}${item.label}${item.description ? ` — ${item.description}` : ''}`);
          if (item.collapsible !== 'none' && level + 1 < depth) walk(child, level + 1);
        }
      };
      walk(undefined, 0);
      return lines;
    },
  };
}
