// Test helper: a database file at the schema version just before a named migration, as an earlier todevice left
// it, for a migration test to fill with rows, close and open with the current code.
import Database from 'better-sqlite3';
import path from 'node:path';
import { MIGRATIONS, type Migration } from '../../../../src/store/migrations/registry';
import { tempDir } from '../temp-store';

export function databaseBefore(name: string): { file: string; db: Database.Database; migration: Migration } {
  const migration = MIGRATIONS.find((m) => m.name === name);
  if (migration === undefined) throw new Error(`no ${name} migration`);
  const file = path.join(tempDir(), 'before.sqlite');
  const db = new Database(file);
  for (const earlier of MIGRATIONS.filter((m) => m.version < migration.version)) {
    db.exec(earlier.sql);
    db.pragma(`user_version = ${earlier.version}`);
  }
  return { file, db, migration };
}
