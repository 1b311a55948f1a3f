// `llm-lens proxy`: the command-line entry (what `npm start` runs). Flags win over environment
// variables, which win over defaults. Any start-up failure is one clear line on stderr and exit
// code 1; SIGINT/SIGTERM drain in-flight requests and flush the store before exiting.
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { LensError, errorMessage } from './core/errors';
import { createConsoleLogger } from './core/logger';
import type { LogLevel } from './core/logger';
import { parseUpstreamSpecs } from './proxy/routing';
import { providerBaseUrls, startLensRuntime } from './proxy/runtime';
import type { LensRuntime } from './proxy/runtime';
import { QuietCollector, v8Collectors } from './proxy/gcPacing';

export const USAGE = `Usage: llm-lens proxy [options]

Starts the LLM Lens logging proxy. Point your SDK at the printed base URLs.

Options (each also read from the environment variable shown):
  -p, --port N            port to listen on; 0 picks a free port   [LLM_LENS_PORT, default 8787]
      --host HOST         address to bind                           [LLM_LENS_HOST, default 127.0.0.1]
      --data-dir DIR      where records and the cache are kept      [LLM_LENS_DATA_DIR, default ~/.llm-lens]
      --upstream NAME=URL add or override a provider (repeatable)   [LLM_LENS_UPSTREAMS="a=url,b=url"]
                          e.g. --upstream ollama=http://127.0.0.1:11434/v1
      --api-token TOKEN   require "Authorization: Bearer TOKEN" on /api  [LLM_LENS_API_TOKEN; a random one is
                          made and printed when --host is not a loopback address]
      --log-level LEVEL   trace, debug, info, warn or error         [LLM_LENS_LOG_LEVEL, default info]
      --young-gc-mb N     a young-generation GC every N MB of bodies, 0 = V8 decides
                          (frees Node's body buffers sooner: less RSS under uploads)  [LLM_LENS_YOUNG_GC_MB, default 8]
      --idle-gc-s N       a full GC once no request has come for N seconds, 0 = V8 decides
                          (gives memory back after a burst)         [LLM_LENS_IDLE_GC_S, default 10]
  -h, --help              show this help

Routes: /v1/* -> OpenAI, /anthropic/* -> Anthropic, /<name>/* -> --upstream name, /api/* -> query API.`;

export interface ProxyCommand {
  kind: 'proxy';
  port: number;
  host: string;
  dataDir: string;
  upstreams: Record<string, string>;
  logLevel: LogLevel;
  /** Bearer token for /api; undefined = none (loopback only). */
  apiToken: string | undefined;
  /** MB of body bytes between two paced young-generation collections; 0 = off. */
  youngGcMb: number;
  /** Seconds without traffic before one full collection; 0 = off. */
  idleGcS: number;
}

export type CliCommand = ProxyCommand | { kind: 'help' };

const portSchema = z.coerce.number().int().min(0).max(65535);
const levelSchema = z.enum(['trace', 'debug', 'info', 'warn', 'error']);
const youngGcSchema = z.coerce.number().min(0).max(1024);
const idleGcSchema = z.coerce.number().min(0).max(86_400);

/** Parses a numeric setting's text; one clear line when it is not a number in range. */
function numberSetting(raw: string, schema: z.ZodType<number, unknown>, flag: string, must: string): number {
  const r = schema.safeParse(raw.trim() === '' ? 'x' : raw);
  if (!r.success) throw new LensError('BAD_CONFIG', `--${flag} "${raw}" must be ${must}`);
  return r.data;
}

function expandHome(p: string): string {
  return p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

/** Reads argv (without node and the script) and the environment. Throws LensError('BAD_CONFIG') with a one-line message. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        upstream: { type: 'string', multiple: true },
        'log-level': { type: 'string' },
        'api-token': { type: 'string' },
        'young-gc-mb': { type: 'string' },
        'idle-gc-s': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new LensError('BAD_CONFIG', `${errorMessage(e).split('\n')[0]} (see llm-lens --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const [command, ...extra] = positionals;
  if (command === undefined || command === 'help') return { kind: 'help' };
  if (command !== 'proxy') throw new LensError('BAD_CONFIG', `unknown command "${command}" (see llm-lens --help)`);
  if (extra.length > 0) throw new LensError('BAD_CONFIG', `unexpected argument "${extra[0]}" (see llm-lens --help)`);

  // An empty variable counts as unset (the usual shell convention: LLM_LENS_PORT= llm-lens proxy).
  const fromEnv = (name: string): string | undefined => { const v = env[name]; return v === undefined || v.trim() === '' ? undefined : v; };
  const port = numberSetting(values.port ?? fromEnv('LLM_LENS_PORT') ?? '8787', portSchema, 'port', 'a whole number from 0 to 65535');

  const host = (values.host ?? fromEnv('LLM_LENS_HOST') ?? '127.0.0.1').trim();
  if (host === '') throw new LensError('BAD_CONFIG', '--host must not be empty');

  const rawDir = values['data-dir'] ?? fromEnv('LLM_LENS_DATA_DIR') ?? path.join(os.homedir(), '.llm-lens');
  if (rawDir.trim() === '') throw new LensError('BAD_CONFIG', '--data-dir must not be empty');
  const dataDir = path.resolve(expandHome(rawDir.trim()));

  const upstreams = {
    ...parseUpstreamSpecs([fromEnv('LLM_LENS_UPSTREAMS') ?? '']),
    ...parseUpstreamSpecs(values.upstream ?? []),
  };

  const rawLevel = values['log-level'] ?? fromEnv('LLM_LENS_LOG_LEVEL') ?? 'info';
  const level = levelSchema.safeParse(rawLevel);
  if (!level.success) throw new LensError('BAD_CONFIG', `--log-level "${rawLevel}" must be one of trace, debug, info, warn, error`);

  const apiToken = (values['api-token'] ?? fromEnv('LLM_LENS_API_TOKEN'))?.trim();
  if (apiToken !== undefined && (apiToken.length < 8 || /[\s]/.test(apiToken))) {
    throw new LensError('BAD_CONFIG', '--api-token must be at least 8 characters with no spaces');
  }

  const youngGcMb = numberSetting(values['young-gc-mb'] ?? fromEnv('LLM_LENS_YOUNG_GC_MB') ?? '8', youngGcSchema, 'young-gc-mb', 'a number of MB from 0 to 1024 (0 = off)');
  const idleGcS = numberSetting(values['idle-gc-s'] ?? fromEnv('LLM_LENS_IDLE_GC_S') ?? '10', idleGcSchema, 'idle-gc-s', 'a number of seconds from 0 to 86400 (0 = off)');

  return { kind: 'proxy', port, host, dataDir, upstreams, logLevel: level.data, apiToken, youngGcMb, idleGcS };
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const defaultIo: CliIo = {
  stdout: (l) => { process.stdout.write(l + '\n'); },
  stderr: (l) => { process.stderr.write(l + '\n'); },
};

/**
 * Runs the CLI. Resolves with the exit code: at once for help and start-up errors, after a
 * signal-driven shutdown for a running proxy.
 */
export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env, io: CliIo = defaultIo): Promise<number> {
  let cmd: CliCommand;
  try {
    cmd = parseCli(argv, env);
  } catch (e) {
    io.stderr(`llm-lens: ${errorMessage(e)}`);
    return 1;
  }
  if (cmd.kind === 'help') { io.stdout(USAGE); return 0; }

  const logger = createConsoleLogger(cmd.logLevel, io.stderr);
  // Bound beyond loopback, anyone who can reach the port could send "Host: 127.0.0.1" and read every
  // logged prompt: the query API then always needs a token (made here unless the user chose one).
  const apiToken = cmd.apiToken ?? (isLoopbackHost(cmd.host) ? undefined : randomBytes(24).toString('base64url'));
  // Only here, not in the extension: the extension host's heap is VS Code's to tune.
  const collectors = cmd.youngGcMb > 0 || cmd.idleGcS > 0 ? v8Collectors() : null;
  if (!collectors && (cmd.youngGcMb > 0 || cmd.idleGcS > 0)) logger.warn('this Node.js does not provide gc(); --young-gc-mb and --idle-gc-s have no effect');
  const youngGc = collectors && cmd.youngGcMb > 0 ? { everyBytes: Math.round(cmd.youngGcMb * 1024 * 1024), collect: collectors.young } : null;
  let runtime: LensRuntime;
  try {
    runtime = await startLensRuntime({ dataDir: cmd.dataDir, host: cmd.host, port: cmd.port, upstreams: cmd.upstreams, logger, apiToken, youngGc });
  } catch (e) {
    const msg = e instanceof LensError ? e.message : `could not start: ${errorMessage(e)}`;
    io.stderr(`llm-lens: ${msg}`);
    return 1;
  }

  const { proxy } = runtime;
  const quiet = collectors && cmd.idleGcS > 0
    ? new QuietCollector({ quietMs: cmd.idleGcS * 1000, activity: () => proxy.requestsSeen(), busy: () => proxy.inFlight() > 0, collect: collectors.full })
    : null;
  quiet?.start();
  io.stdout(`LLM Lens proxy listening on ${proxy.url}`);
  for (const [name, url] of Object.entries(providerBaseUrls(proxy.url, cmd.upstreams))) {
    io.stdout(`${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_BASE_URL=${url}`);
  }
  io.stdout(`Data dir: ${cmd.dataDir}  (query API: ${proxy.url}/api)`);
  if (!isLoopbackHost(cmd.host)) {
    io.stderr(`llm-lens: warning: listening on ${cmd.host}, not loopback: anyone who can reach this address can send requests through it`);
  }
  if (apiToken !== undefined && cmd.apiToken === undefined) {
    // Made for this run: the user needs it to read /api (e.g. as a remote source in VS Code).
    io.stdout(`Query API token: ${apiToken}  (send "Authorization: Bearer <token>"; set --api-token to choose one)`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        io.stderr(`llm-lens: ${signal} again, exiting without waiting`);
        resolve(130);
        return;
      }
      stopping = true;
      quiet?.stop();
      io.stderr(`llm-lens: ${signal}: finishing ${proxy.inFlight()} in-flight request(s) and flushing the store`);
      runtime.close({ drainMs: 10_000 }).then(
        () => { io.stderr('llm-lens: stopped'); resolve(0); },
        (e: unknown) => { io.stderr(`llm-lens: shutdown failed: ${errorMessage(e)}`); resolve(1); },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

if (require.main === module) {
  main().then((code) => { process.exit(code); }, (e: unknown) => {
    process.stderr.write(`llm-lens: ${errorMessage(e)}\n`);
    process.exit(1);
  });
}
