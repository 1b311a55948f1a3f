#!/usr/bin/env node
// `npm run test:e2e`: the whole end-to-end tier, in order, each step timed:
//   1. setup     scripts/e2e-setup.sh (Chromium, Node 24, code-server into .e2e-tools; a no-op when present)
//   2. build     dev bundles, the e2e test bundle included
//   3. dev       every suite against the working tree (scripts/runE2e.mjs)
//   4. package   production build + .vsix (npm run package)
//   5. vsix      the smoke suite against the .vsix INSTALLED into code-server (what users get)
//   6. budgets   .vsix size, bundle size, activation time (scripts/checkBudgets.mjs)
// A failing step does not hide the others' results (unless they depend on it); the closing line sums
// every check: `e2e: N passed, N failed`. Timings go to .e2e-out/timings.json.
// Flags: --skip-setup, --suites a,b (dev run only), --grep re (dev run only).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, '.e2e-out');
const argv = process.argv.slice(2);
const flag = (n) => argv.includes(n);
const value = (n) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : null; };
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const vsix = path.join(ROOT, `${pkg.name}-${pkg.version}.vsix`);

fs.mkdirSync(OUT, { recursive: true });
// Figures from an earlier run must never pass for this one's.
for (const f of fs.readdirSync(OUT)) if (/^activation-.*\.json$/.test(f)) fs.rmSync(path.join(OUT, f));
fs.rmSync(path.join(OUT, 'shots'), { recursive: true, force: true });

const t0 = Date.now();
const timings = {};
const results = [];

/** Runs a command, echoing its output; returns { code, summary } where summary is its last `N passed, N failed`. */
function run(name, cmd, args) {
  return new Promise((resolve) => {
    const started = Date.now();
    console.log(`\n[test:e2e] ── ${name}: ${[cmd, ...args].join(' ')}`);
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let summary = null;
    let tail = '';
    const scan = (chunk, sink) => {
      sink.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4000);
      for (const m of tail.matchAll(/^[\w-]+: (\d+) passed, (\d+) failed/gm)) summary = { passed: Number(m[1]), failed: Number(m[2]) };
    };
    child.stdout.on('data', (c) => scan(c, process.stdout));
    child.stderr.on('data', (c) => scan(c, process.stderr));
    child.on('close', (code) => {
      timings[name] = Number(((Date.now() - started) / 1000).toFixed(1));
      console.log(`[test:e2e] ── ${name}: exit ${code} in ${timings[name]}s`);
      resolve({ code: code ?? 1, summary });
    });
    child.on('error', (e) => { console.error(`[test:e2e] ${name}: ${e.message}`); timings[name] = 0; resolve({ code: 1, summary: null }); });
  });
}

/** Records a step that reports its own passed/failed counts (or one failure when it crashed without them). */
function record(name, r) {
  const s = r.summary ?? { passed: 0, failed: 0 };
  const failed = r.code !== 0 && s.failed === 0 ? s.failed + 1 : s.failed;
  results.push({ name, passed: s.passed, failed });
  return r.code === 0;
}
/** Records a step with no tests of its own: it counts only when it fails. */
function gate(name, r) {
  if (r.code !== 0) results.push({ name, passed: 0, failed: 1 });
  return r.code === 0;
}

const devArgs = ['scripts/runE2e.mjs'];
if (value('--suites')) devArgs.push('--suites', value('--suites'));
if (value('--grep')) devArgs.push('--grep', value('--grep'));

let ok = true;
if (!flag('--skip-setup')) ok = gate('setup', await run('setup', 'bash', ['scripts/e2e-setup.sh']));
// The default build includes the e2e bundle (out/e2e) beside the extension, CLI and webviews.
if (ok) ok = gate('build', await run('build', process.execPath, ['esbuild.mjs']));
if (ok) {
  record('dev suites', await run('dev suites', process.execPath, devArgs));
  fs.rmSync(vsix, { force: true });
  const packaged = gate('package', await run('package', 'npm', ['run', '--silent', 'package']));
  if (packaged) {
    record('vsix smoke', await run('vsix smoke', process.execPath, ['scripts/runE2e.mjs', '--vsix', vsix, '--suites', 'smoke']));
    record('budgets', await run('budgets', process.execPath, ['scripts/checkBudgets.mjs', '--vsix', vsix]));
  }
}

timings.total = Number(((Date.now() - t0) / 1000).toFixed(1));
fs.writeFileSync(path.join(OUT, 'timings.json'), JSON.stringify(timings, null, 2) + '\n');
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
console.log(`\n[test:e2e] ${results.map((r) => `${r.name} ${r.passed}/${r.passed + r.failed}`).join(', ')}; timings (s): ${JSON.stringify(timings)}`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && results.length > 0 ? 0 : 1);
