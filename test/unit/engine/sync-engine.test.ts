import { describe, expect, it } from 'vitest';
import { listInbox } from '../../../src/store/inbox';
import { readToken } from '../../../src/store/token';
import { reopen, tempStore } from '../store/temp-store';
import type { SyncTransport } from '../../../src/engine/matrix-client';
import type { ToDeviceEvent } from '../../../src/shared/wire';
import { makeEngine } from './engine-fixture';
import { startFixture } from './homeserver-fixture';

const numbers = (store: Parameters<typeof listInbox>[0]) => listInbox(store).map((row) => row.content.n);

describe('sync engine against the reference homeserver', () => {
  it('notifier: drains a backlog across several batches in order and acknowledges it (F15)', async () => {
    const fx = await startFixture();
    await fx.send(0, 25);
    const store = tempStore();
    const { engine } = makeEngine(store, fx.receiver.client, { processName: 'notifier', limit: 10 });
    const summary = await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(summary).toMatchObject({ kind: 'caught-up', batches: 3, events: 25 });
    expect(numbers(store)).toEqual(Array.from({ length: 25 }, (_, n) => n));
    // The last batch is durable but not yet acknowledged: the next sync sends its token and deletes it.
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    const inspection = await fx.admin.inspectDevice(fx.receiver.userId, fx.receiver.deviceId);
    expect(inspection.queued).toHaveLength(0);
    expect(numbers(store)).toHaveLength(25);
  });

  it('sync: a lost response is retried with the same since and nothing is lost (F5)', async () => {
    const fx = await startFixture();
    await fx.send(0, 3);
    await fx.admin.addFault(fx.receiver.userId, fx.receiver.deviceId, { kind: 'drop-response', count: 1 });
    const store = tempStore();
    const { engine, events } = makeEngine(store, fx.receiver.client, { processName: 'notifier' });
    const summary = await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(summary.kind).toBe('caught-up');
    expect(events.some((event) => event.kind === 'error')).toBe(true);
    expect(numbers(store)).toEqual([0, 1, 2]);
  });

  it('sync: M_UNKNOWN_POS opens a new connection and keeps since (F12)', async () => {
    const fx = await startFixture();
    const store = tempStore();
    const { engine, events } = makeEngine(store, fx.receiver.client, { processName: 'main', strategy: 'explicit-cas' });
    await fx.send(0, 2);
    await engine.syncUntilCaughtUp({ leaseWaitMs: 0 });
    const sinceBefore = readToken(store).since;
    await fx.admin.addFault(fx.receiver.userId, fx.receiver.deviceId, { kind: 'expire-pos' });
    await fx.send(2, 2);
    expect((await engine.syncUntilCaughtUp({ leaseWaitMs: 0 })).kind).toBe('caught-up');
    expect(events.some((event) => event.kind === 'unknown-pos')).toBe(true);
    const retried = events.filter((event) => event.kind === 'request').at(-1);
    expect(retried?.detail.pos).toBeNull();
    expect(sinceBefore).not.toBeNull();
    expect(numbers(store)).toEqual([0, 1, 2, 3]);
  });

  it('sync: 429 and 500 are retried with backoff and the same since', async () => {
    const fx = await startFixture();
    await fx.send(0, 1);
    await fx.admin.addFault(fx.receiver.userId, fx.receiver.deviceId, { kind: 'error', count: 1, status: 429, retry_after_ms: 20 });
    await fx.admin.addFault(fx.receiver.userId, fx.receiver.deviceId, { kind: 'error', count: 1, status: 500 });
    const store = tempStore();
    const { engine, events } = makeEngine(store, fx.receiver.client, { processName: 'notifier' });
    expect((await engine.syncUntilCaughtUp({ leaseWaitMs: 0 })).kind).toBe('caught-up');
    const errors = events.filter((event) => event.kind === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]?.detail.delayMs).toBeGreaterThanOrEqual(20);
    const sinces = events.filter((event) => event.kind === 'request').map((event) => event.detail.since);
    expect(sinces.slice(0, 3)).toEqual([null, null, null]);
    expect(numbers(store)).toEqual([0]);
  });

  it('cas: two processes on one store never commit a batch twice; the loser is stale', async () => {
    const fx = await startFixture();
    await fx.send(0, 4);
    const storeA = tempStore();
    const storeB = reopen(storeA);
    const a = makeEngine(storeA, fx.receiver.client, { processName: 'main', strategy: 'explicit-cas' }).engine;
    const b = makeEngine(storeB, fx.receiver.client, { processName: 'notifier', strategy: 'explicit-cas', pid: 2 }).engine;
    expect((await a.step()).kind).toBe('received');
    expect((await b.step()).kind).toBe('received');
    expect((await b.step()).kind).toBe('committed');
    expect((await a.step()).kind).toBe('stale');
    expect(numbers(storeA)).toEqual([0, 1, 2, 3]);
  });

  it('transform: the explicit commit appends the transformed rows, and the stale loser never transforms its batch', async () => {
    const fx = await startFixture();
    await fx.send(0, 2);
    const storeA = tempStore();
    const storeB = reopen(storeA);
    const calls: string[] = [];
    const transformEvents = (name: string) => (events: readonly ToDeviceEvent[], nowMs: number) => {
      calls.push(name);
      expect(nowMs).toBeGreaterThan(0);
      return events.map((event) => ({ ...event, type: 'm.transformed', decryptionError: 'bad-mac' as const }));
    };
    const a = makeEngine(storeA, fx.receiver.client, { processName: 'main', strategy: 'explicit-cas', transformEvents: transformEvents('main') }).engine;
    const b = makeEngine(storeB, fx.receiver.client, { processName: 'notifier', strategy: 'explicit-cas', pid: 2, transformEvents: transformEvents('notifier') }).engine;
    await a.step();
    await b.step();
    expect((await b.step()).kind).toBe('committed');
    expect((await a.step()).kind).toBe('stale');
    expect(calls).toEqual(['notifier']);
    expect(listInbox(storeA).map((row) => [row.type, row.decryptionError, row.content.n])).toEqual([
      ['m.transformed', 'bad-mac', 0],
      ['m.transformed', 'bad-mac', 1],
    ]);
  });

  it('transform: the naive strategy transforms before its uncoordinated writes', async () => {
    const fx = await startFixture();
    await fx.send(0, 1);
    const store = tempStore();
    const transformEvents = (events: readonly ToDeviceEvent[]) => events.map((event) => ({ ...event, type: 'm.transformed' }));
    const { engine } = makeEngine(store, fx.receiver.client, { processName: 'main', strategy: 'explicit-naive', transformEvents });
    await engine.step();
    expect((await engine.step()).kind).toBe('committed');
    expect(listInbox(store).map((row) => row.type)).toEqual(['m.transformed']);
  });

  it('naive: two processes that both commit the same batch duplicate it (F4)', async () => {
    const fx = await startFixture();
    await fx.send(0, 2);
    const storeA = tempStore();
    const storeB = reopen(storeA);
    const a = makeEngine(storeA, fx.receiver.client, { processName: 'main', strategy: 'explicit-naive' }).engine;
    const b = makeEngine(storeB, fx.receiver.client, { processName: 'notifier', strategy: 'explicit-naive', pid: 2 }).engine;
    await a.step();
    await b.step();
    await b.step();
    expect((await a.step()).kind).toBe('committed');
    expect(numbers(storeA)).toEqual([0, 1, 0, 1]);
  });

  it('legacy: each process syncs with its own token and what the notifier got is tagged as its own (F1)', async () => {
    const fx = await startFixture();
    const store = tempStore();
    const main = makeEngine(store, fx.receiver.client, { processName: 'main', strategy: 'legacy' }).engine;
    const notifier = makeEngine(reopen(store), fx.receiver.client, { processName: 'notifier', strategy: 'legacy', pid: 2 }).engine;
    await main.syncUntilCaughtUp({ leaseWaitMs: 0 });
    await fx.send(0, 2);
    await notifier.syncUntilCaughtUp({ leaseWaitMs: 0 });
    await notifier.syncUntilCaughtUp({ leaseWaitMs: 0 });
    await main.syncUntilCaughtUp({ leaseWaitMs: 0 });
    const rows = listInbox(store);
    expect(rows.map((row) => [row.content.n, row.fetchedByProcess])).toEqual([
      [0, 'notifier'],
      [1, 'notifier'],
    ]);
  });
});

describe('sync engine housekeeping', () => {
  it('wal: the engine checkpoints every 4 commits, only while a request is in flight', async () => {
    const store = tempStore();
    let inFlight = false;
    let served = 0;
    // A transport that delivers 9 full batches of 10, then a short one, and says when each request is written out.
    const transport: SyncTransport = {
      async slidingSyncToDevice(request) {
        inFlight = true;
        request.onRequestWritten?.();
        await new Promise((resolve) => setImmediate(resolve));
        inFlight = false;
        served += 1;
        const count = served <= 9 ? 10 : 3;
        const events = Array.from({ length: count }, (_, n) => ({ type: 'm.test', sender: '@a:hs', content: { n: served * 100 + n } }));
        return { ok: true, value: { pos: `p${served}`, nextBatch: `b${served}`, events, malformedEvents: 0 } };
      },
      classicSync: () => Promise.reject(new Error('not used')),
    };
    const checkpoints: boolean[] = [];
    const pragma = store.db.pragma.bind(store.db);
    store.db.pragma = ((source: string, options?: { simple?: boolean }) => {
      if (source.startsWith('wal_checkpoint')) checkpoints.push(inFlight);
      return pragma(source, options);
    }) as typeof store.db.pragma;
    const { engine } = makeEngine(store, transport, { processName: 'notifier', limit: 10 });
    const summary = await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(summary).toMatchObject({ kind: 'caught-up', batches: 10, events: 93 });
    // Requests 5 and 9 follow commits 4 and 8.
    expect(checkpoints).toEqual([true, true]);
    expect(listInbox(store, { limit: 1000 })).toHaveLength(93);
  });
});
