// The refresh state machine under a fake clock: what it does after success, 5xx, 429 with
// Retry-After, a rejected key, a manual refresh, an interval change and a reset.
import * as assert from 'node:assert/strict';
import { LensError } from '../../src/core/errors';
import { RecordingLogger } from '../../src/core/logger';
import { RefreshScheduler, retryAfterMsOf } from '../../src/compare/scheduler';
import type { RefreshState } from '../../src/compare/scheduler';
import { FakeClock, settle } from '../support/fakeClock';

const MIN = 60_000;

/** A fetch whose answers the test scripts one call at a time. */
class ScriptedFetch {
  calls = 0;
  private script: Array<() => Promise<number>> = [];
  then(...answers: Array<() => Promise<number>>): this { this.script.push(...answers); return this; }
  readonly fetch = (): Promise<number> => {
    this.calls++;
    const next = this.script.shift();
    return next ? next() : Promise.resolve(this.calls);
  };
}

const ok = (v: number) => (): Promise<number> => Promise.resolve(v);
const fail = (e: Error) => (): Promise<number> => Promise.reject(e);
function rateLimited(retryAfterMs: number | null): LensError {
  const e = new LensError('QUERY_RATE_LIMITED', 'HTTP 429');
  if (retryAfterMs !== null) Object.assign(e, { retryAfterMs });
  return e;
}

function setup(script: ScriptedFetch, intervalMs = 5 * MIN): { clock: FakeClock; s: RefreshScheduler<number>; states: RefreshState<number>[]; logger: RecordingLogger } {
  const clock = new FakeClock();
  const logger = new RecordingLogger();
  const s = new RefreshScheduler<number>({ clock, logger, name: 'test', intervalMs, fetch: script.fetch });
  const states: RefreshState<number>[] = [];
  s.onDidChange((st) => states.push(st));
  return { clock, s, states, logger };
}

describe('compare: refresh scheduler', () => {
  it('loads, then refreshes once per interval', async () => {
    const f = new ScriptedFetch().then(ok(10), ok(11), ok(12));
    const { clock, s, states } = setup(f);
    assert.equal(s.state.status, 'idle');
    s.start();
    assert.equal(s.state.status, 'loading');
    assert.equal(s.state.refreshing, true);
    await settle();
    assert.equal(s.state.status, 'ok');
    assert.equal(s.state.data, 10);
    assert.equal(s.state.fetchedAt, clock.now());
    assert.equal(s.state.nextAttemptAt, clock.now() + 5 * MIN);
    await clock.advance(5 * MIN - 1);
    assert.equal(f.calls, 1, 'not before the interval');
    await clock.advance(1);
    assert.equal(f.calls, 2);
    assert.equal(s.state.data, 11);
    await clock.advance(5 * MIN);
    assert.equal(s.state.data, 12);
    assert.deepEqual(states.slice(0, 2).map((x) => x.status), ['loading', 'ok']);
    s.dispose();
  });

  it('keeps the data as stale on 5xx/timeouts and backs off exponentially, capped at the interval', async () => {
    const down = new LensError('QUERY_UNAVAILABLE', 'HTTP 503');
    const f = new ScriptedFetch().then(ok(1), fail(down), fail(down), fail(down), fail(down), fail(down), ok(2));
    const { clock, s, logger } = setup(f);
    s.start();
    await settle();
    const firstFetch = clock.now();
    await clock.advance(5 * MIN);
    assert.equal(s.state.status, 'stale');
    assert.equal(s.state.data, 1, 'the last good data stays');
    assert.equal(s.state.fetchedAt, firstFetch, 'its age is the age of the last success');
    assert.deepEqual(s.state.error, { code: 'QUERY_UNAVAILABLE', message: 'HTTP 503' });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const wait = s.state.nextAttemptAt! - clock.now();
      delays.push(wait);
      await clock.advance(wait);
    }
    // 15 s, 30 s, 60 s, 120 s, then 240 s (next): the fifth failure's retry
    assert.deepEqual(delays, [15_000, 30_000, 60_000, 120_000]);
    assert.equal(s.state.failures, 5);
    assert.equal(s.state.nextAttemptAt! - clock.now(), 240_000);
    await clock.advance(240_000);
    assert.equal(s.state.status, 'ok');
    assert.equal(s.state.data, 2);
    assert.equal(s.state.failures, 0);
    assert.ok(logger.messages('info').some((m) => /answers again/.test(m)));
    s.dispose();
  });

  it('caps backoff at the refresh interval', async () => {
    const down = new LensError('QUERY_UNAVAILABLE', 'timeout');
    const f = new ScriptedFetch().then(...Array.from({ length: 8 }, () => fail(down)));
    const { clock, s } = setup(f, MIN);
    s.start();
    await settle();
    assert.equal(s.state.status, 'error', 'no data yet: error, not stale');
    for (let i = 0; i < 6; i++) await clock.advance(s.state.nextAttemptAt! - clock.now());
    assert.equal(s.state.nextAttemptAt! - clock.now(), MIN);
    s.dispose();
  });

  it('waits for Retry-After on 429, even against a manual refresh', async () => {
    const f = new ScriptedFetch().then(ok(1), fail(rateLimited(90_000)), ok(2));
    const { clock, s } = setup(f);
    s.start();
    await settle();
    await clock.advance(5 * MIN);
    assert.equal(s.state.status, 'stale');
    assert.equal(s.state.error?.code, 'QUERY_RATE_LIMITED');
    assert.equal(s.state.nextAttemptAt! - clock.now(), 90_000);
    await s.refresh();
    assert.equal(f.calls, 2, 'manual refresh inside Retry-After does not call the server');
    await clock.advance(89_999);
    assert.equal(f.calls, 2);
    await clock.advance(1);
    assert.equal(f.calls, 3);
    assert.equal(s.state.status, 'ok');
    assert.equal(s.state.data, 2);
    s.dispose();
  });

  it('reads Retry-After from the error or its cause', () => {
    assert.equal(retryAfterMsOf(rateLimited(5000)), 5000);
    assert.equal(retryAfterMsOf(new LensError('QUERY_RATE_LIMITED', 'x', { cause: { retryAfterMs: 7000 } })), 7000);
    assert.equal(retryAfterMsOf(new LensError('QUERY_RATE_LIMITED', 'x')), null);
    assert.equal(retryAfterMsOf({ retryAfterMs: -1 }), null);
  });

  it('stops on a rejected key and resumes only when asked', async () => {
    const f = new ScriptedFetch().then(fail(new LensError('QUERY_AUTH', 'HTTP 401')), ok(5));
    const { clock, s } = setup(f);
    s.start();
    await settle();
    assert.equal(s.state.status, 'authFailed');
    assert.equal(s.state.nextAttemptAt, null, 'no retry loop against an auth wall');
    await clock.advance(60 * MIN);
    assert.equal(f.calls, 1);
    await s.refresh();
    assert.equal(s.state.status, 'ok');
    assert.equal(s.state.data, 5);
    s.dispose();
  });

  it('joins a fetch in flight instead of starting a second one', async () => {
    let release!: (v: number) => void;
    const f = new ScriptedFetch().then(() => new Promise<number>((r) => { release = r; }));
    const { s } = setup(f);
    s.start();
    const a = s.refresh();
    const b = s.refresh();
    assert.equal(f.calls, 1);
    release(42);
    await Promise.all([a, b]);
    assert.equal(s.state.data, 42);
    s.dispose();
  });

  it('drops an answer that arrives after reset() and refetches', async () => {
    let release!: (v: number) => void;
    const f = new ScriptedFetch().then(() => new Promise<number>((r) => { release = r; }), ok(2));
    const { s } = setup(f);
    s.start();
    const stale = release;
    s.reset();
    await settle();
    assert.equal(s.state.data, 2);
    stale(1);
    await settle();
    assert.equal(s.state.data, 2, 'the outdated answer is ignored');
    s.dispose();
  });

  it('moves the next refresh when the interval changes', async () => {
    const f = new ScriptedFetch();
    const { clock, s } = setup(f);
    s.start();
    await settle();
    await clock.advance(MIN);
    s.setIntervalMs(2 * MIN);
    assert.equal(s.state.nextAttemptAt, clock.now() + MIN);
    await clock.advance(MIN);
    assert.equal(f.calls, 2);
    s.setIntervalMs(30 * MIN);
    await clock.advance(29 * MIN);
    assert.equal(f.calls, 2);
    s.dispose();
  });

  it('does nothing after dispose', async () => {
    const f = new ScriptedFetch();
    const { clock, s } = setup(f);
    s.start();
    await settle();
    s.dispose();
    await clock.advance(60 * MIN);
    await s.refresh();
    assert.equal(f.calls, 1);
    assert.deepEqual(clock.pending(), []);
  });

  it('reports an unexpected exception as an error state, not a crash', async () => {
    const f = new ScriptedFetch().then(fail(new TypeError('boom')));
    const { s, logger } = setup(f);
    s.start();
    await settle();
    assert.equal(s.state.status, 'error');
    assert.deepEqual(s.state.error, { code: 'INTERNAL', message: 'boom' });
    assert.ok(logger.messages('error').some((m) => /boom/.test(m)));
    s.dispose();
  });
});
