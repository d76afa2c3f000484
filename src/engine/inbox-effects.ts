/**
 * What every consumer does with an inbox row, inside the transaction that moves its cursor: record it as
 * handled, and keep the room key when the row shares one (the plaintext `org.todevice.room_key`, or an
 * `m.room_key` decrypted from Olm at commit, whose `session_key` is sealed with the pickle key).
 *
 * Runtime: node. Both effects are SQLite writes through the consume transaction's `db`, so they are durable
 * exactly when the cursor move is (src/store/consume.ts). A key-sharing event whose content is malformed (bad
 * input from the network) is still recorded as handled, so it cannot block the consumer, and the reason is
 * returned for the caller to log; nothing else is lost, since the row itself stays in the inbox until
 * compaction.
 */
import type { Database } from 'better-sqlite3';
import { ROOM_KEY_WITHHELD_EVENT_TYPE, roomKeyFromOlmEvent, withheldFromEvent } from '../shared/olm-room-key';
import { OLM_ROOM_KEY_EVENT_TYPE } from '../shared/olm-wire';
import { parseRoomKeyContent, ROOM_KEY_EVENT_TYPE } from '../shared/room-key-protocol';
import { recordHandled } from '../store/handled';
import type { InboxRow } from '../store/inbox';
import { storeWithheld } from '../store/room-key-withheld';
import { storeRoomKey } from '../store/room-keys';

export type InboxEffect =
  | { kind: 'handled' }
  | { kind: 'room-key'; sessionId: string; isNew: boolean }
  | { kind: 'withheld'; sessionId: string; code: string }
  | { kind: 'bad-room-key'; reason: string };

export function applyInboxEffects(db: Database, consumer: string, row: InboxRow, nowMs: number): InboxEffect {
  recordHandled(db, consumer, row, nowMs);
  if (row.type === OLM_ROOM_KEY_EVENT_TYPE) return storeOlmRoomKey(db, consumer, row, nowMs);
  if (row.type === ROOM_KEY_WITHHELD_EVENT_TYPE) return recordWithheld(db, consumer, row, nowMs);
  if (row.type !== ROOM_KEY_EVENT_TYPE) return { kind: 'handled' };
  const key = parseRoomKeyContent(row.content);
  if (!key.ok) return { kind: 'bad-room-key', reason: `inbox row ${row.seq} from ${row.sender}: ${key.error}` };
  return { kind: 'room-key', sessionId: key.value.session_id, isNew: storeRoomKey(db, consumer, row, key.value, nowMs) };
}

/**
 * An `m.room_key` counts only when it arrived Olm-encrypted and was decrypted at commit (the row carries its
 * `encryption`): the sender's keys come from the Olm envelope checked against `/keys/query`, never from the
 * content. A plaintext `m.room_key` from the network is handled and ignored.
 */
function storeOlmRoomKey(db: Database, consumer: string, row: InboxRow, nowMs: number): InboxEffect {
  if (row.encryption === undefined) return { kind: 'bad-room-key', reason: `inbox row ${row.seq} from ${row.sender}: an m.room_key that was not Olm-encrypted` };
  const key = roomKeyFromOlmEvent(row.content, row.encryption);
  if (!key.ok) return { kind: 'bad-room-key', reason: `inbox row ${row.seq} from ${row.sender}: ${key.error}` };
  return { kind: 'room-key', sessionId: key.value.session_id, isNew: storeRoomKey(db, consumer, row, key.value, nowMs) };
}

/** A sender's `m.room_key.withheld` (sent in clear or Olm-encrypted): the session's messages say "withheld". */
function recordWithheld(db: Database, consumer: string, row: InboxRow, nowMs: number): InboxEffect {
  const withheld = withheldFromEvent(row.content);
  if (!withheld.ok) return { kind: 'bad-room-key', reason: `inbox row ${row.seq} from ${row.sender}: withheld notice: ${withheld.error}` };
  storeWithheld(db, consumer, row, withheld.value, nowMs);
  return { kind: 'withheld', sessionId: withheld.value.sessionId, code: withheld.value.code };
}
