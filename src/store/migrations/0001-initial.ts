/**
 * Migration 0001: the initial todevice client schema.
 *
 * Runtime: node (applied by src/store/migrate.ts inside one transaction together with the `user_version` bump).
 *
 * What each table guarantees:
 * - `to_device_token`: exactly one row (`id = 1`). `since` is the MSC3885 `next_batch` the device will send next
 *   (NULL before the first sync, F13). `version` only grows (a trigger enforces it) so observers can tell that
 *   the token was written even when two writes carry the same string.
 * - `inbox`: append-only log of received to-device events. `seq` is AUTOINCREMENT so a sequence number is never
 *   reused after compaction, which keeps every cursor meaningful.
 * - `cursors`: one row per consumer; a trigger refuses any update that would move `seq` backward.
 * - `lease`: matrix-rust-sdk's cross-process lease (key, holder, expiry, generation).
 * - `lease_wanted`: a process that waits for the lease says so here, which lets the holder's long poll give the
 *   lease up early (DESIGN.md §4.4).
 * - `legacy_sync_token`: per-process classic `/v3/sync` tokens for the `legacy` strategy only.
 * - `event_log`: a bounded process event log for the dashboard (trimmed on insert, see event-log.ts).
 * - `todevice_meta`: marks the file as a todevice database, together with `PRAGMA application_id`.
 */

/** SQLite `application_id` of a todevice database: ASCII "tdvc". Foreign SQLite files do not carry it. */
export const TODEVICE_APPLICATION_ID = 0x74647663;

export const migration0001 = {
  version: 1,
  name: 'initial',
  sql: `
PRAGMA application_id = ${TODEVICE_APPLICATION_ID};

CREATE TABLE todevice_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
INSERT INTO todevice_meta (key, value) VALUES ('application', 'todevice');

CREATE TABLE account (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  homeserver_url TEXT NOT NULL,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  access_token TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE to_device_token (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  since TEXT,
  version INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  updated_by_process TEXT
) STRICT;
INSERT INTO to_device_token (id, since, version, updated_at_ms, updated_by_process) VALUES (1, NULL, 0, 0, NULL);

CREATE TRIGGER to_device_token_version_grows
BEFORE UPDATE ON to_device_token
WHEN NEW.version <= OLD.version
BEGIN
  SELECT RAISE(ABORT, 'todevice: to_device_token.version must grow on every write');
END;

CREATE TABLE inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  sender TEXT NOT NULL,
  content TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  fetched_by_process TEXT NOT NULL,
  fetched_by_pid INTEGER NOT NULL,
  batch_since TEXT,
  batch_next_batch TEXT NOT NULL
) STRICT;

CREATE TABLE cursors (
  consumer TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TRIGGER cursors_move_forward_only
BEFORE UPDATE OF seq ON cursors
WHEN NEW.seq < OLD.seq
BEGIN
  SELECT RAISE(ABORT, 'todevice: a cursor may only move forward');
END;

CREATE TABLE lease (
  key TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  generation INTEGER NOT NULL
) STRICT;

CREATE TABLE lease_wanted (
  key TEXT NOT NULL,
  wanter TEXT NOT NULL,
  wanted_at_ms INTEGER NOT NULL,
  PRIMARY KEY (key, wanter)
) STRICT;

CREATE TABLE legacy_sync_token (
  process TEXT PRIMARY KEY,
  next_batch TEXT,
  updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE event_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  process TEXT NOT NULL,
  pid INTEGER NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL
) STRICT;
`,
} as const;
