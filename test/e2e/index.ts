// The extensionTestsPath module: VS Code's extension host requires it and awaits run(), in code-server
// (scripts/runE2e.mjs) and in desktop VS Code (scripts/runE2eElectron.mjs) alike.
// Bundled to out/e2e/index.js with mocha inside, so it needs nothing from node_modules at run time;
// the suites are bundled one file each to out/e2e/suite/*.test.js next to it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

/** Runs every bundled suite (or those named in E2E_SUITES) and rejects when any test failed. */
export async function run(): Promise<void> {
  // Failures should point at test/e2e/*.ts lines, not at the bundle's.
  process.setSourceMapsEnabled(true);
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    reporter: 'spec',
    // Real servers, a real workbench and webviews booting: generous, but a hang still ends.
    timeout: Number(process.env.E2E_TEST_TIMEOUT_MS ?? 60_000),
    slow: 5_000,
    grep: process.env.E2E_GREP || undefined,
  });
  const suiteDir = path.join(__dirname, 'suite');
  const wanted = process.env.E2E_SUITES?.split(',').map((s) => s.trim()).filter(Boolean) ?? null;
  // The smoke suite runs first: it checks the fresh-profile state (proxy stopped, empty Sessions
  // view with its welcome content) before other suites log traffic into the same window.
  const order = (f: string): string => (f === 'smoke.test.js' ? '' : f);
  const available = fs.existsSync(suiteDir)
    ? fs.readdirSync(suiteDir).filter((f) => f.endsWith('.test.js')).sort((a, b) => order(a).localeCompare(order(b)))
    : [];
  const files = wanted ? available.filter((f) => wanted.includes(f.replace(/\.test\.js$/, ''))) : available;
  if (wanted) {
    const unknown = wanted.filter((w) => !available.includes(`${w}.test.js`));
    if (unknown.length) throw new Error(`unknown e2e suite(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  }
  if (files.length === 0) throw new Error(`no e2e suites in ${suiteDir}: build them with \`node esbuild.mjs --only e2e\``);
  for (const f of files) mocha.addFile(path.join(suiteDir, f));
  console.log(`e2e: node ${process.version}, suites: ${files.join(', ')}`);

  await mocha.loadFilesAsync();
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', () => { passed++; });
    runner.on('fail', () => { failed++; });
    runner.on('pending', () => { skipped++; });
  });
  // The runner reads this line (and CI logs end with it): keep the exact shape.
  console.log(`${passed} passed, ${failed} failed${skipped ? ` (${skipped} skipped)` : ''}`);
  if (failed > 0) throw new Error(`${failed} end-to-end test(s) failed`);
}
