/**
 * The room side of classic `/v3/sync`: `rooms.join/invite/leave` and global `account_data`, with the `filter`
 * parameter applied, and the part of `next_batch` that says how far the client has seen them.
 *
 * Runtime: node (homeserver only).
 *
 * The token: `next_batch` is the to-device token (`s<streamId>_<mac>`, see sync-tokens.ts, unchanged) followed,
 * once the user has rooms or account data, by `~` and the room-side positions (room-positions.ts). The
 * to-device part alone means "no room-side data seen", which for a user who had none is the truth, so a
 * to-device-only client's tokens look exactly as before and a garbage room part is 400 `M_INVALID_PARAM`.
 *
 * What a response carries, for each room the filter lets through:
 * - joined, newly (or on a sync without room positions, or with `full_state`): the latest `timeline.limit`
 *   events (default 10), `limited` and `prev_batch` (a `/messages` token), the current state not already in
 *   the timeline, the member counts and heroes; lazy-loaded members are those of the timeline's senders and the
 *   user's own;
 * - joined before: the events since the client's position (the newest `limit` the timeline filter lets through,
 *   `limited` when more), the state that changed and is not in that timeline (a gap a limited timeline skipped,
 *   or events the filter hid), and the room's ephemeral events (`m.typing`, `m.receipt`) and account data that
 *   changed; a room with nothing new is left out;
 * - invited since: `invite_state` (room-summaries.ts);
 * - left since (or, on an initial sync with `include_leave`, ever): the timeline up to the leave.
 * Push-rule notification counts are not computed, so `unread_notifications` is left out (clients count).
 */
import type { AccountDataEvent } from './account-data-store';
import type { Requester } from './auth';
import type { HomeserverContext } from './context';
import { ErrCode } from '../shared/matrix-errors';
import { invalidParam, MatrixError } from './errors';
import { parseFilterId } from './filter-routes';
import type { JsonObject } from './json-checks';
import { heroes, inviteState, memberCounts } from './room-summaries';
import {
  checkNotAhead,
  currentPositions,
  decodePositions,
  encodePositions,
  NOTHING_SEEN,
  positionToken,
  type RoomSidePositions,
} from './room-positions';
import type { MembershipRow, PositionedEvent, StoredEvent } from './room-store';
import { parseFilter, passes, roomPasses, type RoomEventFilter, type SyncFilter } from './sync-filter';

const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 100;
const ROOMS_SEPARATOR = '~';

/** A classic `since` split into its to-device token and its room-side positions (undefined: none seen). */
export interface ClassicSince {
  toDevice: string | null;
  rooms: string | undefined;
}

export function splitClassicSince(since: string | null): ClassicSince {
  if (since === null) return { toDevice: null, rooms: undefined };
  const at = since.indexOf(ROOMS_SEPARATOR);
  return at === -1 ? { toDevice: since, rooms: undefined } : { toDevice: since.slice(0, at), rooms: since.slice(at + 1) };
}

export interface ClassicRoomsRequest {
  filter: SyncFilter;
  /** What the client has seen; undefined means nothing (an initial sync, or a token without a room part). */
  since: RoomSidePositions | undefined;
  fullState: boolean;
}

export interface ClassicRoomsAnswer {
  rooms: { join: Record<string, JsonObject>; invite: Record<string, JsonObject>; leave: Record<string, JsonObject> };
  accountData: AccountDataEvent[];
  /** The positions to append to `next_batch`, or undefined when the user has no room-side data at all. */
  positions: RoomSidePositions | undefined;
}

/** Reads `filter`, `full_state` and the room part of `since`; 400 for any malformed one. Read-only. */
export function readClassicRoomsRequest(ctx: HomeserverContext, me: Requester, query: URLSearchParams, roomsSince: string | undefined): ClassicRoomsRequest {
  const fullState = query.get('full_state');
  if (fullState !== null && fullState !== 'true' && fullState !== 'false') throw invalidParam('"full_state" must be true or false');
  let since: RoomSidePositions | undefined;
  if (roomsSince !== undefined) {
    const decoded = decodePositions(roomsSince);
    if (decoded === undefined) throw invalidParam('"since" was not issued by this server for this device');
    since = checkNotAhead(decoded, currentPositions(ctx, me.userId));
  }
  return { filter: readFilter(ctx, me.userId, query.get('filter')), since, fullState: fullState === 'true' };
}

/** Builds the room side of the response at the current positions. Read-only; run it in the same turn as the batch. */
export function classicRooms(ctx: HomeserverContext, me: Requester, request: ClassicRoomsRequest): ClassicRoomsAnswer {
  const now = currentPositions(ctx, me.userId);
  const answer: ClassicRoomsAnswer = { rooms: { join: {}, invite: {}, leave: {} }, accountData: [], positions: undefined };
  const memberships = ctx.rooms.membershipsOf(me.userId);
  if (memberships.length === 0 && now.accountData === 0) return answer;
  answer.positions = now;
  const since = request.since ?? NOTHING_SEEN;
  const initial = request.since === undefined;
  const accountData = ctx.accountData.changesSince(me.userId, since.accountData);
  answer.accountData = accountData.global.filter((event) => passes(request.filter.account_data, event));
  const builder = new RoomSectionBuilder(ctx, me.userId, request, since, now, accountData.rooms);
  for (const row of memberships) {
    if (!roomPasses(request.filter.room, row.room_id)) continue;
    const changed = initial || row.stream_ordering > since.rooms;
    if (row.membership === 'join') {
      const section = builder.joined(row.room_id, changed || request.fullState);
      if (section !== undefined) answer.rooms.join[row.room_id] = section;
    } else if (row.membership === 'invite' && changed) {
      answer.rooms.invite[row.room_id] = { invite_state: { events: inviteState(ctx.rooms, row.room_id, me.userId) } };
    } else if (row.membership === 'leave' && (initial ? request.filter.room?.include_leave === true : changed)) {
      answer.rooms.leave[row.room_id] = builder.left(row);
    }
  }
  return answer;
}

/** `next_batch`: the to-device token, then the room-side positions when there are any. */
export function classicNextBatch(toDeviceToken: string, answer: ClassicRoomsAnswer): string {
  return answer.positions === undefined ? toDeviceToken : `${toDeviceToken}${ROOMS_SEPARATOR}${encodePositions(answer.positions)}`;
}

/** `filter` is a filter ID or an inline JSON definition (it starts with `{`), as the spec allows. */
function readFilter(ctx: HomeserverContext, userId: string, raw: string | null): SyncFilter {
  if (raw === null || raw === '') return {};
  if (raw.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw) as unknown;
    } catch {
      throw new MatrixError(400, ErrCode.notJson, '"filter" is neither a filter ID nor valid JSON');
    }
    return parseFilter(parsed);
  }
  const stored = ctx.filters.get(userId, parseFilterId(raw));
  if (stored === undefined) throw invalidParam('no such filter');
  return stored;
}

class RoomSectionBuilder {
  private readonly timelineFilter: RoomEventFilter | undefined;
  private readonly limit: number;

  constructor(
    private readonly ctx: HomeserverContext,
    private readonly userId: string,
    private readonly request: ClassicRoomsRequest,
    private readonly since: RoomSidePositions,
    private readonly now: RoomSidePositions,
    private readonly roomAccountData: Map<string, AccountDataEvent[]>,
  ) {
    this.timelineFilter = request.filter.room?.timeline;
    this.limit = Math.min(this.timelineFilter?.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
  }

  /** A joined room's section; undefined when it has nothing new for an incremental sync. */
  joined(roomId: string, full: boolean): JsonObject | undefined {
    const rooms = this.ctx.rooms;
    const after = full ? 0 : this.since.rooms;
    const timeline = rooms.timeline(roomId, after, this.now.rooms, this.limit, (event) => this.inTimeline(roomId, event));
    const firstPosition = timeline.events[0]?.position ?? this.now.rooms + 1;
    const state = this.stateSection(roomId, full ? rooms.currentState(roomId) : rooms.stateChanges(roomId, after, this.now.rooms), timeline.events);
    const ephemeral = this.ephemeral(roomId);
    const accountData = (this.roomAccountData.get(roomId) ?? []).filter((event) => passes(this.request.filter.room?.account_data, event));
    if (!full && timeline.events.length === 0 && state.length === 0 && ephemeral.length === 0 && accountData.length === 0) return undefined;
    const section: JsonObject = {
      timeline: { events: timeline.events.map((entry) => entry.event), limited: timeline.limited, prev_batch: positionToken(firstPosition) },
      state: { events: state },
      ephemeral: { events: ephemeral },
      account_data: { events: accountData },
    };
    if (full || state.some(isMember) || timeline.events.some((entry) => isMember(entry.event))) section.summary = this.summary(roomId);
    return section;
  }

  /** A left room: its timeline up to the leave, with the state that changed and is not in it. */
  left(row: MembershipRow): JsonObject {
    const after = this.request.since === undefined ? 0 : this.since.rooms;
    const timeline = this.ctx.rooms.timeline(row.room_id, after, row.stream_ordering, this.limit, (event) => this.inTimeline(row.room_id, event));
    const firstPosition = timeline.events[0]?.position ?? row.stream_ordering;
    const changed = this.ctx.rooms.stateChanges(row.room_id, after, row.stream_ordering);
    return {
      timeline: { events: timeline.events.map((entry) => entry.event), limited: timeline.limited, prev_batch: positionToken(firstPosition) },
      state: { events: this.stateSection(row.room_id, changed, timeline.events) },
      account_data: { events: [] },
    };
  }

  private inTimeline(roomId: string, event: StoredEvent): boolean {
    return roomPasses(this.timelineFilter, roomId) && passes(this.timelineFilter, event);
  }

  /**
   * The state section: the given state (the whole current state for a full room, what changed since the
   * client's position otherwise) minus what the timeline already carries, filtered, with members lazy-loaded
   * when the filter asks. A change the timeline filter hid is therefore still reported here.
   */
  private stateSection(roomId: string, source: PositionedEvent[], timeline: PositionedEvent[]): StoredEvent[] {
    const stateFilter = this.request.filter.room?.state;
    const inTimeline = new Set(timeline.map((entry) => entry.event.event_id));
    const lazy = stateFilter?.lazy_load_members === true;
    const wanted = new Set([this.userId, ...timeline.map((entry) => entry.event.sender)]);
    const events = source
      .map((entry) => entry.event)
      .filter((event) => !inTimeline.has(event.event_id))
      .filter((event) => roomPasses(stateFilter, roomId) && passes(stateFilter, event))
      .filter((event) => !lazy || event.type !== 'm.room.member' || wanted.has(event.state_key ?? ''));
    return events;
  }

  private ephemeral(roomId: string): JsonObject[] {
    const filter = this.request.filter.room?.ephemeral;
    if (!roomPasses(filter, roomId)) return [];
    const events: JsonObject[] = [];
    const typing = this.ctx.typing.typingEvent(roomId, this.since.typing);
    if (typing !== undefined && passes(filter, typing)) events.push(typing);
    const receipts = this.ctx.receipts.receiptEvent(roomId, this.since.receipts, this.userId);
    if (receipts !== undefined && passes(filter, receipts)) events.push(receipts);
    return events;
  }

  private summary(roomId: string): JsonObject {
    const counts = memberCounts(this.ctx.rooms, roomId);
    const summary: JsonObject = { 'm.joined_member_count': counts.joined, 'm.invited_member_count': counts.invited };
    const found = heroes(this.ctx.rooms, roomId, this.userId).map((hero) => hero.user_id);
    if (found.length > 0) summary['m.heroes'] = found;
    return summary;
  }
}

function isMember(event: StoredEvent): boolean {
  return event.type === 'm.room.member';
}
