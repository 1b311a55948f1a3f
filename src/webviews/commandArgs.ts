// What llmLens.openRequest / openSession / replayRequest accept: an id string (palette, tests,
// other features) or a tree node from the Sessions view (context menus, inline actions). Node
// shapes differ between callers, so the ids are looked up in the store rather than trusted.
import type { RecordReader } from '../core/store';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function requestCandidates(arg: unknown): string[] {
  if (typeof arg === 'string') return arg ? [arg] : [];
  if (!isObj(arg)) return [];
  const nested = (k: string): string | undefined => (isObj(arg[k]) ? str((arg[k] as Obj).id) : undefined);
  return [str(arg.requestId), str(arg.recordId), nested('summary'), nested('record'), str(arg.id)].filter((x): x is string => x !== undefined);
}

/** The record id an argument names: the first candidate the store knows, else the first candidate. */
export function requestIdFromArg(arg: unknown, store: Pick<RecordReader, 'get'>): string | undefined {
  const c = requestCandidates(arg);
  return c.find((id) => store.get(id) !== undefined) ?? c[0];
}

/** The session id an argument names: a session id, a session/path node, or a request (its session). */
export function sessionIdFromArg(arg: unknown, store: Pick<RecordReader, 'get' | 'session'>): string | undefined {
  if (typeof arg === 'string') {
    if (!arg) return undefined;
    return store.session(arg) !== undefined ? arg : store.get(arg)?.session?.id ?? arg;
  }
  if (!isObj(arg)) return undefined;
  const direct = str(arg.sessionId) ?? (isObj(arg.session) ? str((arg.session as Obj).id) : undefined);
  if (direct) return direct;
  for (const k of ['summary', 'record'] as const) {
    const v = arg[k];
    if (isObj(v) && isObj(v.session)) { const id = str((v.session as Obj).id); if (id) return id; }
  }
  for (const id of requestCandidates(arg)) {
    const s = store.get(id)?.session?.id;
    if (s) return s;
  }
  const id = str(arg.id);
  return id && store.session(id) !== undefined ? id : undefined;
}
