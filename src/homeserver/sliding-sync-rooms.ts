/**
 * The room side of simplified sliding sync (MSC4186 as matrix-js-sdk 37.5 and Synapse speak it): list counts,
 * room entries for lists and subscriptions, and the `account_data`, `receipts` and `typing` extensions.
 *
 * Runtime: node (homeserver only).
 *
 * When it runs: only for a request with lists, room subscriptions (in the request or sticky on the connection),
 * `unsubscribe_rooms` or one of those three extensions enabled. A to-device-only request (todevice's own
 * engine) never reaches this module, reads nothing of it and stores nothing for it.
 *
 * What is kept per connection (SQLite, see migrations 3 and 6): the sticky room subscriptions, and for each room
 * sent, a record: the room-send record number of the answer that sent it (the connection's counter, raised only
 * by an answer that sent rooms), the room stream position it was brought up to and the membership it was sent
 * with. Each `pos` carries the number of the newest record its client holds and the room-side stream
 * positions it stands for (sliding-sync-pos.ts). A request at a `pos` holding record S takes for each room the
 * newest record at or before S, so a retry of an older `pos` (the connection keeps the last few valid) sees
 * exactly what that `pos` had seen, and two answers to one `pos` (a retry after a lost response) never share a
 * number. A room never recorded, or recorded with another membership (an invite that became a join), is sent
 * whole with `initial: true`. A room that matches but has no event after its record is left out, as the MSC
 * asks; one that falls out of every range keeps its record and gets everything it missed (up to
 * `timeline_limit`, `limited` when more) when it comes back. Per room, records older than the newest one at or
 * before `number - POSITIONS_KEPT + 1` are deleted: a `pos` holding an older number finds no record for that
 * room and gets it whole again, which is redundant but never misses anything.
 *
 * The list: every room the user is joined or invited to, plus left rooms this connection was sent, ordered by
 * latest activity (newest event; for invited and left rooms, the membership change), newest first. `count`
 * ignores the range. A room's entry carries `name`, `required_state`, `timeline` (newest `timeline_limit`,
 * oldest first), `prev_batch` (a `/messages` token), `limited`, `num_live`, `joined_count`, `invited_count`,
 * `heroes` (no name), `bump_stamp` (the newest message-like event's position), `membership` and `is_dm`;
 * an invite carries its stripped state as `invite_state` (what js-sdk reads) and as the MSC's `stripped_state`.
 */
import type { Requester } from './auth';
import type { HomeserverContext } from './context';
import type { Db } from './db';
import { isJsonObject, type JsonObject } from './json-checks';
import { heroes, inviteState, memberCounts, roomName } from './room-summaries';
import { currentPositions, positionToken, type RoomSidePositions } from './room-positions';
import type { MembershipRow, PositionedEvent, StoredEvent } from './room-store';
import { POSITIONS_KEPT, type ConnectionState, type PosBase } from './sliding-sync-connections';
import {
  combine,
  parseLists,
  parseStoredSubscriptions,
  parseSubscriptions,
  serializeSubscriptions,
  wantsState,
  type CombinedConfig,
  type ListConfig,
  type ListFilters,
  type RoomConfig,
} from './sliding-sync-room-config';

/** Event types that move a room's `bump_stamp` (MSC4186). */
const BUMP_TYPES = ['m.room.create', 'm.room.message', 'm.room.encrypted', 'm.sticker', 'm.call.invite', 'm.poll.start', 'm.beacon_info'];
const EXTENSIONS = ['account_data', 'receipts', 'typing'] as const;
type RoomExtension = (typeof EXTENSIONS)[number];

/** The room side of a request body, checked before anything is written. */
export interface SlidingRoomsBody {
  lists: Map<string, ListConfig>;
  subscribe: Map<string, RoomConfig>;
  unsubscribe: string[];
  extensions: Set<RoomExtension>;
}

export interface SlidingRoomsAnswer {
  lists: Record<string, { count: number }>;
  rooms: Record<string, JsonObject>;
  extensions: Record<string, unknown>;
  /** Whether there is anything to tell the client: when not, a long poll waits. */
  hasNews: boolean;
  /** The room-side positions the answer brings the client up to, carried by the new `pos`. */
  positions: RoomSidePositions;
  /**
   * Records the rooms sent under a new room-send record number and returns it, for the new `pos` to carry;
   * when no room was sent, records nothing and returns the request's own.
   */
  record(): number;
}

interface SendRecord {
  room_id: string;
  seq: number;
  position: number;
  membership: string;
}

/** Parses the room side of a body; 400 only for the MSC's hard limits (see sliding-sync-room-config.ts). */
export function parseSlidingRoomsBody(body: JsonObject): SlidingRoomsBody {
  const extensions = new Set<RoomExtension>();
  const requested = isJsonObject(body.extensions) ? body.extensions : {};
  for (const name of EXTENSIONS) {
    const config = requested[name];
    if (isJsonObject(config) && config.enabled === true) extensions.add(name);
  }
  const unsubscribe = Array.isArray(body.unsubscribe_rooms) ? body.unsubscribe_rooms.filter((id): id is string => typeof id === 'string') : [];
  return { lists: parseLists(body.lists), subscribe: parseSubscriptions(body.room_subscriptions), unsubscribe, extensions };
}

/** Whether the request asks for anything on the room side at all. */
export function wantsRooms(parsed: SlidingRoomsBody, connection: ConnectionState): boolean {
  return (
    parsed.lists.size > 0 ||
    parsed.subscribe.size > 0 ||
    parsed.unsubscribe.length > 0 ||
    parsed.extensions.size > 0 ||
    connection.roomSubscriptions !== null
  );
}

export class SlidingSyncRooms {
  private readonly statements;

  constructor(private readonly ctx: HomeserverContext) {
    const db: Db = ctx.db;
    this.statements = {
      saveSubscriptions: db.prepare('UPDATE sliding_sync_connections SET room_subscriptions = ? WHERE connection_id = ?'),
      latestSends: db.prepare(
        `SELECT room_id, max(seq) AS seq, position, membership FROM sliding_sync_room_sends
         WHERE connection_id = ? AND seq <= ? GROUP BY room_id`,
      ),
      insertSend: db.prepare(
        `INSERT OR REPLACE INTO sliding_sync_room_sends (connection_id, room_id, seq, position, membership) VALUES (?, ?, ?, ?, ?)`,
      ),
      pruneSends: db.prepare(
        `DELETE FROM sliding_sync_room_sends WHERE connection_id = ? AND room_id = ? AND seq < (
           SELECT max(seq) FROM sliding_sync_room_sends WHERE connection_id = ? AND room_id = ? AND seq <= ?)`,
      ),
    };
  }

  /**
   * Applies the request's subscription changes to the connection (sticky) and returns what the answer is built
   * from. Call inside the request's first transaction; `base` is where the request's `pos` stands.
   */
  begin(me: Requester, parsed: SlidingRoomsBody, connection: ConnectionState, base: PosBase): RoomsRequest {
    const subscriptions = parseStoredSubscriptions(connection.roomSubscriptions);
    for (const [roomId, config] of parsed.subscribe) subscriptions.set(roomId, config);
    for (const roomId of parsed.unsubscribe) subscriptions.delete(roomId);
    const stored = serializeSubscriptions(subscriptions);
    if (stored !== connection.roomSubscriptions) {
      this.statements.saveSubscriptions.run(stored, connection.connectionId);
      connection.roomSubscriptions = stored;
    }
    return new RoomsRequest(this.ctx, this.statements, me, parsed, subscriptions, connection.connectionId, base.roomSeq, base.roomPositions);
  }
}

type Statements = SlidingSyncRooms['statements'];

interface Candidate {
  row: MembershipRow;
  activity: number;
}

/** One request's room side; `answer` may run more than once (before and after a long poll). */
export class RoomsRequest {
  constructor(
    private readonly ctx: HomeserverContext,
    private readonly statements: Statements,
    private readonly me: Requester,
    private readonly parsed: SlidingRoomsBody,
    private readonly subscriptions: Map<string, RoomConfig>,
    private readonly connectionId: number,
    /** The newest room-send record the request's `pos` holds (0 for none). */
    private readonly seq: number,
    /** Room-side positions of the request's `pos`; undefined when it had none (nothing seen). */
    private readonly seen: RoomSidePositions | undefined,
  ) {}

  answer(): SlidingRoomsAnswer {
    const now = currentPositions(this.ctx, this.me.userId);
    const sent = new Map((this.statements.latestSends.all(this.connectionId, this.seq) as SendRecord[]).map((r) => [r.room_id, r]));
    const memberships = new Map(this.ctx.rooms.membershipsOf(this.me.userId).map((row) => [row.room_id, row]));
    const candidates = [...memberships.values()]
      .filter((row) => row.membership !== 'leave' || sent.has(row.room_id))
      .map((row) => ({ row, activity: row.membership === 'join' ? this.ctx.rooms.latestPosition(row.room_id) : row.stream_ordering }))
      .sort((a, b) => b.activity - a.activity || a.row.room_id.localeCompare(b.row.room_id));

    const configs = new Map<string, RoomConfig[]>();
    const addConfig = (roomId: string, config: RoomConfig): void => {
      configs.set(roomId, [...(configs.get(roomId) ?? []), config]);
    };
    const lists: Record<string, { count: number }> = {};
    const roomFacts = new RoomFacts(this.ctx, this.me.userId);
    for (const [name, list] of this.parsed.lists) {
      const matching = candidates.filter((candidate) => roomFacts.passes(candidate.row, list.filters));
      lists[name] = { count: matching.length };
      for (const candidate of select(matching, list.ranges)) addConfig(candidate.row.room_id, list);
    }
    for (const [roomId, config] of this.subscriptions) {
      if (memberships.has(roomId)) addConfig(roomId, config);
    }

    const rooms: Record<string, JsonObject> = {};
    const records: SendRecord[] = [];
    for (const [roomId, roomConfigs] of configs) {
      const row = memberships.get(roomId);
      if (row === undefined) continue;
      const built = this.roomEntry(row, combine(roomConfigs), sent.get(roomId), now, roomFacts);
      if (built === undefined) continue;
      rooms[roomId] = built.entry;
      records.push({ room_id: roomId, seq: 0, position: built.position, membership: row.membership });
    }
    const initialRooms = new Set(records.filter((record) => sent.get(record.room_id)?.membership !== record.membership).map((r) => r.room_id));
    const known = new Set([...sent.keys(), ...records.map((record) => record.room_id)]);
    const extensions = this.extensions(known, initialRooms);
    const hasNews = Object.keys(rooms).length > 0 || Object.values(extensions).some(hasContent);
    return {
      lists,
      rooms,
      extensions,
      hasNews,
      positions: now,
      record: () => this.record(records),
    };
  }

  private record(records: SendRecord[]): number {
    if (records.length === 0) return this.seq;
    const seq = this.ctx.connections.nextRoomSeq(this.connectionId);
    const oldestValid = seq - POSITIONS_KEPT + 1;
    for (const record of records) {
      this.statements.insertSend.run(this.connectionId, record.room_id, seq, record.position, record.membership);
      this.statements.pruneSends.run(this.connectionId, record.room_id, this.connectionId, record.room_id, oldestValid);
    }
    return seq;
  }

  /** The room's entry, or undefined when the client already has everything it would carry. */
  private roomEntry(
    row: MembershipRow,
    config: CombinedConfig,
    record: SendRecord | undefined,
    now: RoomSidePositions,
    facts: RoomFacts,
  ): { entry: JsonObject; position: number } | undefined {
    const rooms = this.ctx.rooms;
    const roomId = row.room_id;
    const initial = record === undefined || record.membership !== row.membership;
    if (row.membership === 'invite') {
      if (!initial) return undefined;
      const stripped = inviteState(rooms, roomId, this.me.userId);
      const entry: JsonObject = { initial: true, membership: 'invite', invite_state: stripped, stripped_state: stripped, bump_stamp: row.stream_ordering };
      const name = stripped.find((event) => event.type === 'm.room.name')?.content.name;
      if (typeof name === 'string' && name !== '') entry.name = name;
      return { entry, position: now.rooms };
    }
    const upTo = row.membership === 'leave' ? row.stream_ordering : now.rooms;
    const after = initial ? 0 : record.position;
    // Nothing after the record (a left room's history ends at the leave): the client has all of it.
    const newest = row.membership === 'leave' ? upTo : rooms.latestPosition(roomId);
    if (!initial && newest <= after) return undefined;
    const timeline = rooms.timeline(roomId, after, upTo, config.timelineLimit);
    const state = initial ? rooms.currentState(roomId) : rooms.stateChanges(roomId, after, upTo);
    const entry: JsonObject = {
      membership: row.membership,
      required_state: this.requiredState(config, state, timeline.events),
      timeline: timeline.events.map((item) => item.event),
      limited: timeline.limited,
      prev_batch: positionToken(timeline.events[0]?.position ?? upTo + 1),
      num_live: this.numLive(timeline.events, initial),
    };
    if (initial) entry.initial = true;
    const name = roomName(rooms, roomId);
    const changed = new Set(state.map((item) => item.event.type));
    if (name !== undefined && (initial || changed.has('m.room.name'))) entry.name = name;
    if (initial || changed.has('m.room.member')) {
      const counts = memberCounts(rooms, roomId);
      entry.joined_count = counts.joined;
      entry.invited_count = counts.invited;
      const found = heroes(rooms, roomId, this.me.userId);
      if (found.length > 0) entry.heroes = found;
    }
    const bump = rooms.lastOfTypes(roomId, BUMP_TYPES, upTo);
    if (bump !== undefined) entry.bump_stamp = bump;
    if (initial && facts.isDm(roomId)) entry.is_dm = true;
    return { entry, position: upTo };
  }

  private requiredState(config: CombinedConfig, state: PositionedEvent[], timeline: PositionedEvent[]): StoredEvent[] {
    const wanted = state.map((item) => item.event).filter((event) => wantsState(config, event, this.me.userId));
    if (!config.lazyMembers) return wanted;
    const have = new Set(wanted.filter((event) => event.type === 'm.room.member').map((event) => event.state_key));
    const roomId = timeline[0]?.event.room_id;
    if (roomId === undefined) return wanted;
    for (const sender of new Set(timeline.map((item) => item.event.sender))) {
      if (have.has(sender)) continue;
      const member = this.ctx.rooms.stateEvent(roomId, 'm.room.member', sender);
      if (member !== undefined) wanted.push(member);
    }
    return wanted;
  }

  /** Events that happened since the request's `pos`; all of an incremental timeline is new. */
  private numLive(timeline: PositionedEvent[], initial: boolean): number {
    if (!initial) return timeline.length;
    if (this.seen === undefined) return 0;
    const since = this.seen.rooms;
    return timeline.filter((item) => item.position > since).length;
  }

  private extensions(known: Set<string>, initialRooms: Set<string>): Record<string, unknown> {
    const extensions: Record<string, unknown> = {};
    const seen = this.seen;
    const wants = this.parsed.extensions;
    if (wants.has('account_data')) {
      const changes = this.ctx.accountData.changesSince(this.me.userId, seen?.accountData ?? 0);
      const all = initialRooms.size > 0 && seen !== undefined ? this.ctx.accountData.changesSince(this.me.userId, 0).rooms : changes.rooms;
      const rooms: Record<string, unknown[]> = {};
      for (const roomId of known) {
        const events = initialRooms.has(roomId) ? all.get(roomId) : changes.rooms.get(roomId);
        if (events !== undefined && events.length > 0) rooms[roomId] = events;
      }
      extensions.account_data = { global: changes.global, rooms };
    }
    if (wants.has('receipts')) {
      const rooms: Record<string, unknown> = {};
      for (const roomId of known) {
        const event = this.ctx.receipts.receiptEvent(roomId, initialRooms.has(roomId) ? 0 : (seen?.receipts ?? 0), this.me.userId);
        if (event !== undefined) rooms[roomId] = event;
      }
      extensions.receipts = { rooms };
    }
    if (wants.has('typing')) {
      const rooms: Record<string, unknown> = {};
      for (const roomId of known) {
        const event = this.ctx.typing.typingEvent(roomId, initialRooms.has(roomId) ? 0 : (seen?.typing ?? 0));
        if (event !== undefined) rooms[roomId] = event;
      }
      extensions.typing = { rooms };
    }
    return extensions;
  }
}

/** The rooms a list's ranges select from its filtered, ordered rooms; all of them without ranges. */
function select(matching: Candidate[], ranges: Array<[number, number]> | undefined): Candidate[] {
  if (ranges === undefined) return matching;
  const picked = new Set<number>();
  for (const [start, end] of ranges) {
    for (let index = start; index <= Math.min(end, matching.length - 1); index += 1) picked.add(index);
  }
  return [...picked].sort((a, b) => a - b).map((index) => matching[index] as Candidate);
}

/** An extension section has content when any of its arrays or maps is non-empty. */
function hasContent(section: unknown): boolean {
  if (!isJsonObject(section)) return false;
  return Object.values(section).some((value) => (Array.isArray(value) ? value.length > 0 : isJsonObject(value) && Object.keys(value).length > 0));
}

/** What list filters ask about a room, read lazily and once per answer. */
class RoomFacts {
  private directRooms: Set<string> | undefined;

  constructor(
    private readonly ctx: HomeserverContext,
    private readonly userId: string,
  ) {}

  passes(row: MembershipRow, filters: ListFilters): boolean {
    const roomId = row.room_id;
    if (filters.isInvite !== undefined && (row.membership === 'invite') !== filters.isInvite) return false;
    if (filters.isDm !== undefined && this.isDm(roomId) !== filters.isDm) return false;
    if (filters.isEncrypted !== undefined && (this.ctx.rooms.stateEvent(roomId, 'm.room.encryption', '') !== undefined) !== filters.isEncrypted) {
      return false;
    }
    if (filters.roomTypes !== undefined || filters.notRoomTypes !== undefined) {
      const type = this.ctx.rooms.stateContent(roomId, 'm.room.create')?.type;
      const roomType = typeof type === 'string' ? type : null;
      if (filters.notRoomTypes?.includes(roomType) === true) return false;
      if (filters.roomTypes !== undefined && !filters.roomTypes.includes(roomType)) return false;
    }
    if (filters.roomNameLike !== undefined) {
      const name = roomName(this.ctx.rooms, roomId) ?? '';
      if (!name.toLowerCase().includes(filters.roomNameLike.toLowerCase())) return false;
    }
    if (filters.tags !== undefined || filters.notTags !== undefined) {
      const tags = this.ctx.accountData.get(this.userId, roomId, 'm.tag')?.tags;
      const names = isJsonObject(tags) ? Object.keys(tags) : [];
      if (filters.notTags?.some((tag) => names.includes(tag)) === true) return false;
      if (filters.tags !== undefined && !filters.tags.some((tag) => names.includes(tag))) return false;
    }
    if (filters.spaces !== undefined && !filters.spaces.some((space) => this.inSpace(space, roomId))) return false;
    return true;
  }

  isDm(roomId: string): boolean {
    if (this.directRooms === undefined) {
      const direct = this.ctx.accountData.get(this.userId, '', 'm.direct') ?? {};
      this.directRooms = new Set(Object.values(direct).flatMap((ids) => (Array.isArray(ids) ? ids.filter((id) => typeof id === 'string') : [])));
    }
    return this.directRooms.has(roomId);
  }

  /** Whether a space the user is joined to lists the room as a child (with `via`, as the spec requires). */
  private inSpace(spaceId: string, roomId: string): boolean {
    if (this.ctx.rooms.membership(spaceId, this.userId) !== 'join') return false;
    const via = this.ctx.rooms.stateContent(spaceId, 'm.space.child', roomId)?.via;
    return Array.isArray(via) && via.length > 0;
  }
}
