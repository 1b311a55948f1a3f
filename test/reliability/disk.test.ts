// The data dir stops taking writes while traffic flows through the real CLI process:
//
//  - "disk full": the proxy process's file-size limit (RLIMIT_FSIZE, set from outside with
//    `prlimit --pid`) is lowered below every store file's size, so each append fails in the kernel
//    with EFBIG, as a full disk fails with ENOSPC: a real write error at the syscall, on the real
//    process, mid-traffic. (A full filesystem would need a mount; this needs no privileges beyond
//    owning the process.)
//  - "read-only data dir": the proxy runs as an unprivileged user (root ignores file modes), its
//    records folder and files are made read-only (chmod), and one EFBIG makes the store reopen its
//    files, which now fails with EACCES: files already open stay writable on Linux, so a
//    permission change only bites when the store opens a file, and this forces that moment.
//
// Either way: every request is still forwarded and answered, the failure is reported once (one
// line per layer, not one per request), and recording resumes by itself when writes work again,
// including the records that waited in memory meanwhile (nothing lost for a short outage).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as http from 'node:http';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startMockUpstream } from '../support/mockUpstream';
import type { MockUpstream } from '../support/mockUpstream';
import { chatBody, queryAllRows, rawRequest, recordFigure, replyText } from './support/http';
import { buildCli, killAll, sleep, startCli } from './support/proc';
import type { CliProcess } from './support/proc';

const NOBODY = 65534;

function hasPrlimit(): boolean {
  try { execFileSync('prlimit', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

function setFileSizeLimit(pid: number, bytes: number | 'unlimited', asUser: number | null = null): void {
  // Soft limit only: lowering the hard limit could not be undone without CAP_SYS_RESOURCE. Another
  // user's process needs that capability too, so prlimit runs as the proxy's own user then.
  const args = ['--pid', String(pid), `--fsize=${bytes}:`];
  if (asUser === null) execFileSync('prlimit', args);
  else execFileSync('setpriv', [`--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', 'prlimit', ...args]);
}

/** Steady traffic: `workers` clients in a loop, each request tagged; collects every answer. */
function traffic(url: string, workers: number): { stop(): Promise<void>; answered: Map<string, string>; failures: string[]; sent(): number; phase: { name: string } } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers });
  const answered = new Map<string, string>();
  const failures: string[] = [];
  const phase = { name: 'before' };
  let stopping = false;
  let n = 0;
  const loop = async (w: number): Promise<void> => {
    while (!stopping) {
      const marker = `${phase.name}-w${w}-${n++}`;
      const res = await rawRequest(`${url}/v1/chat/completions`, { agent, body: chatBody(marker, false), headers: { 'x-mock-reply': `reply ${marker}`, 'Helicone-Property-Phase': phase.name } });
      if (res.status === 200 && replyText(res.body) === `reply ${marker}`) answered.set(res.headers['helicone-id'] as string, phase.name);
      else failures.push(`${marker}: ${res.status} ${res.error ?? res.body.toString().slice(0, 200)}`);
      await sleep(5);
    }
  };
  const loops = Array.from({ length: workers }, (_, w) => loop(w));
  return {
    answered, failures, phase, sent: () => n,
    stop: async () => { stopping = true; await Promise.all(loops); agent.destroy(); },
  };
}

describe('reliability: disk full and read-only data dir during traffic (real CLI process)', function () {
  this.timeout(120_000);
  let mock: MockUpstream;
  const dirs: string[] = [];

  before(async function () {
    if (process.platform !== 'linux' || !hasPrlimit()) {
      console.log('      (skipped: needs Linux and prlimit from util-linux to limit the proxy process\'s file size)');
      this.skip();
    }
    await buildCli();
    mock = await startMockUpstream();
  });
  after(async () => {
    await killAll();
    await mock?.close();
    for (const d of dirs) { try { chmodSync(path.join(d, 'records'), 0o755); } catch { /* gone */ } rmSync(d, { recursive: true, force: true }); }
  });

  /** Lines of the CLI's stderr at ERROR or WARN level. */
  const problems = (cli: CliProcess): string[] => cli.stderr().split('\n').filter((l) => / (ERROR|WARN) /.test(l));

  async function runOutage(kind: 'disk-full' | 'read-only', cli: CliProcess, dataDir: string, outageMs: number, asUser: number | null = null): Promise<void> {
    const t = traffic(cli.url, 12);
    try {
      await sleep(1000);
      const beforeCount = t.answered.size;
      assert.ok(beforeCount > 20, `only ${beforeCount} answers before the outage`);
      assert.deepEqual(problems(cli), []);

      t.phase.name = 'outage';
      const recordsDir = path.join(dataDir, 'records');
      if (kind === 'read-only') {
        for (const f of readdirSync(recordsDir)) chmodSync(path.join(recordsDir, f), 0o444);
        chmodSync(recordsDir, 0o555);
      }
      setFileSizeLimit(cli.pid, 1, asUser);
      if (kind === 'read-only') {
        // One failed append makes the store drop its handles; from then on only the modes stop it.
        await waitFor(() => problems(cli).length > 0, 10_000, 'the store to report the failure');
        setFileSizeLimit(cli.pid, 'unlimited', asUser);
      }
      await sleep(outageMs);
      const outageAnswers = [...t.answered.values()].filter((p) => p === 'outage').length;
      assert.ok(outageAnswers > 20, `forwarding stalled during the outage: ${outageAnswers} answers`);
      assert.deepEqual(t.failures, [], 'every request is still answered while the disk fails');
      const during = problems(cli);
      assert.ok(!/writing request logs again/.test(cli.stderr()), 'the store wrote again before the fault was lifted: the simulation did not hold');
      // With the size limit lifted, only the file modes can be what still stops it (debug line: "still cannot write (EACCES ...").
      if (kind === 'read-only') assert.match(cli.stderr(), /still cannot write \(EACCES/);

      t.phase.name = 'after';
      if (kind === 'read-only') {
        chmodSync(recordsDir, 0o755);
        for (const f of readdirSync(recordsDir)) chmodSync(path.join(recordsDir, f), 0o644);
      } else {
        setFileSizeLimit(cli.pid, 'unlimited', asUser);
      }
      await waitFor(() => /writing request logs again/.test(cli.stderr()), 40_000, 'the store to say it writes again');
      await sleep(1000);
      await t.stop();
      assert.deepEqual(t.failures, []);

      // Reported once per layer: the store's own line, plus at most the proxy's one line.
      const storeLines = during.filter((l) => /cannot write request logs/.test(l));
      const otherLines = during.filter((l) => !/cannot write request logs/.test(l));
      assert.equal(storeLines.length, 1, `the store reported the failure ${storeLines.length} times:\n${during.join('\n')}`);
      assert.ok(otherLines.length <= 1, `more failure lines than one per layer:\n${during.join('\n')}`);
      assert.match(storeLines[0], kind === 'disk-full' ? /EFBIG/ : /EFBIG|EACCES/);
      assert.equal(problems(cli).length, during.length, 'no further error after writing resumed');

      // A clean stop, then every answered request is on disk, outage included.
      cli.child.kill('SIGTERM');
      assert.equal((await cli.exit).code, 0);
      const again = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
      const stored = new Set((await queryAllRows(again.url)).map((r) => r.request_id));
      const byPhase = (p: string): string[] => [...t.answered].filter(([, ph]) => ph === p).map(([id]) => id);
      const lost = [...t.answered.keys()].filter((id) => !stored.has(id));
      recordFigure(`disk.${kind}`, {
        answered: t.answered.size, before: byPhase('before').length, outage: byPhase('outage').length, after: byPhase('after').length,
        failedRequests: t.failures.length, lost: lost.length, reportLines: during,
      });
      assert.deepEqual(lost, [], `${lost.length} answered requests not recorded (outage: ${byPhase('outage').filter((id) => !stored.has(id)).length})`);
      await again.kill('SIGTERM');
    } finally {
      await t.stop();
    }
  }

  async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
    const until = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  it('disk full (EFBIG on every append): forwarding goes on, one report, recording resumes with nothing lost', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'lens-disk-'));
    dirs.push(dataDir);
    const cli = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` } });
    await runOutage('disk-full', cli, dataDir, 3000);
  });

  it('read-only data dir (unprivileged proxy, chmod): forwarding goes on, one report, recording resumes with nothing lost', async function () {
    if (process.getuid?.() !== 0) {
      // Not root: we cannot start the proxy as another user, and the suite's own user is the owner.
      console.log('      (skipped: needs root to run the proxy as an unprivileged user)');
      return this.skip();
    }
    const dataDir = mkdtempSync(path.join(tmpdir(), 'lens-ro-'));
    dirs.push(dataDir);
    chmodSync(dataDir, 0o755);
    chownSync(dataDir, NOBODY, NOBODY);
    const cli = await startCli({ dataDir, upstreams: { openai: `${mock.url}/v1` }, logLevel: 'debug', spawn: { uid: NOBODY, gid: NOBODY }, env: { HOME: dataDir } });
    assert.ok(existsSync(path.join(dataDir, 'records')));
    await runOutage('read-only', cli, dataDir, 3000, NOBODY);
  });
});
