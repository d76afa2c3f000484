/**
 * Classic `GET /_matrix/client/v3/sync`: to-device with implicit acknowledgement (the old race, DESIGN.md §5,
 * strategy `legacy`) and the room side a standard client needs (classic-sync-rooms.ts).
 *
 * Runtime: node (homeserver only).
 *
 * As in Synapse, the `since` token also carries the to-device position and acknowledges implicitly: advancing
 * the sync token deletes every to-device message up to it. The queue is the same one the sliding sync extension
 * reads, so two processes of one device, one on each API, can delete each other's messages, which is exactly
 * the race MSC3885 fixes. The to-device part of a token looks like `s<streamId>_<mac>` and is verified like the
 * extension's (a garbage, foreign or future `since` gets 400 `M_INVALID_PARAM`); the room part, when there is
 * one, follows a `~`. An initial sync (no `since`) returns at once, as in Synapse. A long poll ends early for a
 * message to this device or for anything new on the room side (a room event, account data, a receipt, typing in
 * the user's rooms); it answers at once when something is already there. Injected faults apply here too.
 */
import type { ClassicSyncResponse } from '../shared/wire';
import type { HomeserverContext } from './context';
import type { Route, RouteRequest } from './router';
import { classicNextBatch, classicRooms, readClassicRoomsRequest, splitClassicSince, type ClassicRoomsAnswer } from './classic-sync-rooms';
import { acknowledgeSince, takeToDevice, waitForToDevice, type PullOptions } from './to-device-pull';
import { parseTimeoutMs, verifySince } from './to-device-since';

export function classicSyncRoutes(ctx: HomeserverContext): Route[] {
  const handle = async (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    ctx.faults.throwIfErrorFault(me.userId, me.deviceId);
    const timeoutMs = parseTimeoutMs(request.query.get('timeout'));
    const since = splitClassicSince(request.query.get('since'));
    const sinceStreamId =
      since.toDevice === null ? undefined : verifySince(ctx.tokens, ctx.queue, 'classic', since.toDevice, me.userId, me.deviceId);
    const roomsRequest = readClassicRoomsRequest(ctx, me, request.query, since.rooms);
    const options: PullOptions = {
      kind: 'classic',
      sinceStreamId,
      limit: ctx.batchCap,
      longPollMs: since.toDevice === null ? 0 : timeoutMs,
      signal: request.signal,
    };
    acknowledgeSince(ctx, me, options);
    let rooms = classicRooms(ctx, me, roomsRequest);
    const quiet = !hasNews(rooms) && !ctx.queue.hasEventsAfter(me.userId, me.deviceId, sinceStreamId ?? 0);
    if (options.longPollMs > 0 && quiet) {
      // Nothing on either side yet: wait for a to-device message or a room-side change, whichever comes first,
      // then look again. Checked and started in one synchronous turn, so no change can slip in between.
      const watch = ctx.userWaiters.watch(me.userId);
      try {
        await waitForToDevice(ctx, me, { ...options, signal: AbortSignal.any([request.signal, watch.signal]) });
      } finally {
        watch.stop();
      }
      rooms = classicRooms(ctx, me, roomsRequest);
    }
    // A client gone (or a server closing) takes no batch, exactly as before rooms were answered here.
    if (request.signal.aborted) return undefined;
    const pulled = takeToDevice(ctx, me, options);
    const body: ClassicSyncResponse = {
      next_batch: classicNextBatch(pulled.nextBatch, rooms),
      to_device: { events: pulled.events },
      rooms: rooms.rooms,
    };
    if (rooms.accountData.length > 0) body.account_data = { events: rooms.accountData };
    return { status: 200, body, fault: ctx.faults.responseFault(me.userId, me.deviceId) };
  };
  return [{ method: 'GET', pattern: '/_matrix/client/v3/sync', handle }];
}

function hasNews(rooms: ClassicRoomsAnswer): boolean {
  const { join, invite, leave } = rooms.rooms;
  return rooms.accountData.length > 0 || Object.keys(join).length > 0 || Object.keys(invite).length > 0 || Object.keys(leave).length > 0;
}
