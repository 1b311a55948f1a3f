// The HTML shell of every LLM Lens webview: a strict CSP, one nonce'd script, local styles only.
// Everything a panel shows is built later by its browser bundle with createElement/textContent;
// this page carries no data at all, so nothing model-produced ever passes through an HTML parser.
import { randomBytes } from 'node:crypto';
import type * as vscode from 'vscode';

export type WebviewBundle = 'request' | 'session' | 'compare';

export interface PanelHtmlParts {
  /** webview.cspSource */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUris: string[];
  title: string;
  bundle: WebviewBundle;
}

/** 128 random bits (practice 6: crypto, never Math.random), base64 as CSP's nonce-source expects. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The Content-Security-Policy of every panel. default-src 'none' forbids everything not listed:
 * no network (connect-src), no frames, no objects; scripts only with this page's nonce (so an
 * injected <script> or on* attribute cannot run even if a rendering bug let one through);
 * styles, fonts and images only from the extension's own media folder (plus data: images for
 * icons). base-uri and form-action are not covered by default-src, so they are closed explicitly.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** For double-quoted attribute values and text: ' needs no escape there, so the CSP stays readable. */
const escapeAttr = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function buildPanelHtml(p: PanelHtmlParts): string {
  if (!/^[A-Za-z0-9+/=]{16,}$/.test(p.nonce)) throw new Error('buildPanelHtml: nonce must be base64 of at least 16 characters');
  const styles = p.styleUris.map((u) => `  <link rel="stylesheet" href="${escapeAttr(u)}">`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(p.cspSource, p.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles}
  <title>${escapeAttr(p.title)}</title>
</head>
<body class="lens-${p.bundle}">
  <main id="app" class="lens-app" data-panel="${p.bundle}"><p class="lens-loading">Loading…</p></main>
  <script nonce="${p.nonce}" src="${escapeAttr(p.scriptUri)}"></script>
</body>
</html>
`;
}

/**
 * Webview options for every panel: scripts on, and the media folder as the ONLY local resource
 * root (the built bundles and CSS live in media/ and media/dist/), never the workspace.
 */
export function panelOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [mediaUri(extensionUri)],
    enableFindWidget: true,
    // No retainContextWhenHidden: panels rebuild from getState + the host's reply to `ready`.
  };
}

function mediaUri(extensionUri: vscode.Uri): vscode.Uri {
  // Uri.with rather than vscode.Uri.joinPath keeps this module free of a run-time vscode import,
  // so the unit tests can build real HTML in plain Node.
  return extensionUri.with({ path: extensionUri.path.replace(/\/$/, '') + '/media' });
}

function mediaFile(extensionUri: vscode.Uri, rel: string): vscode.Uri {
  const media = mediaUri(extensionUri);
  return media.with({ path: `${media.path}/${rel}` });
}

/** The full HTML for a panel, with resource URIs converted by the webview itself. */
export function renderPanelHtml(webview: Pick<vscode.Webview, 'cspSource' | 'asWebviewUri'>, extensionUri: vscode.Uri, bundle: WebviewBundle, title: string): string {
  const uri = (rel: string): string => webview.asWebviewUri(mediaFile(extensionUri, rel)).toString();
  return buildPanelHtml({
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    // dist/<bundle>.css is emitted by esbuild from the bundle's CSS imports (codicons).
    styleUris: [uri(`dist/${bundle}.css`), uri('webview.css')],
    scriptUri: uri(`dist/${bundle}.js`),
    title,
    bundle,
  });
}
