/**
 * The wire format of encrypted demo traffic: Megolm room messages, and the to-device event that shares each
 * Megolm session with the recipient device.
 *
 * Runtime: common (pure validation, no crypto).
 *
 * - Room messages are ordinary `m.room.encrypted` events with `m.megolm.v1.aes-sha2` content, made by
 *   `@matrix-org/matrix-sdk-crypto-wasm` (src/crypto).
 * - A session is shared by an `org.todevice.room_key` to-device event, sent before the first message it unlocks.
 *   Its `room_key` field is the session in the key-export format (`algorithm`, `room_id`, `sender_key`,
 *   `session_id`, `session_key`, `sender_claimed_keys`, `forwarding_curve25519_key_chain`), the same object a
 *   key-export file holds. It also carries `tag` and `sent_at_ms` like every message todevice sends, so the
 *   oracle counts it as lost or duplicated like any other.
 * - This event is NOT Olm-encrypted, unlike a real `m.room_key`, and so has its own type. A device's Olm state
 *   (its identity keys, one-time keys and ratchets with each peer) would have to be shared by the main process and
 *   the notification process, and the WASM crypto store keeps that state in memory or in IndexedDB, neither of
 *   which two OS processes can share (README, "Encryption"). The Megolm layer, which is what a lost to-device
 *   message breaks, is real.
 */
import type { Result } from './result';
import { err, ok } from './result';

export const ROOM_KEY_EVENT_TYPE = 'org.todevice.room_key';

/**
 * How long an encrypted event may wait for its room key after it was first paged in before its decryption
 * counts as late. The key is sent before the message, but reaches the store through another path (to-device
 * sync, commit, the consumer) than the message takes (`/messages`), so in a run with no fault at all the message
 * is sometimes paged a pass (a few hundred milliseconds) before its key is stored. That is not a delay a user
 * notices, and calling it late would make the normal flow look broken. A key kept back by a fault (a killed or
 * suspended main process, a notifier holding the lease, dropped responses) takes seconds, and is late. This is
 * the grace period matrix-rust-sdk's UTD hook and Element's decryption-failure tracker apply before they report
 * an undecryptable event; theirs are longer because their keys cross the network, ours stay on one machine.
 * While an event waits within this window, the dashboard shows it as waiting for its key, not as a failure.
 */
export const LATE_DECRYPTION_GRACE_MS = 2000;
export const ENCRYPTED_EVENT_TYPE = 'm.room.encrypted';
export const MEGOLM_ALGORITHM = 'm.megolm.v1.aes-sha2';

/** A Megolm session in the key-export format. */
export interface ExportedRoomKey {
  algorithm: typeof MEGOLM_ALGORITHM;
  room_id: string;
  sender_key: string;
  session_id: string;
  session_key: string;
  sender_claimed_keys: Record<string, string>;
  forwarding_curve25519_key_chain: string[];
  [extra: string]: unknown;
}

const MAX_FIELD_LENGTH = 4096;

function shortString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_FIELD_LENGTH;
}

/** Validates the `room_key` of an `org.todevice.room_key` content; the error says which field is wrong. */
export function parseRoomKeyContent(content: Record<string, unknown>): Result<ExportedRoomKey, string> {
  const key = content.room_key;
  if (typeof key !== 'object' || key === null || Array.isArray(key)) return err('"room_key" must be an object');
  const fields = key as Record<string, unknown>;
  if (fields.algorithm !== MEGOLM_ALGORITHM) return err(`"room_key.algorithm" must be ${MEGOLM_ALGORITHM}`);
  for (const name of ['room_id', 'sender_key', 'session_id', 'session_key'] as const) {
    if (!shortString(fields[name])) return err(`"room_key.${name}" must be a non-empty string`);
  }
  const claimed = fields.sender_claimed_keys;
  if (typeof claimed !== 'object' || claimed === null || Array.isArray(claimed) || !Object.values(claimed).every(shortString)) {
    return err('"room_key.sender_claimed_keys" must be an object of strings');
  }
  const chain = fields.forwarding_curve25519_key_chain ?? [];
  if (!Array.isArray(chain) || !chain.every(shortString)) return err('"room_key.forwarding_curve25519_key_chain" must be an array of strings');
  return ok({ ...fields, forwarding_curve25519_key_chain: chain } as ExportedRoomKey);
}

/** The Megolm session an `m.room.encrypted` content names, or undefined when it is not Megolm content. */
export function megolmSessionId(content: Record<string, unknown>): string | undefined {
  return content.algorithm === MEGOLM_ALGORITHM && shortString(content.session_id) ? content.session_id : undefined;
}
