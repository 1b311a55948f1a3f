// Replay: send a logged request again, with an edited body, THROUGH the LLM Lens proxy, so the
// replay is logged like any other request and shows up in its own panel.
//
// The API key. The proxy never stores keys (the log has "Bearer [REDACTED]"), so a replay must get
// one from somewhere. In order:
//   1. VS Code SecretStorage, under "replayKey:<provider>" (a key entered here earlier);
//   2. the extension host's environment, the variable the provider's SDK reads itself
//      (OPENAI_API_KEY, ANTHROPIC_API_KEY, <NAME>_API_KEY for a custom upstream);
//   3. a password input box; the key entered there goes to SecretStorage for the next replay.
// A key from SecretStorage that the upstream rejects (401/403) is forgotten, so a typo does not
// stick. Keys never reach the log, the webview or the output channel.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { RecordSummary } from '../core/types';
import type { LensServices } from '../host/services';
import type { ReplayResult } from './protocol';

type Undici = typeof import('undici');
let undici: Undici | undefined;
import { checkReplayBody, envVarForProvider, planReplay, withKey } from './replayPlan';

const secretName = (provider: string): string => `replayKey:${provider}`;

type KeySource = 'secret' | 'env' | 'prompt';

async function resolveKey(services: LensServices, provider: string): Promise<{ key: string; source: KeySource } | undefined> {
  const secrets = services.context.secrets;
  const stored = await secrets.get(secretName(provider));
  if (stored) return { key: stored, source: 'secret' };
  const envName = envVarForProvider(provider);
  const fromEnv = process.env[envName];
  if (fromEnv) return { key: fromEnv, source: 'env' };
  const entered = await vscode.window.showInputBox({
    title: `LLM Lens: API key to replay a ${provider} request`,
    prompt: `The log never stores API keys. Enter the ${provider} key (or set ${envName} before starting VS Code). It is kept in VS Code's secret storage for later replays.`,
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim().length === 0 ? 'Enter a key, or press Escape to cancel' : undefined),
  });
  if (!entered) return undefined;
  await secrets.store(secretName(provider), entered.trim());
  return { key: entered.trim(), source: 'prompt' };
}

async function ensureProxy(services: LensServices): Promise<string> {
  if (services.proxy.state === 'running' && services.proxy.url) return services.proxy.url;
  const start = 'Start Proxy';
  const pick = await vscode.window.showInformationMessage('LLM Lens: the proxy is stopped.', { modal: true, detail: 'A replay goes through the proxy so that it is logged like any other request.' }, start);
  if (pick !== start) throw new Error('replay cancelled: the proxy is stopped');
  if (!(await services.proxy.start()) || !services.proxy.url) throw new Error('the proxy could not start');
  return services.proxy.url;
}

/**
 * Sends `bodyText` as the body of `source`'s request through the proxy. `onRecord` is called
 * once, as soon as the store sees the new record (state 'pending'), so its panel can follow the
 * response live; it is called at the end if the store never announced it.
 */
export async function replayRequest(services: LensServices, source: RecordSummary, bodyText: string, onRecord: (id: string) => void): Promise<ReplayResult> {
  const body = checkReplayBody(bodyText);
  if (!body.ok) throw new Error(body.error);
  const proxyUrl = await ensureProxy(services);
  const newId = randomUUID();
  const plan = planReplay(source, proxyUrl, newId);
  if (plan.url.includes('[REDACTED]')) throw new Error('the request URL held a secret that was not stored; it cannot be replayed');
  let headers = plan.headers;
  let keySource: KeySource | null = null;
  if (plan.keySlots.length > 0) {
    const key = await resolveKey(services, source.provider);
    if (!key) throw new Error('replay cancelled: no API key');
    headers = withKey(plan, key.key);
    keySource = key.source;
  }
  for (const d of plan.dropped) services.logger.info(`replay of ${source.id}: header ${d.name} left out (${d.why})`);

  let announced = false;
  const announce = (): void => { if (!announced) { announced = true; onRecord(newId); } };
  const sub = services.store.onDidChange((e) => {
    if (e.type === 'upsert' && e.summary.id === newId) announce();
  });
  try {
    services.logger.info(`replaying ${source.id} as ${newId}: ${plan.method} ${plan.url}`);
    // Required on first replay, not at activation: undici is ~100 ms of module load the window never needs otherwise.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    undici ??= require('undici') as Undici;
    const res = await undici.request(plan.url, { method: plan.method as 'POST', headers, body: body.body });
    // Read to the end (a stream included): the record completes when the response does.
    for await (const _chunk of res.body) { /* drained: the log has the body */ }
    if ((res.statusCode === 401 || res.statusCode === 403) && keySource === 'secret') {
      await services.context.secrets.delete(secretName(source.provider));
      void vscode.window.showWarningMessage(`LLM Lens: the stored ${source.provider} key was rejected (HTTP ${res.statusCode}) and has been forgotten; replay again to enter another.`);
    }
    announce();
    return { newId, status: res.statusCode };
  } finally {
    sub.dispose();
  }
}
