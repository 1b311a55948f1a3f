// What a person sees, for suites running inside the extension host.
//
// The extension host cannot see the workbench DOM: the runner (scripts/runE2e.mjs) drives the
// browser and exposes a loopback control endpoint whose URL it passes down as E2E_CONTROL_URL.
// Desktop runs (@vscode/test-electron) have no such endpoint: suites check hasUiControl() and
// skip the UI assertions there, keeping the API-level ones.
//
// The UI lags the API (rendering, webview iframes booting): poll, never sleep.

/** A UI element addressed in the workbench page or inside any of its frames (webviews included). */
export interface UiTarget {
  /** CSS selector (Playwright syntax also works, e.g. `text=Start LLM Proxy`). */
  selector: string;
  /** Only elements whose text contains this string. */
  hasText?: string;
  /** Which of the matches (default 0, the first). */
  nth?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const POLL_MS = 150;

/** True when the run is driven by the e2e runner, i.e. uiText/screenshot/click can see the UI. */
export function hasUiControl(): boolean {
  return typeof process.env.E2E_CONTROL_URL === 'string' && process.env.E2E_CONTROL_URL.length > 0;
}

function controlUrl(): string {
  const url = process.env.E2E_CONTROL_URL;
  if (!url) throw new Error('no UI control endpoint (E2E_CONTROL_URL unset: desktop run?) - guard with hasUiControl()');
  return url;
}

async function control<T>(path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  const res = await fetch(controlUrl() + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`e2e control ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const err = (parsed as { error?: string } | null)?.error ?? text;
    throw new Error(`e2e control ${path}: HTTP ${res.status}: ${err}`);
  }
  return parsed as T;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns a truthy value (or resolves to one) and returns it. Exceptions
 * thrown by `fn` count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = DEFAULT_TIMEOUT_MS, what = 'condition'): Promise<NonNullable<T>> {
  const t0 = Date.now();
  let lastError: unknown = null;
  let lastValue: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      lastValue = v;
      lastError = null;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() - t0 > timeoutMs) {
      const detail = lastError ? `; last error: ${String((lastError as Error)?.message ?? lastError)}` : `; last value: ${JSON.stringify(lastValue)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(POLL_MS);
  }
}

/** innerText of every element matching `selector` in the page and all frames (webview iframes included), right now. */
export async function uiTextNow(selector: string): Promise<string[]> {
  const u = `/text?selector=${encodeURIComponent(selector)}`;
  return control<string[]>(u);
}

/**
 * Polls until some element matching `selector` (in any frame) has innerText satisfying
 * `predicate`; returns all the matching texts seen in that poll. Throws with what it last saw.
 */
export async function uiText(selector: string, predicate: (t: string) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
  let last: string[] = [];
  try {
    return await waitFor(async () => {
      last = await uiTextNow(selector);
      return last.some(predicate) ? last : null;
    }, timeoutMs, `UI text in ${selector}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n  last seen in ${selector}: ${JSON.stringify(last).slice(0, 2000)}`);
  }
}

/** Polls until no element matching `selector` satisfies `predicate` (e.g. a row is gone). */
export async function uiTextGone(selector: string, predicate: (t: string) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  await waitFor(async () => !(await uiTextNow(selector)).some(predicate), timeoutMs, `UI text in ${selector} to disappear`);
}

/**
 * Saves a PNG of the whole workbench to .e2e-out/shots/<name>.png and returns its path; null on
 * desktop runs (no control endpoint), so suites can call it unconditionally.
 */
export async function screenshot(name: string): Promise<string | null> {
  if (!hasUiControl()) return null;
  const r = await control<{ file: string }>(`/screenshot?name=${encodeURIComponent(name)}`);
  return r.file;
}

/** Moves the mouse over the target (first frame that has it), e.g. to raise a tooltip or hover. */
export async function hover(target: UiTarget): Promise<void> {
  await control('/hover', target);
}

/** Clicks the target (first frame that has it), as a person would. */
export async function click(target: UiTarget): Promise<void> {
  await control('/click', target);
}

/** Presses a key or chord in the focused element, e.g. 'Escape', 'Control+P', 'Enter'. */
export async function pressKey(key: string): Promise<void> {
  await control('/press', { key });
}

/** Types text into the focused element. */
export async function typeText(text: string): Promise<void> {
  await control('/type', { text });
}

/**
 * Hovers the target, then polls the workbench hover widget until its text satisfies `predicate`
 * and returns that text. For editor hovers, position the target on the word (e.g. a
 * `.view-line span` with `hasText` equal to the model id).
 */
export async function hoverText(target: UiTarget, predicate: (t: string) => boolean = (t) => t.trim().length > 0, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  await hover(target);
  const texts = await uiText('.monaco-hover, .workbench-hover, .monaco-hover-content', predicate, timeoutMs);
  return texts.find(predicate) ?? '';
}

/**
 * Evaluates a JavaScript expression in every frame that contains an element matching
 * `frameSelector` (e.g. a webview's root element) and returns the JSON-serialisable results,
 * one per frame. Used to assert what ran (or did not run) inside a webview: for example
 * `evaluateInFrames('#app', 'window.__pwned === undefined')`.
 */
export async function evaluateInFrames<T = unknown>(frameSelector: string, expression: string): Promise<T[]> {
  const r = await control<{ results: T[] }>('/evaluate', { frameSelector, expression });
  return r.results;
}

/** Lists the frames currently in the page (url and name), for diagnosing webview lookups. */
export async function listFrames(): Promise<Array<{ url: string; name: string }>> {
  return control<Array<{ url: string; name: string }>>('/frames');
}
