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
 * - A leave appends, in the leave's transaction, one row per pair of the leaver and a member it no longer
 *   shares any joined room with, each for the other only: the Client-Server API's `device_lists.left` ("users
 *   with whom we do not share any encrypted rooms anymore"). Every room counts here, encrypted or not, as it
 *   does for `changed`: a client only tracks users of its encrypted rooms, so an extra entry costs it nothing.
 * - `changes` answers both lists for (from, to]: `changed` is "users whose keys changed and who are the caller
 *   or share a joined room with the caller now, and users who joined a room with the caller"; `left` is "users
 *   who stopped sharing every joined room with the caller and do not share one now" (a user who left and came
 *   back within the window is only in `changed`). The two never overlap. A key change by someone who shares no
 *   room with the caller is never reported to them.
 */
import type { Db } from './db';

export class DeviceListStream {
  private readonly statements;

  constructor(db: Db) {
    this.statements = {
      append: db.prepare('INSERT INTO device_list_stream (user_id, device_id) VALUES (?, ?)'),
      appendFor: db.prepare('INSERT INTO device_list_stream (user_id, for_user_id) VALUES (?, ?)'),
      appendLeft: db.prepare('INSERT INTO device_list_stream (user_id, for_user_id, left_room) VALUES (?, ?, 1)'),
      sharesRoom: db.prepare(
        `SELECT 1 FROM room_memberships a JOIN room_memberships b ON b.room_id = a.room_id
         WHERE a.user_id = ? AND b.user_id = ? AND a.membership = 'join' AND b.membership = 'join' LIMIT 1`,
      ),
      left: db.prepare(
        `SELECT DISTINCT user_id FROM device_list_stream
         WHERE stream_id > :from AND stream_id <= :to AND for_user_id = :me AND left_room = 1 ORDER BY user_id`,
      ),
      position: db.prepare('SELECT coalesce(max(stream_id), 0) AS position FROM device_list_stream'),
      roomSharers: db.prepare(
        `SELECT DISTINCT theirs.user_id FROM room_memberships mine
         JOIN room_memberships theirs ON theirs.room_id = mine.room_id
         WHERE mine.user_id = ? AND mine.membership = 'join' AND theirs.membership = 'join'`,
      ),
      changed: db.prepare(
        `SELECT DISTINCT s.user_id FROM device_list_stream s
         WHERE s.stream_id > :from AND s.stream_id <= :to AND s.left_room = 0
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

  /**
   * Records that `userId` left a room whose members still joined are `members` (the leave already stored). Call
   * inside the leave's transaction; returns the users to wake: those it no longer shares any room with, and it.
   */
  leftRoom(userId: string, members: readonly string[]): Set<string> {
    const parted = members.filter((member) => member !== userId && this.statements.sharesRoom.get(userId, member) === undefined);
    for (const member of parted) {
      this.statements.appendLeft.run(userId, member);
      this.statements.appendLeft.run(member, userId);
    }
    return new Set(parted.length === 0 ? [] : [userId, ...parted]);
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

  /** The `device_lists` of (from, to]: whom the caller must re-query, and whom it may stop tracking (see above). */
  changes(userId: string, fromStreamId: number, toStreamId: number): { changed: string[]; left: string[] } {
    if (toStreamId <= fromStreamId) return { changed: [], left: [] };
    const range = { from: fromStreamId, to: toStreamId, me: userId };
    const users = (statement: typeof this.statements.changed): string[] => (statement.all(range) as Array<{ user_id: string }>).map((row) => row.user_id);
    const left = users(this.statements.left).filter((other) => this.statements.sharesRoom.get(userId, other) === undefined);
    const leftSet = new Set(left);
    return { changed: users(this.statements.changed).filter((other) => !leftSet.has(other)), left };
  }
}
