/**
 * The homeserver's admin surface: fault injection and the oracle's inspection endpoint.
 *
 * Runtime: common. The homeserver serves these under `/_todevice/admin/`, reachable only with the admin token
 * (`Authorization: Bearer <adminToken>`), never with an ordinary access token. Tests, the race harness and the
 * dashboard drive them; a client engine never does.
 *
 * Faults are keyed by (user, device) and apply to that device's requests of one endpoint: by default its sync
 * requests (sliding and classic), or, with `endpoint`, its `/keys/upload`, `/keys/query` or `/keys/claim`
 * requests. Each fault is consumed by the requests it affects, so a test can say exactly "drop the next two
 * responses".
 */

export const ADMIN_PREFIX = '/_todevice/admin';

/** `POST /_todevice/admin/faults` */
export interface AddFaultRequest {
  user_id: string;
  device_id: string;
  fault: Fault;
}

/** Endpoints a counted fault can be addressed to. `sync` (the default) is both sliding and classic sync. */
export const FAULT_ENDPOINTS = ['sync', 'keys/upload', 'keys/query', 'keys/claim'] as const;
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];

export type Fault =
  /**
   * The server processes the next `count` requests fully (a sync acknowledges `since`, a `/keys/upload` stores
   * the keys), then resets the connection.
   */
  | { kind: 'drop-response'; count: number; endpoint?: FaultEndpoint }
  /** The next `count` responses are held back `delay_ms` after being computed (and committed). */
  | { kind: 'delay'; count: number; delay_ms: number; endpoint?: FaultEndpoint }
  /** The next `count` requests are answered with this status before any processing (nothing acknowledged or stored). */
  | { kind: 'error'; count: number; status: 429 | 500; retry_after_ms?: number; endpoint?: FaultEndpoint }
  /** Every sliding sync `pos` issued so far to this device becomes unknown: next use gets 400 `M_UNKNOWN_POS`. */
  | { kind: 'expire-pos' };

/** `GET /_todevice/admin/devices/{userId}/{deviceId}`: what the server holds for one device. */
export interface DeviceInspection {
  user_id: string;
  device_id: string;
  /** Messages still queued (not yet acknowledged), in delivery order. */
  queued: Array<{ stream_id: number; type: string; sender: string; content: Record<string, unknown> }>;
  /** Highest stream position acknowledged by a `since` (0 when none). */
  acked_stream_id: number;
  /** Messages ever accepted into this device's queue. */
  accepted: number;
  /** Messages ever included in a response (a redelivery counts again). */
  delivered: number;
  /** Messages ever deleted by an acknowledgement. */
  deleted: number;
  /**
   * Sync requests of this device waiting now for a to-device message (long polls in flight). A test that
   * installs a fault for "every request after the one in flight" waits for this to be at least 1 first.
   */
  waiting_polls: number;
}

/**
 * `POST /_todevice/admin/retention`: runs the homeserver's retention pass now (transaction IDs past their window,
 * sliding sync connections unused for a week), as if its clock read `now_ms` (default: the real time). Tests
 * pass a later time to see what a window from now prunes, without waiting for it.
 */
export interface RunRetentionRequest {
  now_ms?: number;
}

export interface RunRetentionResponse {
  transactions: number;
  sliding_sync_connections: number;
  /** Room-send records (what each connection was sent of each room) deleted with those connections. */
  sliding_sync_room_sends: number;
}
