/**
 * Migration 0004: the device's Olm identity, shared by every process of the device (DESIGN.md §8).
 *
 * Runtime: node (applied by src/store/migrate.ts in one transaction with the `user_version` bump).
 *
 * Pickles are libolm pickles encrypted with the pickle key (a 0600 file beside the store, or Electron's
 * safeStorage); the store never sees that key and treats them as opaque text.
 * - `olm_account`: exactly one row once created. `version` only grows (a trigger enforces it): the commit of a
 *   batch that used a one-time key writes the pickle at the version it read, and the key upload compare-and-sets
 *   it, so two processes never both overwrite it unnoticed. The unpublished one-time and fallback keys live in
 *   the pickle, so keys are durable before they are uploaded. `upload_claimed_by` names the process uploading.
 * - `olm_key_counts`: what the server last reported (one-time key counts, unused fallback key types).
 * - `olm_sessions`: one row per Olm session, keyed by the sender's curve25519 key and the session ID.
 * - `olm_devices`: other devices' identity keys from `/keys/query`, self-signature checked. A decrypted payload's
 *   `keys.ed25519` is checked against this table.
 * - `olm_message_hashes`: a hash of every Olm message decrypted, so a redelivered message (its key spent) is
 *   reported as `replayed` instead of as a broken session.
 * - `olm_outcomes`: counters of decryptions and of each failure reason, and of recovery messages sent.
 * - `olm_wedged`: per sender device, its session failures and the last `m.dummy` sent to replace the session.
 * - `inbox.decryption_error` / `inbox.encryption`: a row that could not be decrypted keeps the encrypted event
 *   and says why; a decrypted row carries its cleartext and the encryption it arrived under (JSON). Both are NULL
 *   for rows that were never encrypted, which is every row appended before this migration. A row decrypted later
 *   (its sender device learnt after it arrived) gets a new row with the cleartext; `decryption_resolved_by_seq`
 *   on the old one points to it, so consumers that passed the old row still see the result.
 */
export const migration0004 = {
  version: 4,
  name: 'olm',
  sql: `
CREATE TABLE olm_account (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  curve25519 TEXT NOT NULL,
  ed25519 TEXT NOT NULL,
  pickle TEXT NOT NULL,
  version INTEGER NOT NULL,
  device_keys_published INTEGER NOT NULL CHECK (device_keys_published IN (0, 1)),
  fallback_key_created_at_ms INTEGER,
  previous_fallback_expires_at_ms INTEGER,
  upload_claimed_by TEXT,
  upload_claim_expires_at_ms INTEGER,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TRIGGER olm_account_version_grows
BEFORE UPDATE ON olm_account
WHEN NEW.version <= OLD.version
BEGIN
  SELECT RAISE(ABORT, 'todevice: olm_account.version must grow on every write');
END;

CREATE TABLE olm_key_counts (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  one_time_key_counts TEXT NOT NULL,
  unused_fallback_key_types TEXT,
  reported_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE olm_sessions (
  sender_key TEXT NOT NULL,
  session_id TEXT NOT NULL,
  pickle TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  last_used_at_ms INTEGER NOT NULL,
  messages_received INTEGER NOT NULL,
  messages_sent INTEGER NOT NULL,
  PRIMARY KEY (sender_key, session_id)
) STRICT;

CREATE TABLE olm_devices (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  curve25519 TEXT NOT NULL,
  ed25519 TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id)
) STRICT;

CREATE INDEX olm_devices_by_curve25519 ON olm_devices (curve25519);

CREATE TABLE olm_message_hashes (
  sender_key TEXT NOT NULL,
  message_hash TEXT NOT NULL,
  decrypted_at_ms INTEGER NOT NULL,
  PRIMARY KEY (sender_key, message_hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE olm_outcomes (
  outcome TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  last_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE olm_wedged (
  sender_key TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  failures INTEGER NOT NULL,
  first_failed_at_ms INTEGER NOT NULL,
  last_failed_at_ms INTEGER NOT NULL,
  last_dummy_sent_at_ms INTEGER,
  dummies_sent INTEGER NOT NULL
) STRICT;

ALTER TABLE inbox ADD COLUMN decryption_error TEXT;
ALTER TABLE inbox ADD COLUMN encryption TEXT;
ALTER TABLE inbox ADD COLUMN decryption_resolved_by_seq INTEGER;
CREATE INDEX inbox_undecrypted ON inbox (decryption_error) WHERE decryption_error IS NOT NULL;
`,
} as const;
