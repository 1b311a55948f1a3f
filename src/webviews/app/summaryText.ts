// One-line descriptions of a record, shared by the panel host (tab titles) and the browser views.
import type { RecordSummary } from '../../core/types';

export function modelOf(s: RecordSummary): string {
  if (s.responseModel ?? s.requestModel) return (s.responseModel ?? s.requestModel) as string;
  if (s.kind === 'custom') return 'custom step';
  // No model yet (in flight) or none sent: the API path says what the request was ("chat/completions").
  const tail = s.path.split('?')[0]?.replace(/^\/(v\d+\/)?/, '').replace(/^(anthropic|openai)\/(v\d+\/)?/, '');
  return tail ? tail : 'request';
}

/** "200", "pending", "429 · upstream_status", "200 · cache hit". */
export function statusText(s: RecordSummary): string {
  if (s.state === 'pending') return 'pending';
  if (s.state === 'error') return [s.status ?? null, s.error?.kind ?? 'error'].filter((x) => x !== null).join(' · ');
  if (s.cache?.hit) return `${s.status ?? 200} · cache hit`;
  return String(s.status ?? 'ok');
}

/** The request panel's tab title: "gpt-4o-mini · 200". */
export function requestTitle(s: RecordSummary): string {
  return `${modelOf(s)} · ${statusText(s)}`;
}
