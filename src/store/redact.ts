// Secrets never reach the disk, an export or a log line. Header redaction goes by name (the
// reliable signal); text redaction goes by shape, as a second net for keys that turn up where no
// header name announces them (error messages, query strings, exported text).

export const REDACTED = '[REDACTED]';

/** Header names whose values are always secret, lower case. */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'helicone-auth',
  'cookie',
  'set-cookie',
]);

/** Any header whose name holds one of these words is treated as secret. */
const SECRET_NAME_PART = /key|token|secret|auth|password|credential|signature/i;

/**
 * Names that match SECRET_NAME_PART but carry no secret and are worth keeping: rate-limit
 * counters ("x-ratelimit-remaining-tokens") and the list of body keys left out of the cache key.
 * Their values still go through redactText, so a key pasted into one of them is still caught.
 */
const HARMLESS_NAMES = /^(?:x-ratelimit-|anthropic-ratelimit-|ratelimit-)|^helicone-cache-ignore-keys$/i;

/** Auth schemes kept in front of a redacted credential, so a reader still sees how it authenticated. */
const AUTH_SCHEME = /^(bearer|basic|digest|token|negotiate|ntlm|hawk|aws4-hmac-sha256|apikey|bot)(\s+)\S/i;

export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (SECRET_HEADERS.has(lower)) return true;
  if (HARMLESS_NAMES.test(lower)) return false;
  return SECRET_NAME_PART.test(lower);
}

function redactSecretValue(value: string): string {
  const m = AUTH_SCHEME.exec(value.trim());
  return m ? `${m[1]}${m[2]}${REDACTED}` : REDACTED;
}

/**
 * Copies headers with secret values replaced by '[REDACTED]' ('Bearer [REDACTED]' for an
 * Authorization header with a scheme). Raw name case is kept; repeated headers are joined with
 * ', ' as HTTP allows; undefined values are dropped. Idempotent: redacting twice is a no-op.
 */
export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(', ') : String(raw);
    if (isSecretHeader(name)) {
      out[name] = value === '' ? '' : redactSecretValue(value);
    } else {
      out[name] = redactText(value);
    }
  }
  return out;
}

/**
 * Shapes of credentials seen in the wild. Each replacement keeps a short recognisable prefix so a
 * reader knows what kind of key was there without learning the key.
 */
const TEXT_PATTERNS: Array<[RegExp, string]> = [
  // OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-api03-), Helicone (sk-helicone-, pk-helicone-),
  // OpenRouter (sk-or-v1-), Stripe-like rk-: a prefix then a long run of key characters.
  [/\b((?:sk|pk|rk)-(?:ant-|proj-|svcacct-|helicone-|or-v1-|live-|test-)?)[A-Za-z0-9_\-]{10,}/g, `$1${REDACTED}`],
  // Google API keys.
  [/\bAIza[0-9A-Za-z_\-]{30,}/g, REDACTED],
  // The password of URL userinfo ("https://user:pass@host", e.g. in a Helicone-Target-Url header).
  [/\b([a-z][a-z0-9+.\-]*:\/\/[^\s\/?#@:]*:)(?!\[REDACTED\]@)[^\s\/?#@]+@/gi, `$1${REDACTED}@`],
  // Groq, xAI and GitHub tokens.
  [/\b(gsk_|xai-|ghp_|gho_|github_pat_)[A-Za-z0-9_\-]{16,}/g, `$1${REDACTED}`],
  // An auth scheme followed by a credential, anywhere in text ("Authorization: Bearer abc...").
  [/\b(Bearer|Basic|Token)(\s+)(?!\[REDACTED\])[A-Za-z0-9._~+/=\-]{8,}/gi, `$1$2${REDACTED}`],
  // key=value / "key": "value" pairs named like a secret (query strings, JSON error bodies, env dumps).
  [
    /((?:["']?)(?:api[_-]?key|x-api-key|apikey|access[_-]?token|auth[_-]?token|client[_-]?secret|secret|password|helicone-auth|authorization)(?:["']?)\s*[:=]\s*["']?)(?!\[REDACTED\]|Bearer\s|Basic\s)([^"'\s&,;}]{4,})/gi,
    `$1${REDACTED}`,
  ],
];

/**
 * Text none of TEXT_PATTERNS can match: each needs one of these literals (a key prefix, '://', an
 * auth scheme, or a secret-looking name). One scan instead of six for the typical header value,
 * and every stored record's headers go through here. Keep in step with TEXT_PATTERNS.
 */
const MAY_HOLD_SECRET = /k-|aiza|gsk_|xai-|gh[po]_|github_pat_|bearer|basic|token|key|secret|password|auth/i;

/** Scrubs key-looking substrings from free text (error messages, exports, URLs). */
export function redactText(s: string): string {
  // A URL's password needs both '://' and a later '@': every stored URL has the first, so testing
  // '://' alone sent each of them through all six patterns.
  return MAY_HOLD_SECRET.test(s) || (s.includes('@') && s.includes('://')) ? redactTextAlways(s) : s;
}

/** redactText without the pre-check (tests prove the pre-check never skips a match). */
export function redactTextAlways(s: string): string {
  let out = s;
  for (const [re, replacement] of TEXT_PATTERNS) {
    re.lastIndex = 0;
    out = out.replace(re, replacement);
  }
  return out;
}

/** Query parameters whose names look secret get their values redacted ("?key=AIza...&api-version=1"). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return redactText(url);
  const head = url.slice(0, q);
  const hashAt = url.indexOf('#', q);
  const query = url.slice(q + 1, hashAt < 0 ? undefined : hashAt);
  const hash = hashAt < 0 ? '' : url.slice(hashAt);
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    let name = pair.slice(0, eq);
    try { name = decodeURIComponent(name); } catch { /* keep the raw name */ }
    return isSecretHeader(name) || /^(?:key|sig|code)$/i.test(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
  });
  return redactText(`${head}?${parts.join('&')}${hash}`);
}
