// Loading a built webview bundle in headless Debian Chromium under the panel's real CSP, shared by
// the request/session and compare DOM tests.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { buildPanelHtml, makeNonce } from '../../src/webviews/html';
import type { WebviewBundle } from '../../src/webviews/html';

/** The Chromium to drive, or null (the tests then skip and say so). */
export function chromiumPath(): string | null {
  for (const c of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (c && existsSync(c)) return c;
  }
  return null;
}

/** Offline flags: without them Chromium dials out at start, which this network refuses. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * The panel's own HTML (strict CSP, fresh nonce) served from `origin`, with a test prelude script
 * (the acquireVsCodeApi stand-in) carrying the same nonce, run before the bundle.
 */
export function panelPageHtml(opts: { origin: string; bundle: WebviewBundle; title: string; styleUris: string[]; prelude: string }): string {
  const nonce = makeNonce();
  const html = buildPanelHtml({
    cspSource: opts.origin, nonce, bundle: opts.bundle, title: opts.title,
    scriptUri: `${opts.origin}/media/dist/${opts.bundle}.js`, styleUris: opts.styleUris,
  });
  return html.replace('<main', `<script nonce="${nonce}">${opts.prelude}</script>\n  <main`);
}
