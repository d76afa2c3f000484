// The dashboard's snapshot: this run's figures apart from what earlier runs left in the data directory, pending
// on the server apart from pending locally, a released lease said as such, a suspended main lane, and a
// notification list that holds exactly the rows its counters count.
import { describe, expect, it } from 'vitest';
import { applyInboxEffects } from '../../../src/engine/inbox-effects';
import { buildSnapshot, type SnapshotInput } from '../../../src/main/host/dashboard-snapshot';
import type { DeviceInspection } from '../../../src/shared/admin-wire';
import { LATE_DECRYPTION_GRACE_MS } from '../../../src/shared/room-key-protocol';
import type { NotificationView } from '../../../src/shared/ui-api';
import { consume } from '../../../src/store/consume';
import { appendToInbox } from '../../../src/store/inbox';
import { releaseLease, tryAcquireLease } from '../../../src/store/lease';
import { recordNotification } from '../../../src/store/notification-log';
import type { ClientStore } from '../../../src/store/open-store';
import { appendTimelinePage, type TimelineEntry } from '../../../src/store/timeline';
import { tempStore } from '../store/temp-store';

const runStartedAtMs = 10_000;
const nowMs = 20_000;

const message = (tag: string, sentAtMs: number) => ({ type: 'org.todevice.test', sender: '@sender:x', content: { tag, sent_at_ms: sentAtMs } });

function commit(store: ClientStore, messages: ReturnType<typeof message>[], process = 'main'): void {
  appendToInbox(store, messages, { receivedAtMs: nowMs, process, pid: 7, batchSince: null, batchNextBatch: 'n' });
}

function handleAll(store: ClientStore): void {
  consume(store, 'main', (row, db) => void applyInboxEffects(db, 'main', row, nowMs));
}

function inspection(accepted: number, queued: Array<ReturnType<typeof message>>): DeviceInspection {
  return {
    user_id: '@desktop:x',
    device_id: 'DESKTOP',
    queued: queued.map((m, i) => ({ stream_id: i + 1, type: m.type, sender: m.sender, content: m.content })),
    acked_stream_id: 0,
    accepted,
    delivered: 0,
    deleted: 0,
    waiting_polls: 0,
  };
}

function input(store: ClientStore, overrides: Partial<SnapshotInput> = {}): SnapshotInput {
  return {
    store,
    account: { homeserverUrl: 'http://hs', userId: '@desktop:x', deviceId: 'DESKTOP', accessToken: 'secret' },
    strategy: 'explicit-lease',
    mainSuspended: false,
    homeserverUrl: 'http://hs',
    dataDir: '/data',
    runStartedAtMs,
    inspection: inspection(0, []),
    acceptedBeforeRun: 0,
    sentByHost: 0,
    lanes: [],
    notifications: [],
    race: null,
    nowMs,
    ...overrides,
  };
}

function timelineEntry(eventId: string, originServerTs: number, seenAtMs: number): TimelineEntry {
  return {
    eventId, roomId: '!r:x', sender: '@sender:x', originServerTs, sessionId: `S-${eventId}`, body: null,
    ciphertext: '{}', seenAtMs, decryptedAtMs: null, late: false,
  };
}

describe('dashboard snapshot', () => {
  it('snapshot: an earlier run\'s losses and duplicates are reported apart from this run, whose pending messages are split between server and inbox', () => {
    const store = tempStore();
    // Earlier run (sent before 10 s): e1 handled twice, e2 handled, e3 and e4 still queued, e5 gone for good.
    commit(store, [message('e1', 1000), message('e1', 1000), message('e2', 1001)]);
    // This run: t1 handled; t2 and t3 committed, not handled yet; t3 is also still queued (unacknowledged); t4
    // is only queued.
    commit(store, [message('t1', 11_000)]);
    handleAll(store);
    commit(store, [message('t2', 11_001), message('t3', 11_002)]);
    const queued = [message('e3', 1002), message('e4', 1003), message('t3', 11_002), message('t4', 11_003)];

    const snapshot = buildSnapshot(input(store, { inspection: inspection(9, queued), acceptedBeforeRun: 5 }));

    expect(snapshot.counters).toEqual({ sent: 4, received: 1, lost: 0, duplicated: 0, pendingOnServer: 1, pendingLocally: 2 });
    expect(snapshot.earlierRuns?.counters).toEqual({ sent: 5, received: 2, lost: 1, duplicated: 1, pendingOnServer: 2, pendingLocally: 0 });
    expect(snapshot.run.startedAtMs).toBe(runStartedAtMs);
  });

  it('snapshot: a data directory with nothing from before has no earlier runs', () => {
    const store = tempStore();
    commit(store, [message('t1', 11_000)]);
    handleAll(store);
    const snapshot = buildSnapshot(input(store, { inspection: inspection(1, []) }));
    expect(snapshot.earlierRuns).toBeNull();
    expect(snapshot.counters).toMatchObject({ sent: 1, received: 1, lost: 0 });
  });

  it('snapshot: notifications and the timeline list this run only, the same rows their counters count; earlier ones are counted apart', () => {
    const store = tempStore();
    recordNotification(store, { eventId: '$old', pid: 1, outcome: 'unable-to-decrypt', sessionId: 'S0', shownAtMs: 5000 });
    recordNotification(store, { eventId: '$a', pid: 2, outcome: 'decrypted', sessionId: 'S1', shownAtMs: 11_000 });
    // A notifier that recorded what it showed and was killed before it told the host.
    recordNotification(store, { eventId: '$b', pid: 3, outcome: 'unable-to-decrypt', sessionId: 'S2', shownAtMs: 12_000 });
    const reported: NotificationView[] = [
      { atMs: 11_001, pid: 2, eventId: '$a', title: 'sender in room', body: 'Lunch?', dataMissing: false, outcome: 'decrypted' },
    ];
    appendTimelinePage(store, '!r:x', [timelineEntry('$old', 5000, 5000), timelineEntry('$new', 11_000, nowMs - 100)], 'p1');

    const snapshot = buildSnapshot(input(store, { notifications: reported }));

    expect(snapshot.notifications.map((n) => [n.eventId, n.outcome, n.body])).toEqual([
      ['$b', 'unable-to-decrypt', expect.stringMatching(/did not reach the dashboard/)],
      ['$a', 'decrypted', 'Lunch?'],
    ]);
    expect(snapshot.encryption).toMatchObject({ notificationsDecrypted: 1, notificationsUnableToDecrypt: 1, timelineEncrypted: 1, timelineAwaitingKey: 1, timelineUnableToDecrypt: 0 });
    expect(snapshot.timeline.map((e) => [e.eventId, e.awaitingKey])).toEqual([['$new', true]]);
    expect(snapshot.earlierRuns?.encryption).toMatchObject({ notificationsDecrypted: 0, notificationsUnableToDecrypt: 1, timelineEncrypted: 1, timelineUnableToDecrypt: 1 });

    const later = buildSnapshot(input(store, { nowMs: nowMs + LATE_DECRYPTION_GRACE_MS }));
    expect(later.encryption).toMatchObject({ timelineAwaitingKey: 0, timelineUnableToDecrypt: 1 });
    expect(later.timeline[0]?.awaitingKey).toBe(false);
  });

  it('snapshot: a released lease says so and keeps who held it; a suspended main lane says it is suspended', () => {
    const store = tempStore();
    const taken = tryAcquireLease(store, { key: 'to-device', holder: 'main:123', durationMs: 5000, nowMs });
    if (!taken.acquired) throw new Error('lease not taken');
    expect(buildSnapshot(input(store)).lease).toMatchObject({ holder: 'main:123', released: false, expiresAtMs: nowMs + 5000 });
    releaseLease(store, { key: 'to-device', holder: 'main:123', generation: taken.generation });

    const lanes = [
      { name: 'main', kind: 'main' as const, pid: 123, startedAtMs: 11_000, endedAtMs: null, exitCode: null, signal: null, suspended: true },
      { name: 'main', kind: 'main' as const, pid: 120, startedAtMs: 10_500, endedAtMs: 11_000, exitCode: null, signal: 'SIGKILL', suspended: true },
      { name: 'notifier', kind: 'notifier' as const, pid: 124, startedAtMs: 12_000, endedAtMs: null, exitCode: null, signal: null },
    ];
    const snapshot = buildSnapshot(input(store, { lanes, mainSuspended: true }));
    expect(snapshot.lease).toMatchObject({ holder: 'main:123', released: true, expiresAtMs: 0 });
    expect(snapshot.lanes.map((lane) => [lane.pid, lane.suspended])).toEqual([[123, true], [120, false], [124, false]]);
  });
});
