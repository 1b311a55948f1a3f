// The queue between finished exchanges and the store: record building off the forwarding path,
// and a bound on what logging may hold in memory.

const noop = (): void => undefined;

/**
 * Record building runs one exchange per turn of the event loop, after I/O: a request that arrives
 * while records are waiting is forwarded first, so logging never sits in front of a byte. When
 * a backlog builds up (more finished exchanges than turns), a turn takes several, so the backlog
 * (and the memory its captures hold) stays bounded.
 */
export class RecordQueue {
  private readonly jobs: Array<() => void> = [];
  private scheduled = false;
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  /** Captured bytes of exchanges that ended and whose record the store has not acknowledged yet. */
  private pendingBytes = 0;
  private admissionWaiters: Array<() => void> = [];

  /**
   * budgetBytes bounds what logging may hold in memory. Past it, new exchanges wait before they
   * are sent upstream: when records cannot be written as fast as traffic arrives (a flood of
   * megabyte bodies on a slow disk), traffic slows to what can be logged instead of memory
   * growing without bound or the store dropping records.
   */
  constructor(private readonly budgetBytes: number) {}

  get size(): number { return this.jobs.length + this.running; }
  get backlogBytes(): number { return this.pendingBytes; }

  /** Runs fn now, or once the logging backlog is back under its budget. */
  admit(fn: () => void): void {
    if (this.pendingBytes <= this.budgetBytes) fn();
    else this.admissionWaiters.push(fn);
  }

  enqueue(job: () => Promise<void>, bytes = 0): Promise<void> {
    this.pendingBytes += bytes;
    return new Promise<void>((resolve) => {
      this.jobs.push(() => {
        this.running++;
        let p: Promise<void>;
        try { p = job(); } catch { p = Promise.resolve(); }
        void p.catch(noop).finally(() => {
          this.running--;
          this.pendingBytes -= bytes;
          resolve();
          this.releaseAdmissions();
          this.checkIdle();
        });
      });
      this.schedule();
    });
  }

  private releaseAdmissions(): void {
    while (this.admissionWaiters.length > 0 && this.pendingBytes <= this.budgetBytes) this.admissionWaiters.shift()!();
  }

  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.scheduled = false;
    // Past 64 waiting, take enough to get back to 32: a fixed few per turn fell behind for good
    // once the process was busy (200 streams: a backlog of 1,000+ finished exchanges after 3 s,
    // growing without bound, each holding its captured bodies, all lost to a crash).
    // Over the byte budget, logging is what holds traffic back: build everything that is waiting.
    const n = this.pendingBytes > this.budgetBytes ? this.jobs.length
      : this.jobs.length > 64 ? this.jobs.length - 32 : this.jobs.length > 16 ? 2 : 1;
    for (let i = 0; i < n && this.jobs.length > 0; i++) this.jobs.shift()!();
    if (this.jobs.length > 0) this.schedule();
    this.checkIdle();
  };

  private checkIdle(): void {
    if (this.size !== 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }
}
