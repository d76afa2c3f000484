/**
 * Classic `GET /_matrix/client/v3/sync`: to-device with implicit acknowledgement (the old race, DESIGN.md §5,
 * strategy `legacy`), the room side a standard client needs (classic-sync-rooms.ts), and the end-to-end
 * encryption fields.
 *
 * Runtime: node (homeserver only).
 *
 * As in Synapse, the `since` token also carries the to-device position and acknowledges implicitly: advancing
 * the sync token deletes every to-device message up to it. The queue is the same one the sliding sync extension
 * reads, so two processes of one device, one on each API, can delete each other's messages, which is exactly
 * the race MSC3885 fixes. The to-device part of a token looks like `s<streamId>_<deviceListStreamId>_<mac>` and
 * is verified like the extension's (a garbage, foreign or future `since` gets 400 `M_INVALID_PARAM`); the room
 * part, when there is one, follows a `~`. An initial sync (no `since`) returns at once, as in Synapse.
 *
 * A long poll ends early for a message to this device, for anything new on the room side (a room event, account
 * data, a receipt, typing in the user's rooms), or for a device list change of a user the caller shares a room
 * with; it answers at once when any of these is already there. Injected faults apply here too.
 *
 * End-to-end encryption fields, as Synapse's `encode_response`: `device_one_time_keys_count` and
 * `device_unused_fallback_key_types` on every response, `device_lists` only when a user changed or left since
 * the token's device list position (so never on an initial sync).
 */
import type { ClassicSyncResponse } from '../shared/wire';
import { classicNextBatch, classicRooms, readClassicRoomsRequest, splitClassicSince, type ClassicRoomsAnswer } from './classic-sync-rooms';
import type { HomeserverContext } from './context';
import { e2eeSyncFields, hasDeviceListChanges } from './e2ee-sync-fields';
import type { Route, RouteRequest } from './router';
import { acknowledgeSince, takeToDevice, waitForToDevice, type PullOptions } from './to-device-pull';
import { parseTimeoutMs, verifyClassicSince } from './to-device-since';

export function classicSyncRoutes(ctx: HomeserverContext): Route[] {
  const handle = async (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    ctx.faults.throwIfErrorFault(me.userId, me.deviceId);
    const timeoutMs = parseTimeoutMs(request.query.get('timeout'));
    const since = splitClassicSince(request.query.get('since'));
    const positions =
      since.toDevice === null
        ? undefined
        : verifyClassicSince(ctx.tokens, ctx.queue, ctx.deviceLists.position(), since.toDevice, me.userId, me.deviceId);
    const fromDeviceLists = positions?.deviceListStreamId;
    const roomsRequest = readClassicRoomsRequest(ctx, me, request.query, since.rooms);
    const options: PullOptions = {
      kind: 'classic',
      sinceStreamId: positions?.toDeviceStreamId,
      limit: ctx.batchCap,
      longPollMs: since.toDevice === null || hasDeviceListChanges(ctx, me, fromDeviceLists) ? 0 : timeoutMs,
      signal: request.signal,
      wakeOnKeyChanges: true,
    };
    acknowledgeSince(ctx, me, options);
    let rooms = classicRooms(ctx, me, roomsRequest);
    const quiet = !hasNews(rooms) && !ctx.queue.hasEventsAfter(me.userId, me.deviceId, options.sinceStreamId ?? 0);
    if (options.longPollMs > 0 && quiet) {
      // Nothing on any side yet: wait for a to-device message, a device list change or a room-side change,
      // whichever comes first, then look again. Checked and started in one synchronous turn, so no change can
      // slip in between.
      const watch = ctx.userWaiters.watch(me.userId);
      try {
        await waitForToDevice(ctx, me, { ...options, signal: AbortSignal.any([request.signal, watch.signal]) });
      } finally {
        watch.stop();
      }
      rooms = classicRooms(ctx, me, roomsRequest);
    }
    // A client gone (or a server closing) takes no batch.
    if (request.signal.aborted) return undefined;
    // From here to the response everything is synchronous, so the device list position read here is the one
    // the token carries and the one the reported changes go up to.
    const deviceListPosition = ctx.deviceLists.position();
    const pulled = takeToDevice(ctx, me, options, deviceListPosition);
    const e2ee = e2eeSyncFields(ctx, me, fromDeviceLists, deviceListPosition);
    const body: ClassicSyncResponse = {
      next_batch: classicNextBatch(pulled.nextBatch, rooms),
      to_device: { events: pulled.events },
      rooms: rooms.rooms,
      device_one_time_keys_count: e2ee.device_one_time_keys_count,
      device_unused_fallback_key_types: e2ee.device_unused_fallback_key_types,
    };
    const lists = e2ee.device_lists;
    if (lists !== undefined && (lists.changed.length > 0 || lists.left.length > 0)) body.device_lists = lists;
    if (rooms.accountData.length > 0) body.account_data = { events: rooms.accountData };
    return { status: 200, body, fault: ctx.faults.responseFault(me.userId, me.deviceId) };
  };
  return [{ method: 'GET', pattern: '/_matrix/client/v3/sync', handle }];
}

function hasNews(rooms: ClassicRoomsAnswer): boolean {
  const { join, invite, leave } = rooms.rooms;
  return rooms.accountData.length > 0 || Object.keys(join).length > 0 || Object.keys(invite).length > 0 || Object.keys(leave).length > 0;
}
