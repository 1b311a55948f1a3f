// The in-memory index behind list()/count()/sessions(): summaries in one array sorted by start
// time, one sorted array per session, and per-session aggregates kept up to date as records come
// and go. Listing the newest page is a slice from the end; a time window is two binary searches;
// only attribute filters scan, and they stop once the page is full.
import type { RecordQuery, SessionSummary } from '../core/store';
import type { RecordSummary } from '../core/types';

interface SessionEntry {
  agg: SessionSummary;
  /** Start time of the record the name came from: the newest named record names the session. */
  nameAt: number;
  records: RecordSummary[];
}

function cmp(a: RecordSummary, b: RecordSummary): number {
  return a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** First index whose element sorts at or after `s`. */
function searchPos(arr: RecordSummary[], s: RecordSummary): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(arr[mid], s) < 0) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** First index with startedAt >= t (strict=false) or > t (strict=true). */
function timeBound(arr: RecordSummary[], t: number, strict: boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? arr[mid].startedAt <= t : arr[mid].startedAt < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function insertSorted(arr: RecordSummary[], s: RecordSummary): void {
  arr.splice(searchPos(arr, s), 0, s);
}

function removeSorted(arr: RecordSummary[], s: RecordSummary): boolean {
  const i = searchPos(arr, s);
  if (i < arr.length && arr[i].id === s.id) { arr.splice(i, 1); return true; }
  return false;
}

function endOf(s: RecordSummary): number {
  return s.endedAt ?? s.startedAt;
}

function emptyAgg(id: string, s: RecordSummary): SessionSummary {
  return {
    id, name: null, requestCount: 0, errorCount: 0, pendingCount: 0, costUsd: 0, costUnknown: 0,
    promptTokens: 0, completionTokens: 0, totalTokens: 0, startedAt: s.startedAt, endedAt: endOf(s),
  };
}

function contribute(e: SessionEntry, s: RecordSummary, sign: 1 | -1): void {
  const a = e.agg;
  a.requestCount += sign;
  if (s.state === 'error') a.errorCount += sign;
  if (s.state === 'pending') a.pendingCount += sign;
  else if (s.costUsd === null || s.costUsd === undefined) a.costUnknown += sign;
  else a.costUsd += sign * s.costUsd;
  if (s.usage) {
    a.promptTokens += sign * s.usage.promptTokens;
    a.completionTokens += sign * s.usage.completionTokens;
    a.totalTokens += sign * s.usage.totalTokens;
  }
  if (sign === 1) {
    if (s.startedAt < a.startedAt) a.startedAt = s.startedAt;
    if (endOf(s) > a.endedAt) a.endedAt = endOf(s);
    const name = s.session?.name ?? null;
    if (name !== null && s.startedAt >= e.nameAt) { a.name = name; e.nameAt = s.startedAt; }
  }
}

function matchesPath(path: string | undefined, prefix: string): boolean {
  if (path === undefined) return false;
  if (prefix === '/' || prefix === '') return true;
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === p || path.startsWith(p + '/');
}

function compilePredicate(q: RecordQuery): ((s: RecordSummary) => boolean) | null {
  const tests: Array<(s: RecordSummary) => boolean> = [];
  if (q.sessionId === null) tests.push((s) => s.session === null);
  if (q.sessionPath !== undefined) { const p = q.sessionPath; tests.push((s) => matchesPath(s.session?.path, p)); }
  if (q.model !== undefined) { const m = q.model; tests.push((s) => s.requestModel === m || s.responseModel === m); }
  if (q.provider !== undefined) { const p = q.provider; tests.push((s) => s.provider === p); }
  if (q.userId !== undefined) { const u = q.userId; tests.push((s) => s.userId === u); }
  if (q.kind !== undefined) { const k = q.kind; tests.push((s) => s.kind === k); }
  if (q.status !== undefined) {
    // Exclusive buckets, as the tree shows them: a cache hit is 'cached', not also 'ok'.
    const st = q.status;
    tests.push((s) => {
      if (s.state === 'pending') return st === 'pending';
      if (s.state === 'error') return st === 'error';
      return s.cache?.hit ? st === 'cached' : st === 'ok';
    });
  }
  if (q.properties !== undefined) {
    const keys = Object.keys(q.properties);
    const values = keys.map((k) => q.properties![k]);
    if (keys.length) {
      tests.push((s) => {
        for (let i = 0; i < keys.length; i++) if (s.properties[keys[i]] !== values[i]) return false;
        return true;
      });
    }
  }
  if (q.text !== undefined && q.text.trim() !== '') {
    const needle = q.text.trim().toLowerCase();
    const has = (x: string | null | undefined): boolean => !!x && x.toLowerCase().includes(needle);
    tests.push((s) => has(s.requestModel) || has(s.responseModel) || has(s.path) || has(s.id) || has(s.userId)
      || has(s.session?.name) || has(s.session?.id) || Object.values(s.properties).some(has));
  }
  if (!tests.length) return null;
  if (tests.length === 1) return tests[0];
  return (s) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i](s)) return false;
    return true;
  };
}

export class MemoryIndex {
  private byId = new Map<string, RecordSummary>();
  /** Ascending by (startedAt, id); lists walk it from the end. */
  private all: RecordSummary[] = [];
  private readonly bySession = new Map<string, SessionEntry>();
  private sortedSessions: SessionSummary[] | null = null;

  get size(): number { return this.all.length; }

  get(id: string): RecordSummary | undefined { return this.byId.get(id); }

  has(id: string): boolean { return this.byId.has(id); }

  /** Every summary, oldest first. The array is the index's own: do not modify it. */
  values(): readonly RecordSummary[] { return this.all; }

  /** Replaces the whole content in one go (load, reload): one sort instead of n inserts. */
  reset(summaries: Iterable<RecordSummary>): void {
    const byId = new Map<string, RecordSummary>();
    for (const s of summaries) byId.set(s.id, s);
    this.adopt(byId);
  }

  /** Like reset(), taking ownership of a map keyed by id (saves building a second 100k-entry map at load). */
  adopt(byId: Map<string, RecordSummary>): void {
    this.byId = byId;
    this.bySession.clear();
    this.sortedSessions = null;
    this.all = [...byId.values()].sort(cmp);
    for (const s of this.all) this.addToSession(s, false);
  }

  /** Adds or replaces; returns the summary it replaced. */
  upsert(s: RecordSummary): RecordSummary | undefined {
    const prev = this.byId.get(s.id);
    this.byId.set(s.id, s);
    if (prev && prev.startedAt === s.startedAt) {
      this.all[searchPos(this.all, prev)] = s;
    } else {
      if (prev) removeSorted(this.all, prev);
      insertSorted(this.all, s);
    }
    const prevSession = prev?.session?.id;
    const nextSession = s.session?.id;
    if (prev && prevSession !== undefined && prevSession === nextSession) {
      const e = this.bySession.get(prevSession)!;
      if (prev.startedAt === s.startedAt) e.records[searchPos(e.records, prev)] = s;
      else { removeSorted(e.records, prev); insertSorted(e.records, s); }
      // Replacing a pending record by its completion is the hot path: adjust, do not recount.
      contribute(e, prev, -1);
      contribute(e, s, 1);
      this.sortedSessions = null;
    } else {
      if (prev) this.removeFromSession(prev);
      this.addToSession(s, true);
    }
    return prev;
  }

  remove(id: string): RecordSummary | undefined {
    const s = this.byId.get(id);
    if (!s) return undefined;
    this.byId.delete(id);
    removeSorted(this.all, s);
    this.removeFromSession(s);
    return s;
  }

  list(q: RecordQuery = {}): RecordSummary[] {
    const { src, lo, hi } = this.range(q);
    const pred = compilePredicate(q);
    const offset = Math.max(0, q.offset ?? 0);
    const limit = q.limit === undefined ? Infinity : Math.max(0, q.limit);
    if (!pred) {
      const end = hi - offset;
      const start = Math.max(lo, end - limit);
      return end <= start ? [] : src.slice(start, end).reverse();
    }
    const out: RecordSummary[] = [];
    let skipped = 0;
    for (let i = hi - 1; i >= lo && out.length < limit; i--) {
      const s = src[i];
      if (!pred(s)) continue;
      if (skipped < offset) { skipped++; continue; }
      out.push(s);
    }
    return out;
  }

  count(q: RecordQuery = {}): number {
    const { src, lo, hi } = this.range(q);
    const pred = compilePredicate(q);
    if (!pred) return hi - lo;
    let n = 0;
    for (let i = lo; i < hi; i++) if (pred(src[i])) n++;
    return n;
  }

  sessions(): SessionSummary[] {
    this.sortedSessions ??= [...this.bySession.values()]
      .map((e) => ({ ...e.agg }))
      .sort((a, b) => b.endedAt - a.endedAt || (a.id < b.id ? -1 : 1));
    return this.sortedSessions.slice();
  }

  session(id: string): SessionSummary | undefined {
    const e = this.bySession.get(id);
    return e ? { ...e.agg } : undefined;
  }

  private range(q: RecordQuery): { src: RecordSummary[]; lo: number; hi: number } {
    const src = typeof q.sessionId === 'string' ? this.bySession.get(q.sessionId)?.records ?? [] : this.all;
    const lo = q.since === undefined ? 0 : timeBound(src, q.since, false);
    const hi = q.until === undefined ? src.length : timeBound(src, q.until, true);
    return { src, lo, hi: Math.max(lo, hi) };
  }

  private addToSession(s: RecordSummary, sorted: boolean): void {
    const sid = s.session?.id;
    if (sid === undefined) return;
    let e = this.bySession.get(sid);
    if (!e) { e = { agg: emptyAgg(sid, s), nameAt: -Infinity, records: [] }; this.bySession.set(sid, e); }
    // During reset() records arrive in order, so a push keeps the array sorted.
    if (sorted) insertSorted(e.records, s); else e.records.push(s);
    contribute(e, s, 1);
    this.sortedSessions = null;
  }

  private removeFromSession(s: RecordSummary): void {
    const sid = s.session?.id;
    if (sid === undefined) return;
    const e = this.bySession.get(sid);
    if (!e) return;
    removeSorted(e.records, s);
    this.sortedSessions = null;
    if (!e.records.length) { this.bySession.delete(sid); return; }
    // Recount on removal: min/max cannot be undone incrementally, and it keeps float sums exact.
    e.agg = emptyAgg(sid, e.records[0]);
    e.nameAt = -Infinity;
    for (const r of e.records) contribute(e, r, 1);
  }
}
