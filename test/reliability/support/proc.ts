// Process-level helpers for the reliability suites: the real `llm-lens proxy` CLI as a child
// process (built from src/cli.ts into a private out/ folder, so a parallel `node esbuild.mjs`
// elsewhere can never hand us a half-written bundle), and /proc readings (RSS, open fds).
// Linux only, like the chaos tier itself: /proc is how a leak is counted without trusting the
// process under test to report on itself.
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');
const CLI_OUT = path.join(ROOT, 'out/reliability/cli');

let built: Promise<string> | null = null;

/**
 * Bundles src/cli.ts (and the lazily required price and tokenizer tables beside it) the way
 * esbuild.mjs does, into out/reliability/cli. Once per test process.
 */
export function buildCli(): Promise<string> {
  // LENS_CLI=path/to/cli.js runs the suites against a bundle built elsewhere (e.g. dist/cli.js).
  if (process.env.LENS_CLI) return Promise.resolve(path.resolve(process.env.LENS_CLI));
  built ??= (async () => {
    const esbuild = await import('esbuild');
    const base = { bundle: true, platform: 'node' as const, format: 'cjs' as const, target: 'node20', sourcemap: 'linked' as const, logLevel: 'warning' as const, absWorkingDir: ROOT };
    await Promise.all([
      esbuild.build({ ...base, entryPoints: { cli: 'src/cli.ts' }, outdir: CLI_OUT, banner: { js: '#!/usr/bin/env node' } }),
      esbuild.build({ ...base, entryPoints: { tokenizer: 'src/pricing/tokenizerEntry.ts', prices: 'src/pricing/pricesEntry.ts' }, outdir: CLI_OUT }),
    ]);
    return path.join(CLI_OUT, 'cli.js');
  })();
  return built;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** http://127.0.0.1:PORT once listening. */
  readonly url: string;
  stdout(): string;
  stderr(): string;
  /** Called with every complete stderr line as it arrives. */
  onStderrLine(fn: (line: string) => void): void;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** After the exit and after stdout/stderr were read to their end: every line the process wrote has been seen. */
  readonly closed: Promise<void>;
  /** SIGKILL if still running, and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartCliOptions {
  dataDir: string;
  upstreams?: Record<string, string>;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  host?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
  spawn?: Pick<SpawnOptions, 'uid' | 'gid'>;
  /** Resolve as soon as the process is spawned, without waiting for the listening line. */
  noWait?: boolean;
  timeoutMs?: number;
}

/** Every CliProcess started and not yet killed: suites stop them in after() even when a test fails. */
export const liveChildren = new Set<CliProcess>();

export async function startCli(opts: StartCliOptions): Promise<CliProcess> {
  const cli = await buildCli();
  const args = [cli, 'proxy', '--port', '0', '--data-dir', opts.dataDir, '--log-level', opts.logLevel ?? 'info'];
  if (opts.host) args.push('--host', opts.host);
  for (const [k, v] of Object.entries(opts.upstreams ?? {})) args.push('--upstream', `${k}=${v}`);
  args.push(...(opts.extraArgs ?? []));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LLM_LENS_PORT: '', LLM_LENS_HOST: '', LLM_LENS_DATA_DIR: '', LLM_LENS_UPSTREAMS: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts.spawn,
  });
  let out = '';
  let err = '';
  let partial = '';
  const lineListeners: Array<(l: string) => void> = [];
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => {
    const s = c.toString();
    err += s;
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) for (const fn of lineListeners) fn(l);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const closed = new Promise<void>((resolve) => child.on('close', () => {
    if (partial) { const last = partial; partial = ''; for (const fn of lineListeners) fn(last); }
    resolve();
  }));
  let url = '';
  const proc: CliProcess = {
    child, pid: child.pid ?? -1,
    get url() { return url; },
    stdout: () => out, stderr: () => err,
    onStderrLine: (fn) => { lineListeners.push(fn); },
    exit, closed,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exit;
      liveChildren.delete(proc);
    },
  };
  liveChildren.add(proc);
  if (opts.noWait) return proc;
  const until = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const m = /LLM Lens proxy listening on (http:\/\/\S+)/.exec(out);
    if (m) { url = m[1]; break; }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the CLI exited before listening (${child.exitCode ?? child.signalCode}): ${err.slice(-2000)}`);
    if (Date.now() > until) { await proc.kill(); throw new Error(`the CLI did not start in time: ${err.slice(-2000)}`); }
    await sleep(20);
  }
  return proc;
}

export async function killAll(): Promise<void> {
  await Promise.all([...liveChildren].map((c) => c.kill()));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Number of open file descriptors of a process (its /proc/<pid>/fd entries). */
export function fdCount(pid: number = process.pid): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** What each fd points at, grouped: { 'socket': 12, 'anon_inode:[eventpoll]': 1, '/path/file': 1, ... }. For failure messages. */
export function fdKinds(pid: number = process.pid): Record<string, number> {
  const out: Record<string, number> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try { target = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const kind = target.startsWith('socket:') ? 'socket' : target.startsWith('pipe:') ? 'pipe' : target;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number = process.pid): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** TCP connections in ESTABLISHED state whose local or remote port is `port` (from /proc/net/tcp). */
export function establishedTo(port: number): number {
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '01') continue;
      const lp = parseInt(cols[1].split(':')[1], 16);
      const rp = parseInt(cols[2].split(':')[1], 16);
      if (lp === port || rp === port) n++;
    }
  }
  return n;
}

export const MB = 1024 * 1024;
