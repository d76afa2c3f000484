import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../../src/homeserver/db';
import { MIGRATIONS } from '../../../src/homeserver/migrations';

describe('homeserver database', () => {
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

  it('migrations: a newer database is refused', () => {
    const db = new Database(':memory:');
    db.pragma('user_version = 99');
    expect(() => migrate(db, MIGRATIONS, 'x.db')).toThrow(/newer than this homeserver/);
    db.close();
  });
});
