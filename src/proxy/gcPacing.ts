// Garbage collections the proxy asks V8 for, where V8's own schedule keeps memory the proxy no
// longer uses (bench/README.md, "GC pacing", has the measurements).
//
// Young generation, paced by body bytes. Node's HTTP parser copies every piece of a request body
// into a malloc'd buffer of its own (and every socket read on the upstream side is one too). V8
// frees such a buffer only in a young-generation collection, and starts one on their account only
// once young buffers reach ~32 MB (`Heap::AllocateExternalBackingStore`, "external memory
// pressure" in --trace-gc), a threshold no flag moves. Under 1 MB uploads little else is
// allocated, so dead buffers pile up to that mark and glibc keeps the pages: 35–51 MB of its heap.
// The proxy knows how many body bytes it has passed on, so it asks for a scavenge every few MB.
//
// A full collection after a quiet spell. V8's memory reducer gives memory back only once its
// average allocation rate has fallen, which after a burst took from ~9 s to more than 20 s. A
// full collection asked for from JavaScript drops the maps of objects that all died, so code
// optimised for them deoptimises and the next burst runs cold (~0.1 ms more CPU a small request
// for a few thousand requests): worth it after seconds without traffic, not between requests.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** Runs one collection. */
export type Collect = () => void;

export interface Collectors {
  /** A young-generation collection (a scavenge). */
  young: Collect;
  /** A full mark-compact of every generation. */
  full: Collect;
}

/**
 * V8's `gc()` without `--expose-gc` on the command line: the flag is set only while a fresh vm
 * context is made (the function lives there, not on this realm's global) and cleared again. Null
 * when the runtime does not provide it.
 */
export function v8Collectors(): Collectors | null {
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
  const run = gc as (opts?: { type: 'minor' }) => void;
  // gc() with no argument is the full collection; Node 20's V8 runs a scavenge for {type: 'major'}.
  return { young: () => { run({ type: 'minor' }); }, full: () => { run(); } };
}

export interface YoungGcPacing {
  /** Body bytes (both directions, all exchanges) between two collections. */
  everyBytes: number;
  collect: Collect;
}

/** Counts body bytes and collects once at least `everyBytes` have passed. Shared by every exchange of one proxy. */
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

export interface QuietCollectorOptions {
  /** How long without a new request or one in flight before collecting. */
  quietMs: number;
  /** Changes whenever a request arrives (ProxyServer.requestsSeen). */
  activity: () => number;
  /** True while a request is in flight (a long stream is traffic, not quiet). */
  busy: () => boolean;
  collect: Collect;
  /** How often to look; default 1 s. */
  pollMs?: number;
  now?: () => number;
}

/** One full collection per quiet spell that followed traffic; never two in a row without traffic between. */
export class QuietCollector {
  private lastActivity: number;
  private quietSince: number;
  private collected = true; // nothing to give back before the first request
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: QuietCollectorOptions) {
    if (!(opts.quietMs > 0)) throw new RangeError(`quietMs must be positive, got ${opts.quietMs}`);
    this.now = opts.now ?? (() => performance.now());
    this.lastActivity = opts.activity();
    this.quietSince = this.now();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => { this.tick(); }, this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Looks once; the timer calls it, tests call it with their own clock. */
  tick(): void {
    const a = this.opts.activity();
    if (a !== this.lastActivity || this.opts.busy()) {
      this.lastActivity = a;
      this.quietSince = this.now();
      this.collected = false;
      return;
    }
    if (this.collected || this.now() - this.quietSince < this.opts.quietMs) return;
    this.collected = true;
    this.opts.collect();
  }
}
