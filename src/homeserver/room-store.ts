/**
 * SQLite access for rooms: events, the current-state index, memberships, and the reads sync and the state
 * routes are built from.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - Every event gets the next position of one global room stream (`room_events.stream_ordering`, never reused),
 *   which is what sync positions, `/messages` tokens and `bump_stamp` are made of.
 * - A state event (one with a `state_key`) also becomes the room's current state for its (type, state_key) in
 *   the same write, and an `m.room.member` event also sets the membership and the position it took effect at.
 *   There is no other way to write either, so the state index, the memberships and the event log always agree.
 *   A member event that keeps the membership (a profile change) leaves its position alone: sync reads that
 *   position as "the membership changed here" and would otherwise resend a whole room for a new display name.
 * - Methods that write expect to run inside the caller's transaction, which keeps a transaction record and the
 *   event it produced together. After the commit the caller wakes the long polls of the affected users with
 *   `notifyMembers`.
 */
import { randomBytes } from 'node:crypto';
import type { RoomEvent } from '../shared/wire';
import type { Requester } from './auth';
import type { Db } from './db';
import type { JsonObject } from './json-checks';
import type { ProfileStore } from './profile-store';
import type { UserWaiters } from './user-waiters';

export type Membership = 'join' | 'invite' | 'leave';

/** Rows read per step when a filtered timeline is filled. */
const TIMELINE_PAGE = 50;

/** A room event as clients see it; state events carry `state_key`. */
export type StoredEvent = RoomEvent & { state_key?: string };

/** An event with its room stream position. */
export interface PositionedEvent {
  position: number;
  event: StoredEvent;
}

export interface MembershipRow {
  room_id: string;
  membership: Membership;
  /** Room stream position of the membership event. */
  stream_ordering: number;
}

interface EventRow {
  stream_ordering: number;
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  state_key: string | null;
  origin_server_ts: number;
  content: string;
}

export class RoomStore {
  private readonly statements;

  constructor(
    db: Db,
    private readonly profiles: ProfileStore,
    private readonly waiters: UserWaiters,
  ) {
    this.statements = {
      insertRoom: db.prepare('INSERT INTO rooms (room_id, creator, join_rule, alias, created_ts) VALUES (?, ?, ?, ?, ?)'),
      room: db.prepare('SELECT room_id, join_rule FROM rooms WHERE room_id = ?'),
      byAlias: db.prepare('SELECT room_id FROM rooms WHERE alias = ?'),
      membership: db.prepare('SELECT membership FROM room_memberships WHERE room_id = ? AND user_id = ?'),
      setMembership: db.prepare(
        `INSERT INTO room_memberships (room_id, user_id, membership, stream_ordering) VALUES (?, ?, ?, ?)
         ON CONFLICT (room_id, user_id) DO UPDATE SET membership = excluded.membership,
           stream_ordering = CASE WHEN membership = excluded.membership THEN stream_ordering ELSE excluded.stream_ordering END`,
      ),
      members: db.prepare('SELECT user_id, membership FROM room_memberships WHERE room_id = ? ORDER BY user_id'),
      joinedMembers: db.prepare("SELECT user_id FROM room_memberships WHERE room_id = ? AND membership = 'join'"),
      awareMembers: db.prepare("SELECT user_id FROM room_memberships WHERE room_id = ? AND membership IN ('join', 'invite')"),
      joinedRooms: db.prepare("SELECT room_id FROM room_memberships WHERE user_id = ? AND membership = 'join' ORDER BY room_id"),
      membershipsOf: db.prepare('SELECT room_id, membership, stream_ordering FROM room_memberships WHERE user_id = ?'),
      hasMemberships: db.prepare('SELECT 1 FROM room_memberships WHERE user_id = ? LIMIT 1'),
      insertEvent: db.prepare(
        `INSERT INTO room_events (event_id, room_id, type, state_key, sender, origin_server_ts, content)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      setState: db.prepare(
        `INSERT INTO room_current_state (room_id, type, state_key, event_id, stream_ordering) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = excluded.event_id, stream_ordering = excluded.stream_ordering`,
      ),
      currentState: db.prepare(
        `SELECT e.* FROM room_current_state s JOIN room_events e ON e.stream_ordering = s.stream_ordering
         WHERE s.room_id = ? ORDER BY s.stream_ordering`,
      ),
      stateChanges: db.prepare(
        `SELECT e.* FROM room_current_state s JOIN room_events e ON e.stream_ordering = s.stream_ordering
         WHERE s.room_id = ? AND s.stream_ordering > ? AND s.stream_ordering <= ? ORDER BY s.stream_ordering`,
      ),
      stateEvent: db.prepare(
        `SELECT e.* FROM room_current_state s JOIN room_events e ON e.stream_ordering = s.stream_ordering
         WHERE s.room_id = ? AND s.type = ? AND s.state_key = ?`,
      ),
      memberEvents: db.prepare(
        `SELECT e.* FROM room_current_state s JOIN room_events e ON e.stream_ordering = s.stream_ordering
         WHERE s.room_id = ? AND s.type = 'm.room.member' ORDER BY s.stream_ordering`,
      ),
      event: db.prepare('SELECT * FROM room_events WHERE event_id = ?'),
      latestPosition: db.prepare('SELECT coalesce(max(stream_ordering), 0) AS position FROM room_events WHERE room_id = ?'),
      streamPosition: db.prepare('SELECT coalesce(max(stream_ordering), 0) AS position FROM room_events'),
      eventsForward: db.prepare('SELECT * FROM room_events WHERE room_id = ? AND stream_ordering > ? ORDER BY stream_ordering LIMIT ?'),
      eventsBackward: db.prepare('SELECT * FROM room_events WHERE room_id = ? AND stream_ordering < ? ORDER BY stream_ordering DESC LIMIT ?'),
      latestBetween: db.prepare(
        `SELECT * FROM room_events WHERE room_id = ? AND stream_ordering > ? AND stream_ordering <= ?
         ORDER BY stream_ordering DESC LIMIT ?`,
      ),
      lastOfTypes: db.prepare(
        `SELECT max(stream_ordering) AS position FROM room_events
         WHERE room_id = ? AND stream_ordering <= ? AND type IN (SELECT value FROM json_each(?))`,
      ),
      findTxn: db.prepare('SELECT result FROM transactions WHERE user_id = ? AND device_id = ? AND scope = ? AND txn_id = ?'),
      insertTxn: db.prepare('INSERT INTO transactions (user_id, device_id, scope, txn_id, result, created_ts) VALUES (?, ?, ?, ?, ?, ?)'),
      unread: db.prepare(
        `SELECT count(*) AS n FROM room_events WHERE room_id = ? AND sender != ? AND state_key IS NULL
         AND stream_ordering > coalesce((SELECT max(stream_ordering) FROM room_events WHERE room_id = ? AND sender = ?), 0)`,
      ),
    };
  }

  /** Records a new room; its events (create, creator's join, ...) follow through `sendState`. */
  insertRoom(roomId: string, creator: string, joinRule: string, alias: string | null): void {
    this.statements.insertRoom.run(roomId, creator, joinRule, alias, Date.now());
  }

  room(roomId: string): { room_id: string; join_rule: string } | undefined {
    return this.statements.room.get(roomId) as { room_id: string; join_rule: string } | undefined;
  }

  roomIdForAlias(alias: string): string | undefined {
    return (this.statements.byAlias.get(alias) as { room_id: string } | undefined)?.room_id;
  }

  membership(roomId: string, userId: string): Membership | undefined {
    return (this.statements.membership.get(roomId, userId) as { membership: Membership } | undefined)?.membership;
  }

  /**
   * Writes the user's `m.room.member` event (and so the membership). A join or an invite carries the user's
   * profile, as Synapse's do, so clients show names without fetching profiles; `extra` adds fields such as
   * `is_direct` or `reason`. `sender` defaults to the member (a join or a leave).
   */
  setMembership(roomId: string, userId: string, membership: Membership, sender = userId, extra: JsonObject = {}): PositionedEvent {
    const content: JsonObject = { membership };
    if (membership !== 'leave') Object.assign(content, this.profiles.profile(userId) ?? {});
    return this.sendState(roomId, sender, 'm.room.member', userId, { ...content, ...extra });
  }

  /** Writes a state event; it becomes the current state for (type, stateKey). */
  sendState(roomId: string, sender: string, type: string, stateKey: string, content: JsonObject): PositionedEvent {
    return this.insertEvent(roomId, sender, type, stateKey, content);
  }

  members(roomId: string): Array<{ user_id: string; membership: Membership }> {
    return this.statements.members.all(roomId) as Array<{ user_id: string; membership: Membership }>;
  }

  joinedMembers(roomId: string): string[] {
    return (this.statements.joinedMembers.all(roomId) as Array<{ user_id: string }>).map((row) => row.user_id);
  }

  joinedRooms(userId: string): string[] {
    return (this.statements.joinedRooms.all(userId) as Array<{ room_id: string }>).map((row) => row.room_id);
  }

  /** Every room the user has (or had) a membership in, with the position it took effect at. */
  membershipsOf(userId: string): MembershipRow[] {
    return this.statements.membershipsOf.all(userId) as MembershipRow[];
  }

  hasMemberships(userId: string): boolean {
    return this.statements.hasMemberships.get(userId) !== undefined;
  }

  /** Wakes the long polls of every joined and invited member, and of `also` (a member who just left). */
  notifyMembers(roomId: string, also?: string): void {
    if (this.waiters.isEmpty()) return;
    for (const row of this.statements.awareMembers.all(roomId) as Array<{ user_id: string }>) this.waiters.notify(row.user_id);
    if (also !== undefined) this.waiters.notify(also);
  }

  /** Messages from others after the member's own latest message: the `unread` count of a push. */
  unreadCount(roomId: string, userId: string): number {
    return (this.statements.unread.get(roomId, userId, roomId, userId) as { n: number }).n;
  }

  /**
   * Sends a message event once per transaction ID; a repeat returns the first event and `isNew: false`. The
   * record is kept for a window (24 hours, as Synapse's `event_txn_id_device_id`; src/homeserver/retention.ts).
   */
  sendOnce(
    me: Requester,
    scope: string,
    txnId: string,
    message: { roomId: string; type: string; content: JsonObject; stateKey?: string },
  ): { event: StoredEvent; isNew: boolean } {
    const previous = this.statements.findTxn.get(me.userId, me.deviceId, scope, txnId) as { result: string } | undefined;
    const previousEvent = previous === undefined ? undefined : this.event(previous.result);
    if (previousEvent !== undefined) return { event: previousEvent, isNew: false };
    const { event } = this.insertEvent(message.roomId, me.userId, message.type, message.stateKey ?? null, message.content);
    this.statements.insertTxn.run(me.userId, me.deviceId, scope, txnId, event.event_id, event.origin_server_ts);
    return { event, isNew: true };
  }

  event(eventId: string): StoredEvent | undefined {
    const row = this.statements.event.get(eventId) as EventRow | undefined;
    return row === undefined ? undefined : toRoomEvent(row);
  }

  /** The stream position of the room's newest event (0 for a room with none). */
  latestPosition(roomId: string): number {
    return (this.statements.latestPosition.get(roomId) as { position: number }).position;
  }

  /** The newest position of the whole room stream: where a sync response brings its client up to. */
  streamPosition(): number {
    return (this.statements.streamPosition.get() as { position: number }).position;
  }

  /**
   * Up to `limit` events of the room after (`dir` 'f') or before ('b') the stream position `from`, in that
   * direction's order, each with its position (what `/messages` tokens are made of).
   */
  page(roomId: string, dir: 'f' | 'b', from: number, limit: number): PositionedEvent[] {
    const statement = dir === 'f' ? this.statements.eventsForward : this.statements.eventsBackward;
    return (statement.all(roomId, from, limit) as EventRow[]).map(positioned);
  }

  /**
   * The newest `limit` events in (`after`, `upTo`] that `accept` lets through, oldest first, and whether more
   * such events were left out: a sync timeline. Reads newest first in pages, so a filter that skips most events
   * still fills the timeline; the loop ends at the start of the range.
   */
  timeline(
    roomId: string,
    after: number,
    upTo: number,
    limit: number,
    accept: (event: StoredEvent) => boolean = () => true,
  ): { events: PositionedEvent[]; limited: boolean } {
    const pageSize = Math.max(limit + 1, TIMELINE_PAGE);
    const picked: PositionedEvent[] = [];
    let upper = upTo;
    while (picked.length <= limit && upper > after) {
      const rows = this.statements.latestBetween.all(roomId, after, upper, pageSize) as EventRow[];
      for (const row of rows) {
        const entry = positioned(row);
        if (accept(entry.event)) picked.push(entry);
        if (picked.length > limit) break;
      }
      const oldest = rows.at(-1);
      if (oldest === undefined || rows.length < pageSize) break;
      upper = oldest.stream_ordering - 1;
    }
    return { events: picked.slice(0, limit).reverse(), limited: picked.length > limit };
  }

  /** The room's current state, oldest change first. */
  currentState(roomId: string): PositionedEvent[] {
    return (this.statements.currentState.all(roomId) as EventRow[]).map(positioned);
  }

  /** Current state entries last changed in (`after`, `upTo`]. */
  stateChanges(roomId: string, after: number, upTo: number): PositionedEvent[] {
    return (this.statements.stateChanges.all(roomId, after, upTo) as EventRow[]).map(positioned);
  }

  stateEvent(roomId: string, type: string, stateKey: string): StoredEvent | undefined {
    const row = this.statements.stateEvent.get(roomId, type, stateKey) as EventRow | undefined;
    return row === undefined ? undefined : toRoomEvent(row);
  }

  /** The content of a current state event, or undefined. */
  stateContent(roomId: string, type: string, stateKey = ''): JsonObject | undefined {
    return this.stateEvent(roomId, type, stateKey)?.content;
  }

  /** The current `m.room.member` events of the room. */
  memberEvents(roomId: string): StoredEvent[] {
    return (this.statements.memberEvents.all(roomId) as EventRow[]).map(toRoomEvent);
  }

  /** Position of the newest event of one of `types` at or before `upTo`, if any. */
  lastOfTypes(roomId: string, types: readonly string[], upTo: number): number | undefined {
    const row = this.statements.lastOfTypes.get(roomId, upTo, JSON.stringify(types)) as { position: number | null };
    return row.position ?? undefined;
  }

  private insertEvent(roomId: string, sender: string, type: string, stateKey: string | null, content: JsonObject): PositionedEvent {
    const event: StoredEvent = {
      event_id: `$${randomBytes(18).toString('base64url')}`,
      room_id: roomId,
      type,
      sender,
      origin_server_ts: Date.now(),
      content,
    };
    const info = this.statements.insertEvent.run(event.event_id, roomId, type, stateKey, sender, event.origin_server_ts, JSON.stringify(content));
    const position = Number(info.lastInsertRowid);
    if (stateKey !== null) {
      event.state_key = stateKey;
      this.statements.setState.run(roomId, type, stateKey, event.event_id, position);
      const membership = content.membership;
      if (type === 'm.room.member' && typeof membership === 'string') {
        this.statements.setMembership.run(roomId, stateKey, membership, position);
      }
    }
    return { position, event };
  }
}

function positioned(row: EventRow): PositionedEvent {
  return { position: row.stream_ordering, event: toRoomEvent(row) };
}

function toRoomEvent(row: EventRow): StoredEvent {
  const event: StoredEvent = {
    event_id: row.event_id,
    room_id: row.room_id,
    type: row.type,
    sender: row.sender,
    origin_server_ts: row.origin_server_ts,
    content: JSON.parse(row.content) as Record<string, unknown>,
  };
  if (row.state_key !== null) event.state_key = row.state_key;
  return event;
}
