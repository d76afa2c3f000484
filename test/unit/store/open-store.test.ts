import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore, openStoreReadOnly, readStoreReadOnly, type ClientStore } from '../../../src/store/open-store';
import { StoreOpenError, type StoreOpenFailure } from '../../../src/store/store-errors';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../../src/store/migrations/registry';
import { readToken } from '../../../src/store/token';
import { tempDir } from './temp-store';

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Both ways of opening refuse the file with a one-line error of this kind, and leave it byte-for-byte as it was. */
function expectRefused(file: string, kind: StoreOpenFailure['kind'], read: (store: ClientStore) => unknown = () => undefined): void {
  const before = sha256(file);
  for (const open of [openStore, openStoreReadOnly]) {
    let thrown: unknown;
    try {
      const store = open(file);
      try {
        read(store);
      } finally {
        store.close();
      }
    } catch (error) {
      thrown = error;
    }
    expect(thrown, open.name).toBeInstanceOf(StoreOpenError);
    expect((thrown as StoreOpenError).reason.kind, open.name).toBe(kind);
    expect((thrown as StoreOpenError).message).not.toContain('\n');
    expect(sha256(file)).toBe(before);
  }
}

describe('open-store', () => {
  it('open: a new database is created readable by its owner only, in WAL mode with synchronous FULL', () => {
    const file = path.join(tempDir(), 'client.sqlite');
    const store = openStore(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(store.db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5000);
    expect(store.db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    expect(readToken(store).since).toBeNull();
    store.close();
  });

  it('open: synchronous NORMAL is available for the durability comparison', () => {
    const store = openStore(path.join(tempDir(), 'client.sqlite'), { synchronous: 'NORMAL' });
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1);
    store.close();
  });

  it('open: a connection can ask for a smaller page cache (a notifier), others keep the binding\'s default', () => {
    const file = path.join(tempDir(), 'client.db');
    const usual = openStore(file);
    const small = openStore(file, { cacheSizeKib: 512 });
    expect(small.db.pragma('cache_size', { simple: true })).toBe(-512);
    // better-sqlite3 builds SQLite with a 16 MB default cache (SQLite's own is 2 MB).
    expect(usual.db.pragma('cache_size', { simple: true })).toBe(-16000);
    small.close();
    usual.close();
    expect(() => openStore(file, { cacheSizeKib: 0 })).toThrow('cacheSizeKib must be a positive integer');
  });

  it('open: reopening an existing database keeps its data and applies no migration twice', () => {
    const file = path.join(tempDir(), 'client.sqlite');
    openStore(file).close();
    const store = openStore(file);
    expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(readToken(store).version).toBe(0);
    store.close();
  });

  it('open: a database from a newer todevice is refused and left byte-for-byte unmodified', () => {
    const file = path.join(tempDir(), 'client.sqlite');
    const store = openStore(file);
    store.db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    store.db.pragma('journal_mode = DELETE');
    store.close();
    expectRefused(file, 'newer-schema');
  });

  it('open: another application’s SQLite database is refused and left unmodified', () => {
    const file = path.join(tempDir(), 'other.sqlite');
    const other = new Database(file);
    other.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES (\'hi\')');
    other.close();
    expectRefused(file, 'not-todevice');
  });

  it('open: an SQLite database with a user_version but no todevice marker is refused', () => {
    const file = path.join(tempDir(), 'other.sqlite');
    const other = new Database(file);
    other.pragma('user_version = 1');
    other.close();
    expectRefused(file, 'not-todevice');
  });

  it('open: a file that is not SQLite at all is refused and left unmodified', () => {
    const file = path.join(tempDir(), 'notes.txt');
    fs.writeFileSync(file, 'these are my notes, not a database\n'.repeat(50));
    expectRefused(file, 'not-todevice');
  });

  it('open: an empty file is refused and left as it is, since todevice never leaves one behind', () => {
    const file = path.join(tempDir(), 'client.sqlite');
    fs.writeFileSync(file, '');
    expectRefused(file, 'empty');
    expect(fs.statSync(file).size).toBe(0);
  });

  it('open: a truncated store is refused as damaged, in one line, and left unmodified', () => {
    const file = path.join(tempDir(), 'client.sqlite');
    const store = openStore(file);
    store.db.exec("CREATE TABLE filler (x BLOB); INSERT INTO filler SELECT randomblob(2000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i FROM n)");
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    store.close();
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    expectRefused(file, 'corrupt', (store) => store.db.prepare('SELECT count(*) FROM filler').get());
    expect(() => readStoreReadOnly(file, (store) => store.db.prepare('SELECT count(*) FROM filler').get())).toThrow(StoreOpenError);
  });

  it('open: a new store appears complete or not at all; a killed creator leaves no store, only a temporary that is cleaned up', () => {
    const dir = tempDir();
    const file = path.join(dir, 'client.sqlite');
    // What a creator SIGKILLed halfway leaves: a temporary named after a process that no longer exists.
    const abandoned = `${file}.creating-999999-deadbeef`;
    fs.writeFileSync(abandoned, 'half a database');
    expect(fs.existsSync(file)).toBe(false);
    openStore(file).close();
    expect(fs.existsSync(abandoned)).toBe(false);
    expect(fs.readdirSync(dir).filter((name) => name.includes('.creating-'))).toEqual([]);
    const store = openStoreReadOnly(file);
    expect(store.db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    store.close();
  });

  it('read-only: opening creates nothing, migrates nothing and switches no journal mode', () => {
    const dir = tempDir();
    const missing = path.join(dir, 'client.sqlite');
    expect(() => openStoreReadOnly(missing)).toThrow(/no todevice store/);
    expect(fs.readdirSync(dir)).toEqual([]);
    openStore(missing).close();
    const before = sha256(missing);
    const store = openStoreReadOnly(missing);
    expect(() => store.db.exec('DELETE FROM inbox')).toThrow(/readonly/);
    store.close();
    expect(sha256(missing)).toBe(before);
  });

  it('read-only: an older schema is reported, not upgraded', () => {
    const file = path.join(tempDir(), 'client.sqlite');
    const old = new Database(file);
    for (const migration of MIGRATIONS.slice(0, -1)) old.exec(migration.sql);
    old.pragma(`user_version = ${LATEST_SCHEMA_VERSION - 1}`);
    old.close();
    const before = sha256(file);
    expect(() => openStoreReadOnly(file)).toThrow(/older than this todevice reads/);
    expect(sha256(file)).toBe(before);
    expect(new Database(file, { readonly: true }).pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION - 1);
  });

  it('open: an up-to-date store opens at once while another process holds the write lock (a suspended app)', () => {
    const file = path.join(tempDir(), 'locked.sqlite');
    openStore(file).close();
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const startedMs = Date.now();
      const store = openStore(file);
      expect(readToken(store).since).toBeNull();
      store.close();
      expect(Date.now() - startedMs).toBeLessThan(2000);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('migrations: every migration number equals its position', () => {
    MIGRATIONS.forEach((migration, index) => expect(migration.version).toBe(index + 1));
  });

  it('migrations: two connections opening a fresh file both end at the latest version', () => {
    const file = path.join(tempDir(), 'client.sqlite');
    const first = openStore(file);
    const second = openStore(file);
    expect(second.db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    first.close();
    second.close();
  });
});
