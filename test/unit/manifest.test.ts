// package.json and the typed ids in src/host/constants.ts must agree: a command declared but never
// registered (or the reverse) is a silent no-op for users, a default that differs between the
// manifest and normalizeSettings shows one value in the Settings UI and uses another.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Commands, ContextKeys, SettingKeys, Views } from '../../src/host/constants';
import { DEFAULT_SETTINGS } from '../../src/settings/settings';

const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const c = pkg.contributes;

function get(obj: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

describe('manifest (package.json contributes)', () => {
  it('declares exactly the commands in Commands, each in category "LLM Lens" with an icon', () => {
    const declared = c.commands.map((x: { command: string }) => x.command).sort();
    assert.deepEqual(declared, Object.values(Commands).sort());
    for (const cmd of c.commands) {
      assert.equal(cmd.category, 'LLM Lens', cmd.command);
      assert.match(cmd.icon ?? '', /^\$\([a-z-]+\)$/, `${cmd.command} has a codicon`);
    }
  });

  it('hides tree-only commands from the palette, and request pickers until something is logged', () => {
    const when = (id: string): string | undefined => c.menus.commandPalette.find((m: { command: string }) => m.command === id)?.when;
    for (const id of [Commands.copyAsCurl, Commands.copyRequestId, Commands.deleteRequest, Commands.loadMore]) assert.equal(when(id), 'false', id);
    // These prompt with a quick pick of recent requests/sessions when run without an argument.
    for (const id of [Commands.openRequest, Commands.openSession, Commands.replayRequest]) assert.equal(when(id), 'llmLens.hasRecords', id);
  });

  it('only refers to known commands, views and context keys in menus and welcome views', () => {
    const known = new Set(Object.values(Commands));
    for (const [where, items] of Object.entries(c.menus) as Array<[string, Array<{ command: string; when?: string }>]>) {
      for (const m of items) {
        assert.ok(known.has(m.command as never), `${where}: ${m.command}`);
        const keys = (m.when ?? '').replace(/viewItem\s*(==|=~)\s*(\/[^/]*\/|\S+)/g, '').match(/llmLens\.[A-Za-z]+/g) ?? [];
        for (const key of keys) {
          if (key === Views.sessions) continue;
          assert.ok((Object.values(ContextKeys) as string[]).includes(key), `${where}: unknown context key ${key}`);
        }
      }
    }
    assert.equal(c.viewsContainers.activitybar[0].id, Views.container);
    assert.equal(c.views[Views.container][0].id, Views.sessions);
    for (const w of c.viewsWelcome) assert.equal(w.view, Views.sessions);
  });

  it('declares every setting key with a markdownDescription, a scope and the same default as normalizeSettings', () => {
    const props: Record<string, { default: unknown; markdownDescription?: string; scope?: string }> = Object.assign({}, ...c.configuration.map((s: { properties: object }) => s.properties));
    assert.deepEqual(Object.keys(props).sort(), Object.values(SettingKeys).map((k) => `llmLens.${k}`).sort());
    for (const [key, p] of Object.entries(props)) {
      assert.ok(p.markdownDescription && p.markdownDescription.length > 20, `${key} markdownDescription`);
      assert.ok(p.scope, `${key} scope`);
      assert.deepEqual(p.default, get(DEFAULT_SETTINGS, key.slice('llmLens.'.length)), `${key} default`);
    }
  });

  it('points at media files that exist', () => {
    const files = [c.viewsContainers.activitybar[0].icon, ...c.walkthroughs.flatMap((w: { steps: Array<{ media: { markdown: string } }> }) => w.steps.map((s) => s.media.markdown))];
    for (const f of files) assert.ok(existsSync(path.join(ROOT, f)), f);
  });
});
