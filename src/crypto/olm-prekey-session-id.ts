/**
 * The ID of the inbound Olm session a pre-key (type 0) message belongs to, read from the message itself, so the
 * decryption can go straight to that session instead of asking libolm, session by session, whether the message
 * matches it (`matches_inbound_from` decodes and parses the whole message for each session it is asked about,
 * which cost about a fifth of the decryption itself).
 *
 * Runtime: node. Why this finds exactly the session `matches_inbound_from` would: libolm's session ID is the
 * unpadded base64 of SHA-256(alice identity key ‖ alice base key ‖ bob one-time key) (`olm::Session::session_id`),
 * and `matches_inbound_from(theirIdentityKey, message)` is true exactly when the message's identity, base and
 * one-time keys are those three keys of the session and `theirIdentityKey` is the session's alice identity key
 * (`olm::Session::matches_inbound_session`). So for a message whose identity key is the sender key, the session it
 * matches is the one whose ID is the hash of the message's three keys, and no other.
 *
 * Only a message that starts the way libolm itself writes one is read here (`olm::encode_one_time_key_message`):
 * version 3, then the one-time key, base key and identity key fields, each of 32 bytes, in that order, then the
 * inner message field, whose length must end the message. For anything else (another version, fields missing,
 * reordered or of other lengths) the answer is `undefined` and the caller asks libolm session by session, as
 * before, so an unusual message is judged by libolm alone. An identity key that is not the sender key also gives
 * `undefined`: libolm matches no session then, and the caller's fallback reaches the same verdict.
 *
 * Only the first 144 characters of the base64 body are decoded (the 108 bytes that hold the version, the three
 * keys and the inner message's tag and length), and only if they are all of the standard alphabet, so they decode
 * to the same bytes here as in libolm. The rest of the body is left to libolm: whatever it makes of it is the
 * same whichever session was picked, and a body libolm cannot decode fails the decryption on the picked session
 * as it failed the match before (`malformed` either way).
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

/** Characters of the body decoded here: 108 bytes, enough for the version, three key fields and the inner tag and length. */
const PREFIX_CHARS = 144;
/**
 * The first characters of the body, which alone decide everything but the inner message's tag and length: 138
 * base64 characters are bytes 0 to 102 (the version and the three key fields, which end at byte 103) and the high
 * four bits of byte 103. `PreKeySessionIds` remembers its verdict per sender key and these characters.
 */
const KEYS_CHARS = 138;
/** Where the tail is decoded from: characters 136 to 143 are bytes 102 to 107 (a base64 group starts at 136). */
const TAIL_FROM_CHAR = 136;
const TAIL_FROM_BYTE = 102;
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;
/** The version, then three fields of (tag, length 32, key): the inner message's tag is the byte after. */
const KEYS_END_BYTE = 1 + KEY_TAGS.length * FIELD_BYTES;

/**
 * The session ID of the pre-key message `body` (base64, as in the event's ciphertext) when it starts as libolm
 * writes one and its identity key is `senderKey`; otherwise undefined (see the module header).
 */
export function preKeyMessageSessionId(senderKey: string, body: string): string | undefined {
  if (!mayBePreKeyMessage(senderKey, body)) return undefined;
  const sessionId = keysSessionId(senderKey, body.slice(0, KEYS_CHARS));
  return sessionId !== undefined && innerMessageFits(body) ? sessionId : undefined;
}

/**
 * `preKeyMessageSessionId` for the messages of one decryption pass, with the part that hashes and compares keys
 * done once per sender key and key fields: every pre-key message of one session carries the same keys, so a
 * batch of a hundred of them from one sender decoded and hashed the same 103 bytes a hundred times. The answer
 * for each message is exactly `preKeyMessageSessionId`'s: the remembered part depends on nothing but the sender
 * key and the first `KEYS_CHARS` characters, which are the remembered entry's key, and the rest (the length
 * checks, the inner message's tag and length) is checked for every message. One object per pass, so what it
 * remembers is bounded by the batch.
 */
export class PreKeySessionIds {
  private readonly bySenderKey = new Map<string, Map<string, string | undefined>>();

  sessionId(senderKey: string, body: string): string | undefined {
    if (!mayBePreKeyMessage(senderKey, body)) return undefined;
    let byKeys = this.bySenderKey.get(senderKey);
    if (byKeys === undefined) {
      byKeys = new Map();
      this.bySenderKey.set(senderKey, byKeys);
    }
    const keysText = body.slice(0, KEYS_CHARS);
    let sessionId = byKeys.get(keysText);
    if (sessionId === undefined && !byKeys.has(keysText)) {
      sessionId = keysSessionId(senderKey, keysText);
      byKeys.set(keysText, sessionId);
    }
    return sessionId !== undefined && innerMessageFits(body) ? sessionId : undefined;
  }
}

/** The checks on lengths alone. A base64 text of a length that leaves one character over is no encoding (libolm refuses it too). */
function mayBePreKeyMessage(senderKey: string, body: string): boolean {
  return body.length > PREFIX_CHARS && body.length % 4 !== 1 && senderKey.length === 43;
}

/**
 * From the first `KEYS_CHARS` characters: the session ID when they are of the standard alphabet, hold version 3
 * and the three key fields in libolm's order, and the identity key is `senderKey`; otherwise undefined.
 */
function keysSessionId(senderKey: string, keysText: string): string | undefined {
  if (!BASE64_ALPHABET.test(keysText) || !BASE64_ALPHABET.test(senderKey)) return undefined;
  // 138 characters decode to bytes 0 to 102: the version and the three key fields, whole.
  const keys = Buffer.from(keysText, 'base64');
  if (keys.length !== KEYS_END_BYTE || keys[0] !== PROTOCOL_VERSION) return undefined;
  for (const [index, tag] of KEY_TAGS.entries()) {
    const start = 1 + index * FIELD_BYTES;
    if (keys[start] !== tag || keys[start + 1] !== KEY_BYTES) return undefined;
  }
  // SHA-256 over identity key, base key, one-time key (the message carries them in the opposite order).
  const hashed = Buffer.allocUnsafe(3 * KEY_BYTES);
  for (const [index, field] of [2, 1, 0].entries()) {
    const keyStart = 1 + field * FIELD_BYTES + 2;
    keys.copy(hashed, index * KEY_BYTES, keyStart, keyStart + KEY_BYTES);
  }
  if (Buffer.from(senderKey, 'base64').compare(hashed, 0, KEY_BYTES) !== 0) return undefined;
  return hash('sha256', hashed, 'base64').replace(/=+$/, '');
}

/**
 * Characters 136 to 143 (bytes 102 to 107) are of the standard alphabet, byte 103 is the inner message's tag, and
 * the varint length after it is followed by exactly that many bytes, ending the message.
 */
function innerMessageFits(body: string): boolean {
  const tailText = body.slice(TAIL_FROM_CHAR, PREFIX_CHARS);
  if (!BASE64_ALPHABET.test(tailText)) return false;
  const tail = Buffer.from(tailText, 'base64');
  if (tail[KEYS_END_BYTE - TAIL_FROM_BYTE] !== MESSAGE_TAG) return false;
  return innerMessageEndsTheBody(tail, KEYS_END_BYTE + 1 - TAIL_FROM_BYTE, Math.floor((body.length * 3) / 4) - TAIL_FROM_BYTE);
}

/** True when the varint length at `offset` of `bytes` is followed by exactly that many bytes, ending the message. */
function innerMessageEndsTheBody(bytes: Buffer, offset: number, bytesLeft: number): boolean {
  let length = 0;
  let shift = 0;
  let position = offset;
  for (;;) {
    if (position >= bytes.length || shift > 28) return false;
    const byte = bytes[position] as number;
    position += 1;
    length += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return length > 0 && position + length === bytesLeft;
}
