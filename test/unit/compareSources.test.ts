// The local source: untagged traffic is development, pending requests are left out, and the
// incremental cache fed by the store's change events always agrees with a fresh read of the store.
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalRowCache, environmentFilter, localSourceRows, mergeSourceRows } from '../../src/compare/sources';
import { propertyEquals } from '../../src/query/filter';
import type { SourceEnvironmentRows } from '../../src/compare/sources';
import { RecordingLogger } from '../../src/core/logger';
import { RecordStore } from '../../src/store/recordStore';
import { makeRecord } from '../support/records';

const MIN = 60_000;
const DAY = 86_400_000;
const OPTS = { environmentProperty: 'Environment', devEnvironment: 'development' };

function flat(m: Map<string, SourceEnvironmentRows>): Record<string, string[]> {
  return Object.fromEntries([...m].map(([env, r]) => [env, [...r.rows.keys()].sort()]).sort(([a], [b]) => String(a).localeCompare(String(b))));
}

describe('compare: local source', function () {
  this.timeout(20_000);
  let dir: string;
  let store: RecordStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lens-compare-local-'));
    store = await RecordStore.open({ dataDir: dir, logger: new RecordingLogger(), retentionDays: 0 });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('groups records by the environment property (any case), untagged as development, without pending ones', async () => {
    const now = Date.now();
    const a = makeRecord({ startedAt: now - MIN });
    const b = makeRecord({ startedAt: now - 2 * MIN, properties: { environment: 'production' } });
    const c = makeRecord({ startedAt: now - 3 * MIN, properties: { Environment: 'staging' } });
    const old = makeRecord({ startedAt: now - 31 * DAY });
    for (const r of [a, b, c, old]) await store.complete(r);
    const { bodies: _b, ...pending } = makeRecord({ startedAt: now, state: 'pending', endedAt: null, latencyMs: null, status: null });
    store.begin(pending);
    const rows = localSourceRows(store, { ...OPTS, since: now - 30 * DAY, until: now + 1 });
    assert.deepEqual(flat(rows), { development: [a.id], production: [b.id], staging: [c.id] });
  });

  it('keeps its cache equal to a fresh read through upserts, deletes, clears and a moving horizon', async () => {
    const cache = new LocalRowCache(store);
    const sub = store.onDidChange((e) => cache.apply(e));
    let now = Date.now();
    const envs = [undefined, 'production', 'staging', 'development'];
    const ids: string[] = [];
    // A deterministic pseudo-random walk (LCG) over the store operations.
    let seed = 7;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const check = (step: string): void => {
      const opts = { ...OPTS, since: now - 30 * DAY, until: now + 1 };
      assert.deepEqual(flat(cache.rowsByEnvironment(opts)), flat(localSourceRows(store, opts)), step);
    };
    check('empty');
    for (let i = 0; i < 120; i++) {
      const op = rnd(10);
      if (op < 6) {
        const env = envs[rnd(envs.length)];
        const r = makeRecord({ startedAt: now - rnd(31) * DAY - rnd(1000) * 1000, properties: env ? { Environment: env } : {} });
        ids.push(r.id);
        await store.complete(r);
      } else if (op < 8 && ids.length) {
        await store.delete([ids.splice(rnd(ids.length), 1)[0]]);
      } else if (op === 8) {
        now += rnd(3) * DAY; // the horizon moves on: old rows drop out
      } else if (i % 40 === 0) {
        await store.clear();
        ids.length = 0;
      }
      if (i % 7 === 0) check(`after step ${i}`);
    }
    check('at the end');
    sub.dispose();
  });

  it('asks remote sources with the same filter leaf as the query module builds', () => {
    assert.deepEqual(environmentFilter('Environment', 'production'), propertyEquals('Environment', 'production'));
  });

  it('merges sources without counting a request twice, and reports the narrowest coverage', () => {
    const row = { createdAt: 1, ok: true, latencyMs: 1, ttftMs: 1, costUsd: 1, promptTokens: 1, completionTokens: 1, totalTokens: 2, cacheHit: false, model: null, properties: {} };
    const m = mergeSourceRows([
      { rows: new Map([['a', row], ['b', row]]), capped: false, coveredSince: 100 },
      undefined,
      { rows: new Map([['b', { ...row, costUsd: 9 }], ['c', row]]), capped: true, coveredSince: 500 },
    ]);
    assert.equal(m.rows.length, 3);
    assert.equal(m.rows.filter((r) => r.costUsd === 9).length, 0, 'the first source wins');
    assert.equal(m.capped, true);
    assert.equal(m.coveredSince, 500);
  });
});
