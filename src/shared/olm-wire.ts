/**
 * Wire shapes of end-to-end encryption between devices: the `/keys/upload`, `/keys/query` and `/keys/claim`
 * bodies, and the Olm-encrypted to-device event with the payload it carries.
 *
 * Runtime: common (types, constants and pure validation). Field names keep their spec spelling. The shapes are the
 * ones matrix-rust-sdk's `OlmMachine` sends and accepts (/work/shared/notes/olm-facts.md); `parseKeysUploadResponse`
 * and friends check the parts the client relies on and say which field is wrong.
 */
import type { KeysUploadRequest as ServerKeysUploadRequest, KeysUploadResponse, Signatures } from './e2e-keys-wire';
import type { Result } from './result';
import { err, ok } from './result';

export type { DeviceKeys, KeysClaimRequest, KeysQueryRequest, KeysUploadResponse, Signatures } from './e2e-keys-wire';

export const OLM_ALGORITHM = 'm.olm.v1.curve25519-aes-sha2';
export const MEGOLM_ALGORITHM_V1 = 'm.megolm.v1.aes-sha2';
export const SIGNED_CURVE25519 = 'signed_curve25519';
export const OLM_ROOM_KEY_EVENT_TYPE = 'm.room_key';
export const DUMMY_EVENT_TYPE = 'm.dummy';
export const ENCRYPTED_TO_DEVICE_TYPE = 'm.room.encrypted';

/** A `signed_curve25519` one-time or fallback key, as this client makes them. */
export interface SignedCurve25519Key {
  key: string;
  fallback?: true;
  signatures: Signatures;
}

/**
 * What this client uploads: the server's request shape (src/shared/e2e-keys-wire.ts), with only the signed keys
 * it makes.
 */
export interface KeysUploadRequest extends ServerKeysUploadRequest {
  one_time_keys?: Record<string, SignedCurve25519Key>;
  fallback_keys?: Record<string, SignedCurve25519Key>;
}

/**
 * Answers as this client reads them: looser than what the reference server sends, because another server's
 * answer is untrusted input, checked field by field (src/crypto/olm-device-keys.ts) before it is used.
 */
export interface KeysQueryResponse {
  device_keys: Record<string, Record<string, unknown>>;
  failures: Record<string, unknown>;
  [other: string]: unknown;
}

export interface KeysClaimResponse {
  /** user → device → `signed_curve25519:KEY_ID` → key. */
  one_time_keys: Record<string, Record<string, Record<string, unknown>>>;
  failures: Record<string, unknown>;
}

/** The content of an Olm-encrypted to-device `m.room.encrypted` event. */
export interface OlmEncryptedContent {
  algorithm: typeof OLM_ALGORITHM;
  sender_key: string;
  /** recipient curve25519 key → message. */
  ciphertext: Record<string, { type: 0 | 1; body: string }>;
  [extra: string]: unknown;
}

/** The plaintext inside an Olm message (the spec's "m.olm.v1.curve25519-aes-sha2" payload). */
export interface OlmPayload {
  type: string;
  content: Record<string, unknown>;
  sender: string;
  recipient: string;
  recipient_keys: { ed25519: string };
  keys: { ed25519: string };
  [extra: string]: unknown;
}

export function parseKeysUploadResponse(body: unknown): Result<KeysUploadResponse, string> {
  const counts = (body as { one_time_key_counts?: unknown } | null)?.one_time_key_counts;
  if (!isCountMap(counts)) return err('"one_time_key_counts" must be an object of non-negative integers');
  return ok({ one_time_key_counts: counts });
}

export function parseKeysQueryResponse(body: unknown): Result<KeysQueryResponse, string> {
  if (!isObject(body)) return err('the response is not a JSON object');
  const devices = body.device_keys;
  if (!isObject(devices) || !Object.values(devices).every(isObject)) return err('"device_keys" must map users to objects of devices');
  const failures = body.failures ?? {};
  if (!isObject(failures)) return err('"failures" must be an object');
  return ok({ ...body, device_keys: devices as Record<string, Record<string, unknown>>, failures });
}

export function parseKeysClaimResponse(body: unknown): Result<KeysClaimResponse, string> {
  if (!isObject(body)) return err('the response is not a JSON object');
  const keys = body.one_time_keys;
  if (!isObject(keys) || !Object.values(keys).every((devices) => isObject(devices) && Object.values(devices).every(isObject))) {
    return err('"one_time_keys" must map users to devices to keys');
  }
  const failures = body.failures ?? {};
  if (!isObject(failures)) return err('"failures" must be an object');
  return ok({ one_time_keys: keys as KeysClaimResponse['one_time_keys'], failures });
}

/** The counts of `/keys/upload` or of a sync's `device_one_time_keys_count`. */
export function isCountMap(value: unknown): value is Record<string, number> {
  return isObject(value) && Object.values(value).every((count) => Number.isSafeInteger(count) && (count as number) >= 0);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
