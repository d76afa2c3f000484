/**
 * The ID of the inbound Olm session a pre-key (type 0) message belongs to, read from the message itself, so the
 * decryption can go straight to that session instead of asking libolm, session by session, whether the message
 * matches it (`matches_inbound_from` decodes and parses the whole message for each session it is asked about).
 *
 * Runtime: node. Why this finds exactly the session `matches_inbound_from` would: libolm's session ID is the
 * unpadded base64 of SHA-256(alice identity key ‖ alice base key ‖ bob one-time key) (`olm::Session::session_id`),
 * and `matches_inbound_from(theirIdentityKey, message)` is true exactly when the message's identity, base and
 * one-time keys are those three keys of the session and `theirIdentityKey` is the session's alice identity key
 * (`olm::Session::matches_inbound_session`). So for a message whose identity key is the sender key, the session it
 * matches is the one whose ID is the hash of the message's three keys, and no other.
 *
 * Only a message in the form libolm itself writes is read here (`olm::encode_one_time_key_message`): unpadded
 * base64, version 3, then the one-time key, base key and identity key fields, each of 32 bytes, in that
 * order, then the inner message field. For anything else (another version, fields missing, reordered, repeated
 * or of other lengths, lenient base64) the answer is `undefined` and the caller asks libolm session by session,
 * as before, so an unusual message is judged by libolm alone. An identity key that is not the sender key also
 * gives `undefined`: libolm matches no session then, and the caller's fallback reaches the same verdict.
 */
import { hash } from 'node:crypto';

const PROTOCOL_VERSION = 3;
const ONE_TIME_KEY_TAG = 0x0a;
const BASE_KEY_TAG = 0x12;
const IDENTITY_KEY_TAG = 0x1a;
const MESSAGE_TAG = 0x22;
const KEY_BYTES = 32;
/** The key fields in the order libolm writes them: one-time key, base key, identity key. */
const KEY_TAGS = [ONE_TIME_KEY_TAG, BASE_KEY_TAG, IDENTITY_KEY_TAG] as const;
const FIELD_BYTES = 2 + KEY_BYTES;

/**
 * The bytes of `text` when it is unpadded base64 in libolm's alphabet, else undefined. Node's decoder accepts
 * padding and base64url's `-` and `_`, and skips any other character outside the alphabet, where libolm's decoder
 * refuses them: so those three are refused here, and a skipped character shows as fewer bytes than the length
 * promises. On text of the alphabet alone, of a length libolm accepts, both decoders give the same bytes.
 */
function decodeUnpaddedBase64(text: string): Buffer | undefined {
  if (text.length % 4 === 1 || text.includes('=') || text.includes('-') || text.includes('_')) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === Math.floor((text.length * 3) / 4) ? bytes : undefined;
}

/**
 * The session ID of the pre-key message `body` (base64, as in the event's ciphertext) when it is in libolm's own
 * form and its identity key is `senderKey`; otherwise undefined (see the module header).
 */
export function preKeyMessageSessionId(senderKey: string, body: string): string | undefined {
  const message = decodeUnpaddedBase64(body);
  const identity = decodeUnpaddedBase64(senderKey);
  if (message === undefined || identity === undefined || identity.length !== KEY_BYTES) return undefined;
  // The version, then three fields of (tag, length 32, key), then the inner message's tag.
  const keysEnd = 1 + KEY_TAGS.length * FIELD_BYTES;
  if (message.length <= keysEnd || message[0] !== PROTOCOL_VERSION) return undefined;
  for (const [index, tag] of KEY_TAGS.entries()) {
    const start = 1 + index * FIELD_BYTES;
    if (message[start] !== tag || message[start + 1] !== KEY_BYTES) return undefined;
  }
  if (message[keysEnd] !== MESSAGE_TAG || !innerMessageEndsTheBody(message, keysEnd + 1)) return undefined;
  // SHA-256 over identity key, base key, one-time key (the message carries them in the opposite order).
  const hashed = Buffer.allocUnsafe(3 * KEY_BYTES);
  for (const [index, field] of [2, 1, 0].entries()) {
    const keyStart = 1 + field * FIELD_BYTES + 2;
    message.copy(hashed, index * KEY_BYTES, keyStart, keyStart + KEY_BYTES);
  }
  if (identity.compare(hashed, 0, KEY_BYTES) !== 0) return undefined;
  return hash('sha256', hashed, 'base64').replace(/=+$/, '');
}

/** True when a varint length at `offset` is followed by exactly that many bytes, ending the message. */
function innerMessageEndsTheBody(message: Buffer, offset: number): boolean {
  let length = 0;
  let shift = 0;
  let position = offset;
  for (;;) {
    if (position >= message.length || shift > 28) return false;
    const byte = message[position] as number;
    position += 1;
    length += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return length > 0 && position + length === message.length;
}
