/**
 * Classic `GET /_matrix/client/v3/sync`, kept to show the old race (DESIGN.md §5, strategy `legacy`).
 *
 * Runtime: node (homeserver only).
 *
 * As in Synapse, the `since` token also carries the to-device position and acknowledges implicitly: advancing
 * the sync token deletes every to-device message up to it. The queue is the same one the sliding sync extension
 * reads, so two processes of one device, one on each API, can delete each other's messages, which is exactly
 * the race MSC3885 fixes. Tokens look like `s<streamId>_<deviceListStreamId>_<mac>` and are verified like the
 * extension's (a garbage, foreign or future `since` gets 400 `M_INVALID_PARAM`). An initial sync (no `since`)
 * returns at once, as in Synapse. Rooms are answered minimally. Injected faults apply here too.
 *
 * End-to-end encryption fields, as Synapse's `encode_response`: `device_one_time_keys_count` and
 * `device_unused_fallback_key_types` on every response, `device_lists` only when a user changed since the
 * token's device list position (so never on an initial sync). A long poll returns at once when such a change is
 * already pending, and is woken by one made while it waits (see device-waiters.ts).
 */
import type { ClassicSyncResponse } from '../shared/wire';
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
    const since = request.query.get('since');
    const positions =
      since === null
        ? undefined
        : verifyClassicSince(ctx.tokens, ctx.queue, ctx.deviceLists.position(), since, me.userId, me.deviceId);
    const fromDeviceLists = positions?.deviceListStreamId;
    const options: PullOptions = {
      kind: 'classic',
      sinceStreamId: positions?.toDeviceStreamId,
      limit: ctx.batchCap,
      longPollMs: since === null || hasDeviceListChanges(ctx, me, fromDeviceLists) ? 0 : timeoutMs,
      signal: request.signal,
      wakeOnKeyChanges: true,
    };
    acknowledgeSince(ctx, me, options);
    if ((await waitForToDevice(ctx, me, options)) === undefined) return undefined;
    // From here to the response everything is synchronous, so the device list position read here is the one
    // the token carries and the one the reported changes go up to.
    const deviceListPosition = ctx.deviceLists.position();
    const pulled = takeToDevice(ctx, me, options, deviceListPosition);
    const e2ee = e2eeSyncFields(ctx, me, fromDeviceLists, deviceListPosition);
    const body: ClassicSyncResponse = {
      next_batch: pulled.nextBatch,
      to_device: { events: pulled.events },
      rooms: { join: {}, invite: {}, leave: {} },
      device_one_time_keys_count: e2ee.device_one_time_keys_count,
      device_unused_fallback_key_types: e2ee.device_unused_fallback_key_types,
    };
    if (e2ee.device_lists !== undefined && e2ee.device_lists.changed.length > 0) body.device_lists = e2ee.device_lists;
    return { status: 200, body, fault: ctx.faults.responseFault(me.userId, me.deviceId) };
  };
  return [{ method: 'GET', pattern: '/_matrix/client/v3/sync', handle }];
}
