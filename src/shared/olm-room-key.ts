/**
 * A Megolm room key received in a decrypted `m.room_key` to-device event, kept in the same shape as an exported
 * key (src/shared/room-key-protocol.ts) so src/store/room-keys.ts stores it unchanged.
 *
 * Runtime: common (pure validation, no crypto). An `m.room_key` carries the session in its *sharing* format
 * (libolm `OutboundGroupSession.session_key()`, signed by the sender), while a key export holds the *export*
 * format (`export_session(index)`, unsigned). The two are not interchangeable, so the record says which one its
 * `session_key` is (`SESSION_KEY_FORMAT_FIELD`); the decryptors (src/crypto/megolm-decryptor.ts) import either.
 * `sender_key` and `sender_claimed_keys.ed25519` come from the Olm envelope the key arrived in (checked against
 * `/keys/query` by the decrypting commit), never from the key's own content.
 */
import type { ToDeviceEncryptionInfo } from './olm-state';
import { MEGOLM_ALGORITHM_V1 } from './olm-wire';
import type { Result } from './result';
import { err, ok } from './result';
import type { ExportedRoomKey } from './room-key-protocol';

export const SESSION_KEY_FORMAT_FIELD = 'org.todevice.session_key_format';

export type SessionKeyFormat = 'sharing' | 'export';

const MAX_FIELD_LENGTH = 4096;

/** The room key of a decrypted `m.room_key` row, or why its content is unusable. */
export function roomKeyFromOlmEvent(content: Record<string, unknown>, encryption: ToDeviceEncryptionInfo): Result<ExportedRoomKey, string> {
  if (content.algorithm !== MEGOLM_ALGORITHM_V1) return err(`"algorithm" must be ${MEGOLM_ALGORITHM_V1}`);
  for (const name of ['room_id', 'session_id', 'session_key'] as const) {
    const value = content[name];
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD_LENGTH) return err(`"${name}" must be a non-empty string`);
  }
  return ok({
    algorithm: MEGOLM_ALGORITHM_V1,
    room_id: content.room_id as string,
    sender_key: encryption.sender_key,
    session_id: content.session_id as string,
    session_key: content.session_key as string,
    sender_claimed_keys: { ed25519: encryption.sender_ed25519 },
    forwarding_curve25519_key_chain: [],
    [SESSION_KEY_FORMAT_FIELD]: 'sharing',
  });
}

/** Which format a stored key's `session_key` is in (keys without the field are exports). */
export function sessionKeyFormat(key: ExportedRoomKey): SessionKeyFormat {
  return key[SESSION_KEY_FORMAT_FIELD] === 'sharing' ? 'sharing' : 'export';
}

export const ROOM_KEY_WITHHELD_EVENT_TYPE = 'm.room_key.withheld';

/** A sender's notice that it will not share the key of one Megolm session (`m.room_key.withheld`). */
export interface WithheldRoomKey {
  roomId: string;
  sessionId: string;
  /** `m.unverified`, `m.blacklisted`, `m.unauthorised`, `m.unavailable`, `m.no_olm`, or another code. */
  code: string;
  reason: string | null;
}

/**
 * The withheld notice in an `m.room_key.withheld` content, or why it is unusable. A notice without a session
 * (`m.no_olm` names none) says nothing about any message and is refused here.
 */
export function withheldFromEvent(content: Record<string, unknown>): Result<WithheldRoomKey, string> {
  for (const name of ['room_id', 'session_id', 'code'] as const) {
    const value = content[name];
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD_LENGTH) return err(`"${name}" must be a non-empty string`);
  }
  const reason = typeof content.reason === 'string' ? content.reason.slice(0, MAX_FIELD_LENGTH) : null;
  return ok({ roomId: content.room_id as string, sessionId: content.session_id as string, code: content.code as string, reason });
}
