/**
 * Other devices' identity keys learnt from `/keys/query` (migration 0004).
 *
 * Runtime: node. Only keys whose self-signature the caller checked are saved (src/crypto/olm-device-keys.ts).
 * The decrypting commit looks a sender device up by the curve25519 key its message came from, and checks the
 * payload's claimed ed25519 key against the one stored here.
 */
import type { OlmDeviceRecord } from '../shared/olm-state';
import type { ClientStore } from './open-store';

interface DeviceDbRow {
  user_id: string;
  device_id: string;
  curve25519: string;
  ed25519: string;
  updated_at_ms: number;
}

export function olmDeviceByCurve25519(store: ClientStore, userId: string, curve25519: string): OlmDeviceRecord | undefined {
  const row = store
    .statement('SELECT * FROM olm_devices WHERE curve25519 = ? AND user_id = ? LIMIT 1')
    .get(curve25519, userId) as DeviceDbRow | undefined;
  return row === undefined ? undefined : toRecord(row);
}

export function olmDevice(store: ClientStore, userId: string, deviceId: string): OlmDeviceRecord | undefined {
  const row = store.statement('SELECT * FROM olm_devices WHERE user_id = ? AND device_id = ?').get(userId, deviceId) as DeviceDbRow | undefined;
  return row === undefined ? undefined : toRecord(row);
}

export function saveOlmDevice(store: ClientStore, record: OlmDeviceRecord): void {
  store
    .statement(
      `INSERT INTO olm_devices (user_id, device_id, curve25519, ed25519, updated_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id, device_id) DO UPDATE SET curve25519 = excluded.curve25519, ed25519 = excluded.ed25519,
         updated_at_ms = excluded.updated_at_ms`,
    )
    .run(record.userId, record.deviceId, record.curve25519, record.ed25519, record.updatedAtMs);
}

function toRecord(row: DeviceDbRow): OlmDeviceRecord {
  return { userId: row.user_id, deviceId: row.device_id, curve25519: row.curve25519, ed25519: row.ed25519, updatedAtMs: row.updated_at_ms };
}
