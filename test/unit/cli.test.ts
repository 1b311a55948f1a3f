// The llm-lens CLI as a real process: what it prints, how it fails, how it stops.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { RecordingLogger } from '../../src/core/logger';
import { isLoopbackHost, parseCli } from '../../src/cli';
import { RecordStore } from '../../src/store/recordStore';
import { startMockUpstream } from '../support/mockUpstream';
import type { MockUpstream } from '../support/mockUpstream';

const ROOT = path.resolve(__dirname, '../..');

interface Run { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> }

function runCli(args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): Run {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT, env: { ...process.env, LLM_LENS_PORT: '', LLM_LENS_HOST: '', LLM_LENS_DATA_DIR: '', LLM_LENS_UPSTREAMS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** stderr without npm/node noise a developer's environment may add. */
const errLines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '' && !/^npm warn/i.test(l));

describe('cli', function () {
  this.timeout(30_000);
  let dataDir: string;
  let mock: MockUpstream;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'lens-cli-'));
    mock = await startMockUpstream();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
    await mock.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = (args: string[], env?: Record<string, string>, nodeFlags?: string[]): Run => {
    const r = runCli(args, env, nodeFlags);
    children.push(r.child);
    return r;
  };

  it('prints the listening line and the base URLs, forwards, and on SIGTERM drains and flushes', async () => {
    const run = start(['proxy', '--port', '0', '--data-dir', dataDir, '--upstream', `openai=${mock.url}/v1`, '--upstream', `anthropic=${mock.url}`, '--upstream', 'ollama=http://127.0.0.1:11434/v1']);
    await waitFor(() => /ANTHROPIC_BASE_URL=/.test(run.stdout()), 'the start lines');
    const lines = run.stdout().split('\n');
    const m = /^LLM Lens proxy listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(lines[0]);
    assert.ok(m, lines[0]);
    const url = m[1];
    assert.notEqual(m[2], '0');
    assert.equal(lines[1], `OPENAI_BASE_URL=${url}/v1`);
    assert.equal(lines[2], `ANTHROPIC_BASE_URL=${url}/anthropic`);
    assert.equal(lines[3], `OLLAMA_BASE_URL=${url}/ollama`);

    // A slow stream in flight when SIGTERM arrives still completes, and its record is on disk.
    const inFlight = request(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-mock-chunk-delay-ms': '60' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    }).then((r) => r.body.text());
    await mock.waitForRequests(1);
    run.child.kill('SIGTERM');
    assert.match(await inFlight, /data: \[DONE\]/);
    assert.equal(await run.exit, 0);
    const store = await RecordStore.open({ dataDir, logger: new RecordingLogger() });
    try {
      const list = store.list();
      assert.equal(list.length, 1);
      assert.equal(list[0].state, 'ok');
      assert.equal(list[0].streamed, true);
    } finally {
      await store.close();
    }
  });

  it('runs one full GC once traffic has stopped for --idle-gc-s, none before the first request', async () => {
    // --trace-gc prints V8's collections on stdout; a full GC asked for from JavaScript says "testing".
    const run = start(['proxy', '--port', '0', '--data-dir', dataDir, '--upstream', `openai=${mock.url}/v1`, '--idle-gc-s', '1'], {}, ['--trace-gc']);
    await waitFor(() => /ANTHROPIC_BASE_URL=/.test(run.stdout()), 'the start lines');
    const url = /listening on (http:\S+)/.exec(run.stdout())![1];
    const asked = (): number => (run.stdout().match(/Mark-Compact .*testing/g) ?? []).length;
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(asked(), 0, 'no collection before any traffic');
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.body.text();
    await waitFor(() => asked() === 1, 'a full collection after 1 s of quiet', 6000);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(asked(), 1, 'one per quiet spell');
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0);
  });

  it('reads its settings from the environment', async () => {
    const run = start(['proxy'], { LLM_LENS_PORT: '0', LLM_LENS_DATA_DIR: dataDir, LLM_LENS_UPSTREAMS: `openai=${mock.url}/v1,local=${mock.url}` });
    await waitFor(() => /LOCAL_BASE_URL=/.test(run.stdout()), 'the start lines');
    const url = /listening on (\S+)/.exec(run.stdout())![1];
    const res = await request(`${url}/local/v1/models`);
    assert.equal(res.statusCode, 200);
    await res.body.text();
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0);
  });

  it('exits 1 with one line when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = start(['proxy', '--port', String(port), '--data-dir', dataDir]);
      assert.equal(await run.exit, 1);
      assert.deepEqual(errLines(run.stderr()), [`llm-lens: port ${port} on 127.0.0.1 is already in use`]);
      assert.equal(run.stdout(), '');
    } finally {
      blocker.close();
    }
  });

  it('exits 1 with one line for a bad flag or value', async () => {
    for (const args of [['proxy', '--bogus'], ['proxy', '--port', 'abc'], ['proxy', '--upstream', 'noequals'], ['serve']]) {
      const run = start(args);
      assert.equal(await run.exit, 1, args.join(' '));
      const lines = errLines(run.stderr());
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0], /^llm-lens: /);
    }
  });

  it('exits 1 with one line when the data dir cannot be written', async () => {
    const file = path.join(dataDir, 'a-file');
    writeFileSync(file, 'x');
    const run = start(['proxy', '--port', '0', '--data-dir', path.join(file, 'sub')]);
    assert.equal(await run.exit, 1);
    const lines = errLines(run.stderr());
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^llm-lens: data dir .* is not writable/);
  });

  it('prints usage for --help', async () => {
    const run = start(['--help']);
    assert.equal(await run.exit, 0);
    assert.match(run.stdout(), /^Usage: llm-lens proxy/);
  });

  describe('argument parsing', () => {
    it('takes flags over env over defaults', () => {
      const c = parseCli(['proxy', '--port', '9000', '--upstream', 'a=http://flag'], { LLM_LENS_PORT: '1', LLM_LENS_HOST: '127.0.0.2', LLM_LENS_UPSTREAMS: 'a=http://env,b=http://env' });
      assert.deepEqual(c, { kind: 'proxy', port: 9000, host: '127.0.0.2', dataDir: c.kind === 'proxy' ? c.dataDir : '', upstreams: { a: 'http://flag', b: 'http://env' }, logLevel: 'info', apiToken: undefined, youngGcMb: 8, idleGcS: 10 });
      const d = parseCli(['proxy'], {});
      assert.ok(d.kind === 'proxy' && d.port === 8787 && d.host === '127.0.0.1' && d.dataDir.endsWith('.llm-lens'));
      const e = parseCli(['proxy', '--data-dir', '~/x'], {});
      assert.ok(e.kind === 'proxy' && !e.dataDir.includes('~'));
    });

    it('reads the query API token from --api-token or LLM_LENS_API_TOKEN', () => {
      const a = parseCli(['proxy', '--api-token', 'flag-token-123'], { LLM_LENS_API_TOKEN: 'env-token-456' });
      assert.ok(a.kind === 'proxy' && a.apiToken === 'flag-token-123');
      const b = parseCli(['proxy'], { LLM_LENS_API_TOKEN: 'env-token-456' });
      assert.ok(b.kind === 'proxy' && b.apiToken === 'env-token-456');
      const c = parseCli(['proxy'], {});
      assert.ok(c.kind === 'proxy' && c.apiToken === undefined);
    });

    it('reads the GC settings from --young-gc-mb / --idle-gc-s or their variables (0 = off)', () => {
      const cases = [
        { flag: '--young-gc-mb', variable: 'LLM_LENS_YOUNG_GC_MB', key: 'youngGcMb', fromEnv: '2.5', bad: ['-1', 'lots', '', '2000'] },
        { flag: '--idle-gc-s', variable: 'LLM_LENS_IDLE_GC_S', key: 'idleGcS', fromEnv: '30', bad: ['-1', 'soon', '', '100000'] },
      ] as const;
      for (const c of cases) {
        const a = parseCli(['proxy', c.flag, '0'], { [c.variable]: '4' });
        assert.ok(a.kind === 'proxy' && a[c.key] === 0, c.flag);
        const b = parseCli(['proxy'], { [c.variable]: c.fromEnv });
        assert.ok(b.kind === 'proxy' && b[c.key] === Number(c.fromEnv), c.variable);
        for (const bad of c.bad) {
          assert.throws(() => parseCli(['proxy', c.flag, bad], {}), new RegExp(c.flag), `${c.flag} ${bad}`);
        }
      }
    });

    it('rejects bad values with BAD_CONFIG', () => {
      for (const args of [['proxy', '--port', '-1'], ['proxy', '--port', '70000'], ['proxy', '--port', '1.5'], ['proxy', '--log-level', 'loud'], ['proxy', 'extra'], ['proxy', '--host', ''], ['proxy', '--api-token', 'short'], ['proxy', '--api-token', 'has a space in it']]) {
        assert.throws(() => parseCli(args, {}), /./, args.join(' '));
      }
    });

    it('knows loopback hosts', () => {
      for (const h of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3']) assert.ok(isLoopbackHost(h), h);
      for (const h of ['0.0.0.0', '192.168.1.2', '::', 'example.com']) assert.ok(!isLoopbackHost(h), h);
    });
  });
});
