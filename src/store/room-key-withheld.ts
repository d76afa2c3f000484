/**
 * Room keys their sender withheld (migration 0006), by Megolm session.
 *
 * Runtime: node. `storeWithheld` is meant for a `consume` handler, like `storeRoomKey`: the notice becomes visible
 * in the transaction that moves the consumer's cursor over its inbox row. Readers choose whose notices they may
 * see, as with room keys (every consumer's, or under `legacy` only their own).
 */
import type { Database } from 'better-sqlite3';
import type { WithheldRoomKey } from '../shared/olm-room-key';
import type { InboxRow } from './inbox';
import type { ClientStore } from './open-store';
import type { RoomKeyScope } from './room-keys';

/** Stores the notice for `consumer`; true when it was new. */
export function storeWithheld(db: Database, consumer: string, row: InboxRow, withheld: WithheldRoomKey, nowMs: number): boolean {
  const info = db
    .prepare(
      `INSERT INTO room_key_withheld (session_id, stored_by, room_id, sender, code, reason, inbox_seq, stored_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, stored_by) DO NOTHING`,
    )
    .run(withheld.sessionId, consumer, withheld.roomId, row.sender, withheld.code, withheld.reason, row.seq, nowMs);
  return info.changes === 1;
}

/** The withheld notice of one session, if this scope holds one. */
export function withheldForSession(store: ClientStore, sessionId: string, scope: RoomKeyScope = {}): (WithheldRoomKey & { sender: string }) | undefined {
  const row = store
    .statement('SELECT room_id, session_id, code, reason, sender FROM room_key_withheld WHERE session_id = ? AND (? IS NULL OR stored_by = ?) LIMIT 1')
    .get(sessionId, scope.storedBy ?? null, scope.storedBy ?? null) as { room_id: string; session_id: string; code: string; reason: string | null; sender: string } | undefined;
  return row === undefined ? undefined : { roomId: row.room_id, sessionId: row.session_id, code: row.code, reason: row.reason, sender: row.sender };
}

/** Sessions whose key a sender withheld, across every consumer. */
export function withheldCount(store: ClientStore): number {
  return (store.statement('SELECT count(DISTINCT session_id) AS n FROM room_key_withheld').get() as { n: number }).n;
}
