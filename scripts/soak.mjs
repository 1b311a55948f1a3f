#!/usr/bin/env node
// `npm run soak`: the long soak, alone: SOAK_SECONDS (default 600) at SOAK_RPS requests per second
// (default 40) through the real `llm-lens proxy` process, reading its RSS and open fds from /proc
// every 2 s (test/reliability/soak.test.ts). Closing line: `soak: N passed, N failed`; the figures
// go to out/reliability/figures.json under "soak.long" (runs of 300 s and more).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = process.env.SOAK_SECONDS ?? '600';
console.log(`[soak] ${seconds} s at ${process.env.SOAK_RPS ?? 40} requests/s`);
const child = spawn(process.execPath, [
  path.join(ROOT, 'node_modules/mocha/bin/mocha.js'), '--no-config', '--require', 'tsx/cjs', '--exit',
  '--reporter', './scripts/mochaSummaryReporter.cjs', '--reporter-option', 'label=soak',
  'test/reliability/soak.test.ts',
], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, SOAK_SECONDS: seconds } });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
