import { afterEach, describe, expect, it } from 'vitest';
import { watchStoreChanges, type StoreChanges } from '../../../src/engine/store-changes';
import type { ClientStore } from '../../../src/store/open-store';
import { listInbox } from '../../../src/store/inbox';
import { markLeaseWanted, readLease } from '../../../src/store/lease';
import { reopen, tempStore } from '../store/temp-store';
import { makeEngine } from './engine-fixture';
import { startFixture } from './homeserver-fixture';
import type { EngineEvent } from '../../../src/engine/engine-types';
import { overwriteToken } from '../../../src/store/token';
import type { SyncTransport } from '../../../src/engine/matrix-client';

const watches: StoreChanges[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.close();
});

function changesOf(store: ClientStore): StoreChanges {
  const changes = watchStoreChanges(store.path);
  watches.push(changes);
  return changes;
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('lease with the sync engine', () => {
  it('preemption: a notifier gets the lease within one lease period while main long-polls (F11)', async () => {
    const fx = await startFixture();
    const store = tempStore();
    const leaseDurationMs = 1000;
    const main = makeEngine(store, fx.receiver.client, {
      processName: 'main',
      leaseDurationMs,
      longPollTimeoutMs: 20_000,
      leasePollIntervalMs: 50,
    });
    const stop = new AbortController();
    const running = main.engine.run(stop.signal);
    await waitFor(() => main.events.filter((event) => event.kind === 'request').length >= 2, 5000);
    const notifier = makeEngine(reopen(store), fx.receiver.client, { processName: 'notifier', pid: 2, leaseDurationMs, leasePollIntervalMs: 50 });
    const startedMs = Date.now();
    const summary = await notifier.engine.syncUntilCaughtUp({ leaseWaitMs: leaseDurationMs });
    const waitedMs = Date.now() - startedMs;
    expect(summary.kind).toBe('caught-up');
    expect(waitedMs).toBeLessThan(leaseDurationMs);
    expect(main.events.some((event) => event.kind === 'preempted')).toBe(true);
    // Main takes the lease back and keeps receiving.
    await fx.send(0, 2);
    await waitFor(() => listInbox(store).length === 2, 5000);
    stop.abort();
    expect(await running).toEqual({ kind: 'stopped' });
    expect(readLease(store, 'to-device')?.expiresAtMs).toBe(0);
  });

  it("preemption at another process's commit: with polls a minute apart, the wish and the release still pass at once", async () => {
    const fx = await startFixture();
    const store = tempStore();
    const notifierStore = reopen(store);
    // A lease that cannot lapse and polls that cannot come during the test: only the store-change hints can make
    // main give way to the notifier (its wish is a commit), and the notifier take the lease (main's release is one).
    const slow = { leaseDurationMs: 600_000, leasePollIntervalMs: 60_000 };
    const main = makeEngine(store, fx.receiver.client, { processName: 'main', longPollTimeoutMs: 30_000, storeChanges: changesOf(store), ...slow });
    const stop = new AbortController();
    const running = main.engine.run(stop.signal);
    await waitFor(() => main.events.some((event) => event.kind === 'request'), 5000);
    const notifier = makeEngine(notifierStore, fx.receiver.client, { processName: 'notifier', pid: 2, storeChanges: changesOf(notifierStore), ...slow });
    const summary = await notifier.engine.syncUntilCaughtUp({ leaseWaitMs: 30_000 });
    expect(summary.kind).toBe('caught-up');
    expect(main.events.some((event) => event.kind === 'preempted')).toBe(true);
    // And main takes the lease back at the notifier's release, and receives again.
    await fx.send(0, 1);
    await waitFor(() => listInbox(store).length === 1, 20_000);
    stop.abort();
    expect(await running).toEqual({ kind: 'stopped' });
  });

  it('preemption: run stops promptly on shutdown, aborting its long poll', async () => {
    const fx = await startFixture();
    const store = tempStore();
    const main = makeEngine(store, fx.receiver.client, { processName: 'main', longPollTimeoutMs: 20_000 });
    const stop = new AbortController();
    const running = main.engine.run(stop.signal);
    await waitFor(() => main.events.some((event) => event.kind === 'request'), 5000);
    const startedMs = Date.now();
    stop.abort();
    await running;
    expect(Date.now() - startedMs).toBeLessThan(1000);
  });

  it('run: a loop that fails for good releases its lease and reports stopped, like one that was stopped', async () => {
    const fx = await startFixture();
    const store = tempStore();
    // A to-device token the server never issued: MSC4538 has it answer 400 M_INVALID_PARAM, which is not retried.
    overwriteToken(store, { nextBatch: 'not-a-token-this-server-issued', nowMs: Date.now(), process: 'test' });
    const main = makeEngine(store, fx.receiver.client, { processName: 'main', longPollTimeoutMs: 20_000 });
    const summary = await main.engine.run(new AbortController().signal);
    expect(summary).toMatchObject({ kind: 'failed', error: { kind: 'http', status: 400, errcode: 'M_INVALID_PARAM' } });
    expect(readLease(store, 'to-device')?.expiresAtMs).toBe(0);
    expect(main.events.at(-1)).toMatchObject({ kind: 'stopped', detail: { reason: 'failed' } });
  });

  it('fencing: a holder stalled past its lease is fenced at commit and writes nothing (F9)', async () => {
    const fx = await startFixture();
    await fx.send(0, 2);
    let nowMs = 1_000;
    const clock = { nowMs: () => nowMs };
    const storeA = tempStore();
    const storeB = reopen(storeA);
    const a = makeEngine(storeA, fx.receiver.client, { processName: 'main', clock, leaseDurationMs: 1000 });
    const b = makeEngine(storeB, fx.receiver.client, { processName: 'notifier', pid: 2, clock, leaseDurationMs: 1000 });
    expect((await a.engine.step()).kind).toBe('received');
    nowMs += 1500; // main is SIGSTOPped past its lease
    expect(await b.engine.syncUntilCaughtUp({ leaseWaitMs: 0 })).toMatchObject({ kind: 'caught-up', events: 2 });
    expect(await a.engine.step()).toEqual({ kind: 'fenced' });
    expect(listInbox(storeA).map((row) => row.fetchedByProcess)).toEqual(['notifier', 'notifier']);
    const generations = (events: EngineEvent[]) => events.filter((e) => e.kind === 'lease-acquired').map((e) => e.detail.generation);
    expect(generations(a.events)).toEqual([1]);
    expect(generations(b.events)).toEqual([2]);
  });

  it('lease: a notifier that cannot get the lease in time reports lease-busy and leaves no wanted row', async () => {
    const fx = await startFixture();
    let nowMs = 0;
    const clock = { nowMs: () => nowMs };
    const store = tempStore();
    const crashed = makeEngine(store, fx.receiver.client, { processName: 'main', clock, leaseDurationMs: 5000 });
    expect((await crashed.engine.step()).kind).toBe('received'); // then the process dies holding the lease
    const notifier = makeEngine(reopen(store), fx.receiver.client, {
      processName: 'notifier',
      pid: 2,
      clock,
      leasePollIntervalMs: 10,
      sleep: async (ms) => {
        nowMs += ms;
      },
    });
    expect(await notifier.engine.syncUntilCaughtUp({ leaseWaitMs: 1000 })).toMatchObject({ kind: 'lease-busy', holder: 'main:1000' });
    expect(store.db.prepare('SELECT count(*) AS n FROM lease_wanted').get()).toEqual({ n: 0 });
    nowMs = 5000; // F10: the crashed holder's lease lapses and the notifier takes over
    expect((await notifier.engine.syncUntilCaughtUp({ leaseWaitMs: 1000 })).kind).toBe('caught-up');
  });

  it('backoff: a holder backing off after a failed request gives the lease up for the wait, and takes it back after', async () => {
    let requests = 0;
    // A 429 (the server asks us to slow down) and then an empty long poll that lasts until aborted.
    const transport: SyncTransport = {
      async slidingSyncToDevice(request) {
        requests += 1;
        if (requests === 1) return { ok: false, error: { kind: 'http', status: 429, errcode: 'M_LIMIT_EXCEEDED', message: 'slow down' } };
        await new Promise((resolve) => request.signal?.addEventListener('abort', resolve, { once: true }));
        return { ok: false, error: { kind: 'aborted', message: 'aborted' } };
      },
      classicSync: () => Promise.reject(new Error('not used')),
    };
    const store = tempStore();
    const main = makeEngine(store, transport, { processName: 'main', backoff: { baseMs: 2000, maxMs: 2000, maxRetries: 3 }, leasePollIntervalMs: 10 });
    const stop = new AbortController();
    const running = main.engine.run(stop.signal);
    try {
      await waitFor(() => main.events.some((event) => event.kind === 'error'), 5000);
      // During the 1-2 s backoff nobody holds the lease: a waiting notifier could take it at once.
      await waitFor(() => readLease(store, 'to-device')?.expiresAtMs === 0, 900);
      expect(main.events.filter((event) => event.kind === 'lease-released').at(-1)?.detail).toMatchObject({ reason: 'backing off' });
      await waitFor(() => requests === 2, 5000);
      expect(readLease(store, 'to-device')).toMatchObject({ holder: 'main:1000', generation: 1 });
      expect(readLease(store, 'to-device')?.expiresAtMs).toBeGreaterThan(Date.now());
    } finally {
      stop.abort();
      await running;
    }
  });

  it('fairness: main under a stream of waiters that never ends still takes short turns and fetches what arrives', async () => {
    const fx = await startFixture();
    const store = tempStore();
    const main = makeEngine(store, fx.receiver.client, { processName: 'main', longPollTimeoutMs: 20_000, leasePollIntervalMs: 10 });
    // Some other process keeps wanting the lease (its row stays fresh) but never takes it.
    const wanter = reopen(store);
    markLeaseWanted(wanter, { key: 'to-device', wanter: 'notifier:2', nowMs: Date.now() });
    const refresh = setInterval(() => markLeaseWanted(wanter, { key: 'to-device', wanter: 'notifier:2', nowMs: Date.now() }), 50);
    const stop = new AbortController();
    const running = main.engine.run(stop.signal);
    try {
      await fx.send(0, 3);
      await waitFor(() => listInbox(store).length === 3, 5000);
      expect(listInbox(store).map((row) => row.fetchedByProcess)).toEqual(['main', 'main', 'main']);
      // Those were catch-up turns (timeout 0), not long polls: the waiter is never kept out for a long poll.
      expect(main.events.filter((event) => event.kind === 'request').every((event) => event.detail.timeoutMs === 0)).toBe(true);
    } finally {
      clearInterval(refresh);
      stop.abort();
      await running;
    }
  });

  it('preemption: a waiter that wants the lease but is not ready to take it keeps main idle for a moment, not for lease periods', async () => {
    const fx = await startFixture();
    const store = tempStore();
    // The default lease period (3 s): main used to wait up to four of them for the waiter to take the lease.
    const main = makeEngine(store, fx.receiver.client, { processName: 'main', longPollTimeoutMs: 20_000, leasePollIntervalMs: 10 });
    const stop = new AbortController();
    const running = main.engine.run(stop.signal);
    const wanter = reopen(store);
    let refresh: NodeJS.Timeout | undefined;
    try {
      await waitFor(() => main.events.some((event) => event.kind === 'request' && event.detail.timeoutMs === 20_000), 5000);
      // A notifier announces its wish while its Olm state is still opening: it will not take the lease for now.
      markLeaseWanted(wanter, { key: 'to-device', wanter: 'notifier:2', nowMs: Date.now() });
      refresh = setInterval(() => markLeaseWanted(wanter, { key: 'to-device', wanter: 'notifier:2', nowMs: Date.now() }), 50);
      await waitFor(() => main.events.some((event) => event.kind === 'preempted'), 5000);
      const preemptedMs = Date.now();
      await fx.send(0, 2);
      await waitFor(() => listInbox(store).length === 2, 2000);
      expect(listInbox(store).map((row) => row.fetchedByProcess)).toEqual(['main', 'main']);
      expect(Date.now() - preemptedMs).toBeLessThan(2000);
    } finally {
      clearInterval(refresh);
      stop.abort();
      await running;
    }
  });

  it('backoff: a notifier backing off gives the lease up for the wait, takes it back and catches up', async () => {
    let requests = 0;
    // A 429, then one short batch.
    const transport: SyncTransport = {
      async slidingSyncToDevice() {
        requests += 1;
        if (requests === 1) return { ok: false, error: { kind: 'http', status: 429, errcode: 'M_LIMIT_EXCEEDED', message: 'slow down' } };
        return { ok: true, value: { pos: 'p1', nextBatch: 'b1', events: [{ type: 'm.test', sender: '@a:hs', content: { n: 1 } }], malformedEvents: 0 } };
      },
      classicSync: () => Promise.reject(new Error('not used')),
    };
    const store = tempStore();
    const notifier = makeEngine(store, transport, { processName: 'notifier', pid: 2, backoff: { baseMs: 2000, maxMs: 2000, maxRetries: 3 }, leasePollIntervalMs: 10 });
    const catchingUp = notifier.engine.syncUntilCaughtUp({ leaseWaitMs: 5000 });
    await waitFor(() => notifier.events.some((event) => event.kind === 'error'), 5000);
    // During the 1-2 s backoff nobody holds the lease: main (or another notifier) could sync meanwhile.
    await waitFor(() => readLease(store, 'to-device')?.expiresAtMs === 0, 900);
    expect(await catchingUp).toMatchObject({ kind: 'caught-up', events: 1 });
    expect(notifier.events.filter((event) => event.kind === 'lease-released').map((event) => event.detail.reason)).toEqual(['backing off', 'caught-up']);
    expect(listInbox(store).map((row) => row.fetchedByProcess)).toEqual(['notifier']);
  });
});
