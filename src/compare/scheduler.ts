// Periodic refresh of one data source as a state machine. Failures are states, not exceptions:
// a rejected key waits for the user (no retry loop against an auth wall), 429 waits for the
// server's Retry-After, timeouts and 5xx back off exponentially and keep the last good data,
// marked stale so the UI can show its age.
import { errorMessage, isLensError } from '../core/errors';
import { Emitter } from '../core/event';
import type { Event } from '../core/event';
import type { Logger } from '../core/logger';
import type { Clock } from './clock';

export type RefreshStatus =
  /** Not started yet. */
  | 'idle'
  /** First fetch in flight, nothing to show yet. */
  | 'loading'
  | 'ok'
  /** The last fetch failed; `data` is from `fetchedAt` and a retry is scheduled. */
  | 'stale'
  /** Every fetch so far failed; a retry is scheduled. */
  | 'error'
  /** The server rejected the key (401/403): no automatic retry until refresh() or reset(). */
  | 'authFailed';

export interface RefreshError {
  /** A LensErrorCode, or 'INTERNAL' for an unexpected exception. */
  code: string;
  message: string;
}

export interface RefreshState<T> {
  readonly status: RefreshStatus;
  readonly data: T | null;
  /** When `data` was fetched (epoch ms). */
  readonly fetchedAt: number | null;
  /** A fetch is in flight (also true while 'stale' or 'ok' data is being refreshed). */
  readonly refreshing: boolean;
  readonly error: RefreshError | null;
  /** Consecutive failures. */
  readonly failures: number;
  /** When the next automatic fetch runs; null when none is scheduled. */
  readonly nextAttemptAt: number | null;
}

export interface RefreshSchedulerOptions<T> {
  clock: Clock;
  logger: Logger;
  /** Human name for logs ("helicone", "staging-box"). */
  name: string;
  intervalMs: number;
  fetch: () => Promise<T>;
  /** First retry delay after a failure; doubles per consecutive failure (default 15 s). */
  backoffBaseMs?: number;
  /** Longest backoff; defaults to the refresh interval (a failing source is retried at least that often). */
  backoffMaxMs?: number;
}

const DEFAULT_BACKOFF_BASE_MS = 15_000;

/** Retry-After in ms carried by a rate-limit error (the query client attaches it), if any. */
export function retryAfterMsOf(err: unknown): number | null {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const v = (e as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  }
  return null;
}

export class RefreshScheduler<T> {
  private readonly changed = new Emitter<RefreshState<T>>();
  readonly onDidChange: Event<RefreshState<T>> = this.changed.event;

  private s: RefreshState<T> = { status: 'idle', data: null, fetchedAt: null, refreshing: false, error: null, failures: 0, nextAttemptAt: null };
  private timer: unknown = null;
  private inFlight: Promise<void> | null = null;
  /** Bumped by reset()/dispose() so an answer to an outdated request is dropped. */
  private generation = 0;
  private started = false;
  private disposed = false;
  /** A manual refresh before this time would ignore the server's Retry-After. */
  private rateLimitedUntil = 0;
  private intervalMs: number;

  constructor(private readonly opts: RefreshSchedulerOptions<T>) {
    this.intervalMs = Math.max(1000, opts.intervalMs);
  }

  get state(): RefreshState<T> { return this.s; }

  /** Fetches now and then every interval. Idempotent. */
  start(): void {
    if (this.started || this.disposed) return;
    this.started = true;
    void this.run();
  }

  /**
   * Fetches now (the manual refresh command), joining a fetch already in flight. A source that is
   * rate limited keeps waiting for its Retry-After: a click must not earn another 429.
   */
  refresh(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.started = true;
    if (this.inFlight) return this.inFlight;
    if (this.opts.clock.now() < this.rateLimitedUntil) return Promise.resolve();
    return this.run();
  }

  /** Drops the data (the query changed: other environments, another key) and fetches again. */
  reset(): void {
    if (this.disposed) return;
    this.generation++;
    this.clearTimer();
    this.inFlight = null;
    this.rateLimitedUntil = 0;
    this.set({ status: 'idle', data: null, fetchedAt: null, refreshing: false, error: null, failures: 0, nextAttemptAt: null });
    if (this.started) void this.run();
  }

  setIntervalMs(ms: number): void {
    this.intervalMs = Math.max(1000, ms);
    // Only a healthy schedule moves; a backoff or a Retry-After keeps its own timing.
    if (this.s.status === 'ok' && !this.s.refreshing && this.s.fetchedAt !== null) {
      this.schedule(Math.max(0, this.s.fetchedAt + this.intervalMs - this.opts.clock.now()));
    }
  }

  dispose(): void {
    this.disposed = true;
    this.generation++;
    this.clearTimer();
    this.changed.dispose();
  }

  private run(): Promise<void> {
    const gen = this.generation;
    this.clearTimer();
    this.set({ ...this.s, status: this.s.data === null && this.s.status !== 'authFailed' ? 'loading' : this.s.status, refreshing: true, nextAttemptAt: null });
    const p = this.attempt(gen).finally(() => { if (this.inFlight === p) this.inFlight = null; });
    this.inFlight = p;
    return p;
  }

  private async attempt(gen: number): Promise<void> {
    const { clock, logger, name } = this.opts;
    let data: T;
    try {
      data = await this.opts.fetch();
    } catch (err) {
      if (gen !== this.generation) return;
      this.failed(err);
      return;
    }
    if (gen !== this.generation) return;
    this.rateLimitedUntil = 0;
    if (this.s.failures > 0) logger.info(`compare: ${name} answers again`);
    this.set({ status: 'ok', data, fetchedAt: clock.now(), refreshing: false, error: null, failures: 0, nextAttemptAt: null });
    this.schedule(this.intervalMs);
  }

  private failed(err: unknown): void {
    const { logger, name, clock } = this.opts;
    const failures = this.s.failures + 1;
    const error: RefreshError = { code: isLensError(err) ? err.code : 'INTERNAL', message: errorMessage(err) };
    if (isLensError(err, 'QUERY_AUTH')) {
      logger.warn(`compare: ${name} rejected the API key: ${error.message}`);
      this.set({ ...this.s, status: 'authFailed', refreshing: false, error, failures, nextAttemptAt: null });
      return;
    }
    let delay: number;
    const retryAfter = isLensError(err, 'QUERY_RATE_LIMITED') ? retryAfterMsOf(err) : null;
    if (isLensError(err, 'QUERY_RATE_LIMITED')) {
      const base = this.opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
      delay = Math.max(retryAfter ?? this.backoff(failures), base);
      this.rateLimitedUntil = clock.now() + delay;
    } else {
      delay = this.backoff(failures);
    }
    if (error.code === 'INTERNAL') logger.error(`compare: ${name} refresh failed unexpectedly: ${error.message}`);
    else logger.warn(`compare: ${name} refresh failed (${error.code}), retrying in ${Math.round(delay / 1000)} s: ${error.message}`);
    this.set({ ...this.s, status: this.s.data === null ? 'error' : 'stale', refreshing: false, error, failures });
    this.schedule(delay);
  }

  private backoff(failures: number): number {
    const base = this.opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    const max = Math.max(base, this.opts.backoffMaxMs ?? this.intervalMs);
    return Math.min(max, base * 2 ** Math.min(failures - 1, 20));
  }

  private schedule(delayMs: number): void {
    if (this.disposed) return;
    this.clearTimer();
    const gen = this.generation;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null;
      if (gen === this.generation && !this.inFlight) void this.run();
    }, delayMs);
    this.set({ ...this.s, nextAttemptAt: this.opts.clock.now() + delayMs });
  }

  private clearTimer(): void {
    if (this.timer !== null) { this.opts.clock.clearTimeout(this.timer); this.timer = null; }
  }

  private set(next: RefreshState<T>): void {
    this.s = next;
    if (!this.disposed) this.changed.fire(next);
  }
}
