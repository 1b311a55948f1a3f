// Young-generation collections paced by the bytes of network buffers the proxy has handled.
//
// Node's HTTP parser copies every piece of a request body into a malloc'd buffer of its own (and
// every socket read on the upstream side is one too). V8 frees such a buffer only in a young-
// generation collection, and starts one on their account only once young buffers reach ~32 MB
// (`Heap::AllocateExternalBackingStore`, "external memory pressure" in --trace-gc), a threshold no
// flag moves. Under 1 MB uploads little else is allocated, so dead buffers pile up to that mark
// and glibc keeps the pages: 35–51 MB of its heap. The proxy knows how many body bytes it has
// passed on, so it asks for a scavenge every few MB instead (see bench/README.md for the figures).
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** Runs one young-generation collection. */
export type CollectYoung = () => void;

export interface YoungGcPacing {
  /** Body bytes (both directions, all exchanges) between two collections. */
  everyBytes: number;
  collect: CollectYoung;
}

/**
 * V8's `gc()` for young-generation collections, without `--expose-gc` on the command line: the
 * flag is set only while a fresh vm context is made (the function lives there, not on this
 * realm's global) and cleared again. Null when the runtime does not provide it.
 */
export function youngCollector(): CollectYoung | null {
  let gc: unknown;
  try {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
  } catch {
    gc = undefined;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  if (typeof gc !== 'function') return null;
  const run = gc as (opts: { type: 'minor' }) => void;
  return () => { run({ type: 'minor' }); };
}

/** Counts body bytes and collects once every `everyBytes`. Shared by every exchange of one proxy. */
export class YoungGcPacer {
  private pending = 0;

  constructor(private readonly pacing: YoungGcPacing) {
    if (!(pacing.everyBytes > 0)) throw new RangeError(`everyBytes must be positive, got ${pacing.everyBytes}`);
  }

  note(bytes: number): void {
    this.pending += bytes;
    if (this.pending < this.pacing.everyBytes) return;
    this.pending = 0;
    this.pacing.collect();
  }
}
