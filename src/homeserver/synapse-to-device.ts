/**
 * The sliding sync `to_device` extension as Synapse answers it, reproduced on purpose for
 * `todevice serve --compat synapse`: no Synapse runs on the machines this project is tested on, so this is how
 * the client engine meets Synapse's behaviour. Each rule names the Synapse source it copies (element-hq/synapse
 * as of 2026-07, commit a58ad44e):
 *
 * - Parsing (`synapse/types/rest/client/__init__.py`, `SlidingSyncBody.Extensions.ToDeviceExtension`):
 *   `enabled: StrictBool = False`, `limit: StrictInt = 100`, `since: StrictStr` that must look like an integer.
 *   A validation error becomes 400 (`synapse/http/servlet.py`, `validate_json_object`): `M_INVALID_PARAM` for the
 *   `since` check (a `value_error`), `M_BAD_JSON` for a `limit` that is not an integer (an `int_type` error).
 *   Only the `to_device` key is read; MSC4538's `org.matrix.msc4538.to_device` is not known to Synapse.
 * - Nothing is sticky: a sliding sync request's extensions are read from that request alone, so `enabled` and
 *   `limit` count only where they are sent, and the section is in the response whenever the request enabled it.
 * - `get_to_device_extension_response` (`synapse/handlers/sliding_sync/extensions.py`): a `since` ahead of the
 *   stream's current position is echoed back as `next_batch` with no events and deletes nothing (no 400); else
 *   everything up to `since` is deleted first, then at most `min(limit, 100)` messages are fetched.
 * - `get_messages_for_device` (`synapse/storage/databases/main/deviceinbox.py`): when the fetch returns `limit`
 *   rows, `next_batch` is the last row's stream id; otherwise it is the stream's current position (global, not
 *   this device's). So `limit: 0` returns nothing and a `next_batch` at the current position, which, sent back as
 *   `since`, deletes everything that was queued: the data-loss case MSC4538 forbids.
 * - Tokens are the bare stream id as a decimal string, bound to no device: any device's `since` is accepted.
 *
 * One choice is ours: a negative `limit` reaches Synapse's SQL unchanged (unlimited on SQLite, an error on
 * PostgreSQL); here it gets 400 `M_INVALID_PARAM`, so that no test depends on either database's accident.
 *
 * Runtime: node (homeserver only).
 */
import type { ToDeviceEvent } from '../shared/wire';
import { TO_DEVICE_BATCH_CAP, TO_DEVICE_EXTENSION } from '../shared/wire';
import type { Requester } from './auth';
import type { HomeserverContext } from './context';
import { badJson, invalidParam } from './errors';
import { isJsonObject, type JsonObject } from './json-checks';

/** Synapse's `ToDeviceExtension` after validation; `enabled` false means the section is left out. */
export interface SynapseToDeviceRequest {
  enabled: boolean;
  limit: number;
  /** The parsed `since`, kept as sent so an echo returns the client's own string. */
  since: { text: string; streamId: number } | undefined;
}

/** Python's `int(str)` on what JSON can carry: optional sign, digits with single underscores, spaces around. */
const PYTHON_INT = /^\s*[+-]?\d+(?:_\d+)*\s*$/;

export function parseSynapseToDevice(extensions: JsonObject): SynapseToDeviceRequest {
  const raw = extensions[TO_DEVICE_EXTENSION];
  if (raw === undefined || raw === null) return { enabled: false, limit: TO_DEVICE_BATCH_CAP, since: undefined };
  if (!isJsonObject(raw)) throw badJson(`"extensions.${TO_DEVICE_EXTENSION}" must be an object`);
  const enabled = raw.enabled ?? false;
  if (typeof enabled !== 'boolean') throw badJson(`"extensions.${TO_DEVICE_EXTENSION}.enabled" must be a boolean`);
  const limit = raw.limit ?? TO_DEVICE_BATCH_CAP;
  if (typeof limit !== 'number' || !Number.isInteger(limit)) {
    throw badJson(`"extensions.${TO_DEVICE_EXTENSION}.limit" must be an integer`);
  }
  if (limit < 0) throw invalidParam(`"extensions.${TO_DEVICE_EXTENSION}.limit" must not be negative`);
  const since = raw.since ?? undefined;
  if (since !== undefined && typeof since !== 'string') {
    throw badJson(`"extensions.${TO_DEVICE_EXTENSION}.since" must be a string`);
  }
  if (since !== undefined && !PYTHON_INT.test(since)) {
    throw invalidParam(`'extensions.to_device.since' is invalid (should look like an int)`);
  }
  return {
    enabled,
    limit,
    since: since === undefined ? undefined : { text: since, streamId: Number(since.trim().replaceAll('_', '')) },
  };
}

/** Whether `since` is ahead of the stream (Synapse then echoes it and touches nothing). */
export function isSinceAhead(ctx: HomeserverContext, request: SynapseToDeviceRequest): boolean {
  return request.since !== undefined && request.since.streamId > ctx.queue.currentStreamId();
}

/** Deletes what `since` acknowledges, unless it is ahead of the stream. Joins the caller's transaction. */
export function acknowledgeSynapseSince(ctx: HomeserverContext, me: Requester, request: SynapseToDeviceRequest): void {
  if (request.since === undefined || isSinceAhead(ctx, request)) return;
  if (request.since.streamId > 0) ctx.queue.acknowledge(me.userId, me.deviceId, request.since.streamId);
}

/** The section of the response: the echo, or the next batch with Synapse's `next_batch`. Joins the caller's transaction. */
export function takeSynapseToDevice(
  ctx: HomeserverContext,
  me: Requester,
  request: SynapseToDeviceRequest,
): { next_batch: string; events: ToDeviceEvent[] } {
  if (request.since !== undefined && isSinceAhead(ctx, request)) return { next_batch: request.since.text, events: [] };
  const currentStreamId = ctx.queue.currentStreamId();
  const limit = Math.min(request.limit, TO_DEVICE_BATCH_CAP);
  const after = Math.max(request.since?.streamId ?? 0, 0);
  const batch = ctx.queue.takeBatch(me.userId, me.deviceId, after, limit);
  // A full batch ends at its last row; anything else (limit 0 included: Synapse's `rowcount == limit` with its
  // position still at the stream's end) ends at the stream's current position.
  const nextStreamId = limit > 0 && batch.events.length === limit ? batch.nextStreamId : currentStreamId;
  return { next_batch: String(nextStreamId), events: batch.events };
}
