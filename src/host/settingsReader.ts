// The thin vscode side of settings: reads the `llmLens` section, validates it with the pure
// normalizeSettings(), and re-reads only when a change touches the section.
import * as vscode from 'vscode';
import type { Logger } from '../core/logger';
import { normalizeSettings, type Settings } from '../settings/settings';
import { SETTINGS_SECTION, SettingKeys, type SettingKey } from './constants';
import type { SettingsReader } from './services';

/** Reads every declared key (dotted keys become nested objects, as normalizeSettings expects). */
export function readRawSettings(config: Pick<vscode.WorkspaceConfiguration, 'get'>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.values(SettingKeys)) {
    const value = config.get<unknown>(key);
    if (value === undefined) continue;
    const parts = key.split('.');
    let into = raw;
    for (const p of parts.slice(0, -1)) into = (into[p] ??= {}) as Record<string, unknown>;
    into[parts[parts.length - 1]] = value;
  }
  return raw;
}

export class VsCodeSettingsReader implements SettingsReader, vscode.Disposable {
  private settings: Settings;
  private readonly emitter = new vscode.EventEmitter<Settings>();
  private readonly subscription: vscode.Disposable;
  /** Problems already shown, so a bad value is reported once, not at every unrelated change. */
  private shownProblems = new Set<string>();
  readonly onDidChange = this.emitter.event;

  constructor(private readonly logger: Logger) {
    this.settings = this.read();
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SETTINGS_SECTION)) return;
      this.settings = this.read();
      this.emitter.fire(this.settings);
    });
  }

  current(): Settings {
    return this.settings;
  }

  changed(e: vscode.ConfigurationChangeEvent, key: SettingKey): boolean {
    return e.affectsConfiguration(`${SETTINGS_SECTION}.${key}`);
  }

  private read(): Settings {
    const { settings, problems } = normalizeSettings(readRawSettings(vscode.workspace.getConfiguration(SETTINGS_SECTION)));
    const fresh = problems.filter((p) => !this.shownProblems.has(p));
    this.shownProblems = new Set(problems);
    for (const p of fresh) this.logger.warn(`Setting ignored: ${p}`);
    if (fresh.length > 0) {
      const more = fresh.length > 1 ? ` (and ${fresh.length - 1} more, see the LLM Lens log)` : '';
      void vscode.window.showWarningMessage(`LLM Lens: ${fresh[0]}${more}`, 'Open Settings').then((pick) => {
        if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${EXTENSION_ID} `);
      });
    }
    return settings;
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}

/** publisher.name from package.json. */
export const EXTENSION_ID = 'llm-lens.llm-lens';
