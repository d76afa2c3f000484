/**
 * Migration 0006: room keys a sender withheld (`m.room_key.withheld`), and "withheld" as a notification outcome.
 *
 * Runtime: node (applied by src/store/migrate.ts in one transaction with the `user_version` bump).
 *
 * - `room_key_withheld`: one row per Megolm session and consumer, written in the transaction that moves the
 *   consumer's cursor over the `m.room_key.withheld` row (src/engine/inbox-effects.ts), as `room_keys` is. A
 *   message whose key was withheld is not a lost key: the sender chose not to share it (`code`, e.g.
 *   `m.unverified`, and its `reason` text), and the notifier says so instead of "unable to decrypt".
 * - `notifications.outcome` gains `withheld`. SQLite cannot change a CHECK constraint in place, so the table is
 *   rebuilt with its rows (the documented twelve-step procedure; it has no index or trigger of its own).
 */
export const migration0006 = {
  version: 6,
  name: 'withheld',
  sql: `
CREATE TABLE room_key_withheld (
  session_id TEXT NOT NULL,
  stored_by TEXT NOT NULL,
  room_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  code TEXT NOT NULL,
  reason TEXT,
  inbox_seq INTEGER NOT NULL,
  stored_at_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, stored_by)
) STRICT;

CREATE TABLE notifications_0006 (
  event_id TEXT NOT NULL,
  pid INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('plain', 'decrypted', 'unable-to-decrypt', 'withheld', 'data-missing', 'fetch-failed')),
  session_id TEXT,
  shown_at_ms INTEGER NOT NULL,
  PRIMARY KEY (event_id, pid)
) STRICT;
INSERT INTO notifications_0006 (event_id, pid, outcome, session_id, shown_at_ms)
  SELECT event_id, pid, outcome, session_id, shown_at_ms FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_0006 RENAME TO notifications;
`,
} as const;
