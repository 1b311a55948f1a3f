// Store benchmark: writes N records (default 100,000) through complete(), then measures what the
// UI waits for: opening the store (cold: a fresh process would do the same), the first page of
// the tree, deep pagination, filtered counts, sessions, and a lazy body read.
// Run: npx tsx test/perf/storeOpen.ts [count]     Prints a JSON summary on its last line.
// (node --expose-gc --import tsx test/perf/storeOpen.ts also reports the heap the index takes.)
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { nullLogger } from '../../src/core/logger';
import { RecordStore } from '../../src/store/recordStore';
import { makeRecord } from '../support/records';

const N = Number(process.argv[2] ?? 100_000);

const requestHeaders: Record<string, string> = {
  Host: '127.0.0.1:8787', Accept: 'application/json', 'Content-Type': 'application/json', 'User-Agent': 'OpenAI/Python 1.51.0',
  'X-Stainless-Lang': 'python', 'X-Stainless-Package-Version': '1.51.0', 'X-Stainless-OS': 'Linux', 'X-Stainless-Arch': 'x64',
  'X-Stainless-Runtime': 'CPython', 'X-Stainless-Runtime-Version': '3.11.7', Authorization: 'Bearer sk-proj-benchmarkbenchmarkbenchmark',
  'Helicone-Session-Id': 'x', 'Helicone-Property-Env': 'dev',
};
const responseHeaders: Record<string, string> = {
  date: 'Tue, 01 Jan 2025 12:00:00 GMT', 'content-type': 'application/json', 'openai-organization': 'user-abc123',
  'openai-processing-ms': '312', 'x-ratelimit-limit-requests': '10000', 'x-ratelimit-remaining-tokens': '199980',
  'x-request-id': 'req_0123456789abcdef0123456789abcdef', 'cf-ray': '8f0123456789abcd-AMS', server: 'cloudflare',
};

/** Best of five: on a shared machine the slow runs measure the neighbours, not the code. */
function time<T>(fn: () => T): [T, number] {
  let best = Infinity;
  let v!: T;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    v = fn();
    best = Math.min(best, performance.now() - t0);
  }
  return [v, best];
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lens-store-bench-'));
  try {
    const start = Date.now() - N * 1000 - 60_000;
    const writer = await RecordStore.open({ dataDir, logger: nullLogger });
    const tw0 = performance.now();
    const BATCH = 2000;
    for (let i = 0; i < N; i += BATCH) {
      const acks: Array<Promise<boolean>> = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++) {
        acks.push(writer.complete(makeRecord({
          startedAt: start + j * 1000,
          requestHeaders,
          responseHeaders,
          properties: { env: j % 2 ? 'dev' : 'prod', feature: `f${j % 20}` },
          session: j % 4 === 0 ? null : { id: `session-${j % 2000}`, path: '/agent/step', name: `Session ${j % 2000}` },
          requestModel: j % 3 ? 'gpt-4o-mini' : 'claude-3-5-haiku',
          state: j % 50 === 0 ? 'error' : 'ok',
        })));
      }
      const ok = await Promise.all(acks);
      if (ok.includes(false)) throw new Error('a write was not acknowledged');
    }
    await writer.close();
    const writeMs = performance.now() - tw0;
    const bytes = dirBytes(writer.directory);
    const indexBytes = statSync(path.join(writer.directory, 'index.jsonl')).size;

    // Opened three times; the best run is reported (a shared machine adds noise, never speed).
    // CPU time is reported beside wall time because on a loaded machine they differ a lot.
    let openMs = Infinity;
    let openCpuMs = Infinity;
    for (let i = 0; i < 2; i++) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      const s = await RecordStore.open({ dataDir, logger: nullLogger });
      const c = process.cpuUsage(c0);
      openMs = Math.min(openMs, performance.now() - t);
      openCpuMs = Math.min(openCpuMs, (c.user + c.system) / 1000);
      await s.close();
    }
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const store = await RecordStore.open({ dataDir, logger: nullLogger });
    const c = process.cpuUsage(c0);
    openMs = Math.min(openMs, performance.now() - t0);
    openCpuMs = Math.min(openCpuMs, (c.user + c.system) / 1000);
    global.gc?.();
    const heapMb = (process.memoryUsage().heapUsed - heap0) / 1024 / 1024;
    if (store.count() !== N) throw new Error(`expected ${N} records, found ${store.count()}`);

    const [, firstPageMs] = time(() => store.list({ limit: 100 }));
    const [, deepPageMs] = time(() => store.list({ offset: Math.floor(N / 2), limit: 100 }));
    const [sessions, sessionsMs] = time(() => store.sessions());
    const [, sessionPageMs] = time(() => store.list({ sessionId: sessions[0].id, limit: 100 }));
    const [, filteredPageMs] = time(() => store.list({ model: 'claude-3-5-haiku', status: 'error', limit: 100 }));
    const [, filteredCountMs] = time(() => store.count({ properties: { env: 'dev' } }));
    const [, textCountMs] = time(() => store.count({ text: 'f17' }));
    const tb = performance.now();
    const rec = await store.getRecord(store.list({ offset: 12345 % N, limit: 1 })[0].id);
    const bodyReadMs = performance.now() - tb;
    if (!rec || rec.bodies.response.kind !== 'json') throw new Error('body read failed');
    await store.close();

    const result = {
      records: N,
      writeMs: Math.round(writeMs),
      writeRecordsPerSec: Math.round(N / (writeMs / 1000)),
      diskMb: +(bytes / 1024 / 1024).toFixed(1),
      indexMb: +(indexBytes / 1024 / 1024).toFixed(1),
      openMs: Math.round(openMs),
      openCpuMs: Math.round(openCpuMs),
      heapMb: global.gc ? +heapMb.toFixed(0) : null,
      firstPageMs: +firstPageMs.toFixed(3),
      deepPageMs: +deepPageMs.toFixed(3),
      sessions: sessions.length,
      sessionsMs: +sessionsMs.toFixed(3),
      sessionPageMs: +sessionPageMs.toFixed(3),
      filteredPageMs: +filteredPageMs.toFixed(3),
      filteredCountMs: +filteredCountMs.toFixed(3),
      textCountMs: +textCountMs.toFixed(3),
      bodyReadMs: +bodyReadMs.toFixed(3),
    };
    for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(20)} ${v}`);
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
