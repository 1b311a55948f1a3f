// Streams the log to a file a page of records at a time: a log of 100,000 requests with bodies
// does not fit comfortably in one string, and the extension host must stay responsive meanwhile.
// The record formats themselves (JSONL lines, HAR entries) come from src/store/export.ts.
import { createWriteStream, promises as fsp } from 'node:fs';
import { once } from 'node:events';
import type { Logger } from '../core/logger';
import type { RecordQuery, RecordReader } from '../core/store';
import type { LogRecord } from '../core/types';
import { toHar, toJsonl } from '../store/export';

export type ExportFormat = 'jsonl' | 'har';

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
  /** Records read and written per step. */
  pageSize?: number;
}

export interface ExportResult {
  written: number;
  /** Requests skipped because they vanished (deleted, retention) between listing and reading. */
  skipped: number;
  cancelled: boolean;
  file: string;
}

export async function exportLogs(opts: ExportOptions): Promise<ExportResult> {
  const page = opts.pageSize ?? 200;
  // Oldest first: a log reads top to bottom in time, as HAR viewers expect.
  const ids = opts.store.list({ ...opts.query }).map((s) => s.id).filter((id) => !opts.include || opts.include(id)).reverse();
  const out = createWriteStream(opts.file, { encoding: 'utf8' });
  let failed: Error | undefined;
  out.on('error', (e) => { failed = e; });
  const write = async (chunk: string): Promise<void> => {
    if (failed) throw failed;
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), once(out, 'error').then(([e]) => { throw e; })]);
  };
  let written = 0;
  let skipped = 0;
  let cancelled = false;
  try {
    if (opts.format === 'har') await write(harHeader());
    for (let i = 0; i < ids.length; i += page) {
      if (opts.isCancelled?.()) { cancelled = true; break; }
      const records = (await Promise.all(ids.slice(i, i + page).map((id) => opts.store.getRecord(id))))
        .filter((r): r is LogRecord => !!r && r.state !== 'pending');
      skipped += Math.min(page, ids.length - i) - records.length;
      if (records.length) {
        if (opts.format === 'jsonl') {
          const text = toJsonl(records);
          await write(text.endsWith('\n') ? text : text + '\n');
        } else {
          const entries = harEntries(toHar(records));
          await write(entries.map((e, j) => (written + j === 0 ? '\n' : ',\n') + JSON.stringify(e)).join(''));
        }
        written += records.length;
      }
      opts.onProgress?.(Math.min(i + page, ids.length), ids.length);
    }
    if (opts.format === 'har') await write('\n]}}\n');
  } finally {
    out.end();
    await once(out, 'close').catch(() => undefined);
  }
  if (failed) throw failed;
  if (cancelled) await fsp.rm(opts.file, { force: true });
  else opts.logger.info(`Exported ${written} requests to ${opts.file} (${opts.format})${skipped ? `, ${skipped} skipped (no longer in the log)` : ''}`);
  return { written, skipped, cancelled, file: opts.file };
}

function harHeader(): string {
  const creator = { name: 'LLM Lens', version: '0.1.0' };
  return `{"log":{"version":"1.2","creator":${JSON.stringify(creator)},"pages":[],"entries":[`;
}

/** The entries of a HAR document, whether the exporter returned it as an object or as text. */
function harEntries(har: unknown): unknown[] {
  const doc = typeof har === 'string' ? JSON.parse(har) as unknown : har;
  const entries = (doc as { log?: { entries?: unknown } } | null)?.log?.entries;
  if (!Array.isArray(entries)) throw new Error('the HAR exporter returned no log.entries');
  return entries;
}
