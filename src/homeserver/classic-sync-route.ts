/**
 * Classic `GET /_matrix/client/v3/sync`, kept to show the old race (DESIGN.md §5, strategy `legacy`).
 *
 * Runtime: node (homeserver only).
 *
 * As in Synapse, the `since` token also carries the to-device position and acknowledges implicitly: advancing
 * the sync token deletes every to-device message up to it. The queue is the same one the sliding sync extension
 * reads, so two processes of one device, one on each API, can delete each other's messages, which is exactly
 * the race MSC3885 fixes. Tokens look like `s<streamId>_<mac>` and are verified like the extension's (a
 * garbage, foreign or future `since` gets 400 `M_INVALID_PARAM`). An initial sync (no `since`) returns at once,
 * as in Synapse. Rooms are answered minimally. Injected faults apply here too.
 */
import type { ClassicSyncResponse } from '../shared/wire';
import type { HomeserverContext } from './context';
import type { Route, RouteRequest } from './router';
import { pullToDevice } from './to-device-pull';
import { parseTimeoutMs, verifySince } from './to-device-since';

export function classicSyncRoutes(ctx: HomeserverContext): Route[] {
  const handle = async (request: RouteRequest) => {
    const me = ctx.auth.authenticate(request);
    ctx.faults.throwIfErrorFault(me.userId, me.deviceId);
    const timeoutMs = parseTimeoutMs(request.query.get('timeout'));
    const since = request.query.get('since');
    const sinceStreamId =
      since === null ? undefined : verifySince(ctx.tokens, ctx.queue, 'classic', since, me.userId, me.deviceId);
    const pulled = await pullToDevice(ctx, me, {
      kind: 'classic',
      sinceStreamId,
      limit: ctx.batchCap,
      longPollMs: since === null ? 0 : timeoutMs,
      signal: request.signal,
    });
    if (pulled === undefined) return undefined;
    const body: ClassicSyncResponse = {
      next_batch: pulled.nextBatch,
      to_device: { events: pulled.events },
      rooms: { join: {}, invite: {}, leave: {} },
    };
    return { status: 200, body, fault: ctx.faults.responseFault(me.userId, me.deviceId) };
  };
  return [{ method: 'GET', pattern: '/_matrix/client/v3/sync', handle }];
}
