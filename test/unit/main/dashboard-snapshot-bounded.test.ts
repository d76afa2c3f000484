// The dashboard snapshot stays bounded however much the store holds: the inbox is the newest rows plus counts
// computed in SQL (pending tags included), and the storage figures come with it.
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../../src/main/host/dashboard-snapshot';
import type { DeviceInspection } from '../../../src/shared/admin-wire';
import { consume } from '../../../src/store/consume';
import { recordHandled } from '../../../src/store/handled';
import { appendToInbox } from '../../../src/store/inbox';
import { compactInbox } from '../../../src/store/inbox-compaction';
import type { ClientStore } from '../../../src/store/open-store';
import { tempStore } from '../store/temp-store';

const account = { homeserverUrl: 'http://127.0.0.1:1', userId: '@me:x', deviceId: 'PHONE', accessToken: 'secret' };

function append(store: ClientStore, tags: string[], process = 'main'): void {
  const events = tags.map((tag) => ({ type: 'm.test', sender: '@s:x', content: { tag, sent_at_ms: 1 } }));
  store.immediate(() => appendToInbox(store, events, { receivedAtMs: 1, process, pid: 1, batchSince: null, batchNextBatch: 'n' }));
}

function snapshot(store: ClientStore, inspection: DeviceInspection | null, strategy: 'explicit-lease' | 'legacy' = 'explicit-lease') {
  return buildSnapshot({
    store,
    account,
    strategy,
    mainSuspended: false,
    homeserverUrl: account.homeserverUrl,
    dataDir: '/data',
    runStartedAtMs: 0,
    inspection,
    acceptedBeforeRun: 0,
    sentByHost: 0,
    lanes: [],
    notifications: [],
    race: null,
    nowMs: 10,
  });
}

function inspection(accepted: number, queuedTags: string[]): DeviceInspection {
  return {
    user_id: account.userId, device_id: account.deviceId, acked_stream_id: 0, accepted, delivered: accepted, deleted: 0, waiting_polls: 0,
    queued: queuedTags.map((tag, i) => ({ stream_id: i + 1, type: 'm.test', sender: '@s:x', content: { tag, sent_at_ms: 1 } })),
  };
}

describe('dashboard snapshot', () => {
  it('snapshot: a backlog of over 100,000 rows main has not reached is all counted as pending, and only the newest rows are listed', () => {
    const store = tempStore();
    const tags = Array.from({ length: 102_000 }, (_, i) => `t${i}`);
    append(store, tags);
    // main handled the first 1000; t5 is committed again later (a duplicate), which is not pending.
    consume(store, 'main', (row, db) => recordHandled(db, 'main', row, 2), { maxRows: 1000 });
    append(store, ['t5']);
    // Two tags still on the server, one of them also in the inbox: counted once.
    const view = snapshot(store, inspection(102_002, ['t101999', 'q1']));
    expect(view.counters).toMatchObject({ sent: 102_002, received: 1000, pendingLocally: 101_000, pendingOnServer: 1, lost: 1, duplicated: 0 });
    expect(view.inbox.total).toBe(102_001);
    expect(view.inbox.latest.length).toBeLessThanOrEqual(30);
    expect(view.inbox.latest[0]?.tag).toBe('t5');
  });

  it('snapshot: under legacy, rows the notifier fetched are not pending for main', () => {
    const store = tempStore();
    append(store, ['a', 'b'], 'notifier');
    append(store, ['c'], 'main');
    expect(snapshot(store, inspection(3, []), 'legacy').counters.pendingLocally).toBe(1);
    expect(snapshot(store, inspection(3, []), 'explicit-lease').counters.pendingLocally).toBe(3);
  });

  it('snapshot: carries the storage figures: size, rows per table, what compaction removed', () => {
    const store = tempStore();
    append(store, ['a', 'b', 'c']);
    consume(store, 'main', () => undefined);
    compactInbox(store, { limit: { maxRows: 1, maxAgeMs: null }, nowMs: 42 });
    const { storage } = snapshot(store, null);
    expect(storage.fileBytes).toBeGreaterThan(0);
    expect(storage.autoVacuum).toBe('incremental');
    expect(storage.rows.inbox).toBe(1);
    expect(storage.removed.inboxRows).toBe(2);
    expect(storage.lastCompactionAtMs).toBe(42);
  });
});
