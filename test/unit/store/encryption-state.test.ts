// Encryption state in the shared store: room keys stored by consumers (exactly when their row is handled, once
// per consumer, scoped for legacy), the timeline with late decryption, and the notification log.
import { describe, expect, it } from 'vitest';
import { applyInboxEffects } from '../../../src/engine/inbox-effects';
import { LATE_DECRYPTION_GRACE_MS, ROOM_KEY_EVENT_TYPE, type ExportedRoomKey } from '../../../src/shared/room-key-protocol';
import { consume } from '../../../src/store/consume';
import { appendToInbox } from '../../../src/store/inbox';
import { countNotifications, recordNotification } from '../../../src/store/notification-log';
import { roomKeyCount, roomKeyForSession, roomKeyInInbox, roomKeysAfter } from '../../../src/store/room-keys';
import {
  appendTimelinePage, markTimelineDecrypted, recentTimeline, summarizeTimeline, timelinePosition, undecryptedEntries, undecryptedInSessions,
  type TimelineEntry,
} from '../../../src/store/timeline';
import { reopen, tempStore } from './temp-store';

function roomKey(sessionId: string): ExportedRoomKey {
  return {
    algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', sender_key: 'sk', session_id: sessionId, session_key: `key-${sessionId}`,
    sender_claimed_keys: { ed25519: 'ed' }, forwarding_curve25519_key_chain: [],
  };
}

const origin = (process: string) => ({ receivedAtMs: 1, process, pid: 1, batchSince: null, batchNextBatch: '1_x' });

describe('room keys through consumers', () => {
  it('room keys: a consumer stores each key with its cursor move; a throwing handler stores nothing', () => {
    const store = tempStore();
    appendToInbox(store, [
      { type: ROOM_KEY_EVENT_TYPE, sender: '@s:x', content: { tag: 'k1', room_key: roomKey('S1') } },
      { type: 'org.todevice.test', sender: '@s:x', content: { tag: 'm1' } },
      { type: ROOM_KEY_EVENT_TYPE, sender: '@s:x', content: { tag: 'k2', room_key: roomKey('S2') } },
    ], origin('main'));
    let calls = 0;
    expect(() =>
      consume(store, 'main', (row, db) => {
        applyInboxEffects(db, 'main', row, 5);
        calls += 1;
        if (calls === 1) throw new Error('crash after the effect');
      }),
    ).toThrow('crash after the effect');
    expect(roomKeyForSession(store, 'S1')).toBeUndefined();
    const effects: string[] = [];
    consume(store, 'main', (row, db) => void effects.push(applyInboxEffects(db, 'main', row, 6).kind));
    expect(effects).toEqual(['room-key', 'handled', 'room-key']);
    expect(roomKeyForSession(reopen(store), 'S2')).toEqual(roomKey('S2'));
    expect(roomKeyCount(store)).toBe(2);
  });

  it('room keys: a duplicate delivery stores nothing new; legacy scope sees only its own consumer\'s keys', () => {
    const store = tempStore();
    appendToInbox(store, [{ type: ROOM_KEY_EVENT_TYPE, sender: '@s:x', content: { room_key: roomKey('S1') } }], origin('notifier'));
    appendToInbox(store, [{ type: ROOM_KEY_EVENT_TYPE, sender: '@s:x', content: { room_key: roomKey('S1') } }], origin('notifier'));
    const outcomes: unknown[] = [];
    consume(store, 'notifier', (row, db) => void outcomes.push(applyInboxEffects(db, 'notifier', row, 1)));
    expect(outcomes).toEqual([{ kind: 'room-key', sessionId: 'S1', isNew: true }, { kind: 'room-key', sessionId: 'S1', isNew: false }]);
    expect(roomKeyForSession(store, 'S1')).toBeDefined();
    expect(roomKeyForSession(store, 'S1', { storedBy: 'main' })).toBeUndefined();
    expect(roomKeyForSession(store, 'S1', { storedBy: 'notifier' })).toBeDefined();
    const all = roomKeysAfter(store, 0);
    expect(all.keys.map((k) => k.session_id)).toEqual(['S1']);
    expect(roomKeysAfter(store, all.lastRowid).keys).toEqual([]);
    expect(roomKeysAfter(store, 0, { storedBy: 'main' }).keys).toEqual([]);
  });

  it('room keys: malformed key content is handled (never blocks the consumer) and reported, not stored', () => {
    const store = tempStore();
    appendToInbox(store, [{ type: ROOM_KEY_EVENT_TYPE, sender: '@evil:x', content: { room_key: { algorithm: 'nope' } } }], origin('main'));
    const outcomes: unknown[] = [];
    const summary = consume(store, 'main', (row, db) => void outcomes.push(applyInboxEffects(db, 'main', row, 1)));
    expect(summary.handled).toBe(1);
    expect(outcomes).toEqual([{ kind: 'bad-room-key', reason: expect.stringContaining('room_key.algorithm') }]);
    expect(roomKeyCount(store)).toBe(0);
  });
});

describe('room keys still in the inbox', () => {
  it('room keys: a committed but unhandled key-sharing row is found by session, limited to one fetcher when asked', () => {
    const store = tempStore();
    appendToInbox(store, [{ type: ROOM_KEY_EVENT_TYPE, sender: '@s:x', content: { tag: 'k', room_key: roomKey('S7') } }], origin('main'));
    appendToInbox(store, [{ type: ROOM_KEY_EVENT_TYPE, sender: '@evil:x', content: { room_key: { session_id: 'S8' } } }], origin('main'));
    expect(roomKeyInInbox(store, 'S7')).toEqual(roomKey('S7'));
    expect(roomKeyInInbox(store, 'S7', { fetchedBy: 'main' })).toEqual(roomKey('S7'));
    expect(roomKeyInInbox(store, 'S7', { fetchedBy: 'notifier' })).toBeUndefined();
    expect(roomKeyInInbox(store, 'S8')).toBeUndefined();
    expect(roomKeyInInbox(store, 'S9')).toBeUndefined();
  });
});

describe('timeline', () => {
  const entry = (eventId: string, decrypted: boolean, sessionId: string | null = 'S1'): TimelineEntry => ({
    eventId, roomId: '!r:x', sender: '@s:x', originServerTs: Number(eventId.slice(2)), sessionId, body: decrypted ? `body ${eventId}` : null,
    ciphertext: decrypted ? null : `{"event_id":"${eventId}"}`, seenAtMs: 10, decryptedAtMs: decrypted ? 10 : null, late: false,
  });

  it('timeline: a page and its token commit together; a re-paged event is not doubled; late decryption is counted', () => {
    const store = tempStore();
    expect(timelinePosition(store, '!r:x')).toBeUndefined();
    appendTimelinePage(store, '!r:x', [entry('$e1', true), entry('$e2', false), entry('$e3', true, null)], 't3');
    appendTimelinePage(store, '!r:x', [entry('$e2', false)], 't4');
    expect(timelinePosition(store, '!r:x')).toBe('t4');
    // Seen at 10: until the grace period is over it awaits its key; after it, it is unable to decrypt.
    expect(summarizeTimeline(store, 10 + LATE_DECRYPTION_GRACE_MS)).toEqual({ encrypted: 2, decrypted: 1, late: 0, awaitingKey: 1, unableToDecrypt: 0 });
    expect(summarizeTimeline(store, 11 + LATE_DECRYPTION_GRACE_MS)).toEqual({ encrypted: 2, decrypted: 1, late: 0, awaitingKey: 0, unableToDecrypt: 1 });
    expect(undecryptedEntries(store).map((e) => e.eventId)).toEqual(['$e2']);
    expect(undecryptedInSessions(store, ['S9'])).toEqual([]);
    expect(undecryptedInSessions(store, ['S1']).map((e) => e.ciphertext)).toEqual(['{"event_id":"$e2"}']);
    markTimelineDecrypted(store, '$e2', 'now readable', 11 + LATE_DECRYPTION_GRACE_MS);
    markTimelineDecrypted(store, '$e1', 'must not overwrite', 30);
    expect(summarizeTimeline(store, 100_000)).toEqual({ encrypted: 2, decrypted: 2, late: 1, awaitingKey: 0, unableToDecrypt: 0 });
    expect(recentTimeline(store, 2).map((e) => [e.eventId, e.body, e.late, e.ciphertext])).toEqual([
      ['$e2', 'now readable', true, null],
      ['$e3', 'body $e3', false, null],
    ]);
    expect(recentTimeline(store, 5)[0]?.body).toBe('body $e1');
  });

  it('timeline: a key that comes within the grace period after the message was paged is not late', () => {
    const store = tempStore();
    appendTimelinePage(store, '!r:x', [entry('$e1', false), entry('$e2', false)], 't1');
    markTimelineDecrypted(store, '$e1', 'in time', 10 + LATE_DECRYPTION_GRACE_MS);
    markTimelineDecrypted(store, '$e2', 'too late', 10 + LATE_DECRYPTION_GRACE_MS + 1);
    expect(recentTimeline(store, 2).map((e) => [e.eventId, e.late])).toEqual([['$e1', false], ['$e2', true]]);
    expect(summarizeTimeline(store, 100_000)).toMatchObject({ decrypted: 2, late: 1 });
  });

  it('timeline: a summary can count only the events sent in a window (one run of the app)', () => {
    const store = tempStore();
    // originServerTs is the number in the event ID.
    appendTimelinePage(store, '!r:x', [entry('$e100', false), entry('$e200', true), entry('$e300', true)], 't1');
    expect(summarizeTimeline(store, 100_000, { beforeMs: 200 })).toMatchObject({ encrypted: 1, unableToDecrypt: 1 });
    expect(summarizeTimeline(store, 100_000, { fromMs: 200 })).toMatchObject({ encrypted: 2, decrypted: 2, unableToDecrypt: 0 });
  });
});

describe('notification log', () => {
  it('notifications: one row per (event, notifier pid), counted by outcome', () => {
    const store = tempStore();
    recordNotification(store, { eventId: '$a', pid: 1, outcome: 'decrypted', sessionId: 'S1', shownAtMs: 1 });
    recordNotification(store, { eventId: '$b', pid: 2, outcome: 'unable-to-decrypt', sessionId: 'S2', shownAtMs: 2 });
    recordNotification(store, { eventId: '$b', pid: 2, outcome: 'unable-to-decrypt', sessionId: 'S2', shownAtMs: 3 });
    expect(countNotifications(store)).toMatchObject({ decrypted: 1, 'unable-to-decrypt': 1, plain: 0 });
  });
});
