import { describe, expect, it } from 'vitest';
import { listInbox } from '../../../src/store/inbox';
import { listProcessEvents } from '../../../src/store/event-log';
import { overwriteToken, readToken } from '../../../src/store/token';
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
  it('event log: a drain writes its routine events in batch commits, keeps those of a refused commit, and loses none', async () => {
    const store = tempStore();
    let served = 0;
    // 40 full batches of 2, then a short one; another process moves the token while request 22 is in flight.
    const transport: SyncTransport = {
      async slidingSyncToDevice() {
        served += 1;
        if (served === 22) overwriteToken(store, { nextBatch: 'elsewhere', nowMs: 1, process: 'other' });
        const count = served <= 40 ? 2 : 1;
        const events = Array.from({ length: count }, (_, n) => ({ type: 'm.test', sender: '@a:hs', content: { n: served * 10 + n } }));
        return { ok: true, value: { pos: `p${served}`, nextBatch: `b${served}`, events, malformedEvents: 0 } };
      },
      classicSync: () => Promise.reject(new Error('not used')),
    };
    // Kinds of the rows each transaction that wrote the event log but no batch wrote.
    const logOnly: string[][] = [];
    const immediate = store.immediate.bind(store);
    const inboxRows = () => store.db.prepare('SELECT count(*) FROM inbox').pluck().get() as number;
    const lastLogId = () => store.db.prepare('SELECT coalesce(max(id), 0) FROM event_log').pluck().get() as number;
    store.immediate = (<T>(work: () => T): T => {
      if (store.db.inTransaction) return immediate(work);
      const [inboxBefore, logBefore] = [inboxRows(), lastLogId()];
      const result = immediate(work);
      if (lastLogId() > logBefore && inboxRows() === inboxBefore) {
        logOnly.push(store.db.prepare('SELECT kind FROM event_log WHERE id > ? ORDER BY id').pluck().all(logBefore) as string[]);
      }
      return result;
    }) as typeof store.immediate;
    const { engine, events } = makeEngine(store, transport, { processName: 'notifier', limit: 2 });
    const summary = await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(summary).toMatchObject({ kind: 'caught-up', stale: 1 });
    const logged = listProcessEvents(store, { limit: 10_000 });
    expect(logged.map((event) => event.kind)).toEqual(events.map((event) => event.kind));
    expect(logged.filter((event) => event.kind === 'request')).toHaveLength(served);
    // A transaction of the log's own is written for an event that is not routine (lease changes, the stale
    // commit, the end of the drain), never because routine events piled up.
    const routine = new Set(['request', 'response', 'commit', 'unchanged']);
    expect(logOnly.filter((kinds) => kinds.every((kind) => routine.has(kind)))).toEqual([]);
    expect(logOnly.length).toBeLessThan(served / 4);
  });

  it('wal: the engine checkpoints every 16 commits, only while a request is in flight', async () => {
    const store = tempStore();
    let inFlight = false;
    let served = 0;
    // A transport that delivers 32 full batches of 10, then a short one, and says when each request is written out.
    const transport: SyncTransport = {
      async slidingSyncToDevice(request) {
        inFlight = true;
        request.onRequestWritten?.();
        await new Promise((resolve) => setImmediate(resolve));
        inFlight = false;
        served += 1;
        const count = served <= 32 ? 10 : 3;
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
    expect(summary).toMatchObject({ kind: 'caught-up', batches: 33, events: 323 });
    // Requests 17 and 33 follow commits 16 and 32.
    expect(checkpoints).toEqual([true, true]);
    expect(listInbox(store, { limit: 1000 })).toHaveLength(323);
  });
});
