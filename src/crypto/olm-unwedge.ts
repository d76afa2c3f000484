/**
 * Wedged-session recovery as matrix-rust-sdk does it: when a device's messages fail with a session error, make a
 * new Olm session to that device and send it an encrypted `m.dummy`, so its next messages use the new session.
 *
 * Runtime: node / electron-utility, after `loadOlm()`. The decrypting commit records the failing device
 * (olm-decrypt.ts, table `olm_wedged`); the lead process then, outside any transaction, asks `devicesToUnwedge`,
 * claims one-time keys for them (`keysClaimForUnwedging` → `/keys/claim`), and hands each claim to
 * `createUnwedgingDummy`, which in one transaction re-checks the rate limit, creates the outbound session, stores
 * it, records the dummy as sent and returns the content to `PUT /sendToDevice/m.room.encrypted/{txnId}`.
 * Guarantees:
 * - At most one dummy per device per `UNWEDGING_INTERVAL_MS` (rust-sdk's `UNWEDGING_INTERVAL`, one hour,
 *   measured like rust-sdk from the newest session with that device): the check and the record are in one
 *   transaction, so two processes cannot both send one.
 * - The session is stored before the dummy is sent. A crash before the send costs one dummy (retried after the
 *   interval); the reverse order could send a session we then forget, which would wedge it again.
 * - Every dummy made is counted (`dummy-sent`).
 */
import type { OlmStateStore, OlmWedgedRecord } from '../shared/olm-state';
import type { KeysClaimRequest, KeysClaimResponse, OlmEncryptedContent } from '../shared/olm-wire';
import { DUMMY_EVENT_TYPE, SIGNED_CURVE25519 } from '../shared/olm-wire';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import { withAccount, type OlmIdentity } from './olm-account';
import { claimedOneTimeKey } from './olm-device-keys';
import { encryptForDevice } from './olm-encrypt';
import { olm } from './olm-library';
import type { PickleKey } from './pickle-key';

export const UNWEDGING_INTERVAL_MS = 60 * 60 * 1000;

export interface UnwedgeContext {
  state: OlmStateStore;
  pickleKey: PickleKey;
  identity: OlmIdentity;
  nowMs: number;
}

/** The wedged devices a dummy may be sent to now. */
export function devicesToUnwedge(state: OlmStateStore, nowMs: number): OlmWedgedRecord[] {
  return state.listWedged().filter((record) => unwedgeDue(state, record, nowMs));
}

/** The `/keys/claim` body for `records`. */
export function keysClaimForUnwedging(records: readonly OlmWedgedRecord[]): KeysClaimRequest {
  const oneTimeKeys: Record<string, Record<string, string>> = {};
  for (const record of records) (oneTimeKeys[record.userId] ??= {})[record.deviceId] = SIGNED_CURVE25519;
  return { one_time_keys: oneTimeKeys, timeout: 10_000 };
}

export type UnwedgeError =
  | { kind: 'not-due'; nextAtMs: number }
  | { kind: 'not-wedged' }
  | { kind: 'unknown-device' }
  | { kind: 'bad-claim'; message: string };

/**
 * Creates a new outbound session to the wedged device `senderKey` with the one-time key from `claim`, stores it,
 * and returns the encrypted `m.dummy` content for that device (send it with `sendToDevice`).
 */
export function createUnwedgingDummy(
  context: UnwedgeContext,
  senderKey: string,
  claim: KeysClaimResponse,
): Result<{ userId: string; deviceId: string; sessionId: string; content: OlmEncryptedContent }, UnwedgeError> {
  const { state, pickleKey, identity, nowMs } = context;
  return state.immediate(() => {
    const record = state.readWedged(senderKey);
    if (record === undefined) return err({ kind: 'not-wedged' as const });
    if (!unwedgeDue(state, record, nowMs)) return err({ kind: 'not-due' as const, nextAtMs: lastActivityMs(state, record) + UNWEDGING_INTERVAL_MS });
    const device = state.device(record.userId, record.deviceId);
    if (device === undefined || device.curve25519 !== senderKey) return err({ kind: 'unknown-device' as const });
    const oneTimeKey = claimedOneTimeKey(claim, device);
    if (!oneTimeKey.ok) return err({ kind: 'bad-claim' as const, message: oneTimeKey.error });
    const account = state.readAccount();
    if (account === undefined) throw new Error('no Olm account in the store: call ensureOlmAccount first');
    const session = new (olm().Session)();
    try {
      withAccount(account.pickle, pickleKey, (olmAccount) => session.create_outbound(olmAccount, device.curve25519, oneTimeKey.value.key));
      const content = encryptForDevice(session, identity, device, DUMMY_EVENT_TYPE, {});
      const sessionId = session.session_id();
      state.saveSession({
        senderKey,
        sessionId,
        pickle: session.pickle(pickleKey.forOlm()),
        createdAtMs: nowMs,
        lastUsedAtMs: nowMs,
        messagesReceived: 0,
        messagesSent: 1,
      });
      state.saveWedged({ ...record, lastDummySentAtMs: nowMs, dummiesSent: record.dummiesSent + 1 });
      state.countOutcome('dummy-sent', nowMs);
      return ok({ userId: device.userId, deviceId: device.deviceId, sessionId, content });
    } finally {
      session.free();
    }
  });
}

function unwedgeDue(state: OlmStateStore, record: OlmWedgedRecord, nowMs: number): boolean {
  // Only a failure after the last dummy asks for another one: the dummy's session may simply not be in use yet.
  if (record.lastDummySentAtMs !== null && record.lastFailedAtMs <= record.lastDummySentAtMs) return false;
  return nowMs - lastActivityMs(state, record) > UNWEDGING_INTERVAL_MS;
}

/** rust-sdk measures the interval from the newest session with the device; a dummy creates one too. */
function lastActivityMs(state: OlmStateStore, record: OlmWedgedRecord): number {
  const newestSession = Math.max(Number.NEGATIVE_INFINITY, ...state.sessionsFor(record.senderKey).map((session) => session.createdAtMs));
  return Math.max(newestSession, record.lastDummySentAtMs ?? Number.NEGATIVE_INFINITY);
}
