// Everything the proxy needs, opened from one plain options object: the record store, the price
// book, the response cache, the query API, and the proxy server. The CLI and the extension both
// start LLM Lens through here, so they behave the same.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { LensError, errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import type { RecordStoreApi } from '../core/store';
import { PriceBook } from '../pricing/priceBook';
import type { PriceOverride } from '../pricing/priceBook';
import { createQueryApi } from '../query/apiServer';
import { RecordStore } from '../store/recordStore';
import { ResponseCache } from './cache';
import { startProxy } from './server';
import type { ProxyServer, ProxyTimeouts } from './server';
import type { YoungGcPacing } from './gcPacing';

export { providerBaseUrls } from './routing';

export interface LensStoreOptions {
  dataDir: string;
  logger: Logger;
  bodyCapBytes?: number;
  retentionDays?: number;
  retentionMb?: number;
}

export interface LensRuntimeOptions extends LensStoreOptions {
  host?: string;
  port?: number;
  upstreams?: Record<string, string>;
  heliconeUpstreams?: string[];
  priceOverrides?: PriceOverride[];
  /** Upstream names priced at 0 (local models). */
  freeProviders?: string[];
  timeouts?: ProxyTimeouts;
  /** See ProxyOptions.logBacklogBytes (default 8 MB). */
  logBacklogBytes?: number;
  /** The response cache (Helicone-Cache-Enabled); on by default, bounded to maxMb (default 256). */
  cache?: { enabled?: boolean; maxMb?: number };
  /** When set, the query API under /api requires `Authorization: Bearer <token>`. */
  apiToken?: string;
  /** A store the caller already opened (the extension keeps it across proxy restarts); not closed by close(). */
  store?: RecordStoreApi;
  /** A price book the caller already built. */
  priceBook?: PriceBook;
  /** See ProxyOptions.youngGc. */
  youngGc?: YoungGcPacing | null;
}

export interface LensRuntime {
  readonly store: RecordStoreApi;
  readonly proxy: ProxyServer;
  readonly priceBook: PriceBook;
  readonly cache: ResponseCache | null;
  /** Drains the proxy, then flushes and closes the store (unless the caller passed it in). */
  close(opts?: { drainMs?: number }): Promise<void>;
}

/**
 * mkdir -p one level at a time: Node 20's recursive mkdir spins forever on some paths
 * (e.g. under /proc, where creating fails with ENOENT although the parent exists).
 */
async function mkdirp(dir: string): Promise<void> {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  for (;;) {
    try {
      const st = await fsp.stat(cur);
      if (!st.isDirectory()) throw new Error(`${cur} is not a directory`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      missing.push(cur);
      const parent = path.dirname(cur);
      if (parent === cur) break;
      cur = parent;
    }
  }
  for (const d of missing.reverse()) {
    try { await fsp.mkdir(d); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; }
  }
}

/** Creates the data dir and proves it is writable; LensError('DATA_DIR_UNWRITABLE') otherwise. */
export async function ensureDataDir(dataDir: string): Promise<void> {
  const probe = path.join(dataDir, `.write-test-${randomBytes(4).toString('hex')}`);
  try {
    await mkdirp(dataDir);
    await fsp.writeFile(probe, 'ok');
    await fsp.rm(probe, { force: true });
  } catch (e) {
    throw new LensError('DATA_DIR_UNWRITABLE', `data dir ${dataDir} is not writable: ${errorMessage(e)}`, { cause: e });
  }
}

/** Opens the record store on its own (the extension shows history with the proxy off). */
export async function openLensStore(opts: LensStoreOptions): Promise<RecordStore> {
  await ensureDataDir(opts.dataDir);
  return RecordStore.open({
    dataDir: opts.dataDir, logger: opts.logger, bodyCapBytes: opts.bodyCapBytes,
    retentionDays: opts.retentionDays, retentionMb: opts.retentionMb,
  });
}

export async function startLensRuntime(opts: LensRuntimeOptions): Promise<LensRuntime> {
  await ensureDataDir(opts.dataDir);
  const ownStore = opts.store === undefined;
  const store: RecordStoreApi = opts.store ?? await openLensStore(opts);
  const priceBook = opts.priceBook ?? new PriceBook({ overrides: opts.priceOverrides, freeProviders: opts.freeProviders });
  for (const w of priceBook.configWarnings) opts.logger.warn(w);
  // The price table loads on first use (~0.5 s of parsing). Pay that now, not inside the first
  // request's record, where it would stall every exchange in flight.
  try { priceBook.listPrice('gpt-4o-mini', 'openai'); } catch (e) { opts.logger.warn(`price table failed to load: ${errorMessage(e)}`); }
  let cache: ResponseCache | null = null;
  try {
    if (opts.cache?.enabled !== false) {
      cache = await ResponseCache.open({
        dir: path.join(opts.dataDir, 'cache'), logger: opts.logger,
        maxBytes: (opts.cache?.maxMb ?? 256) * 1024 * 1024,
      });
    }
    const apiHandler = createQueryApi({ store, logger: opts.logger, token: opts.apiToken });
    const proxy = await startProxy({
      host: opts.host, port: opts.port, upstreams: opts.upstreams, heliconeUpstreams: opts.heliconeUpstreams,
      store, priceBook, logger: opts.logger, bodyCapBytes: opts.bodyCapBytes, timeouts: opts.timeouts, cache, apiHandler,
      logBacklogBytes: opts.logBacklogBytes, youngGc: opts.youngGc,
    });
    let closing: Promise<void> | null = null;
    return {
      store, proxy, priceBook, cache,
      close: (o) => {
        closing ??= (async () => {
          await proxy.close(o);
          await store.flush();
          if (ownStore) await store.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    if (ownStore) await store.close().catch(() => undefined);
    throw e;
  }
}
