/**
 * Builds a notification from a pushed room event and the to-device data that event needs.
 *
 * Runtime: common logic (pure). A demo room message names, in `org.todevice.payload_tag`, the to-device message
 * (`org.todevice.payload`, same `tag`) that carries what the notification shows, the way an encrypted event
 * needs its room key. When that message has not arrived, the notification says so plainly instead of showing
 * something empty: that is exactly the harm a lost to-device message does to a user.
 */
import { PAYLOAD_EVENT_TYPE, PAYLOAD_TAG_FIELD } from '../shared/demo-protocol';
import type { RoomEvent } from '../shared/wire';

export interface PayloadRow {
  type: string;
  content: Record<string, unknown>;
}

export interface BuiltNotification {
  title: string;
  body: string;
  dataMissing: boolean;
}

export function buildNotification(event: RoomEvent, payloads: readonly PayloadRow[]): BuiltNotification {
  const title = `${event.sender} in ${event.room_id}`;
  const tag = event.content[PAYLOAD_TAG_FIELD];
  if (typeof tag !== 'string') {
    const body = typeof event.content.body === 'string' ? event.content.body : `(${event.type})`;
    return { title, body, dataMissing: false };
  }
  const payload = payloads.find((row) => row.type === PAYLOAD_EVENT_TYPE && row.content.tag === tag);
  if (!payload || typeof payload.content.text !== 'string') {
    return { title, body: `Message could not be shown: its to-device data (${tag}) has not arrived.`, dataMissing: true };
  }
  return { title, body: payload.content.text, dataMissing: false };
}
