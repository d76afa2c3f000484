// The Olm state accessors (src/store/olm-*.ts): compare-and-set on the account version, sessions in use order,
// and the legacy whole-copy write-back that overwrites whatever another process wrote.
import { describe, expect, it } from 'vitest';
import { messageHash } from '../../../src/crypto/olm-decrypt';
import type { OlmAccountRecord, OlmSessionRecord } from '../../../src/shared/olm-state';
import { compareAndSetOlmAccount, insertOlmAccount, readOlmAccount } from '../../../src/store/olm-account';
import { countOlmOutcome, olmOutcomeCounts, pruneOlmMessageHashes, isOlmMessageKnown, rememberOlmMessage, rememberOlmMessages } from '../../../src/store/olm-bookkeeping';
import { olmSessionsFor, saveOlmSession } from '../../../src/store/olm-sessions';
import { openOlmState, readOlmSnapshot, writeOlmSnapshot } from '../../../src/store/olm-state';
import { reopen, tempStore } from './temp-store';

const account: OlmAccountRecord = {
  userId: '@u:x',
  deviceId: 'D',
  curve25519: 'c',
  ed25519: 'e',
  pickle: 'p1',
  version: 1,
  deviceKeysPublished: false,
  fallbackKeyCreatedAtMs: null,
  previousFallbackExpiresAtMs: null,
  uploadClaimedBy: null,
  uploadClaimExpiresAtMs: null,
  createdAtMs: 1,
  updatedAtMs: 1,
};

function session(sessionId: string, lastUsedAtMs: number, pickle = `pickle-${sessionId}`): OlmSessionRecord {
  return { senderKey: 'k', sessionId, pickle, createdAtMs: 1, lastUsedAtMs, messagesReceived: 0, messagesSent: 0 };
}

describe('olm state in the store', () => {
  it('olm state: compare-and-set on the account version writes once; the second writer at the same version loses', () => {
    const store = tempStore();
    const other = reopen(store);
    insertOlmAccount(store, account);
    expect(compareAndSetOlmAccount(store, 1, { pickle: 'p2', uploadClaimedBy: 'main' }, 10)).toBe(true);
    expect(compareAndSetOlmAccount(other, 1, { pickle: 'p-other' }, 11)).toBe(false);
    expect(readOlmAccount(other)).toMatchObject({ pickle: 'p2', version: 2, uploadClaimedBy: 'main', deviceKeysPublished: false, updatedAtMs: 10 });
    // Fields left out keep their value; a field set to null is cleared.
    expect(compareAndSetOlmAccount(other, 2, { deviceKeysPublished: true, uploadClaimedBy: null }, 12)).toBe(true);
    expect(readOlmAccount(store)).toMatchObject({ pickle: 'p2', version: 3, uploadClaimedBy: null, deviceKeysPublished: true });
  });

  it('olm state: sessions come most recently used first, and saving one updates it in place', () => {
    const store = tempStore();
    saveOlmSession(store, session('a', 5));
    saveOlmSession(store, session('b', 9));
    saveOlmSession(store, { ...session('c', 1), senderKey: 'other' });
    expect(olmSessionsFor(store, 'k').map((record) => record.sessionId)).toEqual(['b', 'a']);
    saveOlmSession(store, { ...session('a', 20, 'new'), messagesReceived: 3 });
    expect(olmSessionsFor(store, 'k')[0]).toMatchObject({ sessionId: 'a', pickle: 'new', messagesReceived: 3 });
  });

  it('olm state: the legacy write-back replaces the account and every session with the copy, whatever was written since', () => {
    const store = tempStore();
    insertOlmAccount(store, account);
    saveOlmSession(store, session('a', 5));
    const copy = readOlmSnapshot(store);
    const other = reopen(store);
    compareAndSetOlmAccount(other, 1, { pickle: 'written-by-other' }, 20);
    saveOlmSession(other, session('b', 9));
    writeOlmSnapshot(store, copy, 30);
    expect(readOlmAccount(other)).toMatchObject({ pickle: 'p1', version: 3 });
    expect(olmSessionsFor(other, 'k').map((record) => record.sessionId)).toEqual(['a']);
  });

  it('olm state: counters add up, and message hashes are remembered until pruned', () => {
    const store = tempStore();
    countOlmOutcome(store, 'decrypted', 1);
    countOlmOutcome(store, 'decrypted', 2);
    countOlmOutcome(store, 'bad-mac', 3);
    expect(olmOutcomeCounts(store)).toEqual({ 'bad-mac': 1, decrypted: 2 });
    const [h1, h2, h3, h4, h5] = ['m1', 'm2', 'm3', 'm4', 'm5'].map((body) => messageHash('k', 0, body)) as [string, string, string, string, string];
    rememberOlmMessage(store, 'k', h1, 100);
    rememberOlmMessages(store, 'k', [h2, h3], 200);
    // A row of the one-row-per-message table written before the runs (migration 0007) is still found and pruned.
    store.db.prepare('INSERT INTO olm_message_hashes (sender_key, message_hash, decrypted_at_ms) VALUES (?, ?, ?)').run('k', h4, 100);
    for (const hash of [h1, h2, h3, h4]) expect(isOlmMessageKnown(store, 'k', hash)).toBe(true);
    expect(isOlmMessageKnown(store, 'k', h5)).toBe(false);
    expect(isOlmMessageKnown(store, 'other', h1)).toBe(false);
    expect(() => rememberOlmMessage(store, 'k', 'not a digest', 300)).toThrow(/32-byte/);
    expect(pruneOlmMessageHashes(store, 150)).toBe(2);
    expect([h1, h2, h3, h4].map((hash) => isOlmMessageKnown(store, 'k', hash))).toEqual([false, true, true, false]);
    expect(pruneOlmMessageHashes(store, 250)).toBe(2);
    expect(isOlmMessageKnown(store, 'k', h2)).toBe(false);
  });

  it('olm state: the contract object reads and writes the same tables inside the caller transaction', () => {
    const store = tempStore();
    const state = openOlmState(store);
    const rollback = new Error('roll back');
    expect(() =>
      state.immediate(() => {
        state.insertAccount(account);
        state.saveSession(session('a', 1));
        state.countOutcome('decrypted', 1);
        throw rollback;
      }),
    ).toThrow(rollback);
    expect(state.readAccount()).toBeUndefined();
    expect(state.sessionsFor('k')).toEqual([]);
    expect(olmOutcomeCounts(store)).toEqual({});
  });
});
