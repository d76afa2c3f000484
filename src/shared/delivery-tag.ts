/**
 * A to-device message's delivery tag: the identity by which the oracle, the dashboard and `todevice inbox` count
 * each message as delivered exactly once.
 *
 * Runtime: common (pure). Two kinds of tag, both derived the same way on the sending and the receiving side:
 * - a message todevice sends itself carries `tag` in its content (inside the Olm payload when it is encrypted, so
 *   the receiver reads it after decryption);
 * - a room key travels as `m.room_key`, whose content the sender's crypto library writes and which has no room for
 *   a tag. Its tag is `room-key:<session_id>`: the sender knows the session it shared, the receiver reads
 *   `session_id` from the decrypted content. A Megolm session is shared once per recipient device, so the tag is
 *   as unique as a counted tag. A plaintext key event (`org.todevice.room_key`) still carries its own `tag`.
 */
import { OLM_ROOM_KEY_EVENT_TYPE } from './olm-wire';

export const ROOM_KEY_TAG_PREFIX = 'room-key:';

/** The tag of the room key that shares Megolm session `sessionId`. */
export function roomKeyTag(sessionId: string): string {
  return `${ROOM_KEY_TAG_PREFIX}${sessionId}`;
}

/** The delivery tag of a received (decrypted) to-device event, or null for an event that carries none. */
export function deliveryTag(type: string, content: Record<string, unknown>): string | null {
  if (typeof content.tag === 'string') return content.tag;
  if (type === OLM_ROOM_KEY_EVENT_TYPE && typeof content.session_id === 'string' && content.session_id.length > 0) return roomKeyTag(content.session_id);
  return null;
}
