// FileSpool on its own: bytes go straight to disk (nothing waits in memory for the thread pool),
// and a disk that stalls moves spools onto a stream so forwarding is never held up by it.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FileSpool, newSpoolDisk } from '../../src/store/spool';

describe('FileSpool', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'lens-spool-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  const pieces = (n: number, size: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.alloc(size, 97 + i));

  it('writes each chunk through to the file at once, and end() reports the file and its length', async () => {
    let gone = 0;
    const file = path.join(dir, 'a.body');
    const spool = new FileSpool(file, () => { gone++; }, newSpoolDisk());
    const chunks = pieces(5, 64 * 1024);
    for (const [i, c] of chunks.entries()) {
      spool.write(c);
      assert.equal(statSync(file).size, (i + 1) * 64 * 1024, 'on disk before the next chunk arrives');
    }
    assert.equal(spool.queuedBytes, 0, 'nothing waits in memory for the proxy to count');
    assert.deepEqual(await spool.end(), { path: file, bytes: 5 * 64 * 1024 });
    assert.deepEqual(readFileSync(file), Buffer.concat(chunks));
    assert.equal(gone, 0, 'a handed-over file is not gone');
  });

  it('moves onto a stream when a write is slow, keeps every byte, and starts the next spool there too', async () => {
    const disk = newSpoolDisk(-1); // every write counts as slow
    const first = path.join(dir, 'slow-1.body');
    const spool = new FileSpool(first, undefined, disk);
    const chunks = pieces(4, 10_000);
    for (const c of chunks) spool.write(c);
    assert.equal(statSync(first).size, 10_000, 'the first chunk was written directly, the rest queued');
    assert.ok(disk.slowUntil > Date.now(), 'the disk is marked slow for a while');
    assert.equal(spool.queuedBytes, 30_000, 'what the stream has not yet written counts as held in memory');
    assert.deepEqual(await spool.end(), { path: first, bytes: 40_000 });
    assert.equal(spool.queuedBytes, 0, 'written out, nothing is held any more');
    assert.deepEqual(readFileSync(first), Buffer.concat(chunks));

    const second = path.join(dir, 'slow-2.body');
    const next = new FileSpool(second, undefined, disk);
    next.write(Buffer.from('queued, not written yet'));
    assert.equal(next.queuedBytes, 23);
    assert.ok(!existsSync(second) || statSync(second).size === 0, 'a spool opened while the disk is slow writes on the thread pool');
    assert.deepEqual(await next.end(), { path: second, bytes: 23 });
    assert.equal(readFileSync(second, 'utf8'), 'queued, not written yet');
  });

  it('reports a file it cannot create as an error, and is gone', async () => {
    let gone = 0;
    const spool = new FileSpool(path.join(dir, 'missing-dir', 'x.body'), () => { gone++; }, newSpoolDisk());
    spool.write(Buffer.from('lost'));
    const r = await spool.end();
    assert.ok('error' in r && /spooling the body to disk failed: .*ENOENT/.test(r.error), JSON.stringify(r));
    assert.equal(gone, 1);
  });

  it('removes its file on discard(), written directly or through a stream', async () => {
    for (const disk of [newSpoolDisk(), newSpoolDisk(-1)]) {
      let gone = 0;
      const file = path.join(dir, `discard-${disk.slowWriteMs}.body`);
      const spool = new FileSpool(file, () => { gone++; }, disk);
      spool.write(Buffer.alloc(1000));
      spool.write(Buffer.alloc(1000));
      spool.discard();
      spool.write(Buffer.alloc(1000));
      assert.equal(gone, 1);
      for (let i = 0; i < 100 && existsSync(file); i++) await new Promise((ok) => setTimeout(ok, 10));
      assert.ok(!existsSync(file), `${file} removed`);
    }
  });
});
