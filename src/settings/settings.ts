// The extension's settings as one plain, validated value. Pure (no vscode): the host reads the
// `llmLens` configuration section into an untyped object and this module turns it into `Settings`.
// A bad value never throws and never blocks the proxy: it falls back to its default and the
// problem is reported (the reader logs it and shows it once), so a typo in settings.json is
// visible but harmless.
import { z } from 'zod';

export interface TimeoutSettings {
  /** TCP/TLS connect to the upstream. */
  connectMs: number;
  /** Until the upstream's response headers arrive (reasoning models can think for minutes). */
  firstByteMs: number;
  /** Longest silence between two body chunks of a response. */
  idleMs: number;
}

/** Same shape as the price book's PriceOverride (kept here so settings stay dependency-free). */
export interface PriceOverrideSetting {
  model: string;
  provider?: string;
  inputPerM: number;
  outputPerM: number;
  cachedInputPerM?: number;
  cacheWritePerM?: number;
}

export type AlertMetric = 'errorRate' | 'cost' | 'p95LatencyMs';

export interface AlertRule {
  /** Shown in the notification; defaults to a description built from the other fields. */
  name: string;
  metric: AlertMetric;
  /** errorRate: a fraction (0.05 = 5 %); cost: USD over the window; p95LatencyMs: milliseconds. */
  threshold: number;
  windowMinutes: number;
  /** The rule stays quiet until the window holds at least this many requests. */
  minRequests: number;
  /** Environment property value the rule watches (e.g. 'production'). */
  environment: string;
}

export interface SourceSetting {
  name: string;
  baseUrl: string;
}

export interface Settings {
  port: number;
  host: string;
  autoStart: boolean;
  /** Extra or overriding upstreams: route name -> base URL. */
  upstreams: Record<string, string>;
  retentionDays: number;
  retentionMb: number;
  bodyCapMb: number;
  priceOverrides: PriceOverrideSetting[];
  freeProviders: string[];
  environmentProperty: string;
  devEnvironment: string;
  hovers: { enabled: boolean };
  timeouts: TimeoutSettings;
  helicone: { baseUrl: string };
  compare: { environments: string[] };
  sources: SourceSetting[];
  refreshMinutes: number;
  alerts: AlertRule[];
}

export const DEFAULT_ALERTS: readonly AlertRule[] = Object.freeze([
  { name: 'Development spend above $50 a day', metric: 'cost', threshold: 50, windowMinutes: 1440, minRequests: 1, environment: 'development' },
  { name: 'Production error rate above 5 %', metric: 'errorRate', threshold: 0.05, windowMinutes: 10, minRequests: 10, environment: 'production' },
  { name: 'Production p95 latency above 10 s', metric: 'p95LatencyMs', threshold: 10_000, windowMinutes: 30, minRequests: 20, environment: 'production' },
]);

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  port: 8787,
  host: '127.0.0.1',
  autoStart: false,
  upstreams: {},
  retentionDays: 30,
  retentionMb: 1024,
  bodyCapMb: 2,
  priceOverrides: [],
  freeProviders: [],
  environmentProperty: 'Environment',
  devEnvironment: 'development',
  hovers: { enabled: true },
  timeouts: { connectMs: 10_000, firstByteMs: 600_000, idleMs: 300_000 },
  helicone: { baseUrl: 'https://api.helicone.ai' },
  compare: { environments: ['staging', 'production'] },
  sources: [],
  refreshMinutes: 5,
  alerts: DEFAULT_ALERTS.map((a) => ({ ...a })),
});

/** Fresh, mutable defaults (callers may keep and change what they get). */
export function defaultSettings(): Settings {
  return structuredClone(DEFAULT_SETTINGS) as Settings;
}

const ROUTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// Route names the proxy already uses for its own paths; an upstream with one of these names could never be reached.
const RESERVED_ROUTES = new Set(['api', 'v1']);

const httpUrl = z.string().trim().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
  } catch {
    return false;
  }
}, 'must be an http(s) URL without credentials');

const propertyName = z.string().trim().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" and "." only');
const nonNegInt = z.number().int().nonnegative();

const priceOverride = z.object({
  model: z.string().trim().min(1),
  provider: z.string().trim().min(1).optional(),
  inputPerM: z.number().nonnegative(),
  outputPerM: z.number().nonnegative(),
  cachedInputPerM: z.number().nonnegative().optional(),
  cacheWritePerM: z.number().nonnegative().optional(),
});

const alertRule = z.object({
  name: z.string().trim().min(1).optional(),
  metric: z.enum(['errorRate', 'cost', 'p95LatencyMs']),
  threshold: z.number().nonnegative(),
  windowMinutes: z.number().positive().max(60 * 24 * 31),
  minRequests: nonNegInt.default(1),
  environment: z.string().trim().min(1),
});

const source = z.object({ name: z.string().trim().min(1).max(64).regex(ROUTE_NAME, 'letters, digits, ".", "_" and "-" only'), baseUrl: httpUrl });

/** One validator per top-level field, so a bad field costs only itself. */
const fields = {
  port: nonNegInt.max(65535),
  host: z.string().trim().min(1).max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or IP address'),
  autoStart: z.boolean(),
  retentionDays: z.number().nonnegative().max(36_500),
  retentionMb: z.number().nonnegative().max(1_000_000),
  bodyCapMb: z.number().positive().max(1024),
  environmentProperty: propertyName,
  devEnvironment: z.string().trim().min(1).max(256),
  refreshMinutes: z.number().min(0.5).max(24 * 60),
} satisfies { [K in keyof Settings]?: z.ZodType };

function issueText(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message).join('; ');
}

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return String(v);
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Validates raw settings (the `llmLens` section as an object, nested keys as nested objects:
 * `{ hovers: { enabled } }`). Missing values take their defaults silently; present but invalid
 * ones take their defaults with a problem message naming the setting. Never throws.
 */
export function normalizeSettings(raw: unknown): { settings: Settings; problems: string[] } {
  const settings = defaultSettings();
  const problems: string[] = [];
  const input = asRecord(raw) ?? {};
  if (raw !== undefined && raw !== null && !asRecord(raw)) problems.push(`llmLens: expected an object of settings, got ${show(raw)}; using defaults`);

  const bad = (key: string, value: unknown, why: string, fallback: unknown): void => {
    problems.push(`llmLens.${key}: ${show(value)} ${why}; using ${show(fallback)}`);
  };

  const scalar = <K extends keyof typeof fields>(key: K): void => {
    const v = input[key];
    if (v === undefined || v === null) return;
    const r = fields[key].safeParse(v);
    if (r.success) (settings as unknown as Record<string, unknown>)[key] = r.data;
    else bad(key, v, `is not valid (${issueText(r.error)})`, settings[key]);
  };
  for (const key of Object.keys(fields) as Array<keyof typeof fields>) scalar(key);

  // Upstreams: keep every good route, drop only the bad ones.
  const ups = input.upstreams;
  if (ups !== undefined && ups !== null) {
    const rec = asRecord(ups);
    if (!rec) bad('upstreams', ups, 'is not an object of name -> URL', {});
    else {
      for (const [name, url] of Object.entries(rec)) {
        if (!ROUTE_NAME.test(name)) { problems.push(`llmLens.upstreams: route name ${show(name)} must be letters, digits, ".", "_" or "-"; ignored`); continue; }
        if (RESERVED_ROUTES.has(name.toLowerCase())) { problems.push(`llmLens.upstreams: route name ${show(name)} is reserved by the proxy; ignored`); continue; }
        const r = httpUrl.safeParse(url);
        if (!r.success) { problems.push(`llmLens.upstreams.${name}: ${show(url)} ${issueText(r.error)}; ignored`); continue; }
        settings.upstreams[name] = r.data.replace(/\/+$/, '');
      }
    }
  }

  settings.priceOverrides = arrayOf(input.priceOverrides, 'priceOverrides', priceOverride, problems, settings.priceOverrides) as PriceOverrideSetting[];
  settings.freeProviders = arrayOf(input.freeProviders, 'freeProviders', z.string().trim().min(1), problems, settings.freeProviders);
  settings.sources = dedupeSources(arrayOf(input.sources, 'sources', source, problems, settings.sources), problems);
  settings.alerts = arrayOf(input.alerts, 'alerts', alertRule, problems, settings.alerts).map((a) => ({
    ...a,
    minRequests: a.minRequests ?? 1,
    name: a.name ?? describeAlert(a),
  }));

  const envs = arrayOf(input.compare === undefined ? undefined : asRecord(input.compare)?.environments, 'compare.environments', z.string().trim().min(1), problems, settings.compare.environments);
  settings.compare.environments = envs.length > 0 ? [...new Set(envs)] : settings.compare.environments;
  if (input.compare !== undefined && input.compare !== null && !asRecord(input.compare)) bad('compare', input.compare, 'is not an object', DEFAULT_SETTINGS.compare);

  const hovers = input.hovers;
  if (hovers !== undefined && hovers !== null) {
    const enabled = asRecord(hovers)?.enabled;
    if (enabled !== undefined && typeof enabled !== 'boolean') bad('hovers.enabled', enabled, 'is not true or false', true);
    else if (enabled !== undefined) settings.hovers.enabled = enabled;
  }

  const helicone = asRecord(input.helicone);
  if (helicone?.baseUrl !== undefined && helicone.baseUrl !== null) {
    const r = httpUrl.safeParse(helicone.baseUrl);
    if (r.success) settings.helicone.baseUrl = r.data.replace(/\/+$/, '');
    else bad('helicone.baseUrl', helicone.baseUrl, issueText(r.error), settings.helicone.baseUrl);
  }

  const timeouts = input.timeouts;
  if (timeouts !== undefined && timeouts !== null) {
    const rec = asRecord(timeouts);
    if (!rec) bad('timeouts', timeouts, 'is not an object', settings.timeouts);
    else {
      for (const k of ['connectMs', 'firstByteMs', 'idleMs'] as const) {
        const v = rec[k];
        if (v === undefined || v === null) continue;
        const r = z.number().int().min(100).max(3_600_000).safeParse(v);
        if (r.success) settings.timeouts[k] = r.data;
        else bad(`timeouts.${k}`, v, 'must be a whole number of milliseconds between 100 and 3600000', settings.timeouts[k]);
      }
    }
  }

  return { settings, problems };
}

function arrayOf<T>(value: unknown, key: string, item: z.ZodType<T>, problems: string[], fallback: T[]): T[] {
  if (value === undefined || value === null) return fallback;
  if (!Array.isArray(value)) {
    problems.push(`llmLens.${key}: ${show(value)} is not a list; using ${show(fallback)}`);
    return fallback;
  }
  const out: T[] = [];
  value.forEach((v, i) => {
    const r = item.safeParse(v);
    if (r.success) out.push(r.data);
    else problems.push(`llmLens.${key}[${i}]: ${show(v)} ignored (${issueText(r.error)})`);
  });
  return out;
}

function dedupeSources(sources: SourceSetting[], problems: string[]): SourceSetting[] {
  const seen = new Set<string>();
  return sources.map((s) => ({ ...s, baseUrl: s.baseUrl.replace(/\/+$/, '') })).filter((s) => {
    const key = s.name.toLowerCase();
    if (seen.has(key)) { problems.push(`llmLens.sources: a second source named ${show(s.name)} ignored`); return false; }
    seen.add(key);
    return true;
  });
}

/** A readable name for an alert rule that has none ("production errorRate > 5% over 10 min"). */
export function describeAlert(a: Omit<AlertRule, 'name'>): string {
  const t = a.metric === 'errorRate' ? `${+(a.threshold * 100).toFixed(2)} %`
    : a.metric === 'cost' ? `$${a.threshold}`
    : `${a.threshold} ms`;
  const what = a.metric === 'errorRate' ? 'error rate' : a.metric === 'cost' ? 'cost' : 'p95 latency';
  const win = a.windowMinutes % 1440 === 0 ? `${a.windowMinutes / 1440} d` : a.windowMinutes % 60 === 0 ? `${a.windowMinutes / 60} h` : `${a.windowMinutes} min`;
  return `${a.environment} ${what} above ${t} over ${win}`;
}

/** Stored-body cap in bytes, as the store expects it. */
export function bodyCapBytes(s: Settings): number {
  return Math.round(s.bodyCapMb * 1024 * 1024);
}
