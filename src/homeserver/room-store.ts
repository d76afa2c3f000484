/**
 * SQLite access for rooms, memberships and room events.
 *
 * Runtime: node (homeserver only).
 *
 * Every membership change is also stored as an `m.room.member` state event, and room creation writes the
 * usual first events (`m.room.create`, the creator's join, `m.room.join_rules`, `m.room.name`, invites), so
 * `GET .../event/{eventId}` returns real events. Methods that write expect to run inside the caller's
 * transaction, which keeps a transaction record and the event it produced together.
 */
import { randomBytes } from 'node:crypto';
import type { RoomEvent } from '../shared/wire';
import type { Requester } from './auth';
import type { Db } from './db';
import type { JsonObject } from './json-checks';

export type Membership = 'join' | 'invite' | 'leave';

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

  constructor(db: Db) {
    this.statements = {
      insertRoom: db.prepare('INSERT INTO rooms (room_id, creator, join_rule, alias, created_ts) VALUES (?, ?, ?, ?, ?)'),
      room: db.prepare('SELECT room_id, join_rule FROM rooms WHERE room_id = ?'),
      byAlias: db.prepare('SELECT room_id FROM rooms WHERE alias = ?'),
      membership: db.prepare('SELECT membership FROM room_memberships WHERE room_id = ? AND user_id = ?'),
      setMembership: db.prepare(
        `INSERT INTO room_memberships (room_id, user_id, membership) VALUES (?, ?, ?)
         ON CONFLICT (room_id, user_id) DO UPDATE SET membership = excluded.membership`,
      ),
      joinedMembers: db.prepare("SELECT user_id FROM room_memberships WHERE room_id = ? AND membership = 'join'"),
      joinedRooms: db.prepare("SELECT room_id FROM room_memberships WHERE user_id = ? AND membership = 'join' ORDER BY room_id"),
      insertEvent: db.prepare(
        `INSERT INTO room_events (event_id, room_id, type, state_key, sender, origin_server_ts, content)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      event: db.prepare('SELECT * FROM room_events WHERE event_id = ?'),
      latestPosition: db.prepare('SELECT coalesce(max(stream_ordering), 0) AS position FROM room_events WHERE room_id = ?'),
      eventsForward: db.prepare('SELECT * FROM room_events WHERE room_id = ? AND stream_ordering > ? ORDER BY stream_ordering LIMIT ?'),
      eventsBackward: db.prepare('SELECT * FROM room_events WHERE room_id = ? AND stream_ordering < ? ORDER BY stream_ordering DESC LIMIT ?'),
      findTxn: db.prepare('SELECT result FROM transactions WHERE user_id = ? AND device_id = ? AND scope = ? AND txn_id = ?'),
      insertTxn: db.prepare('INSERT INTO transactions (user_id, device_id, scope, txn_id, result, created_ts) VALUES (?, ?, ?, ?, ?, ?)'),
      unread: db.prepare(
        `SELECT count(*) AS n FROM room_events WHERE room_id = ? AND sender != ? AND state_key IS NULL
         AND stream_ordering > coalesce((SELECT max(stream_ordering) FROM room_events WHERE room_id = ? AND sender = ?), 0)`,
      ),
    };
  }

  create(roomId: string, creator: string, joinRule: string, alias: string | null, name: string | undefined, invite: string[]): void {
    this.statements.insertRoom.run(roomId, creator, joinRule, alias, Date.now());
    this.insertEvent(roomId, creator, 'm.room.create', '', { creator, room_version: '10' });
    this.setMembership(roomId, creator, 'join');
    this.insertEvent(roomId, creator, 'm.room.join_rules', '', { join_rule: joinRule });
    if (name !== undefined) this.insertEvent(roomId, creator, 'm.room.name', '', { name });
    for (const userId of new Set(invite)) {
      if (userId !== creator) this.setMembership(roomId, userId, 'invite', creator);
    }
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

  /** Records the membership and its `m.room.member` event; `sender` defaults to the member (a join). */
  setMembership(roomId: string, userId: string, membership: Membership, sender = userId): void {
    this.statements.setMembership.run(roomId, userId, membership);
    this.insertEvent(roomId, sender, 'm.room.member', userId, { membership });
  }

  joinedMembers(roomId: string): string[] {
    return (this.statements.joinedMembers.all(roomId) as Array<{ user_id: string }>).map((row) => row.user_id);
  }

  joinedRooms(userId: string): string[] {
    return (this.statements.joinedRooms.all(userId) as Array<{ room_id: string }>).map((row) => row.room_id);
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
    message: { roomId: string; type: string; content: JsonObject },
  ): { event: RoomEvent; isNew: boolean } {
    const previous = this.statements.findTxn.get(me.userId, me.deviceId, scope, txnId) as { result: string } | undefined;
    const previousEvent = previous === undefined ? undefined : this.event(previous.result);
    if (previousEvent !== undefined) return { event: previousEvent, isNew: false };
    const event = this.insertEvent(message.roomId, me.userId, message.type, null, message.content);
    this.statements.insertTxn.run(me.userId, me.deviceId, scope, txnId, event.event_id, event.origin_server_ts);
    return { event, isNew: true };
  }

  event(eventId: string): RoomEvent | undefined {
    const row = this.statements.event.get(eventId) as EventRow | undefined;
    return row === undefined ? undefined : toRoomEvent(row);
  }

  /** The stream position of the room's newest event (0 for a room with none). */
  latestPosition(roomId: string): number {
    return (this.statements.latestPosition.get(roomId) as { position: number }).position;
  }

  /**
   * Up to `limit` events of the room after (`dir` 'f') or before ('b') the stream position `from`, in that
   * direction's order, each with its position (what `/messages` tokens are made of).
   */
  page(roomId: string, dir: 'f' | 'b', from: number, limit: number): Array<{ position: number; event: RoomEvent }> {
    const statement = dir === 'f' ? this.statements.eventsForward : this.statements.eventsBackward;
    return (statement.all(roomId, from, limit) as EventRow[]).map((row) => ({ position: row.stream_ordering, event: toRoomEvent(row) }));
  }

  private insertEvent(roomId: string, sender: string, type: string, stateKey: string | null, content: JsonObject): RoomEvent {
    const event: RoomEvent = {
      event_id: `$${randomBytes(18).toString('base64url')}`,
      room_id: roomId,
      type,
      sender,
      origin_server_ts: Date.now(),
      content,
    };
    this.statements.insertEvent.run(event.event_id, roomId, type, stateKey, sender, event.origin_server_ts, JSON.stringify(content));
    return event;
  }
}

function toRoomEvent(row: EventRow): RoomEvent {
  const event: RoomEvent & { state_key?: string } = {
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
