// The store's contract, separate from its implementation (src/store/recordStore.ts) so the proxy,
// the query API and the UI depend on what they use, not on how records reach the disk.
import type { Event } from './event';
import type { LogRecord, NewRecord, RecordBodies, RecordSummary, SpooledBytes } from './types';

/** Filters for listing records; every field narrows. Lists are newest first. */
export interface RecordQuery {
  /** A session id, or null for "requests outside any session". */
  sessionId?: string | null;
  /** Session path prefix ('/research' matches '/research' and '/research/analysis'). */
  sessionPath?: string;
  model?: string;
  provider?: string;
  userId?: string;
  status?: 'ok' | 'error' | 'cached' | 'pending';
  /** Every listed property must equal the given value. */
  properties?: Record<string, string>;
  /** Case-insensitive substring over model, path, id, user, session name and property values. */
  text?: string;
  since?: number;
  until?: number;
  kind?: 'llm' | 'custom';
  offset?: number;
  limit?: number;
}

export interface SessionSummary {
  id: string;
  name: string | null;
  requestCount: number;
  errorCount: number;
  pendingCount: number;
  /** Sum of known costs; costUnknown counts records whose cost is null. */
  costUsd: number;
  costUnknown: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  startedAt: number;
  /** Latest end (or start, while pending) among its records. */
  endedAt: number;
}

export type StoreChange =
  | { type: 'upsert'; summary: RecordSummary; isNew: boolean }
  | { type: 'delete'; ids: string[] }
  /** Everything may have changed (loaded from disk, cleared, retention sweep): re-read. */
  | { type: 'reset' };

export interface RecordReader {
  readonly onDidChange: Event<StoreChange>;
  get(id: string): RecordSummary | undefined;
  /** Newest first. */
  list(query?: RecordQuery): RecordSummary[];
  count(query?: RecordQuery): number;
  /** Sessions, newest activity first. */
  sessions(): SessionSummary[];
  session(id: string): SessionSummary | undefined;
  /** Bodies are read from disk lazily; undefined when the record is unknown. */
  getBodies(id: string): Promise<RecordBodies | undefined>;
  getRecord(id: string): Promise<LogRecord | undefined>;
}

export interface RecordSink {
  /** An in-flight request: visible (state 'pending') to readers, not persisted. */
  begin(summary: RecordSummary): void;
  /**
   * The finished record. Resolves true once it is appended to the log (acknowledged: it survives
   * a process kill), false when the write failed (reported through the logger; never rejects,
   * because forwarding must go on whatever happens to the disk).
   */
  complete(record: NewRecord): Promise<boolean>;
  /**
   * A place for a large body's bytes while they stream through, so the proxy does not hold them
   * until the record is complete (32 uploads of a megabyte each would otherwise sit in memory).
   * null when this store cannot spool (the caller keeps the bytes itself).
   */
  openSpool?(): BodySpool | null;
}

/** Bytes written in order to a file the store owns; handed back to it in a RawBody's `spooled`. */
export interface BodySpool {
  write(chunk: Uint8Array): void;
  /**
   * Bytes given to write() that may still be in memory: queued for a disk that fell behind. The
   * proxy counts them against its logging budget; bytes already in the page cache cost it nothing.
   */
  readonly queuedBytes: number;
  /** Waits for the writes: the file to put in RawBody.spooled, or why the bytes were lost. */
  end(): Promise<SpooledBytes | { error: string }>;
  /** The bytes are not wanted after all (the record failed or omits the body). */
  discard(): void;
}

export interface RecordWriter extends RecordSink {
  delete(ids: string[]): Promise<void>;
  clear(): Promise<void>;
  /** Waits until every completed record so far is written. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export type RecordStoreApi = RecordReader & RecordWriter;
