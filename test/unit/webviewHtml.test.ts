import * as assert from 'node:assert/strict';
import type * as vscode from 'vscode';
import { buildPanelHtml, contentSecurityPolicy, makeNonce, panelOptions, renderPanelHtml } from '../../src/webviews/html';

/** A vscode.Uri stand-in with the two members html.ts uses (path, with). */
class FakeUri {
  constructor(readonly scheme: string, readonly path: string) {}
  with(change: { path?: string }): FakeUri { return new FakeUri(this.scheme, change.path ?? this.path); }
  toString(): string { return `${this.scheme}://${this.path}`; }
}

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';
const fakeWebview = {
  cspSource: CSP_SOURCE,
  asWebviewUri: (u: FakeUri) => new FakeUri('https', `file+.vscode-resource.vscode-cdn.net${u.path}`),
} as unknown as Pick<vscode.Webview, 'cspSource' | 'asWebviewUri'>;
const EXT = new FakeUri('file', '/ext/llm-lens') as unknown as vscode.Uri;

function cspOf(html: string): Map<string, string[]> {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(m, 'a CSP meta tag');
  const directives = new Map<string, string[]>();
  for (const d of m[1].replace(/&#39;/g, "'").split(';').map((s) => s.trim()).filter(Boolean)) {
    const [name, ...values] = d.split(/\s+/);
    directives.set(name, values);
  }
  return directives;
}

describe('webview HTML builder', () => {
  for (const bundle of ['request', 'session'] as const) {
    describe(`${bundle} panel`, () => {
      const html = renderPanelHtml(fakeWebview, EXT, bundle, 'gpt-4o · 200');

      it('carries a strict CSP: nothing by default, scripts only by nonce, local styles/fonts/images', () => {
        const csp = cspOf(html);
        assert.deepEqual(csp.get('default-src'), ["'none'"]);
        const scriptSrc = csp.get('script-src') ?? [];
        assert.equal(scriptSrc.length, 1);
        assert.match(scriptSrc[0], /^'nonce-[A-Za-z0-9+/=]{20,}'$/);
        assert.deepEqual(csp.get('style-src'), [CSP_SOURCE]);
        assert.deepEqual(csp.get('font-src'), [CSP_SOURCE]);
        assert.deepEqual(csp.get('img-src'), [CSP_SOURCE, 'data:']);
        assert.deepEqual(csp.get('base-uri'), ["'none'"]);
        assert.deepEqual(csp.get('form-action'), ["'none'"]);
        for (const values of csp.values()) {
          for (const v of values) assert.doesNotMatch(v, /unsafe-inline|unsafe-eval|^\*$|^https?:$|^http:\/\//, `no wildcard or unsafe source: ${v}`);
        }
        assert.equal(csp.has('connect-src'), false, 'no network from the page (default-src none covers it)');
      });

      it('puts the nonce on every script, and loads the bundle from media/dist only', () => {
        const nonce = /'nonce-([^']+)'/.exec(cspOf(html).get('script-src')![0])![1];
        const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
        assert.equal(scripts.length, 1);
        for (const attrs of scripts) {
          assert.ok(attrs.includes(`nonce="${nonce}"`), `script without the nonce: ${attrs}`);
          assert.match(attrs, new RegExp(`src="https://file\\+\\.vscode-resource\\.vscode-cdn\\.net/ext/llm-lens/media/dist/${bundle}\\.js"`));
        }
        assert.doesNotMatch(html, /<script\b[^>]*>[^<\s]/, 'no inline script bodies');
      });

      it('has no inline event handlers, style attributes, <style> blocks or javascript: URLs', () => {
        assert.doesNotMatch(html, /\son[a-z]+\s*=/i);
        assert.doesNotMatch(html, /\sstyle\s*=/i);
        assert.doesNotMatch(html, /<style\b/i);
        assert.doesNotMatch(html, /javascript:/i);
        const links = [...html.matchAll(/<link\b[^>]*href="([^"]+)"/g)].map((m) => m[1]);
        assert.deepEqual(links, [
          `https://file+.vscode-resource.vscode-cdn.net/ext/llm-lens/media/dist/${bundle}.css`,
          'https://file+.vscode-resource.vscode-cdn.net/ext/llm-lens/media/webview.css',
        ]);
      });
    });
  }

  it('makes a fresh 128-bit nonce per page', () => {
    const a = renderPanelHtml(fakeWebview, EXT, 'request', 't');
    const b = renderPanelHtml(fakeWebview, EXT, 'request', 't');
    const nonce = (h: string): string => /'nonce-([^']+)'/.exec(h)![1];
    assert.notEqual(nonce(a), nonce(b));
    assert.equal(Buffer.from(makeNonce(), 'base64').length, 16);
    const seen = new Set(Array.from({ length: 200 }, makeNonce));
    assert.equal(seen.size, 200);
  });

  it('escapes the title and refuses a nonce that could break out of the attribute', () => {
    const html = buildPanelHtml({ cspSource: CSP_SOURCE, nonce: makeNonce(), scriptUri: 'x.js', styleUris: [], title: '</title><script>alert(1)</script>', bundle: 'request' });
    assert.doesNotMatch(html, /<\/title><script>/);
    assert.match(html, /&lt;\/title&gt;&lt;script&gt;/);
    assert.throws(() => buildPanelHtml({ cspSource: CSP_SOURCE, nonce: `abc"><script>`, scriptUri: 'x.js', styleUris: [], title: 't', bundle: 'request' }), /nonce/);
  });

  it('lists the media folder as the only local resource root, scripts on, command URIs off', () => {
    const opts = panelOptions(EXT);
    assert.equal(opts.enableScripts, true);
    assert.equal(opts.enableCommandUris, false);
    assert.deepEqual((opts.localResourceRoots ?? []).map(String), ['file:///ext/llm-lens/media']);
    assert.equal('retainContextWhenHidden' in opts, false);
  });

  it('exposes the policy string for other panels', () => {
    assert.equal(contentSecurityPolicy('vscode-src', 'Tm9uY2VOb25jZU5vbmNlIQ=='),
      "default-src 'none'; style-src vscode-src; script-src 'nonce-Tm9uY2VOb25jZU5vbmNlIQ=='; img-src vscode-src data:; font-src vscode-src; base-uri 'none'; form-action 'none'");
  });
});
