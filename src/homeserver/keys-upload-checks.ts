/**
 * Validating a `POST /keys/upload` body completely before anything is stored.
 *
 * Runtime: node (homeserver only).
 *
 * The rules are Synapse's (synapse/rest/client/keys.py, `KeyUploadServlet.KeyUploadRequestBody` and
 * `on_POST`), so a client that works against Synapse works here and a body Synapse refuses is refused here:
 * - `device_keys`, when present, is an object with `user_id`, `device_id` (strings), `algorithms` (strings),
 *   `keys` (string → string) and `signatures` (user → key ID → string); explicit `null` is refused. A missing
 *   field is 400 `M_MISSING_PARAM`, a wrong type 400 `M_BAD_JSON`. Other fields are kept (pydantic `extra =
 *   "ignore"` validates and the handler stores the body as sent).
 * - `device_keys.user_id` and `device_id` must be the caller's: 400 `M_BAD_JSON` with Synapse's message.
 * - `one_time_keys` and `fallback_keys` map `<algorithm>:<key_id>` (exactly one colon, else 400 `M_BAD_JSON`
 *   with Synapse's message) to either a string or a key object `{key, signatures, fallback?}`.
 * Stricter than Synapse, each a 400 and deliberate:
 * - Only the key algorithms of the Client-Server API are accepted for one-time and fallback keys:
 *   `signed_curve25519` (a key object) and the deprecated unsigned `curve25519` (a string). Synapse stores any
 *   algorithm name; a typo there goes unnoticed until no one can claim the key. Unknown: `M_INVALID_PARAM`.
 * - At most one fallback key per algorithm (the spec's rule; Synapse's code has a FIXME and keeps the last).
 * - Empty algorithm or key ID, and IDs over 255 characters, are refused.
 * - Size caps (Synapse only caps the whole request body): see the constants below; over a cap is 413
 *   `M_TOO_LARGE`.
 */
import { ErrCode } from '../shared/matrix-errors';
import type { Requester } from './auth';
import { canonicalJson } from './canonical-json';
import { MatrixError, badJson, invalidParam, missingParam, tooLarge } from './errors';
import { isJsonObject, jsonByteLength, objectBody, type JsonObject } from './json-checks';

/**
 * Most one-time keys one upload may carry. vodozemac and libolm hold at most 100 unpublished one-time keys and
 * rust-sdk uploads at most 50 at a time, so no honest client comes near it.
 */
export const MAX_ONE_TIME_KEYS_PER_UPLOAD = 200;
/** Most one-time keys stored for one device; an upload that would pass it is refused whole. */
export const MAX_ONE_TIME_KEYS_PER_DEVICE = 1000;
/** Largest single one-time or fallback key object (a signed key with a few signatures is about 250 bytes). */
export const MAX_KEY_OBJECT_BYTES = 4096;
/** Largest `device_keys` object (the event content limit). */
export const MAX_DEVICE_KEYS_BYTES = 65536;

const MAX_ID_LENGTH = 255;

/** Key algorithms accepted for one-time and fallback keys, and the JSON shape each must have. */
const KEY_ALGORITHMS: Record<string, 'object' | 'string'> = {
  signed_curve25519: 'object',
  curve25519: 'string',
};

export interface UploadedKey {
  algorithm: string;
  keyId: string;
  /** The key as uploaded: a string or a key object. */
  value: unknown;
  /** `value` as canonical JSON: what is stored and compared. */
  json: string;
}

export interface KeysUpload {
  /** The device keys as canonical JSON, when the body carried them. */
  deviceKeysJson: string | undefined;
  oneTimeKeys: UploadedKey[];
  fallbackKeys: UploadedKey[];
}

export function parseKeysUpload(rawBody: unknown, me: Requester): KeysUpload {
  const body = objectBody(rawBody);
  const deviceKeys = parseDeviceKeys(body, me);
  const oneTimeKeys = parseKeyMap(body, 'one_time_keys');
  if (oneTimeKeys.length > MAX_ONE_TIME_KEYS_PER_UPLOAD) {
    throw tooLarge(`at most ${MAX_ONE_TIME_KEYS_PER_UPLOAD} one-time keys per upload, got ${oneTimeKeys.length}`);
  }
  const fallbackKeys = parseKeyMap(body, 'fallback_keys');
  const algorithms = new Set<string>();
  for (const key of fallbackKeys) {
    if (algorithms.has(key.algorithm)) throw invalidParam(`at most one fallback key per algorithm; ${key.algorithm} has several`);
    algorithms.add(key.algorithm);
  }
  return { deviceKeysJson: deviceKeys === undefined ? undefined : canonicalJson(deviceKeys), oneTimeKeys, fallbackKeys };
}

function parseDeviceKeys(body: JsonObject, me: Requester): JsonObject | undefined {
  if (!('device_keys' in body)) return undefined;
  const deviceKeys = body.device_keys;
  if (deviceKeys === null) throw invalidParam('"device_keys" must not be null');
  if (!isJsonObject(deviceKeys)) throw badJson('"device_keys" must be an object');
  const userId = field(deviceKeys, 'device_keys', 'user_id', isString, 'a string');
  const deviceId = field(deviceKeys, 'device_keys', 'device_id', isString, 'a string');
  field(deviceKeys, 'device_keys', 'algorithms', isStringArray, 'an array of strings');
  field(deviceKeys, 'device_keys', 'keys', isStringMap, 'an object of strings');
  field(deviceKeys, 'device_keys', 'signatures', isSignatures, 'an object of user ID → key ID → signature');
  if (jsonByteLength(deviceKeys) > MAX_DEVICE_KEYS_BYTES) throw tooLarge(`"device_keys" over ${MAX_DEVICE_KEYS_BYTES} bytes`);
  // Synapse's messages and errcode (KeyUploadServlet.on_POST), so clients that match on them behave the same.
  if (userId !== me.userId) {
    throw badJson('Provided `user_id` in `device_keys` does not match that of the authenticated user');
  }
  if (deviceId !== me.deviceId) {
    throw badJson('Provided `device_id` in `device_keys` does not match that of the authenticated user device');
  }
  return deviceKeys;
}

function parseKeyMap(body: JsonObject, name: 'one_time_keys' | 'fallback_keys'): UploadedKey[] {
  const raw = body[name];
  if (raw === undefined || raw === null) return [];
  if (!isJsonObject(raw)) throw badJson(`"${name}" must be an object of "<algorithm>:<key_id>" → key`);
  const keys: UploadedKey[] = [];
  for (const [keyName, value] of Object.entries(raw)) {
    const parts = keyName.split(':');
    if (parts.length !== 2) {
      // Synapse's message (validate_one_time_keys / validate_fallback_keys), Python repr quotes included.
      throw badJson(`Invalid ${name} key '${keyName}'. Expected "<algorithm>:<device_id>".`);
    }
    const [algorithm = '', keyId = ''] = parts;
    if (algorithm === '' || keyId === '' || keyId.length > MAX_ID_LENGTH || algorithm.length > MAX_ID_LENGTH) {
      throw invalidParam(`"${name}" key '${keyName}' needs a non-empty algorithm and key ID of at most ${MAX_ID_LENGTH} characters`);
    }
    checkKeyValue(name, keyName, algorithm, value);
    keys.push({ algorithm, keyId, value, json: canonicalJson(value) });
  }
  return keys;
}

function checkKeyValue(name: string, keyName: string, algorithm: string, value: unknown): void {
  const shape = KEY_ALGORITHMS[algorithm];
  if (shape === undefined) {
    throw invalidParam(`"${name}" key '${keyName}': unknown algorithm ${algorithm}; accepted: ${Object.keys(KEY_ALGORITHMS).join(', ')}`);
  }
  if (shape === 'string') {
    if (typeof value !== 'string') throw badJson(`"${name}" key '${keyName}' must be a string`);
    return;
  }
  if (!isJsonObject(value)) throw badJson(`"${name}" key '${keyName}' must be an object with "key" and "signatures"`);
  const where = `${name}.${keyName}`;
  field(value, where, 'key', isString, 'a string');
  field(value, where, 'signatures', isSignatures, 'an object of user ID → key ID → signature');
  if (value.fallback !== undefined && value.fallback !== null && typeof value.fallback !== 'boolean') {
    throw badJson(`"${where}.fallback" must be a boolean`);
  }
  if (jsonByteLength(value) > MAX_KEY_OBJECT_BYTES) throw tooLarge(`"${where}" over ${MAX_KEY_OBJECT_BYTES} bytes`);
}

/** A required field of `obj`: missing is 400 `M_MISSING_PARAM`, of the wrong type 400 `M_BAD_JSON`. */
function field<T>(obj: JsonObject, where: string, key: string, check: (value: unknown) => value is T, expected: string): T {
  const value = obj[key];
  if (value === undefined) throw missingParam(`"${where}.${key}" is required`);
  if (!check(value)) throw new MatrixError(400, ErrCode.badJson, `"${where}.${key}" must be ${expected}`);
  return value;
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isString);
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isJsonObject(value) && Object.values(value).every(isString);
}

function isSignatures(value: unknown): value is Record<string, Record<string, string>> {
  return isJsonObject(value) && Object.values(value).every(isStringMap);
}
