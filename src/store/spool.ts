// Spool files: a large body goes to disk while it streams through the proxy, instead of waiting in
// memory until its record is complete, and the writer copies it into the bodies segment when the
// record is written. The entry format does not change (the bytes still sit inline after the
// entry's JSON line), so reading, retention, export and other processes following the store are
// unaffected. Spool files live in <dataDir>/records/spool, named after the process that made them
// so a store that opens can remove those of processes that died mid-request.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
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

export class FileSpool implements BodySpool {
  private readonly stream: WriteStream;
  private bytes = 0;
  private error: string | null = null;
  private ended = false;
  private readonly closed: Promise<void>;

  /** `onGone` runs once the file is removed or never to be handed over (a failed spool, discard()). */
  constructor(readonly path: string, private readonly onGone: () => void = () => undefined) {
    // No backpressure on purpose: the proxy must not slow an upload for its log, and the page
    // cache takes a megabyte far faster than a socket delivers it.
    this.stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.closed = new Promise<void>((resolve) => {
      this.stream.on('error', (e) => { this.error ??= errorMessage(e); });
      this.stream.on('close', () => resolve());
    });
  }

  write(chunk: Uint8Array): void {
    if (this.ended || this.error) return;
    this.bytes += chunk.length;
    this.stream.write(chunk);
  }

  async end(): Promise<SpooledBytes | { error: string }> {
    if (!this.ended) {
      this.ended = true;
      this.stream.end();
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
    this.stream.destroy();
    this.onGone();
    void this.closed.then(() => removeSpool(this.path));
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
