/**
 * Builds a notification from a pushed room event and what that event needs from to-device messages.
 *
 * Runtime: common logic (pure). Three kinds of event:
 * - `m.room.encrypted` (Megolm): the caller has already tried to decrypt it with the room keys this process may
 *   see. Decrypted, the notification shows the plaintext; otherwise it says plainly that the message could not
 *   be decrypted because its room key has not arrived, or, when the sender said it withheld that key
 *   (`m.room_key.withheld`), that it was withheld: a choice of the sender, not a lost key. That is exactly the harm a lost to-device message does
 *   to a user, so it is shown and counted, never papered over with an empty notification.
 * - A demo event naming an unencrypted `org.todevice.payload` by tag (kept for the bench's handoff case, which
 *   measures transport, not crypto): the payload's text, or a "has not arrived" line.
 * - Anything else: its `body`, or its type.
 */
import type { DecryptOutcome } from '../crypto/room-decryptor';
import { PAYLOAD_EVENT_TYPE, PAYLOAD_TAG_FIELD } from '../shared/demo-protocol';
import type { NotificationOutcome } from '../shared/notifier-messages';
import { ENCRYPTED_EVENT_TYPE } from '../shared/room-key-protocol';
import type { RoomEvent } from '../shared/wire';

export interface PayloadRow {
  type: string;
  content: Record<string, unknown>;
}

export interface BuiltNotification {
  title: string;
  body: string;
  dataMissing: boolean;
  outcome: NotificationOutcome;
  /** The Megolm session of an encrypted event. */
  sessionId: string | null;
}

export interface EventNeeds {
  /** Unencrypted payload rows found for the event's tag. */
  payloads: readonly PayloadRow[];
  /** The decryption attempt, for an `m.room.encrypted` event. */
  decryption?: DecryptOutcome;
  /** The sender's notice that it withheld the event's room key, when one was received. */
  withheld?: { code: string; reason: string | null };
}

function bodyOf(content: Record<string, unknown>, type: string): string {
  return typeof content.body === 'string' ? content.body : `(${type})`;
}

export function buildNotification(event: RoomEvent, needs: EventNeeds): BuiltNotification {
  const title = `${event.sender} in ${event.room_id}`;
  if (event.type === ENCRYPTED_EVENT_TYPE) {
    const decryption = needs.decryption;
    if (decryption?.kind === 'decrypted') {
      return { title, body: bodyOf(decryption.content, decryption.type), dataMissing: false, outcome: 'decrypted', sessionId: decryption.sessionId };
    }
    const sessionId = decryption?.kind === 'unable' ? (decryption.sessionId ?? null) : null;
    if (needs.withheld !== undefined && decryption?.kind === 'unable' && decryption.reason === 'missing-key') {
      const why = needs.withheld.reason === null ? needs.withheld.code : `${needs.withheld.code}: ${needs.withheld.reason}`;
      return { title, body: `The sender withheld the key to this message (${why}).`, dataMissing: false, outcome: 'withheld', sessionId };
    }
    const why = decryption?.kind === 'unable' && decryption.reason === 'failed' ? `decryption failed: ${decryption.detail}` : 'its room key has not arrived';
    return { title, body: `Unable to decrypt this message: ${why}.`, dataMissing: true, outcome: 'unable-to-decrypt', sessionId };
  }
  const tag = event.content[PAYLOAD_TAG_FIELD];
  if (typeof tag !== 'string') return { title, body: bodyOf(event.content, event.type), dataMissing: false, outcome: 'plain', sessionId: null };
  const payload = needs.payloads.find((row) => row.type === PAYLOAD_EVENT_TYPE && row.content.tag === tag);
  if (!payload || typeof payload.content.text !== 'string') {
    return { title, body: `Message could not be shown: its to-device data (${tag}) has not arrived.`, dataMissing: true, outcome: 'data-missing', sessionId: null };
  }
  return { title, body: payload.content.text, dataMissing: false, outcome: 'plain', sessionId: null };
}

/** The notification for an event that could not be fetched from the homeserver. */
export function fetchFailedNotification(eventId: string, reason: string): BuiltNotification {
  return { title: 'New message', body: `The pushed event ${eventId} could not be fetched (${reason}).`, dataMissing: true, outcome: 'fetch-failed', sessionId: null };
}
