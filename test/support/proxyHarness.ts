// A real LLM Lens runtime (store, price book, cache, query API, proxy) in a temp data dir, in front
// of a mock upstream: what the proxy tests run against. No vscode, no mocha.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingLogger } from '../../src/core/logger';
import type { LogRecord } from '../../src/core/types';
import { startLensRuntime } from '../../src/proxy/runtime';
import type { LensRuntime, LensRuntimeOptions } from '../../src/proxy/runtime';
import { startMockUpstream } from './mockUpstream';
import type { MockUpstream, MockUpstreamOptions } from './mockUpstream';

export interface ProxyHarness {
  mock: MockUpstream;
  runtime: LensRuntime;
  logger: RecordingLogger;
  dataDir: string;
  /** The proxy's base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** Waits until the record is no longer pending and returns it with bodies. */
  record(id: string, timeoutMs?: number): Promise<LogRecord>;
  /** Waits until `n` records are finished (not pending). */
  waitRecords(n: number, timeoutMs?: number): Promise<void>;
  /** Stops the runtime (drain + flush) and starts a new one on the same data dir. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxyHarness(opts: { runtime?: Partial<LensRuntimeOptions>; mock?: MockUpstreamOptions; dataDir?: string } = {}): Promise<ProxyHarness> {
  const mock = await startMockUpstream(opts.mock);
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'lens-proxy-'));
  const logger = new RecordingLogger();
  const start = (): Promise<LensRuntime> => startLensRuntime({
    dataDir, logger, port: 0, upstreams: { openai: `${mock.url}/v1`, anthropic: mock.url }, ...opts.runtime,
  });
  let runtime = await start();
  const h: ProxyHarness = {
    mock, logger, dataDir,
    get runtime() { return runtime; },
    get url() { return runtime.proxy.url; },
    async record(id, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const s = runtime.store.get(id);
        if (s && s.state !== 'pending') {
          const r = await runtime.store.getRecord(id);
          if (r) return r;
        }
        if (Date.now() > until) throw new Error(`record ${id} not finished (state ${s?.state ?? 'absent'})`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async waitRecords(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (runtime.store.list({ limit: 100_000 }).filter((s) => s.state !== 'pending').length < n) {
        if (Date.now() > until) throw new Error(`fewer than ${n} records finished`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async restart() {
      await runtime.close();
      runtime = await start();
    },
    async close() {
      await runtime.close({ drainMs: 0 }).catch(() => undefined);
      await mock.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Every file under dir, with its bytes: for scanning the data dir for leaked secrets. */
export function readAllFiles(dir: string): Array<{ file: string; bytes: Buffer }> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...readAllFiles(p));
    else out.push({ file: p, bytes: readFileSync(p) });
  }
  return out;
}
