/**
 * Room state and members: `GET /v3/rooms/{roomId}/state`, `GET`/`PUT .../state/{type}/{stateKey}` (and the
 * forms without a state key, which mean `""`), `GET .../members` and `GET .../joined_members`.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions (the spec's error codes; where it is open, Synapse's):
 * - Reading needs a current join: anyone else, and any room that does not exist, is 403 `M_FORBIDDEN` ("you
 *   aren't a member of the room"), which tells an outsider nothing about which rooms exist. A state key that is
 *   not set is 404 `M_NOT_FOUND`.
 * - Writing needs a current join and the power level `m.room.power_levels` asks for the type (403 otherwise).
 *   A new power levels event may not give anyone more than the sender's own level. `m.room.create` cannot be
 *   sent again. `m.room.member` may only be the sender's own join (a profile change for this room); other
 *   membership changes go through join, invite and leave. Content over 65536 bytes is 413 `M_TOO_LARGE`.
 * - Sending the state that is already current (same sender, same content) returns the existing event ID and
 *   writes nothing, as Synapse does, so a retried `PUT` does not repeat the event.
 * - `members` takes `membership` and `not_membership`; `at` is accepted and the current members returned.
 */
import { isDeepStrictEqual } from 'node:util';
import type { HomeserverContext } from './context';
import { forbidden, invalidParam, notFound, tooLarge } from './errors';
import { isJsonObject, jsonByteLength, objectBody, type JsonObject } from './json-checks';
import { PowerLevels } from './room-power-levels';
import { creatorOf, MAX_EVENT_CONTENT_BYTES } from './room-routes';
import type { Route, RouteRequest } from './router';
import { immediate } from './db';

const MEMBERSHIPS = ['join', 'invite', 'leave', 'ban', 'knock'];

export function roomStateRoutes(ctx: HomeserverContext): Route[] {
  const rooms = ctx.rooms;
  const joinedUser = (request: RouteRequest): { userId: string; roomId: string } => {
    const me = ctx.auth.authenticate(request);
    const roomId = request.params.roomId ?? '';
    if (rooms.membership(roomId, me.userId) !== 'join') throw forbidden("you aren't a member of the room");
    return { userId: me.userId, roomId };
  };

  const allState = (request: RouteRequest) => {
    const { roomId } = joinedUser(request);
    return { status: 200, body: rooms.currentState(roomId).map((entry) => entry.event) };
  };

  const oneState = (request: RouteRequest) => {
    const { roomId } = joinedUser(request);
    const event = rooms.stateEvent(roomId, request.params.type ?? '', request.params.stateKey ?? '');
    if (event === undefined) throw notFound('the room has no state with this type and key');
    return { status: 200, body: event.content };
  };

  const putState = (request: RouteRequest) => {
    const { userId, roomId } = joinedUser(request);
    const type = request.params.type ?? '';
    const stateKey = request.params.stateKey ?? '';
    const content = objectBody(request.body);
    if (jsonByteLength(content) > MAX_EVENT_CONTENT_BYTES) throw tooLarge(`event content over ${MAX_EVENT_CONTENT_BYTES} bytes`);
    checkStateWrite(ctx, { userId, roomId, type, stateKey, content });
    const current = rooms.stateEvent(roomId, type, stateKey);
    if (current !== undefined && current.sender === userId && isDeepStrictEqual(current.content, content)) {
      return { status: 200, body: { event_id: current.event_id } };
    }
    const sent = immediate(ctx.db, () => rooms.sendState(roomId, userId, type, stateKey, content));
    rooms.notifyMembers(roomId);
    return { status: 200, body: { event_id: sent.event.event_id } };
  };

  const members = (request: RouteRequest) => {
    const { roomId } = joinedUser(request);
    const only = request.query.get('membership');
    const not = request.query.get('not_membership');
    for (const value of [only, not]) {
      if (value !== null && !MEMBERSHIPS.includes(value)) throw invalidParam(`unknown membership "${value}"`);
    }
    const chunk = rooms.memberEvents(roomId).filter((event) => {
      const membership = event.content.membership;
      return (only === null || membership === only) && (not === null || membership !== not);
    });
    return { status: 200, body: { chunk } };
  };

  const joinedMembers = (request: RouteRequest) => {
    const { roomId } = joinedUser(request);
    const joined: Record<string, JsonObject> = {};
    for (const event of rooms.memberEvents(roomId)) {
      if (event.content.membership !== 'join' || event.state_key === undefined) continue;
      const member: JsonObject = {};
      if (typeof event.content.displayname === 'string') member.display_name = event.content.displayname;
      if (typeof event.content.avatar_url === 'string') member.avatar_url = event.content.avatar_url;
      joined[event.state_key] = member;
    }
    return { status: 200, body: { joined } };
  };

  const base = '/_matrix/client/v3/rooms/:roomId';
  return [
    { method: 'GET', pattern: `${base}/state`, handle: allState },
    { method: 'GET', pattern: `${base}/state/:type`, handle: oneState },
    { method: 'GET', pattern: `${base}/state/:type/`, handle: oneState },
    { method: 'GET', pattern: `${base}/state/:type/:stateKey`, handle: oneState },
    { method: 'PUT', pattern: `${base}/state/:type`, hasBody: true, handle: putState },
    { method: 'PUT', pattern: `${base}/state/:type/`, hasBody: true, handle: putState },
    { method: 'PUT', pattern: `${base}/state/:type/:stateKey`, hasBody: true, handle: putState },
    { method: 'GET', pattern: `${base}/members`, handle: members },
    { method: 'GET', pattern: `${base}/joined_members`, handle: joinedMembers },
  ];
}

/** The authorization rules for a state event, reduced to what this server's rooms can need (see the header). */
function checkStateWrite(
  ctx: HomeserverContext,
  write: { userId: string; roomId: string; type: string; stateKey: string; content: JsonObject },
): void {
  const { userId, roomId, type, stateKey, content } = write;
  if (type === 'm.room.create') throw forbidden('m.room.create cannot be sent again');
  if (type === 'm.room.member') {
    if (stateKey !== userId || content.membership !== 'join') {
      throw forbidden('use join, invite and leave to change membership; only your own join may be updated here');
    }
    return;
  }
  const power = new PowerLevels(ctx.rooms.stateContent(roomId, 'm.room.power_levels'), creatorOf(ctx, roomId));
  if (!power.may(userId, type, true)) throw forbidden(`your power level is too low to send ${type}`);
  if (type === 'm.room.power_levels' && stateKey === '') {
    const own = power.userLevel(userId);
    const users = isJsonObject(content.users) ? content.users : {};
    for (const [other, level] of Object.entries(users)) {
      if (typeof level === 'number' && level > own) throw forbidden(`cannot give ${other} a power level above your own`);
    }
  }
}
