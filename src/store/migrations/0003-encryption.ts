/**
 * Migration 0003: encryption state shared by every process of the device.
 *
 * Runtime: node (applied by src/store/migrate.ts in one transaction with the `user_version` bump).
 *
 * - `room_keys`: Megolm sessions received by `org.todevice.room_key` to-device events. A consumer stores a key in
 *   the transaction that advances its cursor over that inbox row, so a key is kept exactly when the row is
 *   handled. `stored_by` is the consumer; a process following the `legacy` strategy reads only its own keys (its
 *   separate crypto store), every other strategy reads them all.
 * - `timeline`: the room events the main process has paged in, with their plaintext once decrypted.
 *   `decrypted_at_ms` is NULL while the event cannot be decrypted, and `ciphertext` keeps
 *   the event to retry with (cleared once decrypted); `late` is 1 when it was decrypted after a
 *   first failed attempt (its key arrived after the message).
 * - `timeline_positions`: per room, the `/messages` token to continue from, written with the page it follows.
 * - `notifications`: what each notifier run showed for its push, so a notification that could not be decrypted
 *   is recorded, not only displayed.
 */
export const migration0003 = {
  version: 3,
  name: 'encryption',
  sql: `
CREATE TABLE room_keys (
  session_id TEXT NOT NULL,
  stored_by TEXT NOT NULL,
  room_id TEXT NOT NULL,
  room_key TEXT NOT NULL,
  inbox_seq INTEGER NOT NULL,
  stored_at_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, stored_by)
) STRICT;

CREATE TABLE timeline (
  event_id TEXT PRIMARY KEY,
  room_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  origin_server_ts INTEGER NOT NULL,
  session_id TEXT,
  body TEXT,
  ciphertext TEXT,
  seen_at_ms INTEGER NOT NULL,
  decrypted_at_ms INTEGER,
  late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1))
) STRICT;

CREATE INDEX timeline_undecrypted ON timeline (session_id) WHERE decrypted_at_ms IS NULL;

CREATE TABLE timeline_positions (
  room_id TEXT PRIMARY KEY,
  next_from TEXT NOT NULL
) STRICT;

CREATE TABLE notifications (
  event_id TEXT NOT NULL,
  pid INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('plain', 'decrypted', 'unable-to-decrypt', 'data-missing', 'fetch-failed')),
  session_id TEXT,
  shown_at_ms INTEGER NOT NULL,
  PRIMARY KEY (event_id, pid)
) STRICT;
`,
} as const;
