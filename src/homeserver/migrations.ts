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
 * Migration 0002 stores end-to-end encryption keys and the device list stream (see e2e-key-store.ts).
 * Migration 0003 gives rooms what a standard client reads: a current-state index (one row per (room, type,
 * state_key), pointing at the event that set it, so state reads and sync never replay history), the stream
 * position of each membership (what classic sync's `rooms.leave` and sliding sync's "newly joined" need), and
 * the per-user data clients keep on the server: filters, profiles, account data, receipts, presence. Sliding
 * sync connections get their sticky room subscriptions, each `pos` the room-side stream positions it was issued
 * at, and a record of which rooms each connection was sent at which position.
 * Migration 0004 adds the timestamps retention needs (src/homeserver/retention.ts): when each transaction-ID
 * record was made, and when each sliding sync connection was last used. Rows that exist when it runs get the
 * migration's time, so an upgrade forgets nothing early: they live one full window from then.
 * Migration 0006 makes the sliding sync `pos` stateless (sliding-sync-pos.ts): the table of issued positions
 * goes, and each connection gets what checking a `pos` needs: a nonce its positions' MAC covers, the deepest
 * `pos` a request presented and its room-send record counter (above every record it already has). A `pos` of
 * the old format is unknown to the new code; its client opens a new connection and keeps its `next_batch`
 * (MSC4538), so nothing is lost.
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
    name: '0002-e2e-keys',
    sql: `
      -- The device keys a device uploaded, as canonical JSON, so an identical re-upload is recognised by string
      -- comparison (Synapse: _set_e2e_device_keys_txn).
      CREATE TABLE e2e_device_keys (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        key_json TEXT NOT NULL,
        PRIMARY KEY (user_id, device_id)
      );

      -- One-time keys waiting to be claimed. "seq" orders claims oldest first (Synapse orders by ts_added_ms) and,
      -- being AUTOINCREMENT, never goes backwards. A claimed key's row is deleted in the claiming transaction.
      CREATE TABLE e2e_one_time_keys (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        key_id TEXT NOT NULL,
        key_json TEXT NOT NULL,
        UNIQUE (user_id, device_id, algorithm, key_id)
      );
      CREATE INDEX e2e_one_time_keys_by_device ON e2e_one_time_keys (user_id, device_id, algorithm, seq);

      -- At most one fallback key per (device, algorithm); "used" is set when a claim handed it out.
      CREATE TABLE e2e_fallback_keys (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        key_id TEXT NOT NULL,
        key_json TEXT NOT NULL,
        used INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, device_id, algorithm)
      );

      -- The device list stream: one row per change of a device's keys (device_id set, for_user_id NULL: reported
      -- to everyone sharing a room with user_id), and rows for a join (device_id NULL: user_id is reported to
      -- for_user_id only, the two now sharing a room). AUTOINCREMENT keeps it strictly monotonic, so "changed
      -- since position P" is "a row with stream_id > P", and a position once handed out never comes to mean
      -- something else.
      CREATE TABLE device_list_stream (
        stream_id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        device_id TEXT,
        for_user_id TEXT
      );

      -- Who shares a room with whom is asked by user on every sync that reports device list changes.
      CREATE INDEX room_memberships_by_user ON room_memberships (user_id, membership);

      -- The e2ee extension (MSC3884) is sticky per connection like to_device, and every issued pos remembers the
      -- device list stream position it stands for.
      ALTER TABLE sliding_sync_connections ADD COLUMN e2ee_enabled INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE sliding_sync_positions ADD COLUMN device_list_stream_id INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 3,
    name: '0003-room-state-and-account-data',
    sql: `
      -- Paging a room's events (/messages, sync timelines) reads by room in stream order.
      CREATE INDEX room_events_by_room ON room_events (room_id, stream_ordering);

      -- The current state of every room: for each (type, state_key) the event that set it last.
      CREATE TABLE room_current_state (
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        state_key TEXT NOT NULL,
        event_id TEXT NOT NULL,
        stream_ordering INTEGER NOT NULL,
        PRIMARY KEY (room_id, type, state_key)
      );
      INSERT INTO room_current_state (room_id, type, state_key, event_id, stream_ordering)
        SELECT e.room_id, e.type, e.state_key, e.event_id, e.stream_ordering FROM room_events e
        WHERE e.state_key IS NOT NULL AND e.stream_ordering = (
          SELECT max(l.stream_ordering) FROM room_events l
          WHERE l.room_id = e.room_id AND l.type = e.type AND l.state_key = e.state_key
        );

      -- Where in the room stream each membership took effect.
      ALTER TABLE room_memberships ADD COLUMN stream_ordering INTEGER NOT NULL DEFAULT 0;
      UPDATE room_memberships SET stream_ordering = coalesce((
        SELECT s.stream_ordering FROM room_current_state s
        WHERE s.room_id = room_memberships.room_id AND s.type = 'm.room.member' AND s.state_key = room_memberships.user_id
      ), 0);
      CREATE INDEX room_memberships_by_user_stream ON room_memberships (user_id, stream_ordering);

      -- Sync filters, numbered per user from 0 as in Synapse.
      CREATE TABLE filters (
        user_id TEXT NOT NULL,
        filter_id INTEGER NOT NULL,
        definition TEXT NOT NULL,
        PRIMARY KEY (user_id, filter_id)
      );

      CREATE TABLE profiles (
        user_id TEXT PRIMARY KEY,
        displayname TEXT,
        avatar_url TEXT
      );

      -- Global account data has room_id ''. stream_id orders changes for sync; rows are replaced, never
      -- deleted, so max(stream_id) only grows.
      CREATE TABLE account_data (
        user_id TEXT NOT NULL,
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        content TEXT NOT NULL,
        stream_id INTEGER NOT NULL,
        PRIMARY KEY (user_id, room_id, type)
      );
      CREATE INDEX account_data_by_stream ON account_data (user_id, stream_id);

      -- The latest receipt of each (room, type, user, thread); thread_id '' is the unthreaded receipt.
      CREATE TABLE receipts (
        room_id TEXT NOT NULL,
        receipt_type TEXT NOT NULL,
        user_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        stream_id INTEGER NOT NULL,
        PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
      );
      CREATE INDEX receipts_by_stream ON receipts (room_id, stream_id);
      CREATE INDEX receipts_by_position ON receipts (stream_id);

      CREATE TABLE presence (
        user_id TEXT PRIMARY KEY,
        presence TEXT NOT NULL,
        status_msg TEXT,
        last_active_ts INTEGER NOT NULL
      );

      -- Sliding sync rooms. Subscriptions are sticky per connection (JSON, NULL when there are none); a pos
      -- issued to a connection that asked for rooms records the room-side stream positions it stands for (NULL
      -- on a to-device-only connection); each room sent on a connection is recorded with the seq of the pos
      -- that followed it and the room stream position it was brought up to.
      ALTER TABLE sliding_sync_connections ADD COLUMN room_subscriptions TEXT;
      ALTER TABLE sliding_sync_positions ADD COLUMN room_positions TEXT;
      CREATE TABLE sliding_sync_room_sends (
        connection_id INTEGER NOT NULL REFERENCES sliding_sync_connections (connection_id) ON DELETE CASCADE,
        room_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        position INTEGER NOT NULL,
        membership TEXT NOT NULL,
        PRIMARY KEY (connection_id, room_id, seq)
      );
    `,
  },
  {
    version: 4,
    name: '0004-retention',
    sql: `
      ALTER TABLE transactions ADD COLUMN created_ts INTEGER NOT NULL DEFAULT 0;
      UPDATE transactions SET created_ts = CAST(unixepoch('subsec') * 1000 AS INTEGER);
      CREATE INDEX transactions_by_age ON transactions (created_ts);

      ALTER TABLE sliding_sync_connections ADD COLUMN last_used_ts INTEGER NOT NULL DEFAULT 0;
      UPDATE sliding_sync_connections SET last_used_ts = CAST(unixepoch('subsec') * 1000 AS INTEGER);
      CREATE INDEX sliding_sync_connections_by_use ON sliding_sync_connections (last_used_ts);
    `,
  },
  {
    version: 5,
    name: '0005-device-list-left',
    sql: `
      -- A row with left_room = 1 says that user_id and for_user_id stopped sharing any joined room
      -- (device_lists.left); 0 is a key change or a newly shared room (device_lists.changed).
      ALTER TABLE device_list_stream ADD COLUMN left_room INTEGER NOT NULL DEFAULT 0 CHECK (left_room IN (0, 1));
    `,
  },
  {
    version: 6,
    name: '0006-stateless-pos',
    sql: `
      ALTER TABLE sliding_sync_connections ADD COLUMN pos_nonce TEXT NOT NULL DEFAULT '';
      ALTER TABLE sliding_sync_connections ADD COLUMN acked_pos_seq INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE sliding_sync_connections ADD COLUMN room_seq INTEGER NOT NULL DEFAULT 0;
      UPDATE sliding_sync_connections SET
        pos_nonce = lower(hex(randomblob(12))),
        room_seq = coalesce((SELECT max(seq) FROM sliding_sync_room_sends s WHERE s.connection_id = sliding_sync_connections.connection_id), 0);
      DROP TABLE sliding_sync_positions;
    `,
  },
];
