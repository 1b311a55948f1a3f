// Collections for a long-lived process whose members come and go by the thousand a second
// (in-flight exchanges, records waiting for the disk).
//
// Why not a plain Map or Set: V8 rehashes a collection's table when it grows or shrinks, allocates
// the new table in the same generation as the old one, and leaves the old table's entries in place
// until the next full GC. A collection that lives long has its table in the old generation, so
// every rehash leaves behind a dead old-space table still pointing at whatever was a member then.
// The young-generation GC cannot tell that table is dead: it keeps those members, and everything
// they reference, alive and promotes them to the old generation, where they stay until a full GC.
// Measured in the proxy (bench/README.md, "Promotion, explained"): with the Set of in-flight
// exchanges and the store's Map of unwritten records boxed like this, a small request at 32 clients
// promotes 1.3 KB instead of 6.3 (~0.8 KB of it is the index's real growth).
//
// Here each member sits in a small box that is emptied when it leaves, so a stale table can only
// hold an empty box.

interface Box<T> { v: T | undefined }

/** What ChurnSet.add hands back: the key to remove that member again. */
export interface Membership { readonly __membership: true }

/** A set of objects, each removed through the Membership that add() returned. */
export class ChurnSet<T extends object> {
  private readonly boxes = new Set<Box<T>>();

  get size(): number { return this.boxes.size; }

  add(v: T): Membership {
    const box: Box<T> = { v };
    this.boxes.add(box);
    return box as unknown as Membership;
  }

  /** Removes the member; a second call with the same Membership does nothing. */
  delete(m: Membership): void {
    const box = m as unknown as Box<T>;
    if (this.boxes.delete(box)) box.v = undefined;
  }

  /** Calls fn for each member; fn may delete members (this one or others) as it goes. */
  forEach(fn: (v: T, m: Membership) => void): void {
    for (const b of this.boxes) if (b.v !== undefined) fn(b.v, b as unknown as Membership);
  }

  /** A snapshot of the members: removing while iterating is safe. */
  values(): T[] {
    const out: T[] = [];
    for (const b of this.boxes) if (b.v !== undefined) out.push(b.v);
    return out;
  }
}

/** A Map whose values are released as soon as they are deleted, overwritten or cleared. */
export class ChurnMap<K, V> {
  private readonly boxes = new Map<K, Box<V>>();

  get size(): number { return this.boxes.size; }

  get(k: K): V | undefined { return this.boxes.get(k)?.v; }

  has(k: K): boolean { return this.boxes.has(k); }

  set(k: K, v: V): this {
    const box = this.boxes.get(k);
    if (box) box.v = v;
    else this.boxes.set(k, { v });
    return this;
  }

  delete(k: K): boolean {
    const box = this.boxes.get(k);
    if (!box) return false;
    this.boxes.delete(k);
    box.v = undefined;
    return true;
  }

  clear(): void {
    for (const box of this.boxes.values()) box.v = undefined;
    this.boxes.clear();
  }
}
