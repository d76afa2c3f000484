/**
 * Other devices' keys from the server: `/keys/query` answers (their identity keys) and `/keys/claim` answers
 * (one of their one-time keys), each checked before it is trusted.
 *
 * Runtime: node / electron-utility, after `loadOlm()`. A device's keys are accepted only when the object names
 * the user and device it is filed under, supports Olm, carries both identity keys and is signed by its own
 * ed25519 key over canonical JSON; a device whose ed25519 key differs from the one already stored is refused
 * (the spec: a device's keys must not change), so a server cannot swap the key that `keys.ed25519` in a decrypted
 * payload is checked against. Everything refused is returned with its reason; nothing here throws for bad input.
 */
import type { OlmDeviceRecord, OlmStateStore } from '../shared/olm-state';
import type { KeysClaimResponse, KeysQueryResponse } from '../shared/olm-wire';
import { isObject, OLM_ALGORITHM, SIGNED_CURVE25519 } from '../shared/olm-wire';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import { verifyJsonSignature } from './olm-account';

export interface RejectedDevice {
  userId: string;
  deviceId: string;
  reason: string;
}

/** Checks one device's keys as `/keys/query` returned them under `userId` / `deviceId`. */
export function verifyDeviceKeys(userId: string, deviceId: string, value: unknown): Result<{ curve25519: string; ed25519: string }, string> {
  if (!isObject(value)) return err('device keys are not an object');
  if (value.user_id !== userId || value.device_id !== deviceId) return err('device keys name another user or device');
  if (!Array.isArray(value.algorithms) || !value.algorithms.includes(OLM_ALGORITHM)) return err(`device does not support ${OLM_ALGORITHM}`);
  const keys = value.keys;
  const curve25519 = isObject(keys) ? keys[`curve25519:${deviceId}`] : undefined;
  const ed25519 = isObject(keys) ? keys[`ed25519:${deviceId}`] : undefined;
  if (typeof curve25519 !== 'string' || typeof ed25519 !== 'string') return err('device keys lack curve25519 or ed25519');
  if (!verifyJsonSignature(value, userId, deviceId, ed25519)) return err('device keys are not signed by the device');
  return ok({ curve25519, ed25519 });
}

/**
 * Saves every acceptable device of a `/keys/query` answer (our own device skipped), inside one transaction.
 * Returns what was saved and what was refused.
 */
export function saveQueriedDevices(
  state: OlmStateStore,
  response: KeysQueryResponse,
  own: { userId: string; deviceId: string },
  nowMs: number,
): { saved: OlmDeviceRecord[]; rejected: RejectedDevice[] } {
  const saved: OlmDeviceRecord[] = [];
  const rejected: RejectedDevice[] = [];
  state.immediate(() => {
    for (const [userId, devices] of Object.entries(response.device_keys)) {
      for (const [deviceId, value] of Object.entries(devices)) {
        if (userId === own.userId && deviceId === own.deviceId) continue;
        const verified = verifyDeviceKeys(userId, deviceId, value);
        if (!verified.ok) {
          rejected.push({ userId, deviceId, reason: verified.error });
          continue;
        }
        const known = state.device(userId, deviceId);
        if (known !== undefined && known.ed25519 !== verified.value.ed25519) {
          rejected.push({ userId, deviceId, reason: 'the device ed25519 key changed' });
          continue;
        }
        const record = { userId, deviceId, ...verified.value, updatedAtMs: nowMs };
        state.saveDevice(record);
        saved.push(record);
      }
    }
  });
  return { saved, rejected };
}

/** The one-time (or fallback) key a `/keys/claim` answer gave for `device`, its signature checked. */
export function claimedOneTimeKey(response: KeysClaimResponse, device: OlmDeviceRecord): Result<{ keyId: string; key: string }, string> {
  const keys = response.one_time_keys[device.userId]?.[device.deviceId];
  if (keys === undefined) return err(`the claim returned no key for ${device.userId} ${device.deviceId}`);
  for (const [keyId, value] of Object.entries(keys)) {
    if (!keyId.startsWith(`${SIGNED_CURVE25519}:`) || !isObject(value) || typeof value.key !== 'string') continue;
    if (!verifyJsonSignature(value, device.userId, device.deviceId, device.ed25519)) return err(`claimed key ${keyId} is not signed by the device`);
    return ok({ keyId, key: value.key });
  }
  return err(`the claim returned no ${SIGNED_CURVE25519} key for ${device.userId} ${device.deviceId}`);
}
