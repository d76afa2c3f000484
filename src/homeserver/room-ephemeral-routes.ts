/**
 * Typing and read receipts: `PUT /v3/rooms/{roomId}/typing/{userId}`,
 * `POST /v3/rooms/{roomId}/receipt/{receiptType}/{eventId}` and `POST /v3/rooms/{roomId}/read_markers`.
 *
 * Runtime: node (homeserver only).
 *
 * Decisions:
 * - All need a current join (403 `M_FORBIDDEN`), and typing is only for oneself.
 * - Typing needs a boolean `typing`; `timeout` (ms, default 30 s) is capped at two minutes (typing-store.ts).
 * - A receipt type is `m.read`, `m.read.private` or `m.fully_read` (400 `M_INVALID_PARAM` otherwise); the event
 *   must be in the room (404 `M_NOT_FOUND`). `thread_id` is optional (`main` or an event ID). `m.fully_read` is
 *   the room account data the spec says it is, `{event_id}`.
 * - Read markers set any of `m.fully_read`, `m.read`, `m.read.private` at once.
 * - Every change wakes the long polls it concerns; sync delivers receipts and typing as `m.receipt` and
 *   `m.typing` ephemeral events (classic) or through the `receipts` and `typing` extensions (sliding).
 */
import type { HomeserverContext } from './context';
import { badJson, forbidden, invalidParam, notFound } from './errors';
import { objectBody, optionalString, type JsonObject } from './json-checks';
import { RECEIPT_TYPES, type ReceiptType } from './receipt-store';
import type { Route, RouteRequest } from './router';
import { immediate } from './db';

const DEFAULT_TYPING_TIMEOUT_MS = 30_000;

export function roomEphemeralRoutes(ctx: HomeserverContext): Route[] {
  const joined = (request: RouteRequest): { userId: string; roomId: string } => {
    const me = ctx.auth.authenticate(request);
    const roomId = request.params.roomId ?? '';
    if (ctx.rooms.membership(roomId, me.userId) !== 'join') throw forbidden('you are not joined to this room');
    return { userId: me.userId, roomId };
  };

  const typing = (request: RouteRequest) => {
    const { userId, roomId } = joined(request);
    if (request.params.userId !== userId) throw forbidden('you may only set your own typing state');
    const body = objectBody(request.body);
    if (typeof body.typing !== 'boolean') throw badJson('"typing" must be a boolean');
    const timeout = body.timeout ?? DEFAULT_TYPING_TIMEOUT_MS;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0) throw badJson('"timeout" must be a non-negative integer');
    ctx.typing.set(roomId, userId, body.typing, timeout);
    return { status: 200, body: {} };
  };

  /** Writes the receipts or markers in one transaction, then wakes whoever sees them. */
  const mark = (userId: string, roomId: string, marks: Array<{ type: string; eventId: string; threadId: string }>): void => {
    for (const { eventId } of marks) {
      if (ctx.rooms.event(eventId)?.room_id !== roomId) throw notFound(`unknown event ${eventId}`);
    }
    immediate(ctx.db, () => {
      for (const { type, eventId, threadId } of marks) {
        if (type === 'm.fully_read') ctx.accountData.set(userId, roomId, 'm.fully_read', { event_id: eventId });
        else ctx.receipts.set(roomId, type as ReceiptType, userId, threadId, eventId);
      }
    });
    if (marks.some((entry) => entry.type === 'm.read')) ctx.rooms.notifyMembers(roomId);
    else ctx.userWaiters.notify(userId);
  };

  const receipt = (request: RouteRequest) => {
    const { userId, roomId } = joined(request);
    const type = request.params.receiptType ?? '';
    if (type !== 'm.fully_read' && !(RECEIPT_TYPES as readonly string[]).includes(type)) throw invalidParam(`unknown receipt type ${type}`);
    const threadId = optionalString(objectBody(request.body), 'thread_id') ?? '';
    if (threadId !== '' && threadId !== 'main' && !threadId.startsWith('$')) throw invalidParam('"thread_id" must be "main" or an event ID');
    mark(userId, roomId, [{ type, eventId: request.params.eventId ?? '', threadId }]);
    return { status: 200, body: {} };
  };

  const readMarkers = (request: RouteRequest) => {
    const { userId, roomId } = joined(request);
    const body: JsonObject = objectBody(request.body);
    const marks = ['m.fully_read', 'm.read', 'm.read.private'].flatMap((type) => {
      const eventId = optionalString(body, type);
      return eventId === undefined ? [] : [{ type, eventId, threadId: '' }];
    });
    mark(userId, roomId, marks);
    return { status: 200, body: {} };
  };

  return [
    { method: 'PUT', pattern: '/_matrix/client/v3/rooms/:roomId/typing/:userId', hasBody: true, handle: typing },
    { method: 'POST', pattern: '/_matrix/client/v3/rooms/:roomId/receipt/:receiptType/:eventId', hasBody: true, handle: receipt },
    { method: 'POST', pattern: '/_matrix/client/v3/rooms/:roomId/read_markers', hasBody: true, handle: readMarkers },
  ];
}
