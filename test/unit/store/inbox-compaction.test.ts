// Inbox compaction and the notifier's window: rows leave once every consumer that must see them passed them,
// main never skips one, the notifier's window skips (counted) only for the notifier, and room keys survive both.
import { describe, expect, it } from 'vitest';
import { applyInboxEffects } from '../../../src/engine/inbox-effects';
import { ROOM_KEY_EVENT_TYPE, type ExportedRoomKey } from '../../../src/shared/room-key-protocol';
import { consume } from '../../../src/store/consume';
import { MAIN_CONSUMER, NOTIFIER_CONSUMER, readCursor, registerConsumer } from '../../../src/store/cursors';
import { summarizeHandled } from '../../../src/store/handled';
import { appendToInbox, inboxStats, listInbox } from '../../../src/store/inbox';
import { AWAITING_SENDER_HOLD_MS, compactInbox, cursorScope, skipPastWindow } from '../../../src/store/inbox-compaction';
import { StoreMaintenance } from '../../../src/store/maintenance';
import type { ClientStore } from '../../../src/store/open-store';
import { DAY_MS, writeRetentionPolicy, type RowLimit } from '../../../src/store/retention-policy';
import { roomKeyForSession, roomKeyInInbox } from '../../../src/store/room-keys';
import { counterValue } from '../../../src/store/store-counters';
import { readStorageStats } from '../../../src/store/storage-stats';
import { tempStore } from './temp-store';

const NO_TAIL: RowLimit = { maxRows: 0, maxAgeMs: null };
const clock = { nowMs: () => 10 };

function append(store: ClientStore, count: number, options: { process?: string; atMs?: number; first?: number } = {}): void {
  const first = options.first ?? 0;
  const events = Array.from({ length: count }, (_, i) => ({ type: 'm.test', sender: '@a:x', content: { tag: `t${first + i}` } }));
  const origin = { receivedAtMs: options.atMs ?? 0, process: options.process ?? 'main', pid: 1, batchSince: null, batchNextBatch: 'n' };
  store.immediate(() => appendToInbox(store, events, origin));
}

function roomKey(sessionId: string): ExportedRoomKey {
  return {
    algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', sender_key: 'sk', session_id: sessionId, session_key: `key-${sessionId}`,
    sender_claimed_keys: { ed25519: 'ed' }, forwarding_curve25519_key_chain: [],
  };
}

function appendKey(store: ClientStore, sessionId: string, process = 'main', atMs = 0): void {
  appendToInbox(store, [{ type: ROOM_KEY_EVENT_TYPE, sender: '@a:x', content: { tag: `k-${sessionId}`, room_key: roomKey(sessionId) } }], {
    receivedAtMs: atMs, process, pid: 1, batchSince: null, batchNextBatch: 'n',
  });
}

/** What the app's consumers do with a row: record it, keep its room key. */
const effects = (consumer: string) => (row: Parameters<typeof applyInboxEffects>[2], db: Parameters<typeof applyInboxEffects>[0]) =>
  void applyInboxEffects(db, consumer, row, 10);

describe('inbox compaction', () => {
  it('compaction: a row leaves the inbox once main and the notifier have both passed it, not before', () => {
    const store = tempStore();
    append(store, 10);
    consume(store, MAIN_CONSUMER, effects(MAIN_CONSUMER), { clock });
    consume(store, NOTIFIER_CONSUMER, effects(NOTIFIER_CONSUMER), { clock, maxRows: 6 });
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 10 })).toEqual({ deleted: 6, caughtUp: true });
    expect(listInbox(store).map((row) => row.seq)).toEqual([7, 8, 9, 10]);
    consume(store, NOTIFIER_CONSUMER, effects(NOTIFIER_CONSUMER), { clock });
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 10 }).deleted).toBe(4);
    expect(inboxStats(store)).toMatchObject({ count: 0, lastSeq: 10 });
    expect(counterValue(store, 'inbox', 'deleted')).toBe(10);
    // What each consumer handled is still on record.
    expect(summarizeHandled(store, MAIN_CONSUMER)).toEqual({ rows: 10, distinctTags: 10, duplicates: 0 });
  });

  it('compaction: a row still waiting for its sender device to be decrypted again stays (for a week), and goes once a retry settled it', () => {
    const store = tempStore();
    append(store, 2);
    const waiting = { type: 'm.room.encrypted', sender: '@a:x', content: { algorithm: 'm.olm.v1.curve25519-aes-sha2' }, decryptionError: 'unknown-device' as const };
    store.immediate(() => appendToInbox(store, [waiting], { receivedAtMs: 5, process: 'main', pid: 1, batchSince: null, batchNextBatch: 'n' }));
    append(store, 2, { first: 2 });
    consume(store, MAIN_CONSUMER, () => undefined, { clock });
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 10 }).deleted).toBe(4);
    expect(listInbox(store).map((row) => [row.seq, row.decryptionError])).toEqual([[3, 'unknown-device']]);
    // A week later it goes like any other row.
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 5 + AWAITING_SENDER_HOLD_MS + 1 }).deleted).toBe(1);
    expect(listInbox(store)).toEqual([]);
  });

  it('compaction: the newest rows every consumer passed stay while the inbox limit allows', () => {
    const store = tempStore();
    append(store, 10);
    consume(store, MAIN_CONSUMER, () => undefined, { clock });
    expect(compactInbox(store, { limit: { maxRows: 3, maxAgeMs: null }, nowMs: 10 }).deleted).toBe(7);
    expect(listInbox(store).map((row) => row.seq)).toEqual([8, 9, 10]);
  });

  it('compaction: one call deletes at most maxRows and says it has not caught up', () => {
    const store = tempStore();
    append(store, 10);
    consume(store, MAIN_CONSUMER, () => undefined, { clock });
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 10, maxRows: 4 })).toEqual({ deleted: 4, caughtUp: false });
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 10, maxRows: 4 })).toEqual({ deleted: 4, caughtUp: false });
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 10, maxRows: 4 })).toEqual({ deleted: 2, caughtUp: true });
  });

  it('compaction: rows a notifier has not run for yet are kept for it from the first maintenance step, within its window', () => {
    const store = tempStore();
    writeRetentionPolicy(store, { inbox: NO_TAIL, notifierWindow: { maxRows: 30, maxAgeMs: null } });
    append(store, 50);
    consume(store, MAIN_CONSUMER, () => undefined, { clock });
    const maintenance = new StoreMaintenance({ store, clock });
    // The window moves the notifier's cursor first, so the rows it passed over go in the same step.
    expect(maintenance.runAll()).toMatchObject({ inboxDeleted: 20, notifierSkipped: 20 });
    expect(maintenance.runAll().inboxDeleted).toBe(0);
    expect(listInbox(store).map((row) => row.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 21));
  });

  it('compaction: main never skips: with only a notifier registered, nothing is deleted before main handled it', () => {
    const store = tempStore();
    append(store, 20);
    consume(store, NOTIFIER_CONSUMER, () => undefined, { clock });
    expect(readCursor(store, MAIN_CONSUMER)).toBeUndefined();
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 10 }).deleted).toBe(0);
    const seen: number[] = [];
    consume(store, MAIN_CONSUMER, (row) => void seen.push(row.seq), { clock });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe("the notifier's window", () => {
  it('notifier window: rows beyond the window are skipped for the notifier and counted, and main still gets every row', () => {
    const store = tempStore();
    append(store, 50);
    registerConsumer(store, MAIN_CONSUMER, clock);
    registerConsumer(store, NOTIFIER_CONSUMER, clock);
    const window: RowLimit = { maxRows: 10, maxAgeMs: null };
    expect(skipPastWindow(store, NOTIFIER_CONSUMER, window, { nowMs: 10 })).toBe(40);
    expect(readCursor(store, NOTIFIER_CONSUMER)).toBe(40);
    expect(counterValue(store, cursorScope(NOTIFIER_CONSUMER), 'window_skipped')).toBe(40);
    expect(skipPastWindow(store, NOTIFIER_CONSUMER, window, { nowMs: 10 })).toBe(0);
    expect(() => skipPastWindow(store, MAIN_CONSUMER, window, { nowMs: 10 })).toThrow(/never skips/);
    expect(readCursor(store, MAIN_CONSUMER)).toBe(0);
    const seen: string[] = [];
    consume(store, MAIN_CONSUMER, (row) => void seen.push(String(row.content.tag)), { clock, maxRows: 100 });
    expect(seen).toHaveLength(50);
    expect(readStorageStats(store).removed.notifierRowsSkipped).toBe(40);
  });

  it('notifier window: a day-old row is skipped for a notifier that consumes with its window; the recent ones are handled', () => {
    const store = tempStore();
    append(store, 5, { atMs: 0 });
    append(store, 3, { atMs: 2 * DAY_MS, first: 5 });
    const handled: string[] = [];
    const summary = consume(store, NOTIFIER_CONSUMER, (row) => void handled.push(String(row.content.tag)), {
      clock: { nowMs: () => 2 * DAY_MS + 1000 },
      window: { maxRows: 10_000, maxAgeMs: DAY_MS },
    });
    expect(summary).toMatchObject({ handled: 3, skippedByWindow: 5, cursor: 8 });
    expect(handled).toEqual(['t5', 't6', 't7']);
  });

  it('notifier window: without its window the notifier cursor would hold every row; with it compaction goes on (maintenance)', () => {
    const store = tempStore();
    writeRetentionPolicy(store, { inbox: NO_TAIL, notifierWindow: { maxRows: 100, maxAgeMs: null } });
    registerConsumer(store, NOTIFIER_CONSUMER, clock);
    append(store, 1000);
    consume(store, MAIN_CONSUMER, () => undefined, { clock, maxRows: 1000 });
    const report = new StoreMaintenance({ store, clock }).runAll();
    expect(report.notifierSkipped).toBe(900);
    new StoreMaintenance({ store, clock }).runAll();
    expect(inboxStats(store).count).toBe(100);
  });
});

describe('room keys and compaction', () => {
  it('room keys: a key is still usable after its inbox row was compacted', () => {
    const store = tempStore();
    appendKey(store, 'S1');
    consume(store, MAIN_CONSUMER, effects(MAIN_CONSUMER), { clock });
    consume(store, NOTIFIER_CONSUMER, effects(NOTIFIER_CONSUMER), { clock });
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 10 }).deleted).toBe(1);
    expect(roomKeyInInbox(store, 'S1')).toBeUndefined();
    expect(roomKeyForSession(store, 'S1')).toEqual(roomKey('S1'));
    expect(roomKeyForSession(store, 'S1', { storedBy: NOTIFIER_CONSUMER })).toEqual(roomKey('S1'));
  });

  it('room keys: a key row the notifier has not reached stays in the inbox for its roomKeyInInbox fallback', () => {
    const store = tempStore();
    registerConsumer(store, NOTIFIER_CONSUMER, clock);
    appendKey(store, 'S2', NOTIFIER_CONSUMER);
    consume(store, MAIN_CONSUMER, effects(MAIN_CONSUMER), { clock });
    expect(compactInbox(store, { limit: NO_TAIL, nowMs: 10 }).deleted).toBe(0);
    expect(roomKeyInInbox(store, 'S2', { fetchedBy: NOTIFIER_CONSUMER })).toEqual(roomKey('S2'));
  });

  it('room keys: a key the window skips is still stored for the notifier (legacy: only the keys it fetched itself)', () => {
    const store = tempStore();
    appendKey(store, 'OWN', NOTIFIER_CONSUMER, 0);
    appendKey(store, 'MAINS', MAIN_CONSUMER, 0);
    append(store, 3, { atMs: 0 });
    registerConsumer(store, NOTIFIER_CONSUMER, clock);
    const skipped = skipPastWindow(store, NOTIFIER_CONSUMER, { maxRows: 1, maxAgeMs: null }, { nowMs: 10, fetchedBy: NOTIFIER_CONSUMER });
    expect(skipped).toBe(4);
    consume(store, MAIN_CONSUMER, effects(MAIN_CONSUMER), { clock, fetchedBy: MAIN_CONSUMER });
    consume(store, NOTIFIER_CONSUMER, effects(NOTIFIER_CONSUMER), { clock, fetchedBy: NOTIFIER_CONSUMER });
    compactInbox(store, { limit: NO_TAIL, nowMs: 10 });
    expect(inboxStats(store).count).toBe(0);
    expect(roomKeyForSession(store, 'OWN', { storedBy: NOTIFIER_CONSUMER })).toEqual(roomKey('OWN'));
    expect(roomKeyForSession(store, 'MAINS', { storedBy: NOTIFIER_CONSUMER })).toBeUndefined();
    expect(roomKeyForSession(store, 'MAINS', { storedBy: MAIN_CONSUMER })).toEqual(roomKey('MAINS'));
  });
});
