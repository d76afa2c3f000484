/**
 * The end-to-end encryption part of a sync response, shared by classic `/v3/sync` and the sliding sync `e2ee`
 * extension (MSC3884): one-time key counts, unused fallback key types, device list changes.
 *
 * Runtime: node (homeserver only).
 *
 * As Synapse (synapse/handlers/sliding_sync/extensions.py `get_e2ee_extension_response`, synapse/rest/client/
 * sync.py `encode_response`): counts and fallback types are the device's current ones on every response,
 * `signed_curve25519` always counted; `device_lists` compares the position the client's token or `pos` stands
 * for with the position this response is computed at, so it needs a previous position and an initial request
 * has none. Call inside the transaction that issues the next position, with that position as `toStreamId`, so
 * a change is reported by exactly the first response whose position covers it.
 */
import type { E2eeSyncFields } from '../shared/wire';
import type { Requester } from './auth';
import type { HomeserverContext } from './context';

export function e2eeSyncFields(
  ctx: HomeserverContext,
  me: Requester,
  fromStreamId: number | undefined,
  toStreamId: number,
): E2eeSyncFields {
  const fields: E2eeSyncFields = {
    device_one_time_keys_count: ctx.keys.oneTimeKeyCounts(me.userId, me.deviceId),
    device_unused_fallback_key_types: ctx.keys.unusedFallbackKeyTypes(me.userId, me.deviceId),
  };
  if (fromStreamId !== undefined) {
    fields.device_lists = ctx.deviceLists.changes(me.userId, fromStreamId, toStreamId);
  }
  return fields;
}

/** Whether a response computed now would report device list changes: a long poll then answers at once. */
export function hasDeviceListChanges(ctx: HomeserverContext, me: Requester, fromStreamId: number | undefined): boolean {
  if (fromStreamId === undefined) return false;
  const { changed, left } = ctx.deviceLists.changes(me.userId, fromStreamId, ctx.deviceLists.position());
  return changed.length > 0 || left.length > 0;
}
