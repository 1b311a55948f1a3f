// Streams the log to a file a page of records at a time, with progress and cancellation for the
// notification: a log of 100,000 requests with bodies does not fit comfortably in one string, and
// the extension host must stay responsive meanwhile. The formats (JSONL lines, HAR entries, both
// re-redacted) are the store's (src/store/export.ts); like its exportToFile, it writes a temp file
// and renames it, so a failed or cancelled export never leaves a half file under the chosen name.
import { open, rename, rm } from 'node:fs/promises';
import type { Logger } from '../core/logger';
import type { RecordQuery, RecordReader } from '../core/store';
import type { LogRecord } from '../core/types';
import { toHarEntry, toJsonlLine, type ExportFormat } from '../store/export';

export type { ExportFormat };

export interface ExportOptions {
  store: RecordReader;
  format: ExportFormat;
  file: string;
  query?: RecordQuery;
  /** A further predicate on record ids (the tree's filter, which the store query cannot express). */
  include?: (id: string) => boolean;
  logger: Logger;
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
  /** Records whose bodies are read at once. */
  pageSize?: number;
  /** HAR creator version (the extension's). */
  version?: string;
}

export interface ExportResult {
  written: number;
  /** Requests skipped because they vanished (deleted, retention) or were still in flight. */
  skipped: number;
  cancelled: boolean;
  file: string;
}

const FLUSH_BYTES = 1 << 20;

export async function exportLogs(opts: ExportOptions): Promise<ExportResult> {
  const page = opts.pageSize ?? 100;
  // Oldest first: a log reads top to bottom in time, as HAR viewers expect.
  const ids = opts.store.list({ ...opts.query }).map((s) => s.id).filter((id) => !opts.include || opts.include(id)).reverse();
  const tmp = `${opts.file}.${process.pid}.${Date.now()}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  let buffer: string[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (!buffer.length) return;
    await fh.write(buffer.join(''));
    buffer = [];
    bytes = 0;
  };
  const emit = async (s: string): Promise<void> => {
    buffer.push(s);
    bytes += s.length;
    if (bytes > FLUSH_BYTES) await flush();
  };
  let written = 0;
  let skipped = 0;
  let cancelled = false;
  try {
    if (opts.format === 'har') {
      await emit(`{"log":{"version":"1.2","creator":${JSON.stringify({ name: 'LLM Lens', version: opts.version ?? '0.1.0' })},"entries":[\n`);
    }
    for (let i = 0; i < ids.length; i += page) {
      if (opts.isCancelled?.()) { cancelled = true; break; }
      const records = await Promise.all(ids.slice(i, i + page).map((id) => opts.store.getRecord(id)));
      for (const rec of records) {
        if (!rec || rec.state === 'pending') { skipped++; continue; }
        await emit(opts.format === 'har' ? `${written ? ',\n' : ''}${JSON.stringify(toHarEntry(rec as LogRecord))}` : toJsonlLine(rec) + '\n');
        written++;
      }
      opts.onProgress?.(Math.min(i + page, ids.length), ids.length);
    }
    if (cancelled) {
      await fh.close();
      await rm(tmp, { force: true });
      return { written, skipped, cancelled, file: opts.file };
    }
    if (opts.format === 'har') await emit('\n]}}\n');
    await flush();
    await fh.sync();
    await fh.close();
    await rename(tmp, opts.file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  opts.logger.info(`Exported ${written} requests to ${opts.file} (${opts.format})${skipped ? `, ${skipped} skipped (in flight or no longer in the log)` : ''}`);
  return { written, skipped, cancelled, file: opts.file };
}
