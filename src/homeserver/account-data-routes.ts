/**
 * Account data: `GET`/`PUT /v3/user/{userId}/account_data/{type}` and the per-room
 * `.../rooms/{roomId}/account_data/{type}`.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions (the spec's, with Synapse's choices where it is silent):
 * - Only the user reads or writes their account data: another user's is 403 `M_FORBIDDEN`. Reading a type
 *   never set is 404 `M_NOT_FOUND`.
 * - `m.fully_read` and `m.push_rules` are the server's to write: `PUT` of either is 405 `M_BAD_JSON`, as the spec
 *   says. (`m.fully_read` is set through read markers, see room-ephemeral-routes.ts.)
 * - A room ID that is not one (`!opaque:server`) is 400 `M_INVALID_PARAM`; the user need not be in the room.
 * - Content is at most 65536 bytes (413 `M_TOO_LARGE`). A write wakes the user's long polls, and sync delivers
 *   it (classic `account_data`, the sliding sync `account_data` extension).
 */
import type { HomeserverContext } from './context';
import { forbidden, invalidParam, MatrixError, notFound, tooLarge } from './errors';
import { jsonByteLength, objectBody } from './json-checks';
import { MAX_EVENT_CONTENT_BYTES } from './room-routes';
import type { Route, RouteRequest } from './router';
import { ErrCode } from '../shared/matrix-errors';
import { immediate } from './db';

const SERVER_MANAGED_TYPES = new Set(['m.fully_read', 'm.push_rules']);
const ROOM_ID_PATTERN = /^![^:]+:.+$/;

export function accountDataRoutes(ctx: HomeserverContext): Route[] {
  const target = (request: RouteRequest): { userId: string; roomId: string; type: string } => {
    const me = ctx.auth.authenticate(request);
    if (request.params.userId !== me.userId) throw forbidden('you may only access your own account data');
    const roomId = request.params.roomId ?? '';
    if (request.params.roomId !== undefined && !ROOM_ID_PATTERN.test(roomId)) throw invalidParam(`"${roomId}" is not a room ID`);
    return { userId: me.userId, roomId, type: request.params.type ?? '' };
  };
  const read = (request: RouteRequest) => {
    const { userId, roomId, type } = target(request);
    const content = ctx.accountData.get(userId, roomId, type);
    if (content === undefined) throw notFound(`no account data of type ${type}`);
    return { status: 200, body: content };
  };
  const write = (request: RouteRequest) => {
    const { userId, roomId, type } = target(request);
    if (SERVER_MANAGED_TYPES.has(type)) throw new MatrixError(405, ErrCode.badJson, `${type} is managed by the server and cannot be set`);
    const content = objectBody(request.body);
    if (jsonByteLength(content) > MAX_EVENT_CONTENT_BYTES) throw tooLarge(`account data over ${MAX_EVENT_CONTENT_BYTES} bytes`);
    immediate(ctx.db, () => ctx.accountData.set(userId, roomId, type, content));
    ctx.userWaiters.notify(userId);
    return { status: 200, body: {} };
  };
  return [
    { method: 'GET', pattern: '/_matrix/client/v3/user/:userId/account_data/:type', handle: read },
    { method: 'PUT', pattern: '/_matrix/client/v3/user/:userId/account_data/:type', hasBody: true, handle: write },
    { method: 'GET', pattern: '/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type', handle: read },
    { method: 'PUT', pattern: '/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type', hasBody: true, handle: write },
  ];
}
