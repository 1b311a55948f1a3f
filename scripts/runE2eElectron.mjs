#!/usr/bin/env node
// The same e2e suites in desktop VS Code, through @vscode/test-electron, for contributors who have
// VS Code installed. It never downloads VS Code: point VSCODE_EXECUTABLE at your install, e.g.
//   VSCODE_EXECUTABLE=/usr/share/code/code npm run test:e2e:desktop
//   VSCODE_EXECUTABLE="/Applications/Visual Studio Code.app/Contents/MacOS/Electron" npm run test:e2e:desktop
// Desktop runs have no UI control endpoint: suites skip what only the browser-driven runner can see
// (hasUiControl() is false) and run everything that goes through the API.
// Usage: node scripts/runE2eElectron.mjs [--suites a,b] [--grep re]
// Closing line: `e2e-desktop: N passed, N failed`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const value = (n) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : null; };
const label = 'e2e-desktop';

const exe = process.env.VSCODE_EXECUTABLE;
if (!exe) {
  console.error(`[${label}] VSCODE_EXECUTABLE is not set. This route uses your installed VS Code and never downloads one:\n`
    + `  VSCODE_EXECUTABLE=/path/to/code npm run test:e2e:desktop\n`
    + `[${label}] Without VS Code, \`npm run test:e2e\` runs the same suites in code-server (installed by scripts/e2e-setup.sh).`);
  console.log(`${label}: 0 passed, 1 failed`);
  process.exit(2);
}
if (!fs.existsSync(exe)) {
  console.error(`[${label}] VSCODE_EXECUTABLE=${exe} does not exist.`);
  console.log(`${label}: 0 passed, 1 failed`);
  process.exit(2);
}
const testsPath = path.join(ROOT, 'out/e2e/index.js');
if (!fs.existsSync(testsPath) || !fs.existsSync(path.join(ROOT, 'dist/extension.js'))) {
  console.error(`[${label}] build first: node esbuild.mjs && node esbuild.mjs --only e2e`);
  console.log(`${label}: 0 passed, 1 failed`);
  process.exit(2);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-lens-e2e-desktop-'));
const workspace = path.join(tmp, 'workspace');
fs.mkdirSync(workspace, { recursive: true });
fs.mkdirSync(path.join(tmp, 'user-data/User'), { recursive: true });
fs.writeFileSync(path.join(tmp, 'user-data/User/settings.json'), JSON.stringify({
  'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'update.mode': 'none',
  'extensions.autoUpdate': false, 'extensions.autoCheckUpdates': false, 'security.workspace.trust.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
}, null, 2));

// Pass VS Code's output through, picking up mocha's verdict line on the way.
let summary = null;
const scanning = (stream) => ({
  write(d) {
    for (const m of String(d).matchAll(/(\d+) passed, (\d+) failed/g)) summary = { passed: Number(m[1]), failed: Number(m[2]) };
    return stream.write(d);
  },
});

let code = 0;
try {
  code = await runTests({
    vscodeExecutablePath: exe,
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: testsPath,
    stdout: scanning(process.stdout),
    stderr: scanning(process.stderr),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes',
      '--user-data-dir', path.join(tmp, 'user-data'), '--extensions-dir', path.join(tmp, 'extensions')],
    extensionTestsEnv: {
      E2E_MODE: 'desktop',
      E2E_OUT_DIR: path.join(ROOT, '.e2e-out'),
      ...(value('--suites') ? { E2E_SUITES: value('--suites') } : {}),
      ...(value('--grep') ? { E2E_GREP: value('--grep') } : {}),
    },
  });
} catch (e) {
  console.error(`[${label}] ${e?.message ?? e}`);
  code = 1;
}
fs.rmSync(tmp, { recursive: true, force: true });
const s = summary ?? { passed: 0, failed: 0 };
const failed = s.failed + (code !== 0 && s.failed === 0 ? 1 : 0);
console.log(`${label}: ${s.passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
