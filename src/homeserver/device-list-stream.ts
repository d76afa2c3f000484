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
 * - A join appends, in the join's transaction, one row per pair of the joiner and a member already joined: each
 *   is reported to the other only. Synapse too reports users who newly share a room (`get_user_ids_changed`),
 *   and here it matters more: this server's sliding sync sends no room timeline, so a client learns of a new
 *   member, whose devices it must encrypt for, from `device_lists` alone.
 * - `changedUsers` answers "users whose keys changed in (from, to] and who are the caller or share a joined
 *   room with the caller now, and users who joined a room with the caller in (from, to]", the Client-Server
 *   API's `device_lists.changed`. A key change by someone who shares no room with the caller is never reported
 *   to them.
 * Not tracked: `left` is always empty because this server has no way to leave a room.
 */
import type { Db } from './db';

export class DeviceListStream {
  private readonly statements;

  constructor(db: Db) {
    this.statements = {
      append: db.prepare('INSERT INTO device_list_stream (user_id, device_id) VALUES (?, ?)'),
      appendFor: db.prepare('INSERT INTO device_list_stream (user_id, for_user_id) VALUES (?, ?)'),
      position: db.prepare('SELECT coalesce(max(stream_id), 0) AS position FROM device_list_stream'),
      roomSharers: db.prepare(
        `SELECT DISTINCT theirs.user_id FROM room_memberships mine
         JOIN room_memberships theirs ON theirs.room_id = mine.room_id
         WHERE mine.user_id = ? AND mine.membership = 'join' AND theirs.membership = 'join'`,
      ),
      changed: db.prepare(
        `SELECT DISTINCT s.user_id FROM device_list_stream s
         WHERE s.stream_id > :from AND s.stream_id <= :to
           AND (s.for_user_id = :me OR (s.for_user_id IS NULL AND (s.user_id = :me OR EXISTS (
             SELECT 1 FROM room_memberships mine
             JOIN room_memberships theirs ON theirs.room_id = mine.room_id
             WHERE mine.user_id = :me AND mine.membership = 'join'
               AND theirs.user_id = s.user_id AND theirs.membership = 'join'))))
         ORDER BY s.user_id`,
      ),
    };
  }

  /** Records that a device's keys changed. Call inside the transaction that stored them. */
  append(userId: string, deviceId: string): void {
    this.statements.append.run(userId, deviceId);
  }

  /**
   * Records that `userId` joined a room whose other joined members are `members`. Call inside the join's
   * transaction; returns the users to wake (see `interestedUsers`).
   */
  joined(userId: string, members: readonly string[]): Set<string> {
    const others = members.filter((member) => member !== userId);
    for (const member of others) {
      this.statements.appendFor.run(userId, member);
      this.statements.appendFor.run(member, userId);
    }
    return new Set(others.length === 0 ? [] : [userId, ...others]);
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
    const rows = this.statements.changed.all({ from: fromStreamId, to: toStreamId, me: userId }) as Array<{ user_id: string }>;
    return rows.map((row) => row.user_id);
  }
}
