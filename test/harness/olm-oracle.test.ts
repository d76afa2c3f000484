// The Olm oracle on a store filled by hand: which undecryptable Olm rows are harm (never decrypted), which are not
// (a row that waited for /keys/query and was decrypted after it, a redelivered copy of a decrypted message), that a
// failed row compaction deleted still counts once the watch saw it, which room messages those failures made
// undecryptable, the counters read from the device, and the violations a safe strategy gets for any of it.
import { describe, expect, it } from 'vitest';
import { sumOlmByStrategy } from '../../src/harness/campaign';
import { judgeOlm, olmViolations, OlmFailureWatch, sentOlmMessageHashes } from '../../src/harness/olm-oracle';
import type { StrategyReport } from '../../src/harness/report-types';
import type { SentRoomEvent } from '../../src/harness/traffic';
import type { OlmDecryptionFailure } from '../../src/shared/olm-state';
import { appendToInbox } from '../../src/store/inbox';
import { insertOlmAccount } from '../../src/store/olm-account';
import { addOlmOutcome, countOlmOutcome, rememberOlmMessage, saveOlmWedged } from '../../src/store/olm-bookkeeping';
import { messageHash } from '../../src/crypto/olm-decrypt';
import { OLM_COUNTER_DUMMY_SENT, OLM_COUNTER_ONE_TIME_KEYS_UPLOADED_TWICE } from '../../src/store/olm-stats';
import type { ClientStore } from '../../src/store/open-store';
import { appendTimelinePage } from '../../src/store/timeline';
import { tempStore } from '../unit/store/temp-store';

const OUR_CURVE = 'our-curve25519';
const SENDER_KEY = 'sender-curve25519';
const origin = { receivedAtMs: 1, process: 'main', pid: 1, batchSince: null, batchNextBatch: '1_0' };

function deviceStore(): ClientStore {
  const store = tempStore();
  insertOlmAccount(store, {
    userId: '@phone:localhost', deviceId: 'PHONE', curve25519: OUR_CURVE, ed25519: 'our-ed25519', pickle: 'not-a-real-pickle', version: 1,
    deviceKeysPublished: true, fallbackKeyCreatedAtMs: null, previousFallbackExpiresAtMs: null, uploadClaimedBy: null, uploadClaimExpiresAtMs: null,
    createdAtMs: 1, updatedAtMs: 1,
  });
  return store;
}

/** An Olm to-device content with one pre-key message for our device. */
function olmContent(body: string, recipient = OUR_CURVE): Record<string, unknown> {
  return { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: SENDER_KEY, ciphertext: { [recipient]: { type: 0, body } } };
}

function appendFailed(store: ClientStore, content: Record<string, unknown>, reason: OlmDecryptionFailure): number {
  const appended = appendToInbox(store, [{ type: 'm.room.encrypted', sender: '@sender0:localhost', content, decryptionError: reason }], origin);
  return appended?.lastSeq ?? 0;
}

function decrypted(store: ClientStore, body: string): void {
  rememberOlmMessage(store, SENDER_KEY, messageHash(SENDER_KEY, 0, body), 1);
}

function roomEvent(store: ClientStore, eventId: string, keyContent: Record<string, unknown>, decryptedAtMs: number | null): SentRoomEvent {
  appendTimelinePage(store, '!room:localhost', [{
    eventId, roomId: '!room:localhost', sender: '@sender0:localhost', originServerTs: 1, sessionId: `session-${eventId}`,
    body: decryptedAtMs === null ? null : 'hi', ciphertext: decryptedAtMs === null ? '{}' : null, seenAtMs: 1, decryptedAtMs, late: false,
  }], 'next');
  return { eventId, sessionId: `session-${eventId}`, sender: 0, keyMessageHashes: sentOlmMessageHashes(keyContent) };
}

describe('olm oracle', () => {
  it('olm oracle: only messages never decrypted are failures, by the reason of their latest row; a key that waited for /keys/query and a redelivered copy are not', () => {
    const store = deviceStore();
    const watch = new OlmFailureWatch(store);
    // Waited for the sender device, then decrypted after /keys/query: not a failure.
    appendFailed(store, olmContent('waited'), 'unknown-device');
    decrypted(store, 'waited');
    // A pre-key message whose one-time key is gone: never decrypted, a lost one-time key.
    const lostSeq = appendFailed(store, olmContent('lost-key'), 'one-time-key-gone');
    // A redelivered copy of a message an earlier row decrypted.
    decrypted(store, 'spent');
    appendFailed(store, olmContent('spent'), 'replayed');
    // Unknown device first, then the retry failed for another reason: one message, counted under the latest reason.
    appendFailed(store, olmContent('retried'), 'unknown-device');
    appendFailed(store, olmContent('retried'), 'bad-mac');
    // No ciphertext for our key at all.
    appendFailed(store, olmContent('other', 'someone-else'), 'wrong-recipient');
    watch.observe();
    // Compaction deletes the lost key's row after the watch saw it: it still counts.
    store.db.prepare('DELETE FROM inbox WHERE seq = ?').run(lostSeq);

    const olm = judgeOlm(store, watch, []);
    expect(olm.failures).toMatchObject({ 'one-time-key-gone': 1, 'bad-mac': 1, 'wrong-recipient': 1, 'unknown-device': 0, replayed: 0 });
    expect(olm.failed).toBe(3);
    expect(olm.oneTimeKeysLost).toBe(1);
    expect(olm.undecryptableRedeliveries).toBe(1);
    expect(olm.redeliveryFailures).toMatchObject({ replayed: 1, 'bad-mac': 0 });
  });

  it('olm oracle: an unknown-device row still waiting at the end is a failure (the key never arrived)', () => {
    const store = deviceStore();
    appendFailed(store, olmContent('still-waiting'), 'unknown-device');
    const olm = judgeOlm(store, new OlmFailureWatch(store), []);
    expect(olm.failures['unknown-device']).toBe(1);
    expect(olmViolations(olm)).toEqual(['1 Olm message(s) never decrypted (unknown-device 1)']);
  });

  it('olm oracle: a room message is undecryptable because of Olm only when its key travelled in a message that was never decrypted', () => {
    const store = deviceStore();
    appendFailed(store, olmContent('lost-key'), 'one-time-key-gone');
    const events = [
      roomEvent(store, '$olm-lost', olmContent('lost-key'), null),
      // Undecryptable for another reason (its key's Olm message was decrypted; the key went astray later).
      roomEvent(store, '$elsewhere', olmContent('fine'), null),
      roomEvent(store, '$decrypted', olmContent('fine2'), 5),
    ];
    expect(judgeOlm(store, new OlmFailureWatch(store), events).unableToDecrypt).toBe(1);
  });

  it('olm oracle: wedged sessions, one-time keys uploaded twice and recoveries come from the device\'s own records', () => {
    const store = deviceStore();
    countOlmOutcome(store, 'decrypted', 1);
    addOlmOutcome(store, OLM_COUNTER_ONE_TIME_KEYS_UPLOADED_TWICE, 2, 1);
    addOlmOutcome(store, OLM_COUNTER_DUMMY_SENT, 1, 1);
    saveOlmWedged(store, { senderKey: SENDER_KEY, userId: '@sender0:localhost', deviceId: 'SENDER0', reason: 'no-session', failures: 1, firstFailedAtMs: 1, lastFailedAtMs: 1, lastDummySentAtMs: 1, dummiesSent: 1 });
    const olm = judgeOlm(store, new OlmFailureWatch(store), []);
    expect(olm).toMatchObject({ decrypted: 1, failed: 0, wedgedSessions: 1, oneTimeKeysUploadedTwice: 2, recoveries: 1 });
    expect(olmViolations(olm)).toEqual([
      '1 wedged Olm session(s)',
      '2 key upload(s) refused: a one-time key ID uploaded twice with different keys',
      '1 wedged-session recovery message(s) (m.dummy) sent',
    ]);
  });

  it('olm oracle: a clean run has no violation', () => {
    const store = deviceStore();
    countOlmOutcome(store, 'decrypted', 1);
    expect(olmViolations(judgeOlm(store, new OlmFailureWatch(store), []))).toEqual([]);
  });

  it('campaign: the Olm figures are summed per strategy over the seeds, reason by reason', () => {
    const store = deviceStore();
    appendFailed(store, olmContent('lost-key'), 'one-time-key-gone');
    const harmed = judgeOlm(store, new OlmFailureWatch(store), []);
    const clean = judgeOlm(deviceStore(), new OlmFailureWatch(deviceStore()), []);
    const runs = [
      { strategy: 'legacy', olm: harmed },
      { strategy: 'legacy', olm: harmed },
      { strategy: 'explicit-lease', olm: clean },
    ] as unknown as StrategyReport[];
    const sums = sumOlmByStrategy(runs);
    expect(sums.legacy).toMatchObject({ failed: 2, oneTimeKeysLost: 2, failures: { 'one-time-key-gone': 2 } });
    expect(sums['explicit-lease']).toMatchObject({ failed: 0, oneTimeKeysLost: 0 });
    expect(sums['explicit-cas']).toBeUndefined();
  });
});
