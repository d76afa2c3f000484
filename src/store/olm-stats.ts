/**
 * What the device's Olm state says about itself, for `todevice inbox` and the dashboard: identity keys (public),
 * the server's one-time key count, and the counters the decrypting commits and the key upload keep.
 *
 * Runtime: node. Counts only, computed in SQL; no pickle, no key material leaves this module (the identity keys
 * are the device's public keys, which `/keys/query` hands to anyone).
 */
import { OLM_DECRYPTION_FAILURES, type OlmDecryptionFailure } from '../shared/olm-state';
import { readOlmAccount, readOlmKeyCounts } from './olm-account';
import { listOlmWedged, olmOutcomeCounts } from './olm-bookkeeping';
import type { ClientStore } from './open-store';
import { withheldCount } from './room-key-withheld';

/** The outcome counter names the device module writes beside libolm's (src/device/olm-device.ts). */
export const OLM_COUNTER_ONE_TIME_KEYS_UPLOADED = 'one-time-keys-uploaded';
export const OLM_COUNTER_DECRYPTED_AFTER_QUERY = 'decrypted-after-query';
export const OLM_COUNTER_DUMMY_SENT = 'dummy-sent';
/**
 * `/keys/upload` requests the homeserver refused because a one-time key ID it holds came again with another key
 * (Synapse's 400 "One time key ... already exists"): two copies of the account generated different keys under
 * the same IDs, and one of them uploaded first.
 */
export const OLM_COUNTER_ONE_TIME_KEYS_UPLOADED_TWICE = 'one-time-keys-uploaded-twice';

export interface OlmStats {
  /** The device's public identity, or null before its first start with Olm. */
  identity: { curve25519: string; ed25519: string; deviceKeysPublished: boolean } | null;
  /** The server's last reported `signed_curve25519` count (null: never reported). */
  serverOneTimeKeys: number | null;
  oneTimeKeysUploaded: number;
  /** Uploads refused because a one-time key ID was already on the server with another key. */
  oneTimeKeyUploadsRefused: number;
  sessions: number;
  decrypted: number;
  /** Undecryptable to-device events by reason (every reason listed, zero included). */
  failures: Record<OlmDecryptionFailure, number>;
  /** Rows kept for an unknown sender device and decrypted after `/keys/query`. */
  decryptedAfterQuery: number;
  /** Sender devices whose messages failed with a session error. */
  wedgedDevices: number;
  /** New sessions with an `m.dummy` sent to wedged devices (the recovery). */
  recoveries: number;
  /** Megolm sessions whose key a sender withheld. */
  withheldSessions: number;
}

export function readOlmStats(store: ClientStore): OlmStats {
  const account = readOlmAccount(store);
  const counts = olmOutcomeCounts(store);
  const failures = Object.fromEntries(OLM_DECRYPTION_FAILURES.map((reason) => [reason, counts[reason] ?? 0])) as Record<OlmDecryptionFailure, number>;
  const sessions = (store.statement('SELECT count(*) AS n FROM olm_sessions').get() as { n: number }).n;
  return {
    identity: account === undefined ? null : { curve25519: account.curve25519, ed25519: account.ed25519, deviceKeysPublished: account.deviceKeysPublished },
    serverOneTimeKeys: readOlmKeyCounts(store)?.oneTimeKeyCounts.signed_curve25519 ?? null,
    oneTimeKeysUploaded: counts[OLM_COUNTER_ONE_TIME_KEYS_UPLOADED] ?? 0,
    oneTimeKeyUploadsRefused: counts[OLM_COUNTER_ONE_TIME_KEYS_UPLOADED_TWICE] ?? 0,
    sessions,
    decrypted: counts.decrypted ?? 0,
    failures,
    decryptedAfterQuery: counts[OLM_COUNTER_DECRYPTED_AFTER_QUERY] ?? 0,
    wedgedDevices: listOlmWedged(store).length,
    recoveries: counts[OLM_COUNTER_DUMMY_SENT] ?? 0,
    withheldSessions: withheldCount(store),
  };
}
