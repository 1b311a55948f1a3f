// The embedded record store: append-only files in <dataDir>/records, an in-memory index for
// listing and aggregation, bodies read lazily.
//
// Files:
//   index.jsonl            one line per record summary (positional JSON with a string dictionary,
//                          see codec.ts) holding a pointer to its bodies line, plus delete
//                          tombstones. Loaded whole at start; rewritten (temp + rename) to compact.
//   bodies-000001.jsonl... one entry per record: a JSON line (headers, body kinds, stream chunk
//                          timings, the reassembled message) followed by the raw bodies exactly as
//                          sent (codec.ts). Read on demand by offset and length, never line by line.
//                          Rotated by size so retention can drop whole old segments.
//   bodies-000001.jsonl.side/<offset>.request|response
//                          bodies that were spooled while they streamed (spool.ts), moved here
//                          when their entry is written instead of being copied into it.
//   spool/                 bodies still streaming through the proxy (spool.ts).
//   writer.lock            which process may append (writerLock.ts); others follow the index.
//
// A batch appends its bodies lines first, then its index lines, and acknowledges its records once
// both writes have returned: the bytes are then in the OS and survive a kill of this process
// (fdatasync runs on a timer and on flush/close, for power loss). A crash can leave at most a torn
// last index line (cut off at load) and bodies no index line points to (cut off or ignored).
//
// Headers are stored with the bodies, not in the index: in memory a summary's requestHeaders and
// responseHeaders are empty (except for in-flight records); getRecord() returns them.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { ChurnMap } from '../core/churn';
import { errorMessage, LensError } from '../core/errors';
import { Emitter } from '../core/event';
import type { Event } from '../core/event';
import type { Logger } from '../core/logger';
import type { RecordQuery, RecordStoreApi, SessionSummary, StoreChange } from '../core/store';
import type { LogRecord, NewRecord, RawBody, RecordBodies, RecordSummary, SpooledBytes, StoredBody } from '../core/types';
import { capBodies, DEFAULT_BODY_CAP_BYTES } from './bodyCap';
import { compactSummary, decodeBlob, decodeIndexLine, DictionaryWriter, encodeBlob, encodeDeleteLine, encodeRecordLine, IndexDictionary, sideFilesOf } from './codec';
import type { EncodedEntry, SideName } from './codec';
import { cleanSpoolDir, FileSpool, newSpoolDisk, removeSpool, SPOOL_DIR, spoolFileName } from './spool';
import type { BodyBlob, BodyRef, IndexLine, NewBodyBlob } from './codec';
import { MemoryIndex } from './memoryIndex';
import { redactHeaders, redactText, redactUrl } from './redact';
import { WriterLock } from './writerLock';

export interface RecordStoreOptions {
  dataDir: string;
  logger: Logger;
  /** Cap for each stored body (forwarding is never cut). Default 2 MB. */
  bodyCapBytes?: number;
  /** Records older than this are removed. Default 30; 0 keeps them forever. */
  retentionDays?: number;
  /** The store's files are kept under this size by dropping the oldest records. Default 1024; 0 = no limit. */
  retentionMb?: number;
  /** Size at which a bodies segment is closed and a new one started. Default: retentionMb / 8, within 1..64 MB. */
  segmentBytes?: number;
  /** How often written data is fdatasync'ed. Default 1000 ms. */
  syncIntervalMs?: number;
  /** Backoff between write attempts while the disk fails. Defaults 250 ms doubling to 30 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Bound of the in-memory queue kept while writes fail. Defaults 10,000 records / 64 MB. */
  maxQueuedRecords?: number;
  maxQueuedBytes?: number;
  /** Bound of the spooled bytes (on disk) of queued records, past which the oldest give way. Default 1 GB. */
  maxQueuedSpoolBytes?: number;
  /** A writer idle this long lets go of the writer lock so another process can write. Default 2 s. */
  idleReleaseMs?: number;
  /**
   * While another process holds the writer lock, how long complete() waits for its turn before
   * resolving false (the record stays queued either way). Default 5 s. A disk error resolves false at once.
   */
  followerAckMs?: number;
  /** While another process writes, how often this one looks for its new records. Default 1000 ms. */
  followIntervalMs?: number;
  /** How often retention runs while open. Default 1 hour. */
  maintenanceIntervalMs?: number;
}

export interface StoreWriteStatus {
  /** ok: writing; failing: writes fail (disk full, permissions), records wait in memory; follower: another process writes. */
  state: 'ok' | 'failing' | 'follower';
  message: string | null;
  queued: number;
  /** Records given up while failing because the memory queue was full. */
  dropped: number;
}

export interface StoreLoadStats {
  records: number;
  ms: number;
  corruptLines: number;
  tornBytes: number;
}

interface RecordItem {
  kind: 'record';
  timer?: NodeJS.Timeout;
  id: string;
  summary: RecordSummary;
  /**
   * The bodies entry as bytes to write in order: its JSON line, then raw bodies as they were
   * captured (never copied). Buffers, not strings: a queued megabyte string outlives the young
   * generation and stays in V8's old space until a full GC, which with 1 MB bodies kept the
   * process at 300+ MB; a Buffer's bytes are freed with it, and the write needs bytes anyway.
   */
  parts: Buffer[];
  bytes: number;
  /**
   * Bodies spooled while they streamed: kept out of line, their files moved next to the segment
   * when the entry is written (never copied, never in memory). `moved` says where they went.
   */
  side: EncodedEntry['side'];
  moved?: Partial<Record<SideName, string>>;
  resolve: (ok: boolean) => void;
}
interface DeleteItem {
  kind: 'delete';
  timer?: NodeJS.Timeout;
  ids: string[];
  resolve: (ok: boolean) => void;
}
type QueueItem = RecordItem | DeleteItem;

interface SegmentInfo {
  /** Records in the index that point into this segment. */
  live: number;
  /** Bytes we know to be whole bodies lines (the end of the last referenced line). */
  end: number;
  /** Never appended to again (full, damaged, or closed so retention can drop it). */
  sealed?: boolean;
  /** Bytes this process moved into the segment's side files (they count toward rotation). */
  sideBytes: number;
}

/** Thrown inside the writer when another live process owns the lock. */
class NotWriterError extends Error {
  constructor(readonly ownerPid: number | null) {
    super(ownerPid === null ? 'another process holds the writer lock' : `another LLM Lens process (pid ${ownerPid}) is writing to this store`);
  }
}

const INDEX_FILE = 'index.jsonl';
const LOCK_FILE = 'writer.lock';
const SEGMENT_RE = /^bodies-(\d{6,})\.jsonl$/;
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** How long the first record of a batch waits for others before the batch is written. */
const BATCH_DELAY_MS = 10;
/** Queued bytes past which a batch is written without waiting for BATCH_DELAY_MS. */
const WRITE_NOW_BYTES = 1024 * 1024;
const BLOB_CACHE = 8;
const MB = 1024 * 1024;
const DAY = 24 * 60 * 60 * 1000;

const EMPTY_BODIES: RecordBodies = {
  request: { kind: 'empty', size: 0, truncated: false },
  response: { kind: 'empty', size: 0, truncated: false },
  streamEvents: null,
  reassembled: null,
};

/** The fields the index relies on; the rest is taken as given (the proxy builds it). */
const recordHeadSchema = z.object({
  id: z.string().min(1),
  startedAt: z.number().finite(),
  state: z.enum(['ok', 'error', 'pending']),
  properties: z.record(z.string(), z.unknown()).optional(),
  warnings: z.array(z.unknown()).optional(),
  session: z.object({ id: z.string() }).passthrough().nullable().optional(),
}).passthrough();

const NEWLINE = Buffer.from('\n');

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && Object.getOwnPropertySymbols(v).length === 0;
}

/** True only when recordHeadSchema certainly accepts `r` (false: ask zod). */
export function headLooksValid(r: unknown): boolean {
  if (!isPlainObject(r)) return false;
  if (typeof r.id !== 'string' || r.id.length === 0) return false;
  if (typeof r.startedAt !== 'number' || !Number.isFinite(r.startedAt)) return false;
  if (r.state !== 'ok' && r.state !== 'error' && r.state !== 'pending') return false;
  if (r.properties !== undefined && !isPlainObject(r.properties)) return false;
  if (r.warnings !== undefined && !Array.isArray(r.warnings)) return false;
  const session = r.session;
  if (session !== undefined && session !== null && !(isPlainObject(session) && typeof session.id === 'string')) return false;
  return true;
}

/** recordHeadSchema's verdict (tests compare headLooksValid with it). */
export function headSchemaAccepts(r: unknown): boolean {
  return recordHeadSchema.safeParse(r).success;
}

export function toPlain(v: unknown): unknown {
  try {
    return plainCopy(v, 0);
  } catch (e) {
    if (e !== NOT_PLAIN) throw e;
  }
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) ?? 'null');
}

/** Property values as the index keeps them: strings (anything else as its JSON). Usually all are already. */
function stringProperties(props: Record<string, unknown> | undefined): Record<string, string> {
  if (!props) return {};
  for (const k in props) {
    if (typeof props[k] !== 'string') {
      return Object.fromEntries(Object.entries(props).map(([n, v]) => [n, typeof v === 'string' ? v : JSON.stringify(v) ?? '']));
    }
  }
  return props as Record<string, string>;
}

/** The record's warnings, redacted, then the store's own. */
function storedWarnings(warnings: readonly unknown[] | undefined, added: readonly string[]): string[] {
  const out: string[] = [];
  if (warnings) for (const w of warnings) out.push(redactText(String(w)));
  for (const w of added) out.push(w);
  return out;
}

const NOT_PLAIN = new Error('not plain');

/**
 * What the JSON round trip gives, for the values records are made of (plain objects, arrays,
 * strings, finite numbers, booleans, null), without building and parsing a string (~4 % of proxy
 * CPU). Anything else (undefined, non-finite numbers, BigInt, toJSON, class instances, '__proto__'
 * keys, deep nesting that may be a cycle) throws NOT_PLAIN and takes the JSON route, exactly as before.
 */
function plainCopy(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (Number.isFinite(v)) return v === 0 ? 0 : v; // -0 becomes 0, as through JSON
      throw NOT_PLAIN;
    case 'object': {
      if (v === null) return null;
      if (depth > 32) throw NOT_PLAIN;
      if (Array.isArray(v)) {
        const out = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) out[i] = plainCopy(v[i], depth + 1);
        return out;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        if (k === '__proto__') throw NOT_PLAIN;
        out[k] = plainCopy((v as Record<string, unknown>)[k], depth + 1);
      }
      return out;
    }
    default:
      throw NOT_PLAIN;
  }
}

function segmentName(n: number): string {
  return `bodies-${String(n).padStart(6, '0')}.jsonl`;
}

function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, position + off);
    if (bytesWritten <= 0) throw new Error('write returned no progress');
    off += bytesWritten;
  }
}

/** Writes several buffers at `position` without first copying them into one (a batch of 1 MB lines). */
const IOV_MAX = 1024;

async function writeFullyV(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  // writev takes at most IOV_MAX (1024) buffers: bigger batches go in groups of that size.
  for (let i = 0; i < bufs.length; i += IOV_MAX) {
    const group = bufs.length <= IOV_MAX ? bufs : bufs.slice(i, i + IOV_MAX);
    let total = 0;
    for (const b of group) total += b.length;
    const { bytesWritten } = await fh.writev(group, position);
    if (bytesWritten < total) {
      // A short write: the rest of this group the simple way.
      await writeFully(fh, Buffer.concat(group, total).subarray(bytesWritten), position + bytesWritten);
    }
    position += total;
  }
}

/** A side file's (or a queued entry's spool file's) bytes; null when it is gone. */
async function readSide(file: string | undefined): Promise<Buffer | null> {
  if (!file) return null;
  try {
    return await readFile(file);
  } catch {
    return null;
  }
}

/** Total size of the files in a directory (0 when there is none). */
async function dirBytes(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let total = 0;
  for (const f of names) total += await stat(path.join(dir, f)).then((st) => st.size, () => 0);
  return total;
}

function sideBytesOf(item: RecordItem): number {
  return (item.side.request?.bytes ?? 0) + (item.side.response?.bytes ?? 0);
}

function sideDirName(n: number): string {
  return `${segmentName(n)}.side`;
}

/** Opens for positional read/write, creating it. Not 'a': on Linux O_APPEND makes pwrite ignore the position. */
function openRw(file: string): Promise<FileHandle> {
  return open(file, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
}

export class RecordStore implements RecordStoreApi {
  private readonly logger: Logger;
  private readonly dir: string;
  private readonly indexPath: string;
  private readonly bodyCap: number;
  private readonly retentionDays: number;
  private readonly retentionBytes: number;
  private readonly segmentBytes: number;
  private readonly opts: Required<Pick<RecordStoreOptions, 'syncIntervalMs' | 'retryMinMs' | 'retryMaxMs' | 'maxQueuedRecords'
    | 'maxQueuedBytes' | 'maxQueuedSpoolBytes' | 'idleReleaseMs' | 'followerAckMs' | 'followIntervalMs' | 'maintenanceIntervalMs'>>;

  private readonly emitter: Emitter<StoreChange>;
  readonly onDidChange: Event<StoreChange>;

  private readonly index = new MemoryIndex();
  private refs = new Map<string, BodyRef>();
  /** The string table of index.jsonl as it is on disk. */
  private dict = new IndexDictionary();
  private readonly segs = new Map<number, SegmentInfo>();
  /** Records completed but not yet written: their bodies are served from the serialised line. */
  private readonly unwritten = new ChurnMap<string, RecordItem>();
  /** Segments whose unreadable bodies were already reported (one warning each, not one per read). */
  private readonly reportedSegments = new Set<number>();
  private closing: Promise<void> | null = null;
  private readonly blobCache = new Map<string, BodyBlob>();
  private readonly lock: WriterLock;

  private queue: QueueItem[] = [];
  private queuedBytes = 0;
  /** Serialises every file mutation: batches, compaction, retention, clear, reloads. */
  private chain: Promise<void> = Promise.resolve();
  private batchScheduled = false;
  private batchTimer: NodeJS.Timeout | null = null;

  private loadPromise: Promise<void> | null = null;
  private loaded = false;
  private closed = false;
  /** False when an existing index could not be read: then nothing may rewrite it from memory. */
  private readOk = true;

  private indexFh: FileHandle | null = null;
  private segFh: FileHandle | null = null;
  private activeSeg = 0;
  /** Bytes of index.jsonl that are whole lines we have applied. */
  private indexSize = 0;
  private indexIno = -1;
  private deadLines = 0;
  /** Handles open, lock held, files cut back to the sizes we trust. */
  private writable = false;

  private failure: { message: string; notWriter: boolean } | null = null;
  private retryDelay: number;
  private dropped = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private followTimer: NodeJS.Timeout | null = null;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private bytesSinceMaintenance = 0;
  /** Set once <records>/spool exists: openSpool() hands out files there. */
  private spoolDir: string | null = null;
  private reportedSpoolLoss = false;
  /** Spool files openSpool() handed out and no record has claimed yet: the only ones complete() accepts. */
  private readonly spoolsOut = new Set<string>();
  /** Whether spool writes go straight to disk or, while it is slow, through the thread pool. */
  private readonly spoolDisk = newSpoolDisk();
  /** Spooled bytes of queued records (on disk, not in memory): bounded by maxQueuedSpoolBytes. */
  private queuedSpoolBytes = 0;
  /** Spool files being removed: close() waits for them, so a clean exit leaves none behind. */
  private readonly spoolRemovals = new Set<Promise<void>>();
  private lastLoad: StoreLoadStats = { records: 0, ms: 0, corruptLines: 0, tornBytes: 0 };

  /** Does no I/O: call load() (or use RecordStore.open) before relying on the contents. */
  constructor(opts: RecordStoreOptions) {
    this.logger = opts.logger;
    this.dir = path.join(opts.dataDir, 'records');
    this.indexPath = path.join(this.dir, INDEX_FILE);
    this.lock = new WriterLock(path.join(this.dir, LOCK_FILE));
    this.bodyCap = opts.bodyCapBytes && opts.bodyCapBytes > 0 ? opts.bodyCapBytes : DEFAULT_BODY_CAP_BYTES;
    this.retentionDays = opts.retentionDays ?? 30;
    this.retentionBytes = (opts.retentionMb ?? 1024) * MB;
    this.segmentBytes = opts.segmentBytes
      ?? (this.retentionBytes > 0 ? Math.min(64 * MB, Math.max(MB, Math.floor(this.retentionBytes / 8))) : 64 * MB);
    this.opts = {
      syncIntervalMs: opts.syncIntervalMs ?? 1000,
      retryMinMs: opts.retryMinMs ?? 250,
      retryMaxMs: opts.retryMaxMs ?? 30_000,
      maxQueuedRecords: opts.maxQueuedRecords ?? 10_000,
      maxQueuedBytes: opts.maxQueuedBytes ?? 64 * MB,
      maxQueuedSpoolBytes: opts.maxQueuedSpoolBytes ?? 1024 * MB,
      idleReleaseMs: opts.idleReleaseMs ?? 2000,
      followerAckMs: opts.followerAckMs ?? 5000,
      followIntervalMs: opts.followIntervalMs ?? 1000,
      maintenanceIntervalMs: opts.maintenanceIntervalMs ?? 60 * 60 * 1000,
    };
    this.retryDelay = this.opts.retryMinMs;
    this.emitter = new Emitter<StoreChange>((err) => this.logger.error(`store change listener failed: ${errorMessage(err)}`));
    this.onDidChange = this.emitter.event;
  }

  static async open(opts: RecordStoreOptions): Promise<RecordStore> {
    const store = new RecordStore(opts);
    await store.load();
    return store;
  }

  /** The directory holding the store's files. */
  get directory(): string { return this.dir; }

  get loadStats(): StoreLoadStats { return { ...this.lastLoad }; }

  /**
   * Reads the data dir and fires {type:'reset'}. Never rejects for disk trouble: an unreadable or
   * unwritable dir is logged and the store runs from memory, retrying writes, so forwarding goes on.
   */
  load(): Promise<void> {
    this.loadPromise ??= this.run(async () => {
      await this.loadFromDisk(true);
      await this.prepareSpoolDir();
      this.loaded = true;
      this.emitter.fire({ type: 'reset' });
      if (this.lock.held) {
        await this.maintainNow().catch((e) => this.logger.warn(`store: retention at load failed: ${errorMessage(e)}`));
        this.armIdleRelease();
      } else {
        this.armFollow();
      }
      this.maintenanceTimer = setInterval(() => { void this.runMaintenance(); }, this.opts.maintenanceIntervalMs);
      this.maintenanceTimer.unref();
      if (this.queue.length) this.scheduleBatch(true);
    });
    return this.loadPromise;
  }

  private async prepareSpoolDir(): Promise<void> {
    const dir = path.join(this.dir, SPOOL_DIR);
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (e) {
      if (codeOf(e) !== 'EEXIST') { this.logger.debug(`store: no spool dir (${errorMessage(e)}); large bodies wait in memory`); return; }
    }
    const removed = await cleanSpoolDir(dir);
    if (removed) this.logger.info(`store: removed ${removed} spool file(s) of requests cut off by an earlier crash`);
    this.spoolDir = dir;
  }

  openSpool(): FileSpool | null {
    if (this.closed || !this.spoolDir) return null;
    const file = path.join(this.spoolDir, spoolFileName());
    this.spoolsOut.add(file);
    return new FileSpool(file, () => this.spoolsOut.delete(file), this.spoolDisk);
  }

  // ---- reading ---------------------------------------------------------------------------------

  get(id: string): RecordSummary | undefined { return this.index.get(id); }

  list(query?: RecordQuery): RecordSummary[] { return this.index.list(query); }

  count(query?: RecordQuery): number { return this.index.count(query); }

  sessions(): SessionSummary[] { return this.index.sessions(); }

  session(id: string): SessionSummary | undefined { return this.index.session(id); }

  async getBodies(id: string): Promise<RecordBodies | undefined> {
    return (await this.readBlob(id))?.bodies;
  }

  async getRecord(id: string): Promise<LogRecord | undefined> {
    const blob = await this.readBlob(id);
    const summary = this.index.get(id);
    if (!blob || !summary) return undefined;
    return { ...summary, requestHeaders: blob.requestHeaders, responseHeaders: blob.responseHeaders, bodies: blob.bodies };
  }

  writeStatus(): StoreWriteStatus {
    const state = !this.failure ? 'ok' : this.failure.notWriter ? 'follower' : 'failing';
    return { state, message: this.failure?.message ?? null, queued: this.queue.length, dropped: this.dropped };
  }

  // ---- writing ---------------------------------------------------------------------------------

  begin(summary: RecordSummary): void {
    if (this.closed) return;
    if (typeof summary?.id !== 'string' || !Number.isFinite(summary.startedAt)) {
      this.logger.warn(`store: begin() ignored a summary without an id or start time (${String(summary?.id)})`);
      return;
    }
    // In-flight records are memory-only; headers stay on them (they are few) for panels that open early.
    const s: RecordSummary = {
      ...summary,
      state: 'pending',
      requestHeaders: redactHeaders(summary.requestHeaders ?? {}),
      responseHeaders: redactHeaders(summary.responseHeaders ?? {}),
      targetUrl: redactUrl(summary.targetUrl ?? ''),
      path: redactUrl(summary.path ?? ''),
    };
    const prev = this.index.upsert(s);
    this.emitter.fire({ type: 'upsert', summary: s, isNew: !prev });
  }

  complete(record: NewRecord): Promise<boolean> {
    if (this.closed) {
      this.logger.warn(`store: record ${String(record?.id)} completed after the store was closed; not stored`);
      this.dropRecordSpools(record);
      return Promise.resolve(false);
    }
    let item: RecordItem;
    try {
      item = this.prepare(record);
    } catch (e) {
      this.logger.error(`store: record ${String(record?.id)} could not be stored: ${redactText(errorMessage(e))}`);
      this.dropRecordSpools(record);
      return Promise.resolve(false);
    }
    const prev = this.index.upsert(item.summary);
    this.unwritten.set(item.id, item);
    this.blobCache.delete(item.id);
    this.emitter.fire({ type: 'upsert', summary: item.summary, isNew: !prev });
    return new Promise<boolean>((resolve) => {
      item.resolve = once(resolve);
      this.push(item);
      // While writes fail the caller learns it now; the record waits in the queue for the retry.
      if (this.failure) this.notAcknowledged(item);
      else this.scheduleBatch(false);
    });
  }

  async delete(ids: string[]): Promise<void> {
    const removed: string[] = [];
    for (const id of new Set(ids)) {
      const s = this.index.remove(id);
      if (!s) continue;
      removed.push(id);
      this.forget(id);
    }
    if (!removed.length) return;
    this.emitter.fire({ type: 'delete', ids: removed });
    await new Promise<boolean>((resolve) => {
      const item: DeleteItem = { kind: 'delete', ids: removed, resolve: once(resolve) };
      this.push(item);
      if (this.failure) this.notAcknowledged(item);
      else this.scheduleBatch(false);
    });
  }

  /**
   * Removes every stored record (in-flight ones stay). The files are rewritten first and memory
   * cleared after, so a failure leaves both as they were and rejects with STORE_WRITE_FAILED.
   */
  async clear(): Promise<void> {
    await this.load();
    await this.run(async () => {
      await this.drainQueue();
      try {
        await this.ensureWritable();
        await this.writeIndexFile([]);
      } catch (e) {
        throw new LensError('STORE_WRITE_FAILED', `Could not clear the request log in ${this.dir}: ${errorMessage(e)}`, { cause: e });
      }
      for (const item of this.queue) { item.resolve(false); if (item.kind === 'record') this.dropSpools(item, false); }
      this.queue = [];
      this.queuedBytes = 0;
      this.queuedSpoolBytes = 0;
      this.unwritten.clear();
      this.blobCache.clear();
      this.refs.clear();
      await this.closeSegment();
      for (const seg of new Set([...this.segs.keys(), ...(await this.segmentNumbers())])) await this.removeSegmentFile(seg);
      this.segs.clear();
      this.activeSeg = 0;
      this.index.reset(this.index.values().filter((s) => s.state === 'pending'));
      this.emitter.fire({ type: 'reset' });
    });
  }

  /** Waits until every completed record so far is written (or its write has failed) and synced. */
  async flush(): Promise<void> {
    if (this.loadPromise) await this.loadPromise;
    if (!this.loaded || this.closed) return;
    await this.run(async () => {
      await this.drainQueue();
      await this.syncNow();
    });
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await this.flush();
    this.closed = true;
    for (const t of [this.retryTimer, this.syncTimer, this.idleTimer]) if (t) clearTimeout(t);
    this.stopFollow();
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    await this.run(async () => {
      for (const item of this.queue) { item.resolve(false); if (item.kind === 'record') this.dropSpools(item, false); }
      if (this.queue.length) this.logger.warn(`store: closed with ${this.queue.length} records not written (${this.failure?.message ?? 'unknown error'})`);
      await this.closeHandles();
      await this.lock.release().catch(() => undefined);
    });
    await Promise.all([...this.spoolRemovals]);
    this.emitter.dispose();
  }

  /** Applies retention and compacts the index now (it also runs at load and hourly). */
  async runMaintenance(): Promise<void> {
    if (!this.loaded || this.closed) return;
    await this.run(async () => {
      try {
        await this.ensureWritable();
      } catch {
        return; // not the writer, or the disk fails: the writer (or a later run) will do it
      }
      try {
        await this.maintainNow();
      } catch (e) {
        this.logger.warn(`store: retention/compaction failed: ${errorMessage(e)}`);
        await this.closeHandles(); // reopen (and re-check sizes) before the next write
      }
    });
  }

  // ---- internals: preparing and queueing ---------------------------------------------------------

  private prepare(record: NewRecord): RecordItem {
    // zod builds a full copy of the record to validate it (~5 % of proxy CPU): records that pass
    // the same checks written out skip it; anything else still gets zod's verdict and message.
    if (!headLooksValid(record)) recordHeadSchema.parse(record);
    const { bodies, requestHeaders, responseHeaders, ...raw } = record;
    // A plain JSON copy: the caller may keep mutating its objects, and a value JSON cannot hold
    // (a BigInt, a cycle) must fail here, for this record, never later inside a shared batch.
    // Our own copy, so the summary's fields are set on it in place: a spread into a second object
    // of 30+ keys was a third copy of every record (compactSummary makes the index's).
    const summary = toPlain(raw) as RecordSummary;
    const capped = capBodies(this.ownSpoolsOnly(bodies ?? EMPTY_BODIES), this.bodyCap);
    const wasPending = summary.state === 'pending';
    if (wasPending) summary.state = 'error';
    summary.error = summary.error
      ? { kind: summary.error.kind, message: redactText(String(summary.error.message ?? '')) }
      : wasPending ? { kind: 'internal', message: 'record completed while still pending' } : null;
    summary.targetUrl = redactUrl(summary.targetUrl ?? '');
    summary.path = redactUrl(summary.path ?? '');
    summary.properties = stringProperties(summary.properties);
    summary.warnings = storedWarnings(summary.warnings, capped.warnings);
    summary.session ??= null;
    summary.requestHeaders = {};
    summary.responseHeaders = {};
    const blob: NewBodyBlob = {
      id: record.id,
      requestHeaders: redactHeaders(requestHeaders ?? {}),
      responseHeaders: redactHeaders(responseHeaders ?? {}),
      bodies: capped.bodies,
    };
    // Serialise now. Only the line is kept while queued (not the objects too), so a long disk
    // failure holds one copy. Bodies JSON cannot write still leave the record (and say why).
    let entry: EncodedEntry;
    try {
      entry = encodeBlob(blob);
    } catch (e) {
      const lost = (b: StoredBody | RawBody | undefined): StoredBody => ({ kind: 'empty', size: b?.size ?? 0, truncated: true });
      blob.bodies = { request: lost(bodies?.request), response: lost(bodies?.response), streamEvents: null, reassembled: null };
      summary.warnings.push(`bodies not stored: ${redactText(errorMessage(e))}`);
      entry = encodeBlob(blob);
      for (const b of [capped.bodies.request, capped.bodies.response]) if (b.kind === 'raw' && b.spooled) this.removeSpoolFile(b.spooled.path);
    }
    return { kind: 'record', id: record.id, summary: compactSummary(summary, this.dict), parts: entry.parts, bytes: entry.bytes, side: entry.side, resolve: () => undefined };
  }

  /**
   * Removes a record's spooled bodies: after its entry is written, those that were not moved (their
   * rename failed); when the record is given up on, wherever they are now (a side file moved by a
   * batch whose index write then failed must not survive to be taken for another record's).
   */
  private dropSpools(item: RecordItem, written: boolean): void {
    for (const which of ['request', 'response'] as const) {
      const sp = item.side[which];
      if (!sp) continue;
      const moved = item.moved?.[which];
      if (!written) this.queuedSpoolBytes -= sp.bytes;
      if (moved && !written) this.removeSpoolFile(moved);
      if (!moved) this.removeSpoolFile(sp.path);
    }
  }

  private removeSpoolFile(file: string): void {
    const p = removeSpool(file).finally(() => this.spoolRemovals.delete(p));
    this.spoolRemovals.add(p);
  }

  /** Spool files of a record the store will not write (it owns them once complete() is called). */
  private dropRecordSpools(record: NewRecord | undefined): void {
    for (const b of [record?.bodies?.request, record?.bodies?.response]) {
      if (b?.kind === 'raw' && b.spooled && this.spoolsOut.delete(b.spooled.path)) this.removeSpoolFile(b.spooled.path);
    }
  }

  /**
   * The store moves a spooled body next to its segment, or deletes it: only a file it handed out
   * itself and no record has claimed qualifies (claiming it here), never a path a caller made up.
   */
  private ownSpoolsOnly(bodies: NewRecord['bodies']): NewRecord['bodies'] {
    const check = (b: StoredBody | RawBody): StoredBody | RawBody => {
      if (b?.kind !== 'raw' || !b.spooled) return b;
      const ok = Number.isSafeInteger(b.spooled.bytes) && b.spooled.bytes >= 0 && this.spoolsOut.delete(b.spooled.path);
      return ok ? b : { kind: 'empty', size: b.size, truncated: true };
    };
    const request = check(bodies.request);
    const response = check(bodies.response);
    return request === bodies.request && response === bodies.response ? bodies : { ...bodies, request, response };
  }

  private push(item: QueueItem): void {
    this.queue.push(item);
    if (item.kind === 'record') { this.queuedBytes += item.bytes; this.queuedSpoolBytes += sideBytesOf(item); }
    this.enforceQueueBound();
  }

  /** Keeps the queue bounded while the disk fails: the oldest records give way (deletes never do). */
  private enforceQueueBound(): void {
    const over = (): boolean => this.queue.length > this.opts.maxQueuedRecords || this.queuedBytes > this.opts.maxQueuedBytes
      || this.queuedSpoolBytes > this.opts.maxQueuedSpoolBytes;
    if (!over()) return;
    const before = this.dropped;
    while (over() && this.queue.length > 1) {
      const i = this.queue.findIndex((q) => q.kind === 'record');
      if (i < 0 || i === this.queue.length - 1) break;
      const [gone] = this.queue.splice(i, 1) as [RecordItem];
      this.queuedBytes -= gone.bytes;
      gone.resolve(false);
      this.dropSpools(gone, false);
      this.dropped++;
      if (this.unwritten.get(gone.id) === gone) this.unwritten.delete(gone.id);
      const cur = this.index.get(gone.id);
      if (cur === gone.summary) {
        const marked = { ...cur, warnings: [...cur.warnings, 'not stored: the write queue was full (the disk was failing or too slow)'] };
        this.index.upsert(marked);
        this.emitter.fire({ type: 'upsert', summary: marked, isNew: false });
      }
    }
    if (before === 0 && this.dropped > 0) {
      this.logger.warn(`store: the memory queue is full (${this.opts.maxQueuedRecords} records / ${Math.round(this.opts.maxQueuedBytes / MB)} MB); the oldest unwritten records are being dropped`);
    }
  }

  private forget(id: string): void {
    const ref = this.refs.get(id);
    if (ref) {
      this.refs.delete(id);
      const seg = this.segs.get(ref.seg);
      if (seg) seg.live--;
      this.deadLines++;
    }
    this.unwritten.delete(id);
    this.blobCache.delete(id);
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const p = this.chain.then(op);
    this.chain = p.then(() => undefined, () => undefined);
    return p;
  }

  private scheduleBatch(force: boolean): void {
    if (!this.loaded || (this.failure && !force)) return;
    // Big bodies are worth a write of their own at once: waiting only holds their memory longer.
    const now = this.queuedBytes >= WRITE_NOW_BYTES;
    if (this.batchScheduled) {
      if (now && this.batchTimer) { clearTimeout(this.batchTimer); this.startBatch(); }
      return;
    }
    this.batchScheduled = true;
    // A short wait gathers the records completed meanwhile into one write: every write costs the
    // kernel about as much as a few records' serialisation, so many small writes under load were
    // ~8 % of the proxy's CPU. Acknowledgements come BATCH_DELAY_MS later; only the proxy's
    // logging budget waits on them, and a megabyte of queued bodies is written at once.
    if (now) this.startBatch();
    else this.batchTimer = setTimeout(this.startBatch, BATCH_DELAY_MS);
  }

  private readonly startBatch = (): void => {
    this.batchTimer = null;
    void this.run(async () => {
      this.batchScheduled = false;
      if (!this.closed) await this.drainQueue();
    });
  };

  /** Writes batches until the queue is empty or a write fails. Runs inside the chain. */
  private async drainQueue(): Promise<void> {
    while (this.queue.length) {
      if (!(await this.writeBatch())) return;
    }
  }

  // ---- internals: writing ----------------------------------------------------------------------

  private async writeBatch(): Promise<boolean> {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && (n === 0 || bytes < MAX_BATCH_BYTES)) {
      const q = this.queue[n++];
      // Side files count too: they land in the segment this batch writes to (rotation is per batch).
      if (q.kind === 'record') bytes += q.bytes + sideBytesOf(q);
    }
    const items = this.queue.slice(0, n);
    try {
      await this.ensureWritable();
      const active = this.segs.get(this.activeSeg);
      if ((active?.end ?? 0) + (active?.sideBytes ?? 0) >= this.segmentBytes) await this.rotate();
      const seg = this.segs.get(this.activeSeg)!;
      const bodyParts: Buffer[] = [];
      const indexParts: string[] = [];
      const placed: Array<[RecordItem, BodyRef]> = [];
      const dw = new DictionaryWriter(this.dict);
      let off = seg.end;
      for (const item of items) {
        if (item.kind === 'record') {
          const ref: BodyRef = { seg: this.activeSeg, off, len: item.bytes };
          off += item.bytes + 1;
          for (const part of item.parts) bodyParts.push(part);
          bodyParts.push(NEWLINE);
          indexParts.push(encodeRecordLine(item.summary, ref, dw), '\n');
          placed.push([item, ref]);
        } else {
          indexParts.push(encodeDeleteLine(item.ids), '\n');
        }
      }
      const indexBuf = Buffer.from(indexParts.join(''));
      if (bodyParts.length) await writeFullyV(this.segFh!, bodyParts, seg.end);
      // The entries are down: move their spooled bodies next to them before the index points there.
      let sideBytes = 0;
      for (const [item, ref] of placed) sideBytes += await this.moveSideFiles(item, ref);
      await writeFully(this.indexFh!, indexBuf, this.indexSize);
      // Both writes returned: commit our view of the files, then acknowledge.
      dw.commit();
      this.queue.splice(0, n);
      this.bytesSinceMaintenance += indexBuf.length + (off - seg.end);
      seg.end = off;
      seg.sideBytes += sideBytes;
      this.indexSize += indexBuf.length;
      for (const [item, ref] of placed) {
        this.queuedBytes -= item.bytes;
        if (this.index.get(item.id) === item.summary) {
          const old = this.refs.get(item.id);
          if (old) { const o = this.segs.get(old.seg); if (o) o.live--; this.deadLines++; }
          this.refs.set(item.id, ref);
          seg.live++;
        } else {
          this.deadLines++; // deleted or superseded while it waited
        }
        if (this.unwritten.get(item.id) === item) this.unwritten.delete(item.id);
        this.queuedSpoolBytes -= sideBytesOf(item);
        this.dropSpools(item, true);
      }
      for (const item of items) {
        if (item.kind === 'delete') this.deadLines++;
        if (item.timer) clearTimeout(item.timer);
        item.resolve(true);
      }
      this.onWriteSuccess(placed.length);
      return true;
    } catch (e) {
      this.setFailure(e);
      for (const item of items) this.notAcknowledged(item);
      await this.onWriteFailure(e);
      return false;
    }
  }

  /**
   * Moves an entry's spool files to <segment>.side/<offset>.<request|response> (a rename: the bytes
   * are written once, when they streamed through). A spool file that is gone costs that body, which
   * then reads as lost; never the batch. Returns the bytes moved.
   */
  private async moveSideFiles(item: RecordItem, ref: BodyRef): Promise<number> {
    let moved = 0;
    for (const which of ['request', 'response'] as const) {
      const sp = item.side[which];
      if (!sp) continue;
      const dir = path.join(this.dir, sideDirName(ref.seg));
      const target = path.join(dir, `${ref.off}.${which}`);
      const from = item.moved?.[which] ?? sp.path;
      if (from === target) { moved += sp.bytes; continue; }
      try {
        await mkdir(dir, { mode: 0o700 }).catch((e: unknown) => { if (codeOf(e) !== 'EEXIST') throw e; });
        await rename(from, target);
        (item.moved ??= {})[which] = target;
        moved += sp.bytes;
      } catch (e) {
        // Whatever is at the target is not this body (a leftover of a crash or an unacknowledged
        // batch): it must not be read as this record's.
        await rm(target, { force: true }).catch(() => undefined);
        if (!this.reportedSpoolLoss) {
          this.reportedSpoolLoss = true;
          this.logger.warn(`store: a spooled body could not be kept (${errorMessage(e)}); its record shows it as lost`);
        }
      }
    }
    return moved;
  }

  private onWriteSuccess(written: number): void {
    if (this.failure || this.dropped) {
      const dropped = this.dropped;
      if (this.failure) this.logger.info(`store: writing request logs again${written ? ` (${written} waiting records written)` : ''}${dropped ? `; ${dropped} records were dropped from the full queue` : ''}`);
      else this.logger.info(`store: ${dropped} records were dropped from the full write queue`);
      this.failure = null;
      this.dropped = 0;
    }
    this.retryDelay = this.opts.retryMinMs;
    if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null; }
    this.scheduleSync();
    this.armIdleRelease();
    const overSize = this.retentionBytes > 0 && this.bytesSinceMaintenance > this.retentionBytes / 16;
    const manyDead = this.deadLines > 10_000 && this.deadLines > this.refs.size;
    if (overSize || manyDead) void this.runMaintenance();
  }

  /**
   * A write did not happen. A disk error answers false at once; waiting for another process to
   * release the writer lock answers false only if the turn does not come within followerAckMs.
   */
  private notAcknowledged(item: QueueItem): void {
    if (!this.failure?.notWriter) { item.resolve(false); return; }
    item.timer ??= setTimeout(() => item.resolve(false), this.opts.followerAckMs);
    item.timer.unref();
  }

  /** Enters (or stays in) a failure episode, logging once per episode, not per record. */
  private setFailure(e: unknown): void {
    const notWriter = e instanceof NotWriterError;
    const message = notWriter ? e.message : `${codeOf(e) ?? 'error'}: ${errorMessage(e)}`;
    if (!this.failure) {
      const text = `store: cannot write request logs to ${this.dir} (${message}). Requests are still forwarded; `
        + `up to ${this.opts.maxQueuedRecords} records wait in memory and are written when writing works again.`;
      if (notWriter) this.logger.warn(text); else this.logger.error(text);
    } else if (this.failure.message !== message) {
      this.logger.debug(`store: still cannot write (${message})`);
    }
    this.failure = { message, notWriter };
  }

  private async onWriteFailure(e: unknown): Promise<void> {
    const notWriter = e instanceof NotWriterError;
    this.setFailure(e);
    // A half-done write may have left bytes past what we trust; reopen and cut them on the retry.
    await this.closeHandles();
    if (notWriter) this.armFollow();
    if (!this.retryTimer && !this.closed) {
      const delay = this.retryDelay;
      // Another process's lock is let go within idleReleaseMs of its last write: look often.
      const max = notWriter ? Math.min(this.opts.retryMaxMs, 1000) : this.opts.retryMaxMs;
      this.retryDelay = Math.min(max, this.retryDelay * 2);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.queue.length) this.scheduleBatch(true);
        else void this.run(async () => { await this.ensureWritable().then(() => this.onWriteSuccess(0), (err) => this.onWriteFailure(err)); });
      }, delay);
      this.retryTimer.unref();
    }
  }

  /** Makes sure we hold the lock, have the files open, and that they end where we think they do. */
  private async ensureWritable(): Promise<void> {
    if (this.writable) return;
    if (this.closed) throw new Error('the store is closed');
    await mkdir(this.dir, { recursive: true });
    if (!this.readOk) {
      // Writing blind could cut records we failed to read: read first, or keep failing.
      await this.loadFromDisk(false);
      if (!this.readOk) throw new Error(`${INDEX_FILE} could not be read`);
      this.emitter.fire({ type: 'reset' });
    }
    if (!this.lock.held) {
      const got = await this.lock.tryAcquire();
      if (!got.ok) throw new NotWriterError(got.owner?.pid ?? null);
      this.stopFollow();
      // Another process may have written since we last looked: take in its records first.
      await this.catchUp();
    }
    if (!this.indexFh) {
      const fh = await openRw(this.indexPath);
      this.indexFh = fh;
      const st = await fh.stat();
      if (this.indexIno !== -1 && st.ino !== this.indexIno && st.ino !== 0) {
        // Replaced underneath us: what we know is in memory, so write it back rather than trust offsets.
        this.indexIno = st.ino;
        if (this.readOk) await this.writeIndexFile(this.liveRecords());
      } else if (st.size > this.indexSize) {
        await fh.truncate(this.indexSize);
      } else if (st.size < this.indexSize) {
        this.logger.warn(`store: ${INDEX_FILE} is shorter than expected (${st.size} < ${this.indexSize} bytes); rewriting it from memory`);
        if (this.readOk) await this.writeIndexFile(this.liveRecords());
        else this.indexSize = st.size;
      }
      this.indexIno = st.ino;
    }
    if (!this.segFh) await this.openSegment();
    this.writable = true;
  }

  private async openSegment(): Promise<void> {
    for (;;) {
      const onDisk = await this.segmentNumbers();
      const newest = Math.max(0, onDisk[onDisk.length - 1] ?? 0, ...this.segs.keys());
      const cur = this.activeSeg ? this.segs.get(this.activeSeg) : undefined;
      // Continue the active segment only if it is open for appends and nothing newer exists, so
      // segment numbers stay in time order (size retention drops the lowest first).
      const n = cur && !cur.sealed && cur.end < this.segmentBytes && this.activeSeg >= newest ? this.activeSeg : newest + 1;
      const info = this.segs.get(n) ?? { live: 0, end: 0, sideBytes: 0 };
      const fh = await openRw(path.join(this.dir, segmentName(n)));
      try {
        const st = await fh.stat();
        if (st.size < info.end) {
          // Shorter than what the index points to (cut or damaged): never write over it.
          await fh.close();
          info.sealed = true;
          this.segs.set(n, info);
          this.activeSeg = n;
          continue;
        }
        // Bytes past the last referenced line belong to a write that never got its index line.
        if (st.size > info.end) await fh.truncate(info.end);
        this.segs.set(n, info);
        this.activeSeg = n;
        this.segFh = fh;
        if (st.size === 0) await this.syncDir();
        return;
      } catch (e) {
        await fh.close().catch(() => undefined);
        throw e;
      }
    }
  }

  /** Seals the active segment and opens the next one. */
  private async rotate(): Promise<void> {
    const cur = this.segs.get(this.activeSeg);
    if (cur) cur.sealed = true;
    if (this.segFh) await this.segFh.datasync().catch(() => undefined);
    await this.closeSegment();
    await this.openSegment();
    this.writable = true;
    // A new segment is the moment size retention can free a whole old one.
    if (this.retentionBytes > 0) void this.runMaintenance();
  }

  private async closeSegment(): Promise<void> {
    const fh = this.segFh;
    this.segFh = null;
    this.writable = false;
    if (fh) await fh.close().catch(() => undefined);
  }

  private async closeHandles(): Promise<void> {
    await this.closeSegment();
    const fh = this.indexFh;
    this.indexFh = null;
    if (fh) await fh.close().catch(() => undefined);
  }

  private scheduleSync(): void {
    if (this.syncTimer || this.closed) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      void this.run(() => this.syncNow());
    }, this.opts.syncIntervalMs);
    this.syncTimer.unref();
  }

  private async syncNow(): Promise<void> {
    try {
      if (this.segFh) await this.segFh.datasync();
      if (this.indexFh) await this.indexFh.datasync();
    } catch (e) {
      this.logger.debug(`store: fdatasync failed: ${errorMessage(e)}`);
    }
  }

  private async syncDir(): Promise<void> {
    // Makes a new file's name durable; not possible on every platform (Windows), hence best effort.
    try {
      const d = await open(this.dir, 'r');
      try { await d.sync(); } finally { await d.close(); }
    } catch { /* best effort */ }
  }

  /** Lets another process write once this one has been idle for a while. */
  private armIdleRelease(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      void this.run(async () => {
        if (this.queue.length || !this.lock.held || this.closed) return;
        await this.syncNow();
        await this.closeHandles();
        await this.lock.release().catch(() => undefined);
        this.armFollow();
      });
    }, this.opts.idleReleaseMs);
    this.idleTimer.unref();
  }

  // ---- internals: loading, following another writer --------------------------------------------

  /** Reads the whole index into memory. `initial` also repairs (when we may write) and collects segments. */
  private async loadFromDisk(initial: boolean): Promise<void> {
    const t0 = performance.now();
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (e) {
      this.logger.error(`store: cannot create ${this.dir} (${codeOf(e) ?? errorMessage(e)}); records are kept in memory until it can be written`);
    }
    if (initial) {
      try {
        await this.lock.tryAcquire();
      } catch { /* an unwritable dir: we read what is there and retry writes later */ }
    }
    let buf: Buffer = Buffer.alloc(0);
    let ino = -1;
    try {
      buf = await readFile(this.indexPath);
      ino = (await stat(this.indexPath)).ino;
      this.readOk = true;
    } catch (e) {
      if (codeOf(e) !== 'ENOENT' && codeOf(e) !== 'ENOTDIR') {
        this.readOk = false;
        this.logger.error(`store: cannot read ${this.indexPath} (${codeOf(e) ?? errorMessage(e)}); showing no history and never rewriting the file`);
      }
    }
    const summaries = new Map<string, RecordSummary>();
    const refs = new Map<string, BodyRef>();
    this.dict = new IndexDictionary();
    const parsed = this.parseLines(buf, 0, (line) => {
      if (line.type === 'record') {
        summaries.set(line.summary.id, line.summary);
        refs.set(line.summary.id, line.ref);
      } else if (line.type === 'delete') {
        for (const id of line.ids) { summaries.delete(id); refs.delete(id); }
      }
    });
    const tornBytes = buf.length - parsed.consumed;
    if (tornBytes > 0 && this.lock.held) {
      try {
        await truncate(this.indexPath, parsed.consumed);
        this.logger.warn(`store: cut ${tornBytes} bytes of an incomplete last record from ${INDEX_FILE} (a crash during a write)`);
      } catch (e) {
        this.logger.warn(`store: could not repair ${INDEX_FILE}: ${errorMessage(e)}`);
      }
    }
    if (parsed.corrupt) {
      this.logger.warn(`store: skipped ${parsed.corrupt} corrupt line(s) in ${INDEX_FILE} (first at byte ${parsed.firstCorruptAt}); every other record loaded`);
    }
    if (this.dict.missing) {
      this.logger.warn(`store: ${this.dict.missing} value(s) in ${INDEX_FILE} refer to a lost dictionary entry and show as '?'`);
    }
    this.indexSize = parsed.consumed;
    this.indexIno = ino;
    this.deadLines = parsed.lines - refs.size + parsed.corrupt;
    // Adopt the map built while parsing rather than copy 100k entries into another one.
    this.refs = refs;
    this.segs.clear();
    for (const ref of refs.values()) {
      const info = this.segs.get(ref.seg);
      if (info) info.live++; else this.segs.set(ref.seg, { live: 1, end: 0, sideBytes: 0 });
    }
    for (const end of parsed.segEnds) {
      const info = this.segs.get(end[0]) ?? { live: 0, end: 0, sideBytes: 0 };
      info.end = Math.max(info.end, end[1]);
      this.segs.set(end[0], info);
    }
    for (const n of await this.segmentNumbers()) if (!this.segs.has(n)) this.segs.set(n, { live: 0, end: 0, sideBytes: 0 });
    this.activeSeg = Math.max(0, ...this.segs.keys());
    for (const s of this.index.values()) if (s.state === 'pending' && !summaries.has(s.id)) summaries.set(s.id, s);
    this.index.adopt(summaries);
    this.reapplyQueue();
    this.lastLoad = { records: summaries.size, ms: performance.now() - t0, corruptLines: parsed.corrupt, tornBytes };
    this.logger.debug(`store: loaded ${summaries.size} records in ${this.lastLoad.ms.toFixed(0)} ms`);
  }

  private setRef(id: string, ref: BodyRef): void {
    this.refs.set(id, ref);
    const info = this.segs.get(ref.seg) ?? { live: 0, end: 0, sideBytes: 0 };
    info.live++;
    info.end = Math.max(info.end, ref.off + ref.len + 1);
    this.segs.set(ref.seg, info);
  }

  /** Our own records that are not on disk yet must survive a reload from disk. */
  private reapplyQueue(): void {
    for (const item of this.queue) {
      if (item.kind === 'record') {
        if (this.unwritten.get(item.id) === item) this.index.upsert(item.summary);
      } else {
        for (const id of item.ids) { this.index.remove(id); this.forget(id); }
      }
    }
  }

  /**
   * Splits a buffer into lines and decodes each whole one. Returns the byte length of the whole
   * lines (a last line without its newline is incomplete: torn, or still being written).
   */
  private parseLines(buf: Buffer, base: number, apply: (l: IndexLine) => void):
    { consumed: number; lines: number; corrupt: number; firstCorruptAt: number; segEnds: Map<number, number> } {
    let pos = 0;
    let lines = 0;
    let corrupt = 0;
    let firstCorruptAt = -1;
    const segEnds = new Map<number, number>();
    for (;;) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) break;
      if (nl > pos) {
        try {
          const line = decodeIndexLine(buf.toString('utf8', pos, nl), this.dict);
          if (line.type !== 'dict') lines++;
          if (line.type === 'record') {
            const end = line.ref.off + line.ref.len + 1;
            if ((segEnds.get(line.ref.seg) ?? 0) < end) segEnds.set(line.ref.seg, end);
          }
          apply(line);
        } catch {
          corrupt++;
          if (firstCorruptAt < 0) firstCorruptAt = base + pos;
        }
      }
      pos = nl + 1;
    }
    return { consumed: pos, lines, corrupt, firstCorruptAt, segEnds };
  }

  private armFollow(): void {
    if (this.followTimer || this.closed) return;
    this.followTimer = setInterval(() => {
      if (this.lock.held || this.closed) { this.stopFollow(); return; }
      void this.run(() => this.catchUp()).catch((e) => this.logger.debug(`store: following the writer failed: ${errorMessage(e)}`));
    }, this.opts.followIntervalMs);
    this.followTimer.unref();
  }

  private stopFollow(): void {
    if (this.followTimer) { clearInterval(this.followTimer); this.followTimer = null; }
  }

  /** Applies what another writer appended since we last read; reloads if it rewrote the file. */
  private async catchUp(): Promise<void> {
    let st;
    try {
      st = await stat(this.indexPath);
    } catch (e) {
      if (codeOf(e) === 'ENOENT' && this.indexSize > 0 && this.readOk) {
        // Removed underneath: everything we had is gone from disk.
        await this.loadFromDisk(false);
        this.emitter.fire({ type: 'reset' });
      }
      return;
    }
    if ((this.indexIno !== -1 && st.ino !== this.indexIno) || st.size < this.indexSize) {
      await this.loadFromDisk(false);
      this.emitter.fire({ type: 'reset' });
      return;
    }
    this.indexIno = st.ino;
    if (st.size === this.indexSize) return;
    const fh = await open(this.indexPath, 'r');
    let buf: Buffer;
    try {
      buf = Buffer.alloc(st.size - this.indexSize);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.indexSize);
      buf = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    const changes: StoreChange[] = [];
    const parsed = this.parseLines(buf, this.indexSize, (line) => {
      if (line.type === 'record') {
        const id = line.summary.id;
        const old = this.refs.get(id);
        if (old) { const o = this.segs.get(old.seg); if (o) o.live--; this.deadLines++; }
        this.setRef(id, line.ref);
        this.blobCache.delete(id);
        const prev = this.index.upsert(line.summary);
        changes.push({ type: 'upsert', summary: line.summary, isNew: !prev });
      } else if (line.type === 'delete') {
        const gone = line.ids.filter((id) => this.index.remove(id));
        for (const id of line.ids) this.forget(id);
        this.deadLines++;
        if (gone.length) changes.push({ type: 'delete', ids: gone });
      }
    });
    for (const [seg, end] of parsed.segEnds) {
      const info = this.segs.get(seg) ?? { live: 0, end: 0, sideBytes: 0 };
      info.end = Math.max(info.end, end);
      this.segs.set(seg, info);
    }
    this.indexSize += parsed.consumed;
    if (changes.length > 200) this.emitter.fire({ type: 'reset' });
    else for (const c of changes) this.emitter.fire(c);
  }

  // ---- internals: retention, compaction ---------------------------------------------------------

  /** Runs inside the chain, with the lock held. */
  private async maintainNow(): Promise<void> {
    if (!this.readOk || !this.lock.held) return;
    this.bytesSinceMaintenance = 0;
    const removed = new Set<string>();
    if (this.retentionDays > 0) {
      const cutoff = Date.now() - this.retentionDays * DAY;
      for (const s of this.index.values()) {
        if (s.startedAt >= cutoff) break;
        if (s.state !== 'pending' && (s.endedAt ?? s.startedAt) < cutoff && this.refs.has(s.id)) removed.add(s.id);
      }
    }
    const dropSegs = new Set<number>();
    if (this.retentionBytes > 0) {
      const sizes = new Map<number, number>();
      let total = 0;
      for (const n of await this.segmentNumbers()) {
        const size = await stat(path.join(this.dir, segmentName(n))).then((s) => s.size, () => 0)
          + await dirBytes(path.join(this.dir, sideDirName(n)));
        sizes.set(n, size);
        total += size;
      }
      total += this.indexSize;
      // Oldest segments go first (they hold the oldest records); the one being written stays.
      const order = [...sizes.keys()].sort((a, b) => a - b);
      for (const n of order) {
        if (total <= this.retentionBytes) break;
        if (n === this.activeSeg) {
          // Everything left is in the active segment: seal it so the next write starts a new one
          // and a later run can drop it.
          const info = this.segs.get(n);
          if (info && info.end > 0) { info.sealed = true; await this.closeSegment(); }
          break;
        }
        dropSegs.add(n);
        total -= sizes.get(n) ?? 0;
      }
      if (dropSegs.size) for (const [id, ref] of this.refs) if (dropSegs.has(ref.seg)) removed.add(id);
    }
    for (const id of removed) { this.index.remove(id); this.forget(id); }
    const emptySegs = [...this.segs.entries()].filter(([n, info]) => info.live <= 0 && n !== this.activeSeg).map(([n]) => n);
    const rewrite = removed.size > 0 || (this.deadLines > 1000 && this.deadLines > this.refs.size);
    if (rewrite) await this.writeIndexFile(this.liveRecords());
    // Only after the index no longer points into them may segments go.
    for (const n of new Set([...dropSegs, ...emptySegs])) {
      if ((this.segs.get(n)?.live ?? 0) > 0) continue;
      await this.removeSegmentFile(n);
    }
    if (removed.size) {
      this.logger.info(`store: retention removed ${removed.size} records (older than ${this.retentionDays} days or over ${Math.round(this.retentionBytes / MB)} MB)`);
      this.emitter.fire({ type: 'reset' });
    }
  }

  private liveRecords(): Array<[RecordSummary, BodyRef]> {
    const out: Array<[RecordSummary, BodyRef]> = [];
    for (const s of this.index.values()) {
      const ref = this.refs.get(s.id);
      if (ref && s.state !== 'pending') out.push([s, ref]);
    }
    return out;
  }

  /** Replaces index.jsonl atomically (temp file, fsync, rename) with these records and a fresh dictionary. */
  private async writeIndexFile(records: Array<[RecordSummary, BodyRef]>): Promise<void> {
    const tmp = `${this.indexPath}.tmp`;
    const dict = new IndexDictionary();
    const dw = new DictionaryWriter(dict);
    const fh = await open(tmp, 'w', 0o600);
    let size = 0;
    try {
      for (let i = 0; i < records.length; i += 2000) {
        const chunk = records.slice(i, i + 2000).map(([s, ref]) => encodeRecordLine(s, ref, dw));
        const buf = Buffer.from(chunk.join('\n') + '\n');
        await writeFully(fh, buf, size);
        size += buf.length;
      }
      await fh.datasync();
    } finally {
      await fh.close();
    }
    dw.commit();
    // Windows cannot rename over a file that is open: close ours first.
    const old = this.indexFh;
    this.indexFh = null;
    this.writable = false;
    if (old) await old.close().catch(() => undefined);
    await rename(tmp, this.indexPath);
    await this.syncDir();
    this.indexSize = size;
    this.dict = dict;
    this.deadLines = 0;
    this.indexFh = await openRw(this.indexPath);
    this.indexIno = (await this.indexFh.stat()).ino;
    if (this.segFh) this.writable = true;
  }

  private async removeSegmentFile(n: number): Promise<void> {
    try {
      await rm(path.join(this.dir, segmentName(n)), { force: true });
      await rm(path.join(this.dir, sideDirName(n)), { recursive: true, force: true });
      this.segs.delete(n);
    } catch (e) {
      // Windows refuses while a reader has it open: the next maintenance run retries.
      this.logger.debug(`store: could not remove ${segmentName(n)} yet: ${errorMessage(e)}`);
    }
  }

  private async segmentNumbers(): Promise<number[]> {
    try {
      return (await readdir(this.dir))
        .map((f) => SEGMENT_RE.exec(f))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
    } catch {
      return [];
    }
  }

  // ---- internals: reading bodies ---------------------------------------------------------------

  private async readBlob(id: string): Promise<BodyBlob | undefined> {
    const summary = this.index.get(id);
    if (!summary) return undefined;
    const queued = this.unwritten.get(id);
    if (queued) {
      const at = (w: SideName): string | undefined => queued.moved?.[w] ?? queued.side[w]?.path;
      // The writer may move the file while we read: look again where it went.
      const read = async (w: SideName): Promise<Buffer | null> => (await readSide(at(w))) ?? readSide(at(w));
      return decodeBlob(Buffer.concat(queued.parts, queued.bytes), { request: await read('request'), response: await read('response') });
    }
    const cached = this.blobCache.get(id);
    if (cached) return cached;
    const ref = this.refs.get(id);
    if (!ref) {
      // In flight (or dropped while the disk failed): no bodies yet.
      return { id, requestHeaders: summary.requestHeaders, responseHeaders: summary.responseHeaders, bodies: EMPTY_BODIES };
    }
    try {
      const fh = await open(path.join(this.dir, segmentName(ref.seg)), 'r');
      const buf = Buffer.alloc(ref.len);
      try {
        const { bytesRead } = await fh.read(buf, 0, ref.len, ref.off);
        if (bytesRead !== ref.len) throw new Error(`short read (${bytesRead} of ${ref.len} bytes)`);
      } finally {
        await fh.close();
      }
      const side: Partial<Record<SideName, Buffer | null>> = {};
      for (const w of sideFilesOf(buf)) side[w] = await readSide(path.join(this.dir, sideDirName(ref.seg), `${ref.off}.${w}`));
      const blob = decodeBlob(buf, side);
      if (blob.id !== id) throw new Error(`the bodies line belongs to ${blob.id}`);
      // Only cache while the index still points where we read (a compaction or delete may have raced).
      if (this.refs.get(id) === ref) this.cacheBlob(id, blob);
      return blob;
    } catch (e) {
      if (!this.reportedSegments.has(ref.seg)) {
        this.reportedSegments.add(ref.seg);
        this.logger.warn(`store: bodies in ${segmentName(ref.seg)} are unreadable (first: ${id}: ${errorMessage(e)}); those records show their summary only`);
      }
      const lost = (size: number): RecordBodies['request'] => ({ kind: 'empty', size, truncated: size > 0 });
      return { id, requestHeaders: {}, responseHeaders: {}, bodies: { request: lost(summary.requestBytes), response: lost(summary.responseBytes), streamEvents: null, reassembled: null } };
    }
  }

  private cacheBlob(id: string, blob: BodyBlob): void {
    this.blobCache.delete(id);
    this.blobCache.set(id, blob);
    while (this.blobCache.size > BLOB_CACHE) this.blobCache.delete(this.blobCache.keys().next().value as string);
  }
}

function once(resolve: (ok: boolean) => void): (ok: boolean) => void {
  let done = false;
  return (ok) => { if (!done) { done = true; resolve(ok); } };
}
