/**
 * Wire shapes of the Client-Server API's end-to-end encryption key endpoints (`/keys/upload`, `/keys/query`,
 * `/keys/claim`, `/keys/changes`, `/keys/signatures/upload`), as the reference homeserver answers them.
 *
 * Runtime: common. The homeserver produces these; a client (todevice's own device, or a test driving
 * matrix-rust-sdk's OlmMachine) consumes them. Field names keep their spec spelling. The rules behind each
 * answer (Synapse's, where the spec leaves a choice) are in src/homeserver/keys-routes.ts.
 */
import type { DeviceListsChanges } from './wire';

export const KEYS_UPLOAD_PATH = '/_matrix/client/v3/keys/upload';
export const KEYS_QUERY_PATH = '/_matrix/client/v3/keys/query';
export const KEYS_CLAIM_PATH = '/_matrix/client/v3/keys/claim';
export const KEYS_CHANGES_PATH = '/_matrix/client/v3/keys/changes';
export const KEYS_SIGNATURES_UPLOAD_PATH = '/_matrix/client/v3/keys/signatures/upload';

/** user ID → key ID (`ed25519:<DEVICE>`) → signature (unpadded base64). */
export type Signatures = Record<string, Record<string, string>>;

export interface DeviceKeys {
  user_id: string;
  device_id: string;
  algorithms: string[];
  /** `curve25519:<DEVICE>` and `ed25519:<DEVICE>` → public key. */
  keys: Record<string, string>;
  signatures: Signatures;
  /** Set by the server in `/keys/query` answers: `{device_display_name}` when the device has a name. */
  unsigned?: Record<string, unknown>;
}

/** A signed key (`signed_curve25519`); `fallback: true` marks a fallback key. */
export interface KeyObject {
  key: string;
  signatures: Signatures;
  fallback?: boolean;
}

/** A one-time or fallback key: a key object, or a bare string for the deprecated unsigned `curve25519`. */
export type OneTimeKey = KeyObject | string;

export interface KeysUploadRequest {
  device_keys?: DeviceKeys;
  /** `<algorithm>:<key_id>` → key. */
  one_time_keys?: Record<string, OneTimeKey>;
  /** `<algorithm>:<key_id>` → key, at most one per algorithm. */
  fallback_keys?: Record<string, OneTimeKey>;
}

export interface KeysUploadResponse {
  /** algorithm → keys left on the server; always includes `signed_curve25519`. */
  one_time_key_counts: Record<string, number>;
}

export interface KeysQueryRequest {
  /** user ID → device IDs; `[]` means every device of the user. */
  device_keys: Record<string, string[]>;
  timeout?: number;
}

export interface KeysQueryResponse {
  /** user ID → device ID → device keys. A queried local user with no keys maps to `{}` (Synapse). */
  device_keys: Record<string, Record<string, DeviceKeys>>;
  failures: Record<string, unknown>;
  master_keys: Record<string, unknown>;
  self_signing_keys: Record<string, unknown>;
  user_signing_keys: Record<string, unknown>;
}

export interface KeysClaimRequest {
  /** user ID → device ID → algorithm (`signed_curve25519`). */
  one_time_keys: Record<string, Record<string, string>>;
  timeout?: number;
}

export interface KeysClaimResponse {
  /** user ID → device ID → `<algorithm>:<key_id>` → key; devices with no key left are absent. */
  one_time_keys: Record<string, Record<string, Record<string, OneTimeKey>>>;
  failures: Record<string, unknown>;
}

/** `GET /keys/changes?from=<classic next_batch>` */
export type KeysChangesResponse = DeviceListsChanges;

/** One refused signature, as Synapse reports it (`_exception_to_failure`). */
export interface SignatureFailure {
  status: number;
  errcode: string;
  message: string;
}

export interface SignaturesUploadResponse {
  /** user ID → device or key ID → why its signature was not stored. */
  failures: Record<string, Record<string, SignatureFailure>>;
}
