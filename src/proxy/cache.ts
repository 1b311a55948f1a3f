// The response cache behind Helicone-Cache-Enabled, kept on disk under the data dir so that it
// survives restarts. Helicone's semantics: the key hashes the seed, method, upstream URL, body
// (minus ignored keys) and the helicone-cache-* headers, plus (here) a hash of the caller's
// credentials so two API keys never share an entry. A bucket of size N holds up to N responses
// per key: while a slot is free every request is a miss whose answer fills the next slot; once
// all N are full a hit returns one of them at random.
//
// One file per slot, named <key>.<slot>.<expiresAt>.bin, so the index is rebuilt at start from a
// directory listing alone (no body is read until a hit). A file is a JSON metadata line, then the
// raw response bytes (for streams, the SSE byte stream as received). Writes go to a temporary file
// and are renamed into place, so a crash never leaves a half entry under a real name.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../core/logger';
import { errorMessage } from '../core/errors';
import type { Usage } from '../core/types';
import { isSecretHeader } from '../store/redact';
import type { CacheSettings } from './heliconeHeaders';

const FILE_RE = /^([0-9a-f]{64})\.(\d{1,2})\.(\d{1,16})\.bin$/;
const KEY_VERSION = 'llm-lens-cache-v1';

export interface CacheKeyInput {
  method: string;
  /** The full upstream URL the request goes to, query string included. */
  upstreamUrl: string;
  body: Buffer;
  /** Raw request headers ([name, value, ...]): the credentials and helicone-cache-* headers are read from them. */
  rawHeaders: readonly string[];
  settings: CacheSettings;
}

/** Headers that identify the caller; only a hash of their values enters the key. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'helicone-auth', 'x-goog-api-key']);

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The body part of the key: a JSON object minus the ignored top-level keys, else the raw bytes. */
function bodyKey(body: Buffer, ignoreKeys: readonly string[]): string {
  if (ignoreKeys.length > 0 && body.length > 0) {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const copy = { ...(parsed as Record<string, unknown>) };
        for (const k of ignoreKeys) delete copy[k];
        return 'json:' + sha256(JSON.stringify(copy));
      }
    } catch { /* not JSON: the raw bytes are the key, as in Helicone */ }
  }
  return 'raw:' + sha256(body);
}

export function cacheKey(input: CacheKeyInput): string {
  const creds: string[] = [];
  for (let i = 0; i + 1 < input.rawHeaders.length; i += 2) {
    const lower = input.rawHeaders[i].toLowerCase();
    if (CREDENTIAL_HEADERS.has(lower)) creds.push(`${lower}:${input.rawHeaders[i + 1]}`);
  }
  creds.sort();
  const credHash = sha256(creds.join('\n'));
  return sha256(JSON.stringify([
    KEY_VERSION, input.settings.seed ?? '', input.method.toUpperCase(), input.upstreamUrl,
    bodyKey(input.body, input.settings.ignoreKeys), input.settings.keyHeaders, credHash,
  ]));
}

/** What the cache keeps about the request that produced an entry, so a hit can be logged fully. */
export interface CacheEntryMeta {
  requestId: string;
  costUsd: number | null;
  usage: Usage | null;
  model: string | null;
  /** Upstream latency of the original request, ms. */
  latencyMs: number | null;
}

export interface CachedResponse {
  status: number;
  /** Response headers to replay (raw case; no hop-by-hop, length or secret headers). */
  headers: Array<[string, string]>;
  body: Buffer;
  streamed: boolean;
  createdAt: number;
  expiresAt: number;
  bucketIndex: number;
  meta: CacheEntryMeta;
}

const metaSchema = z.object({
  v: z.literal(1),
  status: z.number().int(),
  headers: z.array(z.tuple([z.string(), z.string()])),
  streamed: z.boolean(),
  createdAt: z.number(),
  meta: z.object({
    requestId: z.string(),
    costUsd: z.number().nullable(),
    usage: z.any().nullable(),
    model: z.string().nullable(),
    latencyMs: z.number().nullable(),
  }),
});

interface Slot {
  key: string;
  index: number;
  expiresAt: number;
  size: number;
  lastUsed: number;
  file: string;
  /** Set while the file is being written: a reader waits for it instead of missing. */
  writing: Promise<boolean> | null;
}

export interface ResponseCacheOptions {
  /** Folder for the cache files (created when missing), e.g. <dataDir>/cache. */
  dir: string;
  logger: Logger;
  /** Bound on the bytes of all entries; the least recently used go first. Default 256 MB. */
  maxBytes?: number;
  /** Larger responses are not cached. Default 16 MB. */
  maxEntryBytes?: number;
  now?: () => number;
  random?: () => number;
}

const DROP_ON_REPLAY = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date', 'helicone-id', 'helicone-cache',
  'helicone-cache-bucket-idx', 'proxy-connection', 'upgrade', 'trailer', 'te']);

export class ResponseCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly slots = new Map<string, Slot>();
  private totalBytes = 0;
  private writeFailureReported = false;
  /** Saves announced by expectSave and not yet done, by key. */
  private readonly expected = new Map<string, Set<Promise<unknown>>>();
  private ready: Promise<void> | null = null;

  constructor(opts: ResponseCacheOptions) {
    this.dir = opts.dir;
    this.logger = opts.logger;
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.maxEntryBytes = opts.maxEntryBytes ?? 16 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  static async open(opts: ResponseCacheOptions): Promise<ResponseCache> {
    const c = new ResponseCache(opts);
    await c.load();
    return c;
  }

  /** Builds the index from the directory listing, dropping expired entries and leftovers of a crash. */
  load(): Promise<void> {
    this.ready ??= this.doLoad();
    return this.ready;
  }

  private async doLoad(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    const names = await fsp.readdir(this.dir);
    const now = this.now();
    for (const name of names) {
      const full = path.join(this.dir, name);
      const m = FILE_RE.exec(name);
      if (!m || Number(m[3]) <= now) {
        if (m || name.endsWith('.tmp')) await fsp.rm(full, { force: true }).catch(() => undefined);
        continue;
      }
      try {
        const st = await fsp.stat(full);
        this.addSlot({ key: m[1], index: Number(m[2]), expiresAt: Number(m[3]), size: st.size, lastUsed: st.mtimeMs, file: full, writing: null });
      } catch { /* gone meanwhile */ }
    }
    await this.enforceBound();
  }

  stats(): { entries: number; bytes: number } {
    return { entries: this.slots.size, bytes: this.totalBytes };
  }

  private slotId(key: string, index: number): string { return `${key}.${index}`; }

  private addSlot(s: Slot): void {
    const id = this.slotId(s.key, s.index);
    const old = this.slots.get(id);
    if (old) {
      this.totalBytes -= old.size;
      if (old.file !== s.file) void fsp.rm(old.file, { force: true }).catch(() => undefined);
    }
    this.slots.set(id, s);
    this.totalBytes += s.size;
  }

  private dropSlot(s: Slot): void {
    const id = this.slotId(s.key, s.index);
    if (this.slots.get(id) !== s) return;
    this.slots.delete(id);
    this.totalBytes -= s.size;
    void fsp.rm(s.file, { force: true }).catch(() => undefined);
  }

  private liveSlots(key: string, bucketMaxSize: number): Array<Slot | undefined> {
    const now = this.now();
    const out: Array<Slot | undefined> = [];
    for (let i = 0; i < bucketMaxSize; i++) {
      const s = this.slots.get(this.slotId(key, i));
      if (s && s.expiresAt <= now) { this.dropSlot(s); out.push(undefined); } else out.push(s);
    }
    return out;
  }

  /**
   * A hit only when every slot of the bucket is filled (as Helicone does); then one at random.
   * Returns null on a miss or when the entry cannot be read (the request then goes upstream).
   */
  async lookup(key: string, bucketMaxSize: number): Promise<CachedResponse | null> {
    await this.load();
    const pending = this.expected.get(key);
    if (pending) await Promise.allSettled([...pending]);
    const slots = this.liveSlots(key, bucketMaxSize);
    if (slots.some((s) => s === undefined)) return null;
    const filled = slots as Slot[];
    const start = Math.floor(this.random() * filled.length) % filled.length;
    // If the chosen file vanished (another process, manual delete), try the others before missing.
    for (let k = 0; k < filled.length; k++) {
      const s = filled[(start + k) % filled.length];
      const entry = await this.read(s);
      if (entry) { s.lastUsed = this.now(); return entry; }
    }
    return null;
  }

  private async read(s: Slot): Promise<CachedResponse | null> {
    if (s.writing && !(await s.writing)) return null;
    let buf: Buffer;
    try {
      buf = await fsp.readFile(s.file);
    } catch {
      this.dropSlot(s);
      return null;
    }
    const nl = buf.indexOf(10);
    if (nl < 0) { this.dropSlot(s); return null; }
    let meta: z.infer<typeof metaSchema>;
    try {
      const r = metaSchema.safeParse(JSON.parse(buf.subarray(0, nl).toString('utf8')));
      if (!r.success) throw new Error(r.error.message);
      meta = r.data;
    } catch (e) {
      this.logger.warn(`cache: dropping unreadable entry ${path.basename(s.file)}: ${errorMessage(e)}`);
      this.dropSlot(s);
      return null;
    }
    return {
      status: meta.status, headers: meta.headers, body: buf.subarray(nl + 1), streamed: meta.streamed,
      createdAt: meta.createdAt, expiresAt: s.expiresAt, bucketIndex: s.index, meta: meta.meta as CacheEntryMeta,
    };
  }

  /**
   * Announces that a save for `key` is on its way (the proxy builds the record, with its cost,
   * before saving). Lookups of that key wait for it, so a client that repeats a request as soon as
   * the first answer arrives gets the HIT it expects.
   */
  expectSave(key: string, done: Promise<unknown>): void {
    let set = this.expected.get(key);
    if (!set) { set = new Set(); this.expected.set(key, set); }
    set.add(done);
    const s = set;
    void done.finally(() => { s.delete(done); if (s.size === 0 && this.expected.get(key) === s) this.expected.delete(key); });
  }

  /**
   * Stores a response in the first free slot of its bucket. Returns false when the bucket is full,
   * the entry is too large, or the disk write failed (reported once; the proxy goes on).
   */
  async save(key: string, bucketMaxSize: number, ttlMs: number, entry: {
    status: number; headers: Array<[string, string]>; body: Buffer; streamed: boolean; meta: CacheEntryMeta;
  }): Promise<boolean> {
    await this.load();
    if (ttlMs <= 0 || entry.body.length > this.maxEntryBytes) return false;
    const slots = this.liveSlots(key, bucketMaxSize);
    const index = slots.findIndex((s) => s === undefined);
    if (index < 0) return false;
    const createdAt = this.now();
    const expiresAt = createdAt + ttlMs;
    const headers = entry.headers.filter(([n]) => !DROP_ON_REPLAY.has(n.toLowerCase()) && !isSecretHeader(n) && n.toLowerCase() !== 'set-cookie');
    const metaLine = JSON.stringify({ v: 1, status: entry.status, headers, streamed: entry.streamed, createdAt, meta: entry.meta });
    const data = Buffer.concat([Buffer.from(metaLine + '\n', 'utf8'), entry.body]);
    const file = path.join(this.dir, `${key}.${index}.${expiresAt}.bin`);
    // Claim the slot before the write so a concurrent save of the same key takes the next one.
    const slot: Slot = { key, index, expiresAt, size: data.length, lastUsed: createdAt, file, writing: null };
    this.addSlot(slot);
    const tmp = path.join(this.dir, `${randomBytes(8).toString('hex')}.tmp`);
    let finishWrite: (ok: boolean) => void = () => undefined;
    slot.writing = new Promise<boolean>((r) => { finishWrite = r; });
    try {
      await fsp.writeFile(tmp, data);
      await fsp.rename(tmp, file);
      slot.writing = null;
      finishWrite(true);
    } catch (e) {
      finishWrite(false);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (this.slots.get(this.slotId(key, index)) === slot) { this.slots.delete(this.slotId(key, index)); this.totalBytes -= slot.size; }
      if (!this.writeFailureReported) {
        this.writeFailureReported = true;
        this.logger.error(`cache: could not write to ${this.dir}: ${errorMessage(e)} (the response is not cached; forwarding goes on)`);
      }
      return false;
    }
    this.writeFailureReported = false;
    await this.enforceBound();
    return true;
  }

  private async enforceBound(): Promise<void> {
    if (this.totalBytes <= this.maxBytes) return;
    const byAge = [...this.slots.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    for (const s of byAge) {
      if (this.totalBytes <= this.maxBytes) break;
      this.slots.delete(this.slotId(s.key, s.index));
      this.totalBytes -= s.size;
      await fsp.rm(s.file, { force: true }).catch(() => undefined);
    }
  }

  async clear(): Promise<void> {
    await this.load();
    const all = [...this.slots.values()];
    this.slots.clear();
    this.totalBytes = 0;
    await Promise.all(all.map((s) => fsp.rm(s.file, { force: true }).catch(() => undefined)));
  }
}
