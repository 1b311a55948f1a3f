// Time as a dependency: the refresh scheduler and the alert windows read the clock through this
// interface so tests drive backoff and staleness with a fake clock instead of sleeping.

export interface Clock {
  /** Wall-clock epoch ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending refresh must never keep the CLI or a test process alive.
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
