/**
 * Wire shapes of the Matrix Client-Server API subset todevice speaks, as JSON crosses HTTP.
 *
 * Runtime: common. Both ends import these: the reference homeserver (src/homeserver) produces them and the
 * client engine (src/engine) consumes them, so a change here is a protocol change and shows up on both sides
 * at type-check time.
 *
 * Field names keep their spec spelling (snake_case) because these are the bytes on the wire.
 */

/** Paths of the simplified sliding sync endpoint (Synapse) and the older proxy-era path; both are served. */
export const SLIDING_SYNC_PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';
export const SLIDING_SYNC_PATH_MSC3575 = '/_matrix/client/unstable/org.matrix.msc3575/sync';

/** Extension key of MSC3885, and the key MSC4538 answers under too. */
export const TO_DEVICE_EXTENSION = 'to_device';
export const TO_DEVICE_EXTENSION_MSC4538 = 'org.matrix.msc4538.to_device';

/** Extension key of MSC3884 (end-to-end encryption: one-time key counts, fallback key types, device lists). */
export const E2EE_EXTENSION = 'e2ee';

/** Server-side cap on a to-device batch, matching Synapse. */
export const TO_DEVICE_BATCH_CAP = 100;

/** A to-device event as delivered to the recipient device. Messages carry no IDs (MSC3885). */
export interface ToDeviceEvent {
  type: string;
  sender: string;
  content: Record<string, unknown>;
}

/**
 * MSC3885 request: `enabled` and `limit` are sticky per connection, `since` acknowledges everything up to it.
 * MSC4538: `limit` must be a positive integer.
 */
export interface ToDeviceExtensionRequest {
  enabled?: boolean;
  limit?: number;
  since?: string;
}

/** MSC3885 response: `next_batch` is always present when enabled; a missing `events` means none. */
export interface ToDeviceExtensionResponse {
  next_batch: string;
  events?: ToDeviceEvent[];
}

/** MSC3884 request. `enabled` is sticky per connection here, like the to-device extension's (Synapse: per request). */
export interface E2eeExtensionRequest {
  enabled?: boolean;
}

/** Users whose device keys the client must query again (`left` is always empty on this server). */
export interface DeviceListsChanges {
  changed: string[];
  left: string[];
}

/**
 * The end-to-end encryption state of the requesting device, as the classic `/v3/sync` response and the MSC3884
 * extension both carry it. Counts and fallback types are always the current ones (Synapse always sends them,
 * `signed_curve25519` included at 0); `device_lists` needs a position to compare with, so an initial request
 * (no `pos`, no `since`) has none.
 */
export interface E2eeSyncFields {
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
  device_lists?: DeviceListsChanges;
}

/** Body of `POST .../sync` (sliding sync). `pos` and `timeout` travel as query parameters, as in Synapse. */
export interface SlidingSyncRequest {
  conn_id?: string;
  lists?: Record<string, unknown>;
  room_subscriptions?: Record<string, unknown>;
  extensions?: {
    to_device?: ToDeviceExtensionRequest;
    'org.matrix.msc4538.to_device'?: ToDeviceExtensionRequest;
    e2ee?: E2eeExtensionRequest;
    [other: string]: unknown;
  };
}

export interface SlidingSyncResponse {
  pos: string;
  lists: Record<string, unknown>;
  rooms: Record<string, unknown>;
  extensions: {
    to_device?: ToDeviceExtensionResponse;
    'org.matrix.msc4538.to_device'?: ToDeviceExtensionResponse;
    e2ee?: E2eeSyncFields;
    [other: string]: unknown;
  };
}

/**
 * Classic `GET /v3/sync` response. todevice's own engine reads only `next_batch` and `to_device` (to-device with
 * implicit acknowledgement); the room sections and account data are there for standard clients, and so are the
 * end-to-end encryption fields. As in Synapse, `device_lists` is present only when something changed; the counts
 * and fallback types always are (optional here because other servers may leave them out).
 */
export interface ClassicSyncResponse extends Partial<E2eeSyncFields> {
  next_batch: string;
  to_device: { events: ToDeviceEvent[] };
  rooms: { join: Record<string, unknown>; invite: Record<string, unknown>; leave: Record<string, unknown> };
  account_data?: { events: Array<{ type: string; content: Record<string, unknown> }> };
}

/** `PUT /v3/sendToDevice/{eventType}/{txnId}` body: user ID → device ID (or `"*"`) → content. */
export interface SendToDeviceRequest {
  messages: Record<string, Record<string, Record<string, unknown>>>;
}

export interface LoginResponse {
  user_id: string;
  access_token: string;
  device_id: string;
  home_server?: string;
}

/** A room event as returned by `GET /v3/rooms/{roomId}/event/{eventId}`. */
export interface RoomEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
}

/** Push Gateway API `POST /_matrix/push/v1/notify` body, as the homeserver sends it to a pusher's URL. */
export interface PushNotifyRequest {
  notification: {
    event_id: string;
    room_id: string;
    type: string;
    sender: string;
    counts: { unread: number };
    devices: Array<{ app_id: string; pushkey: string; data: Record<string, unknown> }>;
  };
}
