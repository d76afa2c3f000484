/**
 * The device's Olm account row (migration 0004) and the server's last word on its keys.
 *
 * Runtime: node. The pickle is opaque (libolm encrypted it with the pickle key); this module only stores it.
 * `compareAndSetOlmAccount` is the one way to change the row: it writes only at the version the caller read and
 * bumps that version, so of two processes that read the same account and both want to write (two uploaders under
 * `explicit-cas`, or an uploader and a commit that used a one-time key), exactly one wins and the other learns it
 * lost. Inside an immediate transaction nobody can interleave, so a commit's own read-then-write always wins.
 */
import type { OlmAccountChanges, OlmAccountRecord, OlmKeyCounts } from '../shared/olm-state';
import type { ClientStore } from './open-store';

interface AccountDbRow {
  user_id: string;
  device_id: string;
  curve25519: string;
  ed25519: string;
  pickle: string;
  version: number;
  device_keys_published: number;
  fallback_key_created_at_ms: number | null;
  previous_fallback_expires_at_ms: number | null;
  upload_claimed_by: string | null;
  upload_claim_expires_at_ms: number | null;
  created_at_ms: number;
  updated_at_ms: number;
}

export function readOlmAccount(store: ClientStore): OlmAccountRecord | undefined {
  const row = store.statement('SELECT * FROM olm_account WHERE id = 1').get() as AccountDbRow | undefined;
  if (row === undefined) return undefined;
  return {
    userId: row.user_id,
    deviceId: row.device_id,
    curve25519: row.curve25519,
    ed25519: row.ed25519,
    pickle: row.pickle,
    version: row.version,
    deviceKeysPublished: row.device_keys_published === 1,
    fallbackKeyCreatedAtMs: row.fallback_key_created_at_ms,
    previousFallbackExpiresAtMs: row.previous_fallback_expires_at_ms,
    uploadClaimedBy: row.upload_claimed_by,
    uploadClaimExpiresAtMs: row.upload_claim_expires_at_ms,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}

/** Inserts the account if there is none; false when another process created one first (nothing written). */
export function insertOlmAccount(store: ClientStore, record: OlmAccountRecord): boolean {
  const info = store
    .statement(
      `INSERT INTO olm_account (id, user_id, device_id, curve25519, ed25519, pickle, version, device_keys_published,
         fallback_key_created_at_ms, previous_fallback_expires_at_ms, upload_claimed_by, upload_claim_expires_at_ms,
         created_at_ms, updated_at_ms)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    )
    .run(
      record.userId,
      record.deviceId,
      record.curve25519,
      record.ed25519,
      record.pickle,
      record.version,
      record.deviceKeysPublished ? 1 : 0,
      record.fallbackKeyCreatedAtMs,
      record.previousFallbackExpiresAtMs,
      record.uploadClaimedBy,
      record.uploadClaimExpiresAtMs,
      record.createdAtMs,
      record.updatedAtMs,
    );
  return info.changes === 1;
}

/**
 * Writes `changes` and sets `version = expectedVersion + 1`, only while the stored version is `expectedVersion`.
 * False when another write came first (nothing written). Fields left out of `changes` keep their value.
 */
export function compareAndSetOlmAccount(store: ClientStore, expectedVersion: number, changes: OlmAccountChanges, nowMs: number): boolean {
  const has = (key: keyof OlmAccountChanges): number => (key in changes ? 1 : 0);
  const info = store
    .statement(
      `UPDATE olm_account SET
         pickle = CASE WHEN ? THEN ? ELSE pickle END,
         device_keys_published = CASE WHEN ? THEN ? ELSE device_keys_published END,
         fallback_key_created_at_ms = CASE WHEN ? THEN ? ELSE fallback_key_created_at_ms END,
         previous_fallback_expires_at_ms = CASE WHEN ? THEN ? ELSE previous_fallback_expires_at_ms END,
         upload_claimed_by = CASE WHEN ? THEN ? ELSE upload_claimed_by END,
         upload_claim_expires_at_ms = CASE WHEN ? THEN ? ELSE upload_claim_expires_at_ms END,
         version = version + 1,
         updated_at_ms = ?
       WHERE id = 1 AND version = ?`,
    )
    .run(
      has('pickle'),
      changes.pickle ?? null,
      has('deviceKeysPublished'),
      changes.deviceKeysPublished === true ? 1 : 0,
      has('fallbackKeyCreatedAtMs'),
      changes.fallbackKeyCreatedAtMs ?? null,
      has('previousFallbackExpiresAtMs'),
      changes.previousFallbackExpiresAtMs ?? null,
      has('uploadClaimedBy'),
      changes.uploadClaimedBy ?? null,
      has('uploadClaimExpiresAtMs'),
      changes.uploadClaimExpiresAtMs ?? null,
      nowMs,
      expectedVersion,
    );
  return info.changes === 1;
}

export function readOlmKeyCounts(store: ClientStore): OlmKeyCounts | undefined {
  const row = store.statement('SELECT one_time_key_counts, unused_fallback_key_types, reported_at_ms FROM olm_key_counts WHERE id = 1').get() as
    | { one_time_key_counts: string; unused_fallback_key_types: string | null; reported_at_ms: number }
    | undefined;
  if (row === undefined) return undefined;
  return {
    oneTimeKeyCounts: JSON.parse(row.one_time_key_counts) as Record<string, number>,
    unusedFallbackKeyTypes: row.unused_fallback_key_types === null ? null : (JSON.parse(row.unused_fallback_key_types) as string[]),
    reportedAtMs: row.reported_at_ms,
  };
}

export function writeOlmKeyCounts(store: ClientStore, counts: OlmKeyCounts): void {
  store
    .statement(
      `INSERT INTO olm_key_counts (id, one_time_key_counts, unused_fallback_key_types, reported_at_ms) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET one_time_key_counts = excluded.one_time_key_counts,
         unused_fallback_key_types = excluded.unused_fallback_key_types, reported_at_ms = excluded.reported_at_ms`,
    )
    .run(
      JSON.stringify(counts.oneTimeKeyCounts),
      counts.unusedFallbackKeyTypes === null ? null : JSON.stringify(counts.unusedFallbackKeyTypes),
      counts.reportedAtMs,
    );
}
