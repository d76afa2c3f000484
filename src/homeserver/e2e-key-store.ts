/**
 * SQLite access for end-to-end encryption keys: device keys, one-time keys, fallback keys.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - `upload` applies a whole validated upload in the caller's transaction or throws; the route runs it in one
 *   `BEGIN IMMEDIATE`, so a refused upload (a conflicting one-time key, too many keys) stores nothing at all.
 *   Synapse stores device keys, one-time keys and fallback keys in three steps and can keep the first when a
 *   later one fails; here the client's retry always starts from the state it saw.
 * - `claim` takes each key in one statement (`DELETE ... RETURNING` the oldest row) inside the caller's
 *   transaction, so no key is ever handed out twice, whatever the number of concurrent claims: the event loop
 *   runs one transaction at a time and SQLite's write lock serialises any other writer.
 * - Comparisons are on canonical JSON (see canonical-json.ts), as in Synapse.
 * The Synapse functions each rule copies are named where the rule is.
 */
import { ErrCode } from '../shared/matrix-errors';
import { canonicalJson } from './canonical-json';
import type { Db } from './db';
import type { DeviceListStream } from './device-list-stream';
import { MatrixError, tooLarge } from './errors';
import { MAX_ONE_TIME_KEYS_PER_DEVICE, type KeysUpload, type UploadedKey } from './keys-upload-checks';

/** The algorithm every count includes, even at 0 (Synapse's `count_e2e_one_time_keys`). */
export const SIGNED_CURVE25519 = 'signed_curve25519';

/** user ID → device ID → key ID (`<algorithm>:<id>`) → key, the shape `/keys/claim` answers. */
export type ClaimedKeys = Record<string, Record<string, Record<string, unknown>>>;

export interface ClaimRequest {
  userId: string;
  deviceId: string;
  algorithm: string;
}

export class E2eKeyStore {
  private readonly statements;

  constructor(
    db: Db,
    private readonly deviceLists: DeviceListStream,
  ) {
    this.statements = {
      deviceKeys: db.prepare('SELECT key_json FROM e2e_device_keys WHERE user_id = ? AND device_id = ?'),
      upsertDeviceKeys: db.prepare(
        `INSERT INTO e2e_device_keys (user_id, device_id, key_json) VALUES (?, ?, ?)
         ON CONFLICT (user_id, device_id) DO UPDATE SET key_json = excluded.key_json`,
      ),
      oneTimeKey: db.prepare(
        'SELECT key_json FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? AND key_id = ?',
      ),
      insertOneTimeKey: db.prepare(
        'INSERT INTO e2e_one_time_keys (user_id, device_id, algorithm, key_id, key_json) VALUES (?, ?, ?, ?, ?)',
      ),
      countAll: db.prepare('SELECT count(*) AS n FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?'),
      counts: db.prepare(
        'SELECT algorithm, count(*) AS n FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ? GROUP BY algorithm',
      ),
      fallbackKey: db.prepare('SELECT key_json FROM e2e_fallback_keys WHERE user_id = ? AND device_id = ? AND algorithm = ?'),
      upsertFallbackKey: db.prepare(
        `INSERT INTO e2e_fallback_keys (user_id, device_id, algorithm, key_id, key_json, used) VALUES (?, ?, ?, ?, ?, 0)
         ON CONFLICT (user_id, device_id, algorithm)
         DO UPDATE SET key_id = excluded.key_id, key_json = excluded.key_json, used = 0`,
      ),
      unusedFallbackTypes: db.prepare(
        'SELECT algorithm FROM e2e_fallback_keys WHERE user_id = ? AND device_id = ? AND used = 0 ORDER BY algorithm',
      ),
      takeOneTimeKey: db.prepare(
        `DELETE FROM e2e_one_time_keys WHERE seq = (
           SELECT seq FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? ORDER BY seq LIMIT 1)
         RETURNING key_id, key_json`,
      ),
      takeFallbackKey: db.prepare(
        `UPDATE e2e_fallback_keys SET used = 1 WHERE user_id = ? AND device_id = ? AND algorithm = ?
         RETURNING key_id, key_json`,
      ),
      userDeviceKeys: db.prepare(
        `SELECT k.device_id, k.key_json, d.display_name FROM e2e_device_keys k
         LEFT JOIN devices d ON d.user_id = k.user_id AND d.device_id = k.device_id
         WHERE k.user_id = ? ORDER BY k.device_id`,
      ),
    };
  }

  /**
   * Stores a validated upload; call inside a transaction. Returns whether the device keys changed (a new row in
   * the device list stream). Throws 400 for a one-time key ID already stored with another key, 413 when the
   * device would hold more than MAX_ONE_TIME_KEYS_PER_DEVICE one-time keys.
   */
  upload(userId: string, deviceId: string, upload: KeysUpload): { deviceKeysChanged: boolean } {
    let deviceKeysChanged = false;
    if (upload.deviceKeysJson !== undefined) {
      // Synapse `_set_e2e_device_keys_txn`: identical keys are a no-op, different keys replace the old ones.
      const old = this.statements.deviceKeys.get(userId, deviceId) as { key_json: string } | undefined;
      if (old?.key_json !== upload.deviceKeysJson) {
        this.statements.upsertDeviceKeys.run(userId, deviceId, upload.deviceKeysJson);
        this.deviceLists.append(userId, deviceId);
        deviceKeysChanged = true;
      }
    }
    this.addOneTimeKeys(userId, deviceId, upload.oneTimeKeys);
    for (const key of upload.fallbackKeys) {
      // Synapse `_set_e2e_fallback_keys_txn`: the same key again changes nothing (a used key stays used);
      // anything else replaces the algorithm's key and makes it unused.
      const old = this.statements.fallbackKey.get(userId, deviceId, key.algorithm) as { key_json: string } | undefined;
      if (old?.key_json !== key.json) this.statements.upsertFallbackKey.run(userId, deviceId, key.algorithm, key.keyId, key.json);
    }
    return { deviceKeysChanged };
  }

  /** One-time keys left per algorithm, always with `signed_curve25519` (Synapse `count_e2e_one_time_keys`). */
  oneTimeKeyCounts(userId: string, deviceId: string): Record<string, number> {
    const counts: Record<string, number> = { [SIGNED_CURVE25519]: 0 };
    for (const row of this.statements.counts.all(userId, deviceId) as Array<{ algorithm: string; n: number }>) {
      counts[row.algorithm] = row.n;
    }
    return counts;
  }

  /** Algorithms whose fallback key has not been handed out (Synapse `get_e2e_unused_fallback_key_types`). */
  unusedFallbackKeyTypes(userId: string, deviceId: string): string[] {
    return (this.statements.unusedFallbackTypes.all(userId, deviceId) as Array<{ algorithm: string }>).map((row) => row.algorithm);
  }

  /**
   * The device keys of one user's devices (`deviceIds` empty: all of them), as `/keys/query` answers them:
   * as uploaded, with `unsigned` replaced by the server's (the display name, when the device has one), as
   * Synapse's `get_e2e_device_keys_for_cs_api` does. Devices without keys are left out.
   */
  deviceKeysOf(userId: string, deviceIds: readonly string[]): Record<string, unknown> {
    const wanted = new Set(deviceIds);
    const rows = this.statements.userDeviceKeys.all(userId) as Array<{ device_id: string; key_json: string; display_name: string | null }>;
    const entries: Array<[string, unknown]> = [];
    for (const row of rows) {
      if (wanted.size > 0 && !wanted.has(row.device_id)) continue;
      const keys = JSON.parse(row.key_json) as Record<string, unknown>;
      keys.unsigned = row.display_name === null ? {} : { device_display_name: row.display_name };
      entries.push([row.device_id, keys]);
    }
    // fromEntries defines own properties: a device named "__proto__" stays an ordinary entry.
    return Object.fromEntries(entries);
  }

  /**
   * Claims one key per request; call inside a transaction. The oldest one-time key of the algorithm goes first
   * (Synapse `_claim_e2e_one_time_key_simple` orders by upload time); when none is left the fallback key is
   * handed out and marked used (Synapse `claim_local_one_time_keys`, stable endpoint). Devices with neither
   * are absent from the answer.
   */
  claim(requests: readonly ClaimRequest[]): ClaimedKeys {
    // Maps, not objects, while collecting: a device ID such as "__proto__" must not reach Object.prototype.
    const claimed = new Map<string, Map<string, Array<[string, unknown]>>>();
    for (const { userId, deviceId, algorithm } of requests) {
      const row = (this.statements.takeOneTimeKey.get(userId, deviceId, algorithm) ??
        this.statements.takeFallbackKey.get(userId, deviceId, algorithm)) as { key_id: string; key_json: string } | undefined;
      if (row === undefined) continue;
      const byDevice = claimed.get(userId) ?? new Map<string, Array<[string, unknown]>>();
      claimed.set(userId, byDevice);
      const keys = byDevice.get(deviceId) ?? [];
      byDevice.set(deviceId, keys);
      keys.push([`${algorithm}:${row.key_id}`, JSON.parse(row.key_json) as unknown]);
    }
    return Object.fromEntries(
      [...claimed].map(([userId, byDevice]) => [userId, Object.fromEntries([...byDevice].map(([deviceId, keys]) => [deviceId, Object.fromEntries(keys)]))]),
    );
  }

  private addOneTimeKeys(userId: string, deviceId: string, keys: readonly UploadedKey[]): void {
    let added = 0;
    for (const key of keys) {
      const old = this.statements.oneTimeKey.get(userId, deviceId, key.algorithm, key.keyId) as { key_json: string } | undefined;
      if (old === undefined) {
        this.statements.insertOneTimeKey.run(userId, deviceId, key.algorithm, key.keyId, key.json);
        added += 1;
      } else if (!sameOneTimeKey(old.key_json, key.value)) {
        // Synapse `_upload_one_time_keys_for_user`: SynapseError(400, ...) with its default errcode M_UNKNOWN and
        // this message; clients recognise the duplicate-upload bug by "already exists. Old key:". Synapse prints
        // the new key as a Python repr; here it is JSON.
        throw new MatrixError(
          400,
          ErrCode.unknown,
          `One time key ${key.algorithm}:${key.keyId} already exists. Old key: ${old.key_json}; new key: ${key.json}`,
        );
      }
    }
    if (added === 0) return;
    const { n } = this.statements.countAll.get(userId, deviceId) as { n: number };
    if (n > MAX_ONE_TIME_KEYS_PER_DEVICE) {
      throw tooLarge(`a device may hold at most ${MAX_ONE_TIME_KEYS_PER_DEVICE} one-time keys; this upload would make it ${n}`);
    }
  }
}

/**
 * Synapse `_one_time_keys_match`: a string key must be identical; key objects match when they are equal
 * without their `signatures`, since a retried upload may carry new signatures of the same key.
 */
function sameOneTimeKey(oldJson: string, newValue: unknown): boolean {
  const oldValue = JSON.parse(oldJson) as unknown;
  if (!isPlainObject(oldValue) || !isPlainObject(newValue)) return oldJson === JSON.stringify(newValue);
  return canonicalWithout(oldValue, 'signatures') === canonicalWithout(newValue, 'signatures');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function canonicalWithout(value: Record<string, unknown>, field: string): string {
  const copy = { ...value };
  delete copy[field];
  return canonicalJson(copy);
}
