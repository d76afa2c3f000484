/**
 * The homeserver's schema, as numbered migrations.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees: migrations run in order, each inside one transaction together with the `user_version` bump, so a
 * crash mid-migration leaves the database at the previous version rather than half-migrated. The SQL lives in
 * this module (not in `.sql` files) so the homeserver also works when bundled into the Electron main process.
 *
 * Why `AUTOINCREMENT` on `to_device_queue.stream_id`: a plain rowid may be reused once the highest rows are
 * deleted (acknowledged). A reused id could be at or below a `next_batch` already handed to a client, and that
 * client's next `since` would then acknowledge (delete) a message it never saw. `AUTOINCREMENT` makes the stream
 * strictly monotonic for the life of the database.
 *
 * Migration 0002 adds the timestamps retention needs (src/homeserver/retention.ts): when each transaction-ID
 * record was made, and when each sliding sync connection was last used. Rows that exist when it runs get the
 * migration's time, so an upgrade forgets nothing early: they live one full window from then.
 */

export interface Migration {
  /** Becomes `PRAGMA user_version` once applied. */
  version: number;
  /** `NNNN-name`, for error messages and the migration log. */
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: '0001-initial',
    sql: `
      CREATE TABLE server_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );

      CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_ts INTEGER NOT NULL
      );

      -- One row per (user, device). The to-device bookkeeping lives here so an acknowledgement and the counters
      -- change in the same transaction as the queue rows they describe.
      CREATE TABLE devices (
        user_id TEXT NOT NULL REFERENCES users(user_id),
        device_id TEXT NOT NULL,
        display_name TEXT,
        created_ts INTEGER NOT NULL,
        last_seen_ts INTEGER NOT NULL,
        acked_stream_id INTEGER NOT NULL DEFAULT 0,
        max_issued_stream_id INTEGER NOT NULL DEFAULT 0,
        accepted_count INTEGER NOT NULL DEFAULT 0,
        delivered_count INTEGER NOT NULL DEFAULT 0,
        deleted_count INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, device_id)
      );

      CREATE TABLE access_tokens (
        token TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        created_ts INTEGER NOT NULL
      );

      CREATE TABLE to_device_queue (
        stream_id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        type TEXT NOT NULL,
        sender TEXT NOT NULL,
        content TEXT NOT NULL
      );
      CREATE INDEX to_device_queue_by_device ON to_device_queue (user_id, device_id, stream_id);

      -- Idempotency records: a repeated (user, device, scope, txn_id) returns the stored result.
      CREATE TABLE transactions (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        txn_id TEXT NOT NULL,
        result TEXT NOT NULL,
        PRIMARY KEY (user_id, device_id, scope, txn_id)
      );

      CREATE TABLE rooms (
        room_id TEXT PRIMARY KEY,
        creator TEXT NOT NULL,
        join_rule TEXT NOT NULL,
        alias TEXT UNIQUE,
        created_ts INTEGER NOT NULL
      );

      CREATE TABLE room_memberships (
        room_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        membership TEXT NOT NULL,
        PRIMARY KEY (room_id, user_id)
      );

      CREATE TABLE room_events (
        stream_ordering INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        state_key TEXT,
        sender TEXT NOT NULL,
        origin_server_ts INTEGER NOT NULL,
        content TEXT NOT NULL
      );

      CREATE TABLE pushers (
        user_id TEXT NOT NULL,
        app_id TEXT NOT NULL,
        pushkey TEXT NOT NULL,
        kind TEXT NOT NULL,
        app_display_name TEXT NOT NULL,
        device_display_name TEXT NOT NULL,
        profile_tag TEXT,
        lang TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (user_id, app_id, pushkey)
      );

      -- Sliding sync: sticky extension settings per (user, device, conn_id), and the positions issued to it.
      CREATE TABLE sliding_sync_connections (
        connection_id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        conn_id TEXT NOT NULL,
        to_device_enabled INTEGER NOT NULL DEFAULT 0,
        to_device_limit INTEGER,
        to_device_keys TEXT NOT NULL DEFAULT '[]',
        UNIQUE (user_id, device_id, conn_id)
      );

      CREATE TABLE sliding_sync_positions (
        pos TEXT PRIMARY KEY,
        connection_id INTEGER NOT NULL,
        issued_seq INTEGER NOT NULL
      );
      CREATE INDEX sliding_sync_positions_by_connection ON sliding_sync_positions (connection_id, issued_seq);
    `,
  },
  {
    version: 2,
    name: '0002-retention',
    sql: `
      ALTER TABLE transactions ADD COLUMN created_ts INTEGER NOT NULL DEFAULT 0;
      UPDATE transactions SET created_ts = CAST(unixepoch('subsec') * 1000 AS INTEGER);
      CREATE INDEX transactions_by_age ON transactions (created_ts);

      ALTER TABLE sliding_sync_connections ADD COLUMN last_used_ts INTEGER NOT NULL DEFAULT 0;
      UPDATE sliding_sync_connections SET last_used_ts = CAST(unixepoch('subsec') * 1000 AS INTEGER);
      CREATE INDEX sliding_sync_connections_by_use ON sliding_sync_connections (last_used_ts);
    `,
  },
];
