// A controllable Clock for scheduler and alert tests: time moves only when the test says so, and
// advancing lets pending promise callbacks run between timers, as the event loop would.
import type { Clock } from '../../src/compare/clock';

interface Timer { id: number; at: number; fn: () => void }

export class FakeClock implements Clock {
  private t: number;
  private nextId = 1;
  private timers: Timer[] = [];

  constructor(start = Date.UTC(2025, 0, 1, 12, 0, 0)) { this.t = start; }

  now(): number { return this.t; }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Times at which timers are due, soonest first (what the code under test is waiting for). */
  pending(): number[] { return this.timers.map((t) => t.at).sort((a, b) => a - b); }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = until;
    await settle();
  }
}

/** Lets queued promise callbacks (and chains of them) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}
