/**
 * The device's Olm state in the shared SQLite store, behind the `OlmStateStore` contract (src/shared/olm-state.ts)
 * that the Olm code in src/crypto uses.
 *
 * Runtime: node. Every method is one prepared statement on the store's connection, so inside a commit's
 * `BEGIN IMMEDIATE` transaction they all read and write that transaction: a refused or failed commit rolls the
 * Olm changes back with the batch and its token. `immediate` opens a transaction of its own when none is open
 * (and a savepoint inside one), for the key upload and the session recovery, which run outside a commit.
 *
 * `readOlmSnapshot` / `writeOlmSnapshot` serve the legacy strategies only: they load the account and every session
 * once and later write a whole copy back with no compare-and-set (last writer wins), as old apps did.
 */
import type { OlmSnapshot, OlmStateStore } from '../shared/olm-state';
import { compareAndSetOlmAccount, insertOlmAccount, readOlmAccount, readOlmKeyCounts, writeOlmKeyCounts } from './olm-account';
import { addOlmOutcome, countOlmOutcome, isOlmMessageKnown, listOlmWedged, readOlmWedged, rememberOlmMessages, saveOlmWedged } from './olm-bookkeeping';
import { olmDevice, olmDeviceByCurve25519, saveOlmDevice } from './olm-devices';
import { allOlmSessions, olmSessionsFor, replaceAllOlmSessions, saveOlmSession } from './olm-sessions';
import type { ClientStore } from './open-store';

export function openOlmState(store: ClientStore): OlmStateStore {
  return {
    immediate: (work) => store.immediate(work),
    readAccount: () => readOlmAccount(store),
    insertAccount: (record) => insertOlmAccount(store, record),
    compareAndSetAccount: (expectedVersion, changes, nowMs) => compareAndSetOlmAccount(store, expectedVersion, changes, nowMs),
    sessionsFor: (senderKey) => olmSessionsFor(store, senderKey),
    saveSession: (record) => saveOlmSession(store, record),
    deviceByCurve25519: (userId, curve25519) => olmDeviceByCurve25519(store, userId, curve25519),
    device: (userId, deviceId) => olmDevice(store, userId, deviceId),
    saveDevice: (record) => saveOlmDevice(store, record),
    readKeyCounts: () => readOlmKeyCounts(store),
    writeKeyCounts: (counts) => writeOlmKeyCounts(store, counts),
    isMessageKnown: (senderKey, hash) => isOlmMessageKnown(store, senderKey, hash),
    rememberMessages: (senderKey, hashes, nowMs) => rememberOlmMessages(store, senderKey, hashes, nowMs),
    countOutcome: (outcome, nowMs, count) => (count === undefined ? countOlmOutcome(store, outcome, nowMs) : addOlmOutcome(store, outcome, count, nowMs)),
    readWedged: (senderKey) => readOlmWedged(store, senderKey),
    saveWedged: (record) => saveOlmWedged(store, record),
    listWedged: () => listOlmWedged(store),
  };
}

export function readOlmSnapshot(store: ClientStore): OlmSnapshot {
  return store.db.transaction(() => ({ account: readOlmAccount(store), sessions: allOlmSessions(store) }))();
}

/**
 * Overwrites the account row and every session with `snapshot`, whatever another process wrote since this one
 * loaded its copy. Deliberately unsafe: the `legacy` and `explicit-naive` strategies show what this costs.
 */
export function writeOlmSnapshot(store: ClientStore, snapshot: OlmSnapshot, nowMs: number): void {
  store.immediate(() => {
    const account = snapshot.account;
    if (account !== undefined) {
      const stored = readOlmAccount(store);
      if (stored === undefined) insertOlmAccount(store, account);
      else {
        const { pickle, deviceKeysPublished, fallbackKeyCreatedAtMs, previousFallbackExpiresAtMs } = account;
        compareAndSetOlmAccount(store, stored.version, { pickle, deviceKeysPublished, fallbackKeyCreatedAtMs, previousFallbackExpiresAtMs }, nowMs);
      }
    }
    replaceAllOlmSessions(store, snapshot.sessions);
  });
}
