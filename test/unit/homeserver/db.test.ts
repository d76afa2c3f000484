import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { immediate, migrate, openDatabase, withoutWaitingForDisk } from '../../../src/homeserver/db';
import { MIGRATIONS } from '../../../src/homeserver/migrations';

describe('homeserver database', () => {
  it('a transaction without waiting for the disk commits at NORMAL, and the connection is back at FULL after it, even after a throw', () => {
    const { db } = openDatabase(':memory:', 'localhost');
    const FULL = 2;
    const NORMAL = 1;
    expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
    db.exec('CREATE TABLE t (a)');
    const seen = withoutWaitingForDisk(db, () => {
      db.prepare('INSERT INTO t VALUES (1)').run();
      return db.pragma('synchronous', { simple: true });
    });
    expect(seen).toBe(NORMAL);
    expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
    expect(() =>
      withoutWaitingForDisk(db, () => {
        db.prepare('INSERT INTO t VALUES (2)').run();
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
    expect(db.prepare('SELECT a FROM t').pluck().all()).toEqual([1]);
    // Inside another transaction its commit would be that transaction's, which must wait for the disk.
    expect(() => immediate(db, () => withoutWaitingForDisk(db, () => 0))).toThrow('inside a transaction');
    expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
    db.close();
  });

  it('migrations: a fresh database reaches the latest version', () => {
    const { db, tokenSecret } = openDatabase(':memory:', 'localhost');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)?.version);
    expect(tokenSecret).toMatch(/^[0-9a-f]{64}$/);
    db.close();
  });

  it('migrations: versions are numbered 1..n and named NNNN-name', () => {
    MIGRATIONS.forEach((migration, index) => {
      expect(migration.version).toBe(index + 1);
      expect(migration.name).toMatch(new RegExp(`^${String(index + 1).padStart(4, '0')}-[a-z0-9-]+$`));
    });
  });

  it('migrations: a failing migration leaves the database at the previous version', () => {
    const db = new Database(':memory:');
    const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE t (a); SELECT nope FROM missing;' }];
    expect(() => migrate(db, broken, ':memory:')).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't'").get()).toBeUndefined();
    db.close();
  });

  it('migrations: 0002-e2e-keys upgrades a version-1 database with connections and positions in it', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.slice(0, 1), ':memory:');
    db.prepare("INSERT INTO sliding_sync_connections (user_id, device_id, conn_id, to_device_enabled) VALUES ('@a:hs', 'D', 'main', 1)").run();
    db.prepare("INSERT INTO sliding_sync_positions (pos, connection_id, issued_seq) VALUES ('p1', 1, 1)").run();
    migrate(db, MIGRATIONS.slice(0, 2), ':memory:');
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    // Existing connections keep their to-device settings and have e2ee off; existing positions stand for the
    // start of the (then empty) device list stream, which is exact.
    expect(db.prepare('SELECT to_device_enabled, e2ee_enabled FROM sliding_sync_connections').get()).toEqual({ to_device_enabled: 1, e2ee_enabled: 0 });
    expect(db.prepare('SELECT device_list_stream_id FROM sliding_sync_positions').get()).toEqual({ device_list_stream_id: 0 });
    migrate(db, MIGRATIONS, ':memory:');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)?.version);
    for (const table of ['e2e_device_keys', 'e2e_one_time_keys', 'e2e_fallback_keys', 'device_list_stream']) {
      expect(db.prepare(`SELECT count(*) AS n FROM ${table}`).get(), table).toEqual({ n: 0 });
    }
    db.close();
  });

  it('migration 0006: connections keep their settings, get a nonce and a record counter above their records; positions go', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.slice(0, 5), ':memory:');
    const insertConnection = db.prepare("INSERT INTO sliding_sync_connections (user_id, device_id, conn_id, to_device_enabled) VALUES ('@a:hs', 'D', ?, 1)");
    insertConnection.run('main');
    insertConnection.run('rooms');
    db.prepare("INSERT INTO sliding_sync_positions (pos, connection_id, issued_seq) VALUES ('p1', 1, 1)").run();
    const insertSend = db.prepare("INSERT INTO sliding_sync_room_sends (connection_id, room_id, seq, position, membership) VALUES (?, '!r:hs', ?, 1, 'join')");
    insertSend.run(2, 4);
    insertSend.run(2, 7);
    migrate(db, MIGRATIONS, ':memory:');
    const rows = db.prepare('SELECT conn_id, to_device_enabled, pos_nonce, acked_pos_seq, room_seq FROM sliding_sync_connections ORDER BY connection_id').all() as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      { conn_id: 'main', to_device_enabled: 1, pos_nonce: expect.stringMatching(/^[0-9a-f]{24}$/), acked_pos_seq: 0, room_seq: 0 },
      { conn_id: 'rooms', to_device_enabled: 1, pos_nonce: expect.stringMatching(/^[0-9a-f]{24}$/), acked_pos_seq: 0, room_seq: 7 },
    ]);
    expect(rows[0]?.pos_nonce).not.toBe(rows[1]?.pos_nonce);
    expect(db.prepare('SELECT connection_id, seq FROM sliding_sync_room_sends ORDER BY seq').all()).toEqual([
      { connection_id: 2, seq: 4 },
      { connection_id: 2, seq: 7 },
    ]);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'sliding_sync_positions%'").all()).toEqual([]);
    db.close();
  });

  it('migrations: a newer database is refused', () => {
    const db = new Database(':memory:');
    db.pragma('user_version = 99');
    expect(() => migrate(db, MIGRATIONS, 'x.db')).toThrow(/newer than this homeserver/);
    db.close();
  });

  it('migration 0003: an existing room gets its current-state index and membership positions', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.slice(0, 1), ':memory:');
    const insert = db.prepare(
      'INSERT INTO room_events (event_id, room_id, type, state_key, sender, origin_server_ts, content) VALUES (?, ?, ?, ?, ?, 0, ?)',
    );
    insert.run('$create', '!r:hs', 'm.room.create', '', '@a:hs', '{"creator":"@a:hs"}');
    insert.run('$join', '!r:hs', 'm.room.member', '@a:hs', '@a:hs', '{"membership":"join"}');
    insert.run('$name1', '!r:hs', 'm.room.name', '', '@a:hs', '{"name":"one"}');
    insert.run('$message', '!r:hs', 'm.room.message', null, '@a:hs', '{"body":"hi"}');
    insert.run('$name2', '!r:hs', 'm.room.name', '', '@a:hs', '{"name":"two"}');
    db.prepare("INSERT INTO room_memberships (room_id, user_id, membership) VALUES ('!r:hs', '@a:hs', 'join')").run();
    migrate(db, MIGRATIONS, ':memory:');
    const state = db.prepare('SELECT type, state_key, event_id FROM room_current_state ORDER BY stream_ordering').all();
    expect(state).toEqual([
      { type: 'm.room.create', state_key: '', event_id: '$create' },
      { type: 'm.room.member', state_key: '@a:hs', event_id: '$join' },
      { type: 'm.room.name', state_key: '', event_id: '$name2' },
    ]);
    expect(db.prepare('SELECT stream_ordering FROM room_memberships').get()).toEqual({ stream_ordering: 2 });
    db.close();
  });
});
