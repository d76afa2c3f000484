// Migration `withheld`: a store from before it upgrades in place, keeps its notifications (the table is rebuilt to
// admit the new outcome), accepts "withheld", and keeps withheld notices per session and consumer.
import { describe, expect, it } from 'vitest';
import { applyInboxEffects } from '../../../../src/engine/inbox-effects';
import { listInbox, appendToInbox } from '../../../../src/store/inbox';
import { countNotifications, recordNotification } from '../../../../src/store/notification-log';
import { openStore } from '../../../../src/store/open-store';
import { withheldCount, withheldForSession } from '../../../../src/store/room-key-withheld';
import { tempStore } from '../temp-store';
import { databaseBefore } from './database-before';

describe('migration withheld', () => {
  it('migration withheld: notifications survive the rebuild and "withheld" is a valid outcome', () => {
    const { file, db, migration: withheld } = databaseBefore('withheld');
    expect(withheld.version).toBe(6);
    db.prepare("INSERT INTO notifications (event_id, pid, outcome, session_id, shown_at_ms) VALUES ('$e', 1, 'unable-to-decrypt', 'S', 1)").run();
    expect(() => db.prepare("INSERT INTO notifications (event_id, pid, outcome, session_id, shown_at_ms) VALUES ('$f', 1, 'withheld', 'S', 1)").run()).toThrow(/CHECK/);
    db.close();
    const store = openStore(file);
    try {
      expect(countNotifications(store)['unable-to-decrypt']).toBe(1);
      recordNotification(store, { eventId: '$f', pid: 1, outcome: 'withheld', sessionId: 'S', shownAtMs: 2 });
      expect(countNotifications(store).withheld).toBe(1);
      expect(() => store.db.prepare("INSERT INTO notifications (event_id, pid, outcome, session_id, shown_at_ms) VALUES ('$g', 1, 'bogus', 'S', 1)").run()).toThrow(/CHECK/);
    } finally {
      store.close();
    }
  });

  it('an m.room_key.withheld row is recorded for its session in the consume transaction; a notice without a session is refused', () => {
    const store = tempStore();
    const origin = { receivedAtMs: 1, process: 'main', pid: 1, batchSince: null, batchNextBatch: 't1' };
    appendToInbox(
      store,
      [
        { type: 'm.room_key.withheld', sender: '@alice:x', content: { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', session_id: 'S1', sender_key: 'K', code: 'm.unverified', reason: 'Device not verified' } },
        { type: 'm.room_key.withheld', sender: '@alice:x', content: { code: 'm.no_olm', reason: 'no session' } },
      ],
      origin,
    );
    const effects = listInbox(store).map((row) => applyInboxEffects(store.db, 'main', row, 5));
    expect(effects[0]).toEqual({ kind: 'withheld', sessionId: 'S1', code: 'm.unverified' });
    expect(effects[1]?.kind).toBe('bad-room-key');
    expect(withheldForSession(store, 'S1')).toEqual({ roomId: '!r:x', sessionId: 'S1', code: 'm.unverified', reason: 'Device not verified', sender: '@alice:x' });
    expect(withheldForSession(store, 'S1', { storedBy: 'notifier' })).toBeUndefined();
    expect(withheldCount(store)).toBe(1);
  });
});
