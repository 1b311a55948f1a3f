// Spool files: a large body goes to disk while it streams through the proxy, instead of waiting in
// memory until its record is complete. When the record is written, the writer renames the file
// beside the entry's segment (a side file) rather than copying it, so the bytes are written once.
// Spool files live in <dataDir>/records/spool, named after the process that made them so a store
// that opens can remove those of processes that died mid-request.
import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, openSync, writeSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { errorMessage } from '../core/errors';
import type { BodySpool } from '../core/store';
import type { SpooledBytes } from '../core/types';

export const SPOOL_DIR = 'spool';
const SPOOL_RE = /^(\d+)-([0-9a-f]+)-\d+\.body$/;
/**
 * Which process made a file: its pid, plus a token of its own, because a container restarted
 * after a crash usually gets the same pid back and must still see the old files as stale.
 */
const TOKEN = randomBytes(6).toString('hex');

let counter = 0;

export function spoolFileName(): string {
  return `${process.pid}-${TOKEN}-${counter++}.body`;
}

/**
 * How the spool dir's disk has behaved, shared by a store's spools. A synchronous write that takes
 * longer than `slowWriteMs` marks the disk stalled for a while: spools then write through a stream on
 * the thread pool instead, so a slow disk never holds up forwarding.
 */
export interface SpoolDisk {
  slowWriteMs: number;
  /** Date.now() until which new spools start on the thread pool. */
  slowUntil: number;
}

const SLOW_WRITE_MS = 20;
const SLOW_DISK_BACKOFF_MS = 30_000;

export function newSpoolDisk(slowWriteMs: number = SLOW_WRITE_MS): SpoolDisk {
  return { slowWriteMs, slowUntil: 0 };
}

export class FileSpool implements BodySpool {
  private fd: number | null = null;
  /** Set once writes go through the thread pool (the disk was slow), from then on for this file. */
  private stream: WriteStream | null = null;
  private bytes = 0;
  private error: string | null = null;
  private ended = false;
  private closed: Promise<void> = Promise.resolve();

  /** `onGone` runs once the file is removed or never to be handed over (a failed spool, discard()). */
  constructor(
    readonly path: string,
    private readonly onGone: () => void = () => undefined,
    private readonly disk: SpoolDisk = newSpoolDisk(),
  ) {
    if (Date.now() < disk.slowUntil) { this.toStream(createWriteStream(path, { flags: 'wx', mode: 0o600 })); return; }
    try {
      this.fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  write(chunk: Uint8Array): void {
    if (this.ended || this.error) return;
    this.bytes += chunk.length;
    if (this.stream) { this.stream.write(chunk); return; }
    // Written through at once, not queued for the thread pool: a queued chunk stays in memory until
    // its turn comes, and with 32 uploads of 1 MB on a busy core that was ~30 MB of bodies waiting.
    // The page cache takes 64 KB in tens of microseconds, about what the proxy spends on the chunk.
    const t0 = performance.now();
    try {
      let off = 0;
      while (off < chunk.length) off += writeSync(this.fd!, chunk, off, chunk.length - off);
    } catch (e) {
      this.error = errorMessage(e);
      this.closeFd();
      return;
    }
    if (performance.now() - t0 > this.disk.slowWriteMs) {
      this.disk.slowUntil = Date.now() + SLOW_DISK_BACKOFF_MS;
      this.toStream(createWriteStream('', { fd: this.fd!, autoClose: true }));
      this.fd = null;
    }
  }

  /** Written through, nothing waits; on the stream, what it has not yet handed to the disk. */
  get queuedBytes(): number { return this.stream?.writableLength ?? 0; }

  async end(): Promise<SpooledBytes | { error: string }> {
    if (!this.ended) {
      this.ended = true;
      if (this.stream) this.stream.end();
      else this.closeFd();
    }
    await this.closed;
    if (this.error) {
      await removeSpool(this.path);
      this.onGone();
      return { error: `spooling the body to disk failed: ${this.error}` };
    }
    return { path: this.path, bytes: this.bytes };
  }

  discard(): void {
    this.ended = true;
    if (this.stream) this.stream.destroy();
    else this.closeFd();
    this.onGone();
    void this.closed.then(() => removeSpool(this.path));
  }

  private toStream(stream: WriteStream): void {
    this.stream = stream;
    this.closed = new Promise<void>((resolve) => {
      stream.on('error', (e) => { this.error ??= errorMessage(e); });
      stream.on('close', () => resolve());
    });
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch (e) {
      this.error ??= errorMessage(e);
    }
    this.fd = null;
  }
}

export async function removeSpool(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => undefined);
}

function alive(pid: number, token: string): boolean {
  if (pid === process.pid) return token === TOKEN;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes spool files left by processes that are gone (a crash mid-request); returns how many. */
export async function cleanSpoolDir(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = SPOOL_RE.exec(name);
    if (!m || alive(Number(m[1]), m[2])) continue;
    await removeSpool(path.join(dir, name));
    removed++;
  }
  return removed;
}
