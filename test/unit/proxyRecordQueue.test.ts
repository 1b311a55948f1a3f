import * as assert from 'node:assert/strict';
import { RecordQueue } from '../../src/proxy/recordQueue';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('proxy record queue', () => {
  it('builds one record per event-loop turn when there is no backlog', async () => {
    const q = new RecordQueue(1000);
    const ran: number[] = [];
    for (let i = 0; i < 3; i++) void q.enqueue(async () => { ran.push(i); });
    assert.deepEqual(ran, [], 'nothing runs in the turn that finished the exchange');
    await turn();
    assert.deepEqual(ran, [0]);
    await turn();
    assert.deepEqual(ran, [0, 1]);
    await q.idle();
    assert.deepEqual(ran, [0, 1, 2]);
  });

  it('admits new exchanges at once under the budget, and holds them while the backlog is over it', async () => {
    const q = new RecordQueue(100);
    let admitted = 0;
    q.admit(() => admitted++);
    assert.equal(admitted, 1);
    const store = [deferred(), deferred()];
    void q.enqueue(() => store[0].promise, 80);
    void q.enqueue(() => store[1].promise, 80);
    assert.equal(q.backlogBytes, 160);
    q.admit(() => admitted++);
    q.admit(() => admitted++);
    await turn(); await turn();
    assert.equal(admitted, 1, 'held while 160 bytes wait for the store');
    store[0].resolve();
    await turn();
    assert.equal(q.backlogBytes, 80);
    assert.equal(admitted, 3, 'released in order once back under the budget');
    store[1].resolve();
    await q.idle();
    assert.equal(q.backlogBytes, 0);
  });

  it('starts every waiting job in one turn while over the budget, as long as the store has room', async () => {
    const q = new RecordQueue(1000);
    const started: number[] = [];
    const gates = Array.from({ length: 12 }, () => deferred());
    gates.forEach((g, i) => { void q.enqueue(() => { started.push(i); return g.promise; }, 100); });
    await turn();
    assert.deepEqual(started, [0, 1, 2, 3, 4], '1,200 bytes wait: five start at once, filling the store share of 500');
    for (const g of gates) g.resolve();
    await q.idle();
    assert.equal(started.length, 12);
  });

  it('builds records only as fast as the store absorbs them (half the budget in flight to it)', async () => {
    const q = new RecordQueue(100);
    const started: number[] = [];
    const gates = Array.from({ length: 4 }, () => deferred());
    gates.forEach((g, i) => { void q.enqueue(() => { started.push(i); return g.promise; }, 30); });
    await turn(); await turn(); await turn();
    assert.deepEqual(started, [0], '30 + 30 would pass the store share of 50');
    gates[0].resolve();
    await turn(); await turn();
    assert.deepEqual(started, [0, 1]);
    gates[1].resolve();
    await turn(); await turn();
    assert.deepEqual(started, [0, 1, 2]);
    gates[2].resolve(); gates[3].resolve();
    await q.idle();
    assert.deepEqual(started, [0, 1, 2, 3]);
  });

  it('always lets one record through, however big', async () => {
    const q = new RecordQueue(10);
    let ran = false;
    await q.enqueue(async () => { ran = true; }, 1000);
    assert.ok(ran);
  });

  it('keeps going when a job throws or rejects', async () => {
    const q = new RecordQueue(10);
    const done: string[] = [];
    void q.enqueue(() => { throw new Error('sync'); }, 5);
    void q.enqueue(() => Promise.reject(new Error('async')), 5);
    void q.enqueue(async () => { done.push('ok'); }, 5);
    await q.idle();
    assert.deepEqual(done, ['ok']);
    assert.equal(q.backlogBytes, 0);
    assert.equal(q.size, 0);
  });
});
