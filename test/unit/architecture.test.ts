// The layering rule, enforced: only the UI layer may import `vscode` at run time, and browser
// bundles may import only the shared protocol and core types.
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '../../src');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

const rel = (p: string): string => path.relative(SRC, p).split(path.sep).join('/');
const UI_LAYER = /^(extension\.ts|host\/|views\/|webviews\/[^/]+\.ts$)/;
const runtimeImports = (src: string): string[] =>
  [...src.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm)]
    .map((m) => m[1] ?? m[2] ?? m[3]);

describe('architecture', () => {
  const files = walk(SRC);

  it('keeps vscode out of the core', () => {
    const offenders = files.filter((f) => !UI_LAYER.test(rel(f)) && runtimeImports(readFileSync(f, 'utf8')).includes('vscode'));
    assert.deepEqual(offenders.map(rel), []);
  });

  it('lets browser bundles import only the protocol, core types and other browser code', () => {
    const app = files.filter((f) => rel(f).startsWith('webviews/app/'));
    const bad: string[] = [];
    for (const f of app) {
      for (const spec of runtimeImports(readFileSync(f, 'utf8'))) {
        if (!spec.startsWith('.')) { if (!/^(uplot|@vscode\/codicons)/.test(spec)) bad.push(`${rel(f)} -> ${spec}`); continue; }
        const target = rel(path.resolve(path.dirname(f), spec));
        if (!/^(webviews\/app\/|webviews\/protocol|core\/types|core\/format)/.test(target)) bad.push(`${rel(f)} -> ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('has no barrel index files', () => {
    assert.deepEqual(files.filter((f) => /(^|\/)index\.ts$/.test(rel(f))).map(rel), []);
  });
});
