// The commands the extension helper owns (see the brief's "VS Code layer"): proxy start/stop,
// copying, deleting, exporting, clearing, filtering, API keys and the log. Each accepts what a
// tree item passes (the node), an id (webviews, tests), or nothing (palette: it asks).
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import { formatCount } from '../core/format';
import type { RecordQuery } from '../core/store';
import { toCurl } from '../store/export';
import type { SessionTreeHandle } from '../views/sessionTree';
import type { RequestFilter, RequestStatusFilter } from '../views/sessionTreeModel';
import { requestIdFromArg, requestIdsFromArgs } from './args';
import { Commands, DEFAULT_SOURCE_NAME, secretKeyForSource } from './constants';
import { exportLogs, type ExportFormat } from './exportLogs';
import type { LensServices } from './services';

export interface CommandDeps {
  services: LensServices;
  tree: SessionTreeHandle;
  showLog: () => void;
}

/** Provider routes as people name them, for the base URL quick pick. */
const PROVIDER_LABELS: Record<string, { label: string; env?: string; snippet?: (url: string) => string }> = {
  openai: { label: 'OpenAI', env: 'OPENAI_BASE_URL', snippet: (u) => `new OpenAI({ baseURL: '${u}' })` },
  anthropic: { label: 'Anthropic', env: 'ANTHROPIC_BASE_URL', snippet: (u) => `new Anthropic({ baseURL: '${u}' })` },
};

export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): void {
  const { services, tree } = deps;
  const { proxy, store, logger } = services;
  // Handlers declare the arguments they take; VS Code passes whatever the caller gave (unknown).
  const reg = (id: string, fn: (...args: never[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await (fn as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        logger.error(`${id} failed: ${errorMessage(e)}`);
        void vscode.window.showErrorMessage(`LLM Lens: ${errorMessage(e)}`);
        return undefined;
      }
    }));
  };

  reg(Commands.startProxy, async () => {
    const wasRunning = proxy.state === 'running';
    const ok = await proxy.start();
    if (ok && !wasRunning) {
      void vscode.window.showInformationMessage(
        `LLM Lens proxy is listening on ${proxy.url}. New terminals send OpenAI and Anthropic SDK calls through it.`,
        'Copy Base URL', 'New Terminal',
      ).then((pick) => {
        if (pick === 'Copy Base URL') void vscode.commands.executeCommand(Commands.copyBaseUrl);
        if (pick === 'New Terminal') vscode.window.createTerminal().show();
      });
    }
    return ok;
  });

  reg(Commands.stopProxy, async () => {
    await proxy.stop();
    return true;
  });

  reg(Commands.copyBaseUrl, async (provider?: unknown) => {
    if (proxy.state !== 'running' && !(await proxy.start())) return undefined;
    const urls = proxy.providerBaseUrls();
    let url: string | undefined;
    if (typeof provider === 'string') {
      url = urls[provider] ?? (provider === 'api' ? `${proxy.url}/api` : undefined);
      if (!url) throw new Error(`no proxy route named "${provider}" (routes: ${Object.keys(urls).join(', ')})`);
    } else {
      type Item = vscode.QuickPickItem & { url: string };
      const items: Item[] = Object.entries(urls).map(([name, u]) => {
        const known = PROVIDER_LABELS[name];
        return {
          label: known?.label ?? name,
          description: u,
          detail: known ? `${known.env}=${u}   ·   ${known.snippet!(u)}` : `route /${name}/… (llmLens.upstreams)`,
          url: u,
        };
      });
      items.push({ label: 'Query API (Helicone-compatible)', description: `${proxy.url}/api`, detail: 'POST /v1/request/query, /v1/session/query, /custom/v1/log', url: `${proxy.url}/api` });
      const pick = await vscode.window.showQuickPick(items, { title: 'Copy Proxy Base URL', placeHolder: 'Which SDK or API?', matchOnDescription: true });
      url = pick?.url;
    }
    if (!url) return undefined;
    await vscode.env.clipboard.writeText(url);
    vscode.window.setStatusBarMessage(`$(check) Copied ${url}`, 3000);
    return url;
  });

  reg(Commands.copyAsCurl, async (arg?: unknown) => {
    const id = requestIdFromArg(arg);
    if (!id) throw new Error('Copy as cURL needs a request (run it from the Sessions view).');
    const record = await store.getRecord(id);
    if (!record) throw new Error(`request ${id} is no longer in the log`);
    const baseUrl = proxy.url ?? `http://127.0.0.1:${services.settings.current().port}`;
    const curl = toCurl(record, { baseUrl });
    await vscode.env.clipboard.writeText(curl);
    vscode.window.setStatusBarMessage('$(check) Copied as cURL (API key left as a placeholder)', 3000);
    return curl;
  });

  reg(Commands.copyRequestId, async (arg?: unknown) => {
    const id = requestIdFromArg(arg);
    if (!id) throw new Error('Copy Request Id needs a request (run it from the Sessions view).');
    await vscode.env.clipboard.writeText(id);
    vscode.window.setStatusBarMessage(`$(check) Copied ${id}`, 3000);
    return id;
  });

  reg(Commands.deleteRequest, async (arg?: unknown, selection?: unknown) => {
    const ids = requestIdsFromArgs(arg, selection).filter((id) => store.get(id)?.state !== 'pending');
    if (!ids.length) return 0;
    if (ids.length > 1) {
      const ok = await vscode.window.showWarningMessage(`Delete ${ids.length} logged requests?`, { modal: true, detail: 'Their bodies are removed from disk. This cannot be undone.' }, 'Delete');
      if (ok !== 'Delete') return 0;
    }
    await store.delete(ids);
    return ids.length;
  });

  reg(Commands.clearLogs, async (confirmed?: unknown) => {
    const n = store.count();
    if (n === 0) {
      void vscode.window.showInformationMessage('LLM Lens: the log is already empty.');
      return 0;
    }
    // Automation (tests) passes `true` to skip the dialog; the palette passes nothing.
    if (confirmed !== true) {
      const ok = await vscode.window.showWarningMessage(`Delete all ${formatCount(n)} logged LLM requests?`,
        { modal: true, detail: 'Request and response bodies are removed from disk. This cannot be undone.' }, 'Delete All');
      if (ok !== 'Delete All') return 0;
    }
    await store.clear();
    return n;
  });

  reg(Commands.exportLogs, async (formatArg?: unknown, target?: unknown) => {
    let format: ExportFormat | undefined = formatArg === 'jsonl' || formatArg === 'har' ? formatArg : undefined;
    const filter = tree.model.getFilter();
    let query: RecordQuery | undefined;
    if (!format) {
      const pick = await vscode.window.showQuickPick([
        { label: 'JSON Lines', description: '.jsonl', detail: 'One complete record per line: bodies, usage, cost, timing. Re-importable, greppable.', format: 'jsonl' as const },
        { label: 'HAR', description: '.har', detail: 'HTTP Archive 1.2 for browser dev tools and HTTP tooling. Secrets stay redacted.', format: 'har' as const },
      ], { title: 'Export Logs', placeHolder: 'Export format' });
      if (!pick) return undefined;
      format = pick.format;
    }
    let onlyMatching: ((id: string) => boolean) | undefined;
    if (filter && typeof target !== 'string') {
      const scope = await vscode.window.showQuickPick([
        { label: `Filtered requests`, description: `${formatCount(tree.model.matchCount())} matching the current filter`, all: false },
        { label: 'All requests', description: formatCount(store.count()), all: true },
      ], { title: 'Export Logs', placeHolder: 'Which requests?' });
      if (!scope) return undefined;
      if (!scope.all) onlyMatching = (id) => { const s = store.get(id); return !!s && tree.model.matches(s); };
    }
    let uri: vscode.Uri | undefined;
    if (typeof target === 'string') uri = vscode.Uri.file(target);
    else if (target instanceof vscode.Uri) uri = target;
    else {
      const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const name = `llm-lens-${stamp}.${format}`;
      uri = await vscode.window.showSaveDialog({
        title: 'Export LLM Lens Logs',
        defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
        filters: format === 'har' ? { 'HTTP Archive': ['har'] } : { 'JSON Lines': ['jsonl'] },
        saveLabel: 'Export',
      });
    }
    if (!uri) return undefined;
    const dest = uri;
    const interactive = typeof target !== 'string' && !(target instanceof vscode.Uri);
    // A person exporting sees a cancellable notification; automation (a target path given) only the status bar.
    const result = await vscode.window.withProgress(
      { location: interactive ? vscode.ProgressLocation.Notification : vscode.ProgressLocation.Window, title: `Exporting LLM Lens logs to ${vscode.workspace.asRelativePath(dest)}`, cancellable: interactive },
      (progress, token) => exportLogs({ store, format: format!, file: dest.fsPath, query, include: onlyMatching, logger,
        onProgress: (done, total) => progress.report({ message: `${formatCount(done)} of ${formatCount(total)}`, increment: total ? 100 / total : 0 }),
        isCancelled: () => token.isCancellationRequested }),
    );
    if (result.cancelled) {
      void vscode.window.showInformationMessage('LLM Lens: export cancelled; nothing was written.');
      return result;
    }
    if (interactive) {
      void vscode.window.showInformationMessage(`LLM Lens: exported ${formatCount(result.written)} requests to ${vscode.workspace.asRelativePath(dest)}.`, 'Open File').then((pick) => {
        if (pick) void vscode.commands.executeCommand('vscode.open', dest);
      });
    }
    return result;
  });

  reg(Commands.filterRequests, async (arg?: unknown) => {
    if (typeof arg === 'object' && arg !== null && !('kind' in arg)) {
      tree.setFilter(arg as RequestFilter);
      return tree.model.getFilter();
    }
    const next = await pickFilter(services, tree);
    if (next !== undefined) tree.setFilter(next);
    return tree.model.getFilter();
  });

  reg(Commands.clearFilter, () => {
    tree.setFilter(null);
    return null;
  });

  reg(Commands.setHeliconeApiKey, async (keyArg?: unknown, sourceArg?: unknown) => {
    const sources = [DEFAULT_SOURCE_NAME, ...services.settings.current().sources.map((s) => s.name)];
    let source = typeof sourceArg === 'string' && sourceArg ? sourceArg : undefined;
    if (typeof keyArg === 'string') {
      source ??= DEFAULT_SOURCE_NAME;
      if (keyArg) await services.context.secrets.store(secretKeyForSource(source), keyArg.trim());
      else await services.context.secrets.delete(secretKeyForSource(source));
      logger.info(`API key for source "${source}" ${keyArg ? 'saved' : 'removed'}`);
      return true;
    }
    if (!source) {
      if (sources.length === 1) source = sources[0];
      else {
        const pick = await vscode.window.showQuickPick(sources.map((name) => ({
          label: name,
          description: name === DEFAULT_SOURCE_NAME ? services.settings.current().helicone.baseUrl : services.settings.current().sources.find((s) => s.name === name)?.baseUrl,
        })), { title: 'Set Helicone API Key', placeHolder: 'For which source?' });
        source = pick?.label;
      }
    }
    if (!source) return false;
    const has = (await services.context.secrets.get(secretKeyForSource(source))) !== undefined;
    const key = await vscode.window.showInputBox({
      title: `Helicone API Key for "${source}"`,
      prompt: `Stored in VS Code's secret storage, never in settings or logs.${has ? ' Leave empty to remove the saved key.' : ''}`,
      password: true,
      ignoreFocusOut: true,
      placeHolder: 'sk-helicone-…',
      validateInput: (v) => (/\s/.test(v.trim()) ? 'An API key has no spaces.' : undefined),
    });
    if (key === undefined) return false;
    if (!key.trim()) {
      if (has) await services.context.secrets.delete(secretKeyForSource(source));
      void vscode.window.showInformationMessage(`LLM Lens: removed the API key for "${source}".`);
      return true;
    }
    await services.context.secrets.store(secretKeyForSource(source), key.trim());
    logger.info(`API key for source "${source}" saved`);
    void vscode.window.showInformationMessage(`LLM Lens: saved the API key for "${source}".`);
    return true;
  });

  reg(Commands.showLog, () => deps.showLog());
}

// ---- the filter quick pick ----

type Dimension = 'property' | 'model' | 'user' | 'status' | 'environment' | 'text';

interface Values {
  models: Map<string, number>;
  users: Map<string, number>;
  properties: Map<string, Map<string, number>>;
}

const SCAN_LIMIT = 20_000;

/** Distinct values in the most recent requests (bounded: a quick pick needs choices, not a census). */
function collectValues(services: LensServices): Values {
  const models = new Map<string, number>();
  const users = new Map<string, number>();
  const properties = new Map<string, Map<string, number>>();
  const bump = (m: Map<string, number>, k: string): void => { m.set(k, (m.get(k) ?? 0) + 1); };
  for (const s of services.store.list({ limit: SCAN_LIMIT })) {
    const model = s.responseModel ?? s.requestModel;
    if (model) bump(models, model);
    if (s.userId) bump(users, s.userId);
    for (const [k, v] of Object.entries(s.properties)) {
      let m = properties.get(k);
      if (!m) properties.set(k, (m = new Map()));
      bump(m, v);
    }
  }
  return { models, users, properties };
}

function byCount(m: Map<string, number>): Array<vscode.QuickPickItem & { value: string }> {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).map(([value, n]) => ({ label: value, description: `${formatCount(n)} req`, value }));
}

/** Returns the new filter, null to clear it, or undefined when the user cancelled. */
async function pickFilter(services: LensServices, tree: SessionTreeHandle): Promise<RequestFilter | null | undefined> {
  const current = tree.model.getFilter() ?? {};
  const envProp = services.settings.current().environmentProperty;
  type DimItem = vscode.QuickPickItem & { dim?: Dimension; clear?: boolean };
  const items: DimItem[] = [
    { label: '$(symbol-property) Property…', description: Object.entries(current.properties ?? {}).map(([k, v]) => `${k}=${v}`).join(', '), dim: 'property' },
    { label: '$(symbol-class) Model…', description: current.model, dim: 'model' },
    { label: '$(account) User…', description: current.userId, dim: 'user' },
    { label: '$(pass) Status…', description: current.status, dim: 'status' },
    { label: `$(server-environment) ${envProp}…`, description: current.environment, dim: 'environment' },
    { label: '$(search) Text…', description: current.text, detail: 'Model, path, id, user, session name and property values', dim: 'text' },
  ];
  if (tree.model.getFilter()) items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: '$(clear-all) Clear Filter', clear: true });
  const dim = await vscode.window.showQuickPick(items, { title: 'Filter Requests', placeHolder: 'Filter by…' });
  if (!dim) return undefined;
  if (dim.clear) return null;
  const next: RequestFilter = { ...current, properties: current.properties ? { ...current.properties } : undefined };
  const values = dim.dim === 'text' || dim.dim === 'status' ? undefined : collectValues(services);
  const pickValue = async (title: string, choices: Array<vscode.QuickPickItem & { value: string }>): Promise<string | undefined> => {
    if (!choices.length) {
      void vscode.window.showInformationMessage(`LLM Lens: no logged request has a ${title.toLowerCase()} yet.`);
      return undefined;
    }
    return (await vscode.window.showQuickPick(choices, { title: `Filter by ${title}`, matchOnDescription: true }))?.value;
  };
  switch (dim.dim) {
    case 'model': { const v = await pickValue('Model', byCount(values!.models)); if (v === undefined) return undefined; next.model = v; break; }
    case 'user': { const v = await pickValue('User', byCount(values!.users)); if (v === undefined) return undefined; next.userId = v; break; }
    case 'status': {
      const v = await vscode.window.showQuickPick(([
        ['ok', '$(pass) OK', 'Answered by the provider with success'],
        ['error', '$(error) Error', 'Upstream errors, timeouts, resets, aborted calls'],
        ['cached', '$(database) Cached', 'Served from the response cache'],
        ['pending', '$(loading~spin) In progress', 'Still waiting or streaming'],
      ] as const).map(([value, label, detail]) => ({ label, detail, value })), { title: 'Filter by Status' });
      if (!v) return undefined;
      next.status = v.value as RequestStatusFilter;
      break;
    }
    case 'environment': {
      const dev = services.settings.current().devEnvironment;
      // Header names are case-insensitive: merge 'Environment' and 'environment'.
      const seen = new Map<string, number>();
      for (const [name, m] of values!.properties) {
        if (name.toLowerCase() !== envProp.toLowerCase()) continue;
        for (const [v, n] of m) seen.set(v, (seen.get(v) ?? 0) + n);
      }
      if (!seen.has(dev)) seen.set(dev, 0);
      const choices = byCount(seen).map((c) => (c.value === dev ? { ...c, detail: 'Also matches requests without the property' } : c));
      const v = await pickValue(envProp, choices);
      if (v === undefined) return undefined;
      next.environment = v;
      break;
    }
    case 'property': {
      const names = [...values!.properties.entries()].map(([k, m]) => ({ label: k, description: `${m.size} value${m.size === 1 ? '' : 's'}`, value: k }));
      const name = await pickValue('Property', names);
      if (name === undefined) return undefined;
      const v = await pickValue(name, byCount(values!.properties.get(name)!));
      if (v === undefined) return undefined;
      next.properties = { ...next.properties, [name]: v };
      break;
    }
    case 'text': {
      const v = await vscode.window.showInputBox({ title: 'Filter Requests by Text', value: current.text ?? '', prompt: 'Matches model, path, id, user, session name and property values (case-insensitive). Empty clears it.' });
      if (v === undefined) return undefined;
      next.text = v.trim() || undefined;
      break;
    }
  }
  return next;
}
