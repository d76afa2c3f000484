/**
 * The device list stream: which users' device keys changed after a given position.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - Every change of a device's keys (first upload, or an upload with different keys) appends one row in the
 *   transaction that stores the keys, so a position read in a later transaction includes it or it did not
 *   happen. An identical re-upload appends nothing, as in Synapse (`notify_device_update` only when
 *   `set_e2e_device_keys` reports a change).
 * - Stream ids are AUTOINCREMENT: strictly increasing and never reused, so a position handed to a client keeps
 *   its meaning forever. A sync response stores (sliding sync, in its `pos` row) or carries (classic, in its
 *   token) the position it was computed at; the next request reports exactly the rows after it.
 * - `changedUsers` answers "users whose keys changed in (from, to] and who are the caller or share a joined
 *   room with the caller now", the Client-Server API's `device_lists.changed`. A change by someone who shares
 *   no room with the caller is never reported to them.
 * Not tracked (left out on purpose): `left` is always empty because this server has no way to leave a room, and
 * users who newly share a room are not added to `changed` (Synapse adds them; clients query users they start
 * tracking anyway).
 */
import type { Db } from './db';

export class DeviceListStream {
  private readonly statements;

  constructor(db: Db) {
    this.statements = {
      append: db.prepare('INSERT INTO device_list_stream (user_id, device_id) VALUES (?, ?)'),
      position: db.prepare('SELECT coalesce(max(stream_id), 0) AS position FROM device_list_stream'),
      roomSharers: db.prepare(
        `SELECT DISTINCT theirs.user_id FROM room_memberships mine
         JOIN room_memberships theirs ON theirs.room_id = mine.room_id
         WHERE mine.user_id = ? AND mine.membership = 'join' AND theirs.membership = 'join'`,
      ),
      changed: db.prepare(
        `SELECT DISTINCT s.user_id FROM device_list_stream s
         WHERE s.stream_id > ? AND s.stream_id <= ?
           AND (s.user_id = ? OR EXISTS (
             SELECT 1 FROM room_memberships mine
             JOIN room_memberships theirs ON theirs.room_id = mine.room_id
             WHERE mine.user_id = ? AND mine.membership = 'join'
               AND theirs.user_id = s.user_id AND theirs.membership = 'join'))
         ORDER BY s.user_id`,
      ),
    };
  }

  /** Records that a device's keys changed. Call inside the transaction that stored them. */
  append(userId: string, deviceId: string): void {
    this.statements.append.run(userId, deviceId);
  }

  /** The current position: every change so far is at or below it. */
  position(): number {
    return (this.statements.position.get() as { position: number }).position;
  }

  /** The users to whom a key change of `userId` is reported: `userId` and everyone sharing a joined room. */
  interestedUsers(userId: string): Set<string> {
    const rows = this.statements.roomSharers.all(userId) as Array<{ user_id: string }>;
    return new Set([userId, ...rows.map((row) => row.user_id)]);
  }

  /** Users the caller must re-query: see the module header. */
  changedUsers(userId: string, fromStreamId: number, toStreamId: number): string[] {
    if (toStreamId <= fromStreamId) return [];
    const rows = this.statements.changed.all(fromStreamId, toStreamId, userId, userId) as Array<{ user_id: string }>;
    return rows.map((row) => row.user_id);
  }
}
