// Which upstream a request goes to, from its path (and Helicone-Target-Url), and which base URL a
// client should use for each provider. Kept free of I/O so it is cheap on the hot path and easy
// to test exhaustively.
//
// Base URLs follow each SDK's convention: OpenAI's includes /v1 (OPENAI_BASE_URL), Anthropic's does
// not (the SDK appends /v1/messages). Routes:
//   /v1/messages[/...] /v1/complete      -> anthropic   (what the Anthropic SDK sends with a bare base URL)
//   /v1/<rest>                           -> openai base + /<rest>
//   /openai/<rest>                       -> openai base + /<rest> (a leading /v1 of <rest> folds into the base's /v1)
//   /anthropic/<rest>                    -> anthropic base + /<rest>
//   /<name>/<rest>                       -> that upstream's base + /<rest> (same /v1 folding)
import { z } from 'zod';
import { LensError } from '../core/errors';

export const DEFAULT_UPSTREAMS: Readonly<Record<string, string>> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
};

/** Path segments a custom upstream may not take: they already mean something here. */
const RESERVED_NAMES = new Set(['api', 'v1', 'health']);

export interface Upstream {
  name: string;
  /** scheme://host:port, the key of the connection pool. */
  origin: string;
  /** The base URL's path without a trailing slash ('' for none). */
  basePath: string;
  /** A Helicone gateway: Helicone-* headers are forwarded to it instead of stripped. */
  helicone: boolean;
}

export type UpstreamTable = ReadonlyMap<string, Upstream>;

export interface Route {
  /** The provider recorded for pricing and filters: the route's upstream name, or a guess from the target host. */
  provider: string;
  origin: string;
  /** Path and query to send upstream. */
  path: string;
  /** The full upstream URL (origin + path). */
  targetUrl: string;
  helicone: boolean;
}

const nameSchema = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/i, 'a name of letters, digits, "-", "_" or "."');
const urlSchema = z.url({ protocol: /^https?$/ });

export function isHeliconeHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'helicone.ai' || h.endsWith('.helicone.ai') || h.endsWith('.hconeai.com');
}

function toUpstream(name: string, raw: string, forceHelicone: boolean): Upstream {
  const n = nameSchema.safeParse(name);
  if (!n.success) throw new LensError('BAD_CONFIG', `upstream name "${name}" must be ${n.error.issues[0]?.message ?? 'valid'}`);
  if (RESERVED_NAMES.has(name.toLowerCase())) throw new LensError('BAD_CONFIG', `upstream name "${name}" is reserved`);
  if (!urlSchema.safeParse(raw).success) throw new LensError('BAD_CONFIG', `upstream ${name}: "${raw}" is not an http(s) URL`);
  const u = new URL(raw);
  if (u.search || u.hash) throw new LensError('BAD_CONFIG', `upstream ${name}: "${raw}" must not have a query or fragment`);
  let basePath = u.pathname.replace(/\/+$/, '');
  // OpenAI-compatible servers answer under /v1; a bare origin given for openai means that.
  if (name === 'openai' && basePath === '') basePath = '/v1';
  return { name, origin: u.origin, basePath, helicone: forceHelicone || isHeliconeHost(u.hostname) };
}

/**
 * The built-in providers merged with the user's (which override them by name). Throws
 * LensError('BAD_CONFIG') for a bad name or URL: a config mistake must stop the start, not a request.
 */
export function buildUpstreamTable(custom: Readonly<Record<string, string>> = {}, heliconeNames: readonly string[] = []): UpstreamTable {
  const helicone = new Set(heliconeNames.map((n) => n.toLowerCase()));
  const table = new Map<string, Upstream>();
  for (const [name, url] of Object.entries({ ...DEFAULT_UPSTREAMS, ...custom })) {
    table.set(name.toLowerCase(), toUpstream(name.toLowerCase(), url, helicone.has(name.toLowerCase())));
  }
  return table;
}

/** Parses "a=url,b=url" (env) or repeated "name=url" flags into a record; throws LensError('BAD_CONFIG'). */
export function parseUpstreamSpecs(specs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new LensError('BAD_CONFIG', `--upstream "${spec}" must look like NAME=URL`);
    const name = spec.slice(0, eq).trim().toLowerCase();
    const url = spec.slice(eq + 1).trim();
    toUpstream(name, url, false); // validate now, with a message naming the flag's value
    out[name] = url;
  }
  return out;
}

function join(base: string, rest: string): string {
  // Fold a repeated /v1: base ".../v1" + rest "/v1/chat" -> ".../v1/chat".
  if (base.endsWith('/v1') && (rest === '/v1' || rest.startsWith('/v1/'))) rest = rest.slice(3);
  return base + rest;
}

function providerFromHost(hostname: string): string {
  const h = hostname.toLowerCase();
  if (h === 'api.openai.com') return 'openai';
  if (h === 'api.anthropic.com') return 'anthropic';
  return h;
}

/** Resolves a request path (with query). Returns null when no route matches and no target URL was given. */
export function resolveRoute(rawPath: string, table: UpstreamTable, targetOverride: URL | null = null): Route | null {
  const q = rawPath.indexOf('?');
  const pathname = q < 0 ? rawPath : rawPath.slice(0, q);
  const query = q < 0 ? '' : rawPath.slice(q);

  let upstream: Upstream | undefined;
  /** The path after the route's own prefix, as the provider's API knows it (/v1/... for /v1 routes). */
  let apiPath: string;
  let rest: string;
  if (pathname === '/v1/complete' || pathname === '/v1/messages' || pathname.startsWith('/v1/messages/')) {
    upstream = table.get('anthropic');
    apiPath = pathname;
    rest = pathname;
  } else if (pathname === '/v1' || pathname.startsWith('/v1/')) {
    upstream = table.get('openai');
    apiPath = pathname;
    rest = pathname.slice(3);
    // The openai base carries its own /v1 unless the user configured one without it.
    if (upstream && !upstream.basePath.endsWith('/v1')) rest = pathname;
  } else {
    const slash = pathname.indexOf('/', 1);
    const first = (slash < 0 ? pathname.slice(1) : pathname.slice(1, slash)).toLowerCase();
    upstream = first === '' ? undefined : table.get(first);
    rest = upstream ? (slash < 0 ? '' : pathname.slice(slash)) : pathname;
    apiPath = rest;
  }

  if (targetOverride) {
    const base = targetOverride.pathname.replace(/\/+$/, '');
    const path = base + apiPath + query;
    return {
      provider: upstream?.name ?? providerFromHost(targetOverride.hostname),
      origin: targetOverride.origin, path, targetUrl: targetOverride.origin + path,
      helicone: isHeliconeHost(targetOverride.hostname) || (upstream?.helicone ?? false),
    };
  }
  if (!upstream) return null;
  const path = join(upstream.basePath, rest) + query || '/';
  return { provider: upstream.name, origin: upstream.origin, path, targetUrl: upstream.origin + path, helicone: upstream.helicone };
}

/** The base URL a client should use for each provider, through the proxy at proxyUrl. */
export function providerBaseUrls(proxyUrl: string, upstreams: Readonly<Record<string, string>> = {}): Record<string, string> {
  const base = proxyUrl.replace(/\/+$/, '');
  const out: Record<string, string> = { openai: `${base}/v1`, anthropic: `${base}/anthropic` };
  for (const name of Object.keys(upstreams)) {
    const n = name.toLowerCase();
    if (n !== 'openai' && n !== 'anthropic') out[n] = `${base}/${n}`;
  }
  return out;
}
