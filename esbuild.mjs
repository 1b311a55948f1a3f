// One build script, several bundles:
//   extension  src/extension.ts -> dist/extension.js  (node, cjs, vscode external)
//   cli        src/cli.ts       -> dist/cli.js        (node, cjs, runnable with `node dist/cli.js`)
//   webviews   src/webviews/app/*Main.ts -> media/dist/<name>.js (browser, iife)
//   e2e        test/e2e/index.ts + test/e2e/suite/*.test.ts -> out/e2e/ (node, cjs, vscode external;
//              mocha and the SDKs bundled in, so the tests need no node_modules inside the extension host)
// Flags: --production (minify, external sourcemaps; the shipped bundles only), --watch,
//        --only extension|cli|webviews|e2e
import * as esbuild from 'esbuild';
import { readdirSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const production = args.includes('--production');
const watch = args.includes('--watch');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : null;

const common = {
  bundle: true,
  minify: production,
  sourcemap: production ? 'external' : 'linked',
  sourcesContent: !production,
  logLevel: 'warning',
  legalComments: 'none',
};

// V8 flags for the proxy (bench/README.md has the measurements):
// - young generation capped at 8 MB (V8's default grows it to 2 x 16 MB under load): ~10-20 MB less
//   RSS for no measurable CPU;
// - the old generation may grow to 1.2x what survived the last full GC (V8 picks up to 4x on a
//   machine with memory to spare): with the CLI's GC pacing, the process that has served the whole
//   benchmark peaks at 137-145 MB instead of 157-186, for +1-4 % CPU on small requests, +3-6 % on
//   streams and +40-50 % on 1 MB uploads (paired, fresh processes);
// - WebAssembly on the baseline compiler only: undici's HTTP parser is wasm, and optimising its one
//   big function on the first upstream response took ~37 MB for a moment and kept 8 MB. Streams
//   cost ~2 % more CPU.
// A V8 flag can only be given on node's command line, hence `env -S` (coreutils 8.30+, macOS, BSD);
// `npm start` and bench/targets/llm-lens.sh pass the same flags.
const CLI_SHEBANG = '#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=20 --liftoff-only';

// V8 keeps a script's source text for the life of the process, one byte a character only when every
// character is Latin-1; one other character anywhere makes it two. esbuild escapes non-ASCII
// characters in code (its default charset) but leaves comments as they are, and a few comments in
// undici and in ours have one: dist/cli.js took 4.2 MB of heap for 2.1 MB of text. What is left is
// escaped as \uXXXX, which means the same character in any string, regexp or template, and is only
// text in a comment.
const asciiOutput = {
  name: 'ascii-output',
  setup(build) {
    build.onEnd((result) => {
      for (const f of result.outputFiles ?? []) {
        mkdirSync(path.dirname(f.path), { recursive: true });
        writeFileSync(f.path, f.path.endsWith('.js')
          ? f.text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
          : f.contents);
      }
    });
  },
};
const nodeTarget = { ...common, platform: 'node', format: 'cjs', target: 'node20', write: false, plugins: [asciiOutput] };

const webviewDir = 'src/webviews/app';
const webviewEntries = existsSync(webviewDir)
  ? Object.fromEntries(readdirSync(webviewDir).filter((f) => /Main\.ts$/.test(f))
      .map((f) => [f.replace(/Main\.ts$/, ''), path.join(webviewDir, f)]))
  : {};

const e2eSuiteDir = 'test/e2e/suite';
const e2eEntries = existsSync('test/e2e/index.ts')
  ? {
      index: 'test/e2e/index.ts',
      ...Object.fromEntries((existsSync(e2eSuiteDir) ? readdirSync(e2eSuiteDir) : []).filter((f) => /\.test\.ts$/.test(f))
        .map((f) => [`suite/${f.replace(/\.ts$/, '')}`, path.join(e2eSuiteDir, f)])),
    }
  : {};

const builds = {
  extension: existsSync('src/extension.ts') && {
    ...nodeTarget, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist', external: ['vscode'],
    metafile: true,
  },
  cli: existsSync('src/cli.ts') && {
    ...nodeTarget, entryPoints: { cli: 'src/cli.ts' }, outdir: 'dist', banner: { js: CLI_SHEBANG },
  },
  // Lazily required by the pricing code (see src/pricing/*Entry.ts): big tables that activation
  // never needs stay out of extension.js and cli.js, and load on the first priced record.
  tables: (existsSync('src/extension.ts') || existsSync('src/cli.ts')) && {
    ...nodeTarget, entryPoints: { tokenizer: 'src/pricing/tokenizerEntry.ts', prices: 'src/pricing/pricesEntry.ts' }, outdir: 'dist',
  },
  webviews: Object.keys(webviewEntries).length > 0 && {
    ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: webviewEntries, outdir: 'media/dist',
    // .ttf: the codicon font imported by the bundles' CSS, emitted beside them in media/dist.
    loader: { '.css': 'css', '.ttf': 'file' },
  },
  // Test code is never shipped: always readable, with inline sources for stack traces. Left out of
  // --production builds (packaging needs only what users run).
  e2e: Object.keys(e2eEntries).length > 0 && (!production || only === 'e2e') && {
    ...nodeTarget, minify: false, sourcemap: 'linked', sourcesContent: true,
    entryPoints: e2eEntries, outdir: 'out/e2e', external: ['vscode'],
    // mocha's parallel-mode worker files, never loaded in the extension host (serial runs only).
    logOverride: { 'require-resolve-not-external': 'silent' },
  },
};

// --only extension|cli also builds the tables they load at run time.
const wanted = (name) => !only || only === name || (name === 'tables' && (only === 'extension' || only === 'cli'));
const selected = Object.entries(builds).filter(([name, cfg]) => cfg && wanted(name));
if (watch) {
  for (const [, cfg] of selected) await (await esbuild.context(cfg)).watch();
  console.log('[esbuild] watching', selected.map(([n]) => n).join(', '));
} else {
  await Promise.all(selected.map(([, cfg]) => esbuild.build(cfg)));
  console.log(`[esbuild] built ${selected.map(([n]) => n).join(', ')}${production ? ' (production)' : ''}`);
}
