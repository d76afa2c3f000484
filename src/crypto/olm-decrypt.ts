/**
 * Decrypts the Olm-encrypted to-device events of one fetched batch into inbox rows: the `transformEvents` of
 * `commitBatch` (DESIGN.md §8).
 *
 * Runtime: node / electron-utility, after `loadOlm()`. Synchronous: it runs inside the commit's `BEGIN IMMEDIATE`
 * transaction, reads the account and sessions there and writes what it advanced there, so a refused or rolled-back
 * commit forgets every Olm change with the batch, and a redelivered batch decrypts again from the same state.
 * It runs in a savepoint of its own too, so called alone it is still all-or-nothing.
 *
 * For each `m.room.encrypted` event with algorithm `m.olm.v1.curve25519-aes-sha2`:
 *  1. the ciphertext for our curve25519 key is taken (none: `wrong-recipient`);
 *  2. the sender device is looked up by the event's sender and the envelope's `sender_key` in the device keys from
 *     `/keys/query`; an unknown device is left encrypted (`unknown-device`) BEFORE anything is decrypted, so no
 *     message key or one-time key is spent and the row can be decrypted once the device is known;
 *  3. a normal (type 1) message is tried on every session with that sender key, most recently used first; a
 *     pre-key (type 0) message goes to the session it belongs to (found by the session ID the message's keys
 *     give, olm-prekey-session-id.ts, or for a message not in libolm's own form by `matches_inbound_from`), or
 *     else creates a new inbound session, which removes the one-time key it used from the account in this same transaction;
 *  4. the payload must name the event's sender, our user as recipient, our ed25519 key as `recipient_keys`, and
 *     the sender device's ed25519 key as `keys` (libolm checks none of these). A failed check keeps the session's
 *     progress (the message was authentic Olm from that key) but not the event, as matrix-rust-sdk does.
 * An event that cannot be decrypted stays in the inbox as it arrived, with its reason, and is counted; nothing is
 * dropped. A session error (`no-session`, `bad-mac`, `one-time-key-gone`) from a known device is recorded for
 * the wedged-session recovery (olm-unwedge.ts) unless the message is one we decrypted before (`replayed`: its key
 * was spent by an earlier delivery, the session is fine). Other events pass through unchanged.
 */
import { hash as digest } from 'node:crypto';
import type { InboxEventInput, OlmDecryptionFailure, OlmDeviceRecord, OlmStateStore } from '../shared/olm-state';
import { ENCRYPTED_TO_DEVICE_TYPE, isObject, OLM_ALGORITHM } from '../shared/olm-wire';
import type { ToDeviceEvent } from '../shared/wire';
import type { OlmIdentity } from './olm-account';
import { olm, type OlmSession } from './olm-library';
import { OlmPassBookkeeping } from './olm-pass-bookkeeping';
import { PreKeySessionIds } from './olm-prekey-session-id';
import { OlmWorkingSet, type SessionEntry } from './olm-working-set';
import type { PickleKey } from './pickle-key';
import { sealSecrets } from './secret-box';

export interface OlmDecryptContext {
  state: OlmStateStore;
  pickleKey: PickleKey;
  identity: OlmIdentity;
  nowMs: number;
  /**
   * Seal the Megolm `session_key` of decrypted `m.room_key` / `m.forwarded_room_key` rows with the pickle key
   * (secret-box.ts, bound to the session ID) before they reach the inbox, so a room key at rest is no weaker than
   * the Olm pickles. The Megolm decryptors open it again when given the pickle key. Default false.
   */
  sealRoomKeys?: boolean;
}

type Attempt = { ok: true; plaintext: string; sessionId: string } | { ok: false; reason: OlmDecryptionFailure };

const SESSION_ERRORS: ReadonlySet<OlmDecryptionFailure> = new Set(['no-session', 'bad-mac', 'one-time-key-gone']);

/**
 * Whether a batch has anything for `decryptToDeviceBatch` to do. When it has not, the rows are the events as
 * they are, nothing of the Olm state is read or written, and libolm is not needed at all.
 */
export function needsOlmDecryption(events: readonly ToDeviceEvent[]): boolean {
  return events.some((event) => event.type === ENCRYPTED_TO_DEVICE_TYPE);
}

/** The rows for `events`, in order: decrypted, kept encrypted with a reason, or unchanged when not Olm. */
export function decryptToDeviceBatch(context: OlmDecryptContext, events: readonly ToDeviceEvent[]): InboxEventInput[] {
  if (!needsOlmDecryption(events)) return [...events];
  return context.state.immediate(() => {
    const working = new OlmWorkingSet(context.state, context.pickleKey);
    const bookkeeping = new OlmPassBookkeeping(context.state);
    const pass: Pass = { working, bookkeeping, sessionIds: new PreKeySessionIds(), roomKeys: [] };
    try {
      const rows = events.map((event) => (event.type === ENCRYPTED_TO_DEVICE_TYPE ? decryptEvent(context, pass, event) : event));
      sealPassRoomKeys(context.pickleKey, pass.roomKeys);
      working.flush(context.nowMs);
      bookkeeping.flush(context.nowMs);
      return rows;
    } finally {
      working.free();
    }
  });
}

/** The event as it arrived, with the reason it stays encrypted (counted). */
function failed(bookkeeping: OlmPassBookkeeping, event: ToDeviceEvent, reason: OlmDecryptionFailure): InboxEventInput {
  bookkeeping.count(reason);
  return { type: event.type, sender: event.sender, content: event.content, decryptionError: reason };
}

/** What one pass works with: the Olm objects, the reads and counts, the pre-key messages' session IDs, the room keys it seals. */
interface Pass {
  working: OlmWorkingSet;
  bookkeeping: OlmPassBookkeeping;
  sessionIds: PreKeySessionIds;
  /** The decrypted room keys to seal before the pass returns its rows (`sealRoomKeys`). */
  roomKeys: RoomKeyToSeal[];
}

function decryptEvent(context: OlmDecryptContext, pass: Pass, event: ToDeviceEvent): InboxEventInput {
  const { state, identity, nowMs } = context;
  const { working, bookkeeping } = pass;
  const content = event.content;
  if (content.algorithm !== OLM_ALGORITHM) return failed(bookkeeping, event, typeof content.algorithm === 'string' ? 'unsupported-algorithm' : 'malformed');
  const senderKey = content.sender_key;
  if (typeof senderKey !== 'string' || !isObject(content.ciphertext)) return failed(bookkeeping, event, 'malformed');
  const mine = content.ciphertext[identity.curve25519];
  if (mine === undefined) return failed(bookkeeping, event, 'wrong-recipient');
  if (!isObject(mine) || (mine.type !== 0 && mine.type !== 1) || typeof mine.body !== 'string') return failed(bookkeeping, event, 'malformed');
  const device = bookkeeping.deviceByCurve25519(event.sender, senderKey);
  if (device === undefined) return failed(bookkeeping, event, 'unknown-device');

  const hash = messageHash(senderKey, mine.type, mine.body);
  const attempt = mine.type === 1 ? decryptNormal(working, senderKey, mine.body, nowMs) : decryptPreKey(working, pass.sessionIds, senderKey, mine.body, nowMs);
  if (!attempt.ok) {
    if (SESSION_ERRORS.has(attempt.reason) && bookkeeping.isMessageKnown(senderKey, hash)) return failed(bookkeeping, event, 'replayed');
    if (SESSION_ERRORS.has(attempt.reason)) recordWedged(state, device, attempt.reason, nowMs);
    return failed(bookkeeping, event, attempt.reason);
  }
  bookkeeping.rememberMessage(senderKey, hash);
  const checked = checkPayload(attempt.plaintext, event, identity, device);
  if (!checked.ok) return failed(bookkeeping, event, checked.reason);
  bookkeeping.count('decrypted');
  const row = {
    type: checked.type,
    sender: event.sender,
    content: checked.content,
    encryption: {
      algorithm: OLM_ALGORITHM,
      sender_key: senderKey,
      session_id: attempt.sessionId,
      sender_device_id: device.deviceId,
      sender_ed25519: device.ed25519,
    },
  };
  if (context.sealRoomKeys === true) keepRoomKeyToSeal(pass.roomKeys, row);
  return row;
}

function decryptNormal(working: OlmWorkingSet, senderKey: string, body: string, nowMs: number): Attempt {
  const entries = working.sessionsFor(senderKey);
  if (entries.length === 0) return { ok: false, reason: 'no-session' };
  const reasons: OlmDecryptionFailure[] = [];
  for (const entry of [...entries]) {
    try {
      const plaintext = working.sessionObject(entry).decrypt(1, body);
      working.keepProgress(entry, nowMs, { received: 1 });
      return { ok: true, plaintext, sessionId: entry.record.sessionId };
    } catch (error) {
      // The session is unchanged (olm-working-set.ts): the next message may still decrypt with it.
      reasons.push(olmFailure(error));
    }
  }
  // A message no session authenticates is a broken (or foreign) session; a body libolm cannot parse is malformed.
  if (reasons.includes('bad-mac')) return { ok: false, reason: 'bad-mac' };
  return { ok: false, reason: reasons.every((reason) => reason === 'malformed') ? 'malformed' : 'olm-error' };
}

function decryptPreKey(working: OlmWorkingSet, sessionIds: PreKeySessionIds, senderKey: string, body: string, nowMs: number): Attempt {
  const sessionId = sessionIds.sessionId(senderKey, body);
  if (sessionId !== undefined) {
    // The message names its session (olm-prekey-session-id.ts): the one `matches_inbound_from` would pick, or none.
    const entry = working.sessionsFor(senderKey).find((candidate) => candidate.record.sessionId === sessionId);
    return entry === undefined ? createInbound(working, senderKey, body, nowMs) : decryptOn(working, entry, body, nowMs);
  }
  for (const entry of [...working.sessionsFor(senderKey)]) {
    let matches: boolean;
    try {
      matches = working.sessionObject(entry).matches_inbound_from(senderKey, body);
    } catch (error) {
      return { ok: false, reason: olmFailure(error) };
    }
    if (matches) return decryptOn(working, entry, body, nowMs);
  }
  return createInbound(working, senderKey, body, nowMs);
}

/** Decrypts a pre-key message with the session it belongs to: if that fails, a new session from the same keys would not help. */
function decryptOn(working: OlmWorkingSet, entry: SessionEntry, body: string, nowMs: number): Attempt {
  try {
    const plaintext = working.sessionObject(entry).decrypt(0, body);
    working.keepProgress(entry, nowMs, { received: 1 });
    return { ok: true, plaintext, sessionId: entry.record.sessionId };
  } catch (error) {
    return { ok: false, reason: olmFailure(error) };
  }
}

function createInbound(working: OlmWorkingSet, senderKey: string, body: string, nowMs: number): Attempt {
  const account = working.accountObject();
  const session: OlmSession = new (olm().Session)();
  let plaintext: string;
  try {
    session.create_inbound_from(account, senderKey, body);
    plaintext = session.decrypt(0, body);
  } catch (error) {
    session.free();
    return { ok: false, reason: olmFailure(error) };
  }
  try {
    account.remove_one_time_keys(session);
    working.markAccountChanged();
  } catch {
    // The session was made with our fallback key, which stays until it is rotated: nothing to remove.
  }
  const entry = working.addSession(senderKey, session, nowMs, { received: 1 });
  return { ok: true, plaintext, sessionId: entry.record.sessionId };
}

type CheckedPayload = { ok: true; type: string; content: Record<string, unknown> } | { ok: false; reason: OlmDecryptionFailure };

function checkPayload(plaintext: string, event: ToDeviceEvent, identity: OlmIdentity, device: OlmDeviceRecord): CheckedPayload {
  let payload: unknown;
  try {
    payload = JSON.parse(plaintext);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isObject(payload) || typeof payload.type !== 'string' || !isObject(payload.content)) return { ok: false, reason: 'malformed' };
  const recipientKeys = payload.recipient_keys;
  if (payload.recipient !== identity.userId || !isObject(recipientKeys) || recipientKeys.ed25519 !== identity.ed25519) {
    return { ok: false, reason: 'wrong-recipient' };
  }
  const keys = payload.keys;
  if (payload.sender !== event.sender || !isObject(keys) || keys.ed25519 !== device.ed25519) return { ok: false, reason: 'wrong-sender' };
  return { ok: true, type: payload.type, content: payload.content };
}

const ROOM_KEY_TYPES: ReadonlySet<string> = new Set(['m.room_key', 'm.forwarded_room_key']);

/** A decrypted room key row of this pass, whose `session_key` is sealed before the pass returns it. */
interface RoomKeyToSeal {
  row: { content: Record<string, unknown> };
  sessionKey: string;
  sessionId: string;
}

/**
 * Every room key's `session_key` is sealed, a malformed one's too: a key without a string `session_id` is bound
 * to the empty place (it is of no use to anyone, and must not sit in clear at rest either).
 */
function keepRoomKeyToSeal(roomKeys: RoomKeyToSeal[], row: { type: string; content: Record<string, unknown> }): void {
  const { session_key: sessionKey, session_id: sessionId } = row.content;
  if (ROOM_KEY_TYPES.has(row.type) && typeof sessionKey === 'string') roomKeys.push({ row, sessionKey, sessionId: typeof sessionId === 'string' ? sessionId : '' });
}

/**
 * Seals the pass's room keys in one go (secret-box.ts: one cipher for the batch, each value opening alone, bound
 * to its session ID) and puts each sealed value in its row. It runs before the pass returns, so no row leaves the
 * pass with a room key in clear; if it throws, the pass throws and the commit rolls back.
 */
function sealPassRoomKeys(pickleKey: PickleKey, roomKeys: readonly RoomKeyToSeal[]): void {
  const sealed = sealSecrets(pickleKey, roomKeys.map((key) => ({ plaintext: key.sessionKey, aad: key.sessionId })));
  roomKeys.forEach((key, index) => {
    key.row.content = { ...key.row.content, session_key: sealed[index] };
  });
}

function recordWedged(state: OlmStateStore, device: OlmDeviceRecord, reason: OlmDecryptionFailure, nowMs: number): void {
  const known = state.readWedged(device.curve25519);
  state.saveWedged({
    senderKey: device.curve25519,
    userId: device.userId,
    deviceId: device.deviceId,
    reason,
    failures: (known?.failures ?? 0) + 1,
    firstFailedAtMs: known?.firstFailedAtMs ?? nowMs,
    lastFailedAtMs: nowMs,
    lastDummySentAtMs: known?.lastDummySentAtMs ?? null,
    dummiesSent: known?.dummiesSent ?? 0,
  });
}

/** Maps libolm's error names (`OLM.BAD_MESSAGE_MAC`, …) to our reasons. Never keeps the message text. */
export function olmFailure(error: unknown): OlmDecryptionFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('BAD_MESSAGE_MAC')) return 'bad-mac';
  if (message.includes('BAD_MESSAGE_KEY_ID')) return 'one-time-key-gone';
  if (/BAD_MESSAGE_FORMAT|BAD_MESSAGE_VERSION|INVALID_BASE64/.test(message)) return 'malformed';
  return 'olm-error';
}

/** Identifies one Olm message of one sender key for replay detection (no secret in it: the body is ciphertext). */
export function messageHash(senderKey: string, type: 0 | 1, body: string): string {
  // One call over the joined text: the same bytes, so the same hash, as hashing the parts one after another.
  return digest('sha256', `${senderKey}\0${type}\0${body}`, 'base64');
}
