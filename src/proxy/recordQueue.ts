// The queue between finished exchanges and the store: record building off the forwarding path,
// and a bound on what logging may hold in memory.

const noop = (): void => undefined;

/**
 * Record building runs one exchange per turn of the event loop, after I/O: a request that arrives
 * while records are waiting is forwarded first, so logging never sits in front of a byte. When
 * a backlog builds up (more finished exchanges than turns), a turn takes several, so the backlog
 * stays bounded.
 *
 * Memory: a finished exchange waits here holding only its captured chunks; building its record
 * turns them into strings (the body text, then the store's serialised line), twice the size,
 * held until the store has written it. So records are built only as fast as the store absorbs
 * them (at most half the budget in flight to the store), and past the whole budget new exchanges
 * wait before they are sent upstream: traffic then runs at the pace the disk can record, instead
 * of memory growing without bound or the store dropping records.
 */
export class RecordQueue {
  private readonly jobs: Array<{ start: () => void; bytes: number }> = [];
  private scheduled = false;
  private running = 0;
  private runningBytes = 0;
  private idleWaiters: Array<() => void> = [];
  /** Captured bytes of exchanges that ended and whose record the store has not acknowledged yet. */
  private pendingBytes = 0;
  private admissionWaiters: Array<() => void> = [];
  private readonly storeBudgetBytes: number;

  constructor(private readonly budgetBytes: number) {
    this.storeBudgetBytes = Math.max(1, Math.floor(budgetBytes / 2));
  }

  get size(): number { return this.jobs.length + this.running; }
  get backlogBytes(): number { return this.pendingBytes; }

  /** Runs fn now, or once the logging backlog is back under its budget. */
  admit(fn: () => void): void {
    if (this.pendingBytes <= this.budgetBytes) fn();
    else this.admissionWaiters.push(fn);
  }

  enqueue(job: () => Promise<void>, bytes = 0): Promise<void> {
    this.pendingBytes += bytes;
    // Dropped once started: the closures below live until the job settles (the store's
    // acknowledgement), and the job holds its exchange's snapshot, which would live as long.
    let waiting: (() => Promise<void>) | null = job;
    return new Promise<void>((resolve) => {
      const start = (): void => {
        this.running++;
        this.runningBytes += bytes;
        const run = waiting!; // start() runs once
        waiting = null;
        let p: Promise<void>;
        try { p = run(); } catch { p = Promise.resolve(); }
        void p.catch(noop).finally(() => {
          this.running--;
          this.runningBytes -= bytes;
          this.pendingBytes -= bytes;
          resolve();
          this.releaseAdmissions();
          if (this.jobs.length > 0) this.schedule();
          this.checkIdle();
        });
      };
      this.jobs.push({ start, bytes });
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

  /** The store can take another record: nothing is in flight to it, or what is stays under its share. */
  private storeHasRoom(next: number): boolean {
    return this.running === 0 || this.runningBytes + next <= this.storeBudgetBytes;
  }

  private readonly turn = (): void => {
    this.scheduled = false;
    // Past 64 waiting, take enough to get back to 32: a fixed few per turn fell behind for good
    // once the process was busy (200 streams: a backlog of 1,000+ finished exchanges after 3 s,
    // growing without bound, each holding its captured bodies, all lost to a crash).
    // Over the byte budget, logging is what holds traffic back: build everything the store has room for.
    const n = this.pendingBytes > this.budgetBytes ? this.jobs.length
      : this.jobs.length > 64 ? this.jobs.length - 32 : this.jobs.length > 16 ? 2 : 1;
    for (let i = 0; i < n && this.jobs.length > 0 && this.storeHasRoom(this.jobs[0].bytes); i++) this.jobs.shift()!.start();
    // Jobs left behind for lack of room start when a running one finishes (enqueue's finally).
    if (this.jobs.length > 0 && this.storeHasRoom(this.jobs[0].bytes)) this.schedule();
    this.checkIdle();
  };

  private checkIdle(): void {
    if (this.size !== 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }
}
