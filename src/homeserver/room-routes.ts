/**
 * Rooms: create (with `invite`, `preset`, `initial_state`, alias), join, invite, leave, send, get event, page
 * through messages, joined rooms.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions:
 * - createRoom writes the events the spec lists, in its order (see room-creation.ts). Invited users are not
 *   joined automatically: they join like on any homeserver.
 * - Joining needs an invite unless the room's current `m.room.join_rules` is `public`. Joining again is a no-op.
 *   Inviting needs the `invite` power level; inviting someone already invited is a no-op, someone joined 403.
 *   Leaving (or rejecting an invite) needs a current join or invite.
 * - Sending is idempotent per (user, device, room, event type, txnId), as the Client-Server API scopes
 *   transaction IDs; a retry returns the same `event_id`. It needs a current join and the event's power level.
 * - Reading an event needs current membership: 404 `M_NOT_FOUND` for an unknown room or event, 403
 *   `M_FORBIDDEN` when the user is not joined.
 * - `GET .../messages` pages by stream position: tokens are `t<position>`, `from` may be omitted (the start of
 *   the room going forwards, its end going backwards), `limit` defaults to 10 and is capped at 1000. Going
 *   forwards `end` is always given (new events may arrive, as in Synapse); going backwards it is left out once
 *   the page reached the start of the room, as the spec says. A malformed `from`, `dir` or `limit` gets 400
 *   `M_INVALID_PARAM`. Like reading one event, it needs current membership. Sync's `prev_batch` is such a token.
 * - After an event commits, the long polls of the room's members wake, and a message is pushed to every pusher
 *   of every other joined member (see room-pushes.ts), without waiting for them.
 * - A join enters the device list stream in its transaction: the joiner and the room's members appear in each
 *   other's `device_lists.changed` (see device-list-stream.ts).
 */
import { randomBytes } from 'node:crypto';
import type { RoomEvent } from '../shared/wire';
import type { HomeserverContext } from './context';
import { MatrixError, badJson, forbidden, invalidParam, notFound, tooLarge } from './errors';
import { jsonByteLength, objectBody, optionalString, requiredString } from './json-checks';
import { planRoom } from './room-creation';
import { parsePositionToken, positionToken } from './room-positions';
import { PowerLevels } from './room-power-levels';
import { pushRoomEvent } from './room-pushes';
import type { Route, RouteRequest } from './router';
import { immediate } from './db';

export const MAX_EVENT_CONTENT_BYTES = 65536;
const MAX_ID_LENGTH = 255;
const USER_ID_PATTERN = /^@[^:]+:.+$/;

export function roomRoutes(ctx: HomeserverContext): Route[] {
  const rooms = ctx.rooms;

  const createRoom = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const body = objectBody(request.body);
    const aliasName = optionalString(body, 'room_alias_name');
    const alias = aliasName === undefined ? null : `#${aliasName}:${ctx.serverName}`;
    if (alias !== null && (aliasName === '' || alias.length > MAX_ID_LENGTH || aliasName?.includes(':'))) {
      throw invalidParam('"room_alias_name" must be a non-empty localpart');
    }
    const plan = planRoom(body, me.userId, alias);
    const roomId = `!${randomBytes(9).toString('base64url')}:${ctx.serverName}`;
    immediate(ctx.db, () => {
      if (alias !== null && rooms.roomIdForAlias(alias) !== undefined) {
        throw new MatrixError(400, 'M_ROOM_IN_USE', 'room alias already taken');
      }
      rooms.insertRoom(roomId, me.userId, plan.joinRule, alias);
      rooms.sendState(roomId, me.userId, 'm.room.create', '', plan.createContent);
      rooms.setMembership(roomId, me.userId, 'join');
      for (const entry of plan.state) rooms.sendState(roomId, me.userId, entry.type, entry.stateKey, entry.content);
      for (const userId of plan.invite) {
        rooms.setMembership(roomId, userId, 'invite', me.userId, plan.isDirect ? { is_direct: true } : {});
      }
    });
    rooms.notifyMembers(roomId);
    return { status: 200, body: alias === null ? { room_id: roomId } : { room_id: roomId, room_alias: alias } };
  };

  const join = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const target = request.params.roomIdOrAlias ?? request.params.roomId ?? '';
    const roomId = target.startsWith('#') ? rooms.roomIdForAlias(target) : target;
    const room = roomId === undefined ? undefined : rooms.room(roomId);
    if (roomId === undefined || room === undefined) throw notFound('unknown room');
    const membership = rooms.membership(roomId, me.userId);
    const joinRule = rooms.stateContent(roomId, 'm.room.join_rules')?.join_rule ?? room.join_rule;
    if (membership !== 'join' && membership !== 'invite' && joinRule !== 'public') {
      throw forbidden('you are not invited to this room');
    }
    if (membership !== 'join') {
      const concerned = immediate(ctx.db, () => {
        rooms.setMembership(roomId, me.userId, 'join');
        return ctx.deviceLists.joined(me.userId, rooms.joinedMembers(roomId));
      });
      rooms.notifyMembers(roomId);
      // After the commit: the joiner and the members now track each other's devices (device-list-stream.ts).
      if (concerned.size > 0) ctx.waiters.notifyKeyChanges(concerned);
    }
    return { status: 200, body: { room_id: roomId } };
  };

  const invite = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const roomId = request.params.roomId ?? '';
    const body = objectBody(request.body);
    const userId = requiredString(body, 'user_id');
    if (!USER_ID_PATTERN.test(userId)) throw badJson('"user_id" must be a user ID');
    const reason = optionalString(body, 'reason');
    if (rooms.room(roomId) === undefined) throw notFound('unknown room');
    if (rooms.membership(roomId, me.userId) !== 'join') throw forbidden('you are not joined to this room');
    const power = new PowerLevels(rooms.stateContent(roomId, 'm.room.power_levels'), creatorOf(ctx, roomId));
    if (power.userLevel(me.userId) < power.actionLevel('invite')) throw forbidden('your power level is too low to invite');
    if (ctx.profiles.profile(userId) === undefined) throw notFound(`unknown user ${userId}`);
    const current = rooms.membership(roomId, userId);
    if (current === 'join') throw forbidden(`${userId} is already in the room`);
    if (current !== 'invite') {
      immediate(ctx.db, () => rooms.setMembership(roomId, userId, 'invite', me.userId, reason === undefined ? {} : { reason }));
      rooms.notifyMembers(roomId);
    }
    return { status: 200, body: {} };
  };

  const leave = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const roomId = request.params.roomId ?? '';
    const reason = optionalString(objectBody(request.body), 'reason');
    if (rooms.room(roomId) === undefined) throw notFound('unknown room');
    const membership = rooms.membership(roomId, me.userId);
    if (membership !== 'join' && membership !== 'invite') throw forbidden('you are not in this room');
    const parted = immediate(ctx.db, () => {
      rooms.setMembership(roomId, me.userId, 'leave', me.userId, reason === undefined ? {} : { reason });
      return membership === 'join' ? ctx.deviceLists.leftRoom(me.userId, rooms.joinedMembers(roomId)) : new Set<string>();
    });
    rooms.notifyMembers(roomId, me.userId);
    // After the commit: those who no longer share a room stop tracking each other's devices (device-list-stream.ts).
    if (parted.size > 0) ctx.waiters.notifyKeyChanges(parted);
    return { status: 200, body: {} };
  };

  const send = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const roomId = request.params.roomId ?? '';
    const eventType = request.params.eventType ?? '';
    const txnId = request.params.txnId ?? '';
    if (eventType.length > MAX_ID_LENGTH || txnId.length > MAX_ID_LENGTH) {
      throw invalidParam('event type and transaction ID must be at most 255 characters');
    }
    const content = objectBody(request.body);
    if (jsonByteLength(content) > MAX_EVENT_CONTENT_BYTES) throw tooLarge(`event content over ${MAX_EVENT_CONTENT_BYTES} bytes`);
    if (rooms.membership(roomId, me.userId) !== 'join') throw forbidden('you are not joined to this room');
    const power = new PowerLevels(rooms.stateContent(roomId, 'm.room.power_levels'), creatorOf(ctx, roomId));
    if (!power.may(me.userId, eventType, false)) throw forbidden(`your power level is too low to send ${eventType}`);
    const scope = `rooms/${roomId}/send/${eventType}`;
    const sent = immediate(ctx.db, () => rooms.sendOnce(me, scope, txnId, { roomId, type: eventType, content }));
    if (sent.isNew) {
      rooms.notifyMembers(roomId);
      pushRoomEvent(ctx, rooms, sent.event);
    }
    return { status: 200, body: { event_id: sent.event.event_id } };
  };

  const getEvent = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const roomId = request.params.roomId ?? '';
    if (rooms.room(roomId) === undefined) throw notFound('unknown room');
    if (rooms.membership(roomId, me.userId) !== 'join') throw forbidden('you are not joined to this room');
    const event: RoomEvent | undefined = rooms.event(request.params.eventId ?? '');
    if (event === undefined || event.room_id !== roomId) throw notFound('unknown event');
    return { status: 200, body: event };
  };

  const messages = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    const roomId = request.params.roomId ?? '';
    if (rooms.room(roomId) === undefined) throw notFound('unknown room');
    if (rooms.membership(roomId, me.userId) !== 'join') throw forbidden('you are not joined to this room');
    const dir = request.query.get('dir') ?? 'b';
    if (dir !== 'f' && dir !== 'b') throw invalidParam('"dir" must be "f" or "b"');
    const limit = parseMessagesLimit(request.query.get('limit'));
    const fromToken = request.query.get('from');
    const from = fromToken !== null ? parsePositionToken(fromToken) : dir === 'f' ? 0 : rooms.latestPosition(roomId) + 1;
    const page = rooms.page(roomId, dir, from, limit);
    const last = page.at(-1);
    const body: { chunk: RoomEvent[]; start: string; end?: string } = { chunk: page.map((entry) => entry.event), start: positionToken(from) };
    // Forwards there is always somewhere to continue from (new events may come); backwards the start of the
    // room ends it.
    if (dir === 'f') body.end = positionToken(last?.position ?? from);
    else if (last !== undefined && page.length === limit) body.end = positionToken(last.position);
    return { status: 200, body };
  };

  const joinedRooms = (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    return { status: 200, body: { joined_rooms: rooms.joinedRooms(me.userId) } };
  };

  return [
    { method: 'POST', pattern: '/_matrix/client/v3/createRoom', hasBody: true, handle: createRoom },
    { method: 'POST', pattern: '/_matrix/client/v3/join/:roomIdOrAlias', hasBody: true, handle: join },
    { method: 'POST', pattern: '/_matrix/client/v3/rooms/:roomId/join', hasBody: true, handle: join },
    { method: 'POST', pattern: '/_matrix/client/v3/rooms/:roomId/invite', hasBody: true, handle: invite },
    { method: 'POST', pattern: '/_matrix/client/v3/rooms/:roomId/leave', hasBody: true, handle: leave },
    { method: 'PUT', pattern: '/_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId', hasBody: true, handle: send },
    { method: 'GET', pattern: '/_matrix/client/v3/rooms/:roomId/event/:eventId', handle: getEvent },
    { method: 'GET', pattern: '/_matrix/client/v3/rooms/:roomId/messages', handle: messages },
    { method: 'GET', pattern: '/_matrix/client/v3/joined_rooms', handle: joinedRooms },
  ];
}

const MAX_MESSAGES_LIMIT = 1000;

function parseMessagesLimit(raw: string | null): number {
  if (raw === null) return 10;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw invalidParam('"limit" must be a positive integer');
  return Math.min(Number(raw), MAX_MESSAGES_LIMIT);
}

/** The room's creator, from `m.room.create` (what power levels fall back to when the room has none). */
export function creatorOf(ctx: HomeserverContext, roomId: string): string {
  const creator = ctx.rooms.stateEvent(roomId, 'm.room.create', '')?.sender;
  return creator ?? '';
}
