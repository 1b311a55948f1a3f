// One writer per data dir. Several processes may open the same store (two VS Code windows, the
// CLI beside the extension): each reads it, but only the holder of this lock appends, repairs or
// compacts, because body offsets are computed from the writer's own view of the file sizes.
// The lock is a file created with O_EXCL holding the owner's pid; a lock whose process is gone
// (SIGKILL, crash) is stale and taken over. No native modules, so no flock.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';

export interface LockOwner {
  pid: number;
  host: string;
  at: number;
}

/** Lock files held by stores in this process: a second store here must not take them over. */
const heldHere = new Set<string>();

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class WriterLock {
  private isHeld = false;

  constructor(readonly file: string) {}

  get held(): boolean { return this.isHeld; }

  /** Takes the lock if it is free or stale; otherwise returns who holds it. Throws on I/O errors. */
  async tryAcquire(): Promise<{ ok: true } | { ok: false; owner: LockOwner | null }> {
    if (this.isHeld) return { ok: true };
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.create()) return { ok: true };
      const owner = await this.readOwner();
      if (owner && this.isAlive(owner)) return { ok: false, owner };
      // Stale (its process is gone) or unreadable (a crash between create and write): take it over.
      // Two processes taking over the same stale lock at the same instant could both win; the
      // window is a few microseconds after a crash, which we accept rather than ship a native lock.
      await rm(this.file, { force: true });
    }
    return { ok: false, owner: await this.readOwner() };
  }

  async release(): Promise<void> {
    if (!this.isHeld) return;
    this.isHeld = false;
    heldHere.delete(this.file);
    const owner = await this.readOwner();
    if (owner && owner.pid === process.pid && owner.host === hostname()) await rm(this.file, { force: true });
  }

  private async create(): Promise<boolean> {
    if (heldHere.has(this.file)) return false;
    const owner: LockOwner = { pid: process.pid, host: hostname(), at: Date.now() };
    try {
      await writeFile(this.file, JSON.stringify(owner), { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    this.isHeld = true;
    heldHere.add(this.file);
    return true;
  }

  private async readOwner(): Promise<LockOwner | null> {
    try {
      const o = JSON.parse(await readFile(this.file, 'utf8')) as Partial<LockOwner>;
      return typeof o.pid === 'number' && typeof o.host === 'string' ? { pid: o.pid, host: o.host, at: Number(o.at) || 0 } : null;
    } catch {
      return null;
    }
  }

  private isAlive(owner: LockOwner): boolean {
    // Another machine's process cannot be checked (a synced or network home dir): assume alive.
    if (owner.host !== hostname()) return true;
    if (owner.pid === process.pid) return heldHere.has(this.file);
    return processExists(owner.pid);
  }
}
