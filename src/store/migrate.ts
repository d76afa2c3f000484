/**
 * Applies the numbered migrations of `migrations/registry.ts`, each in its own `BEGIN IMMEDIATE` transaction
 * together with the `PRAGMA user_version` bump.
 *
 * Runtime: node. A crash in the middle of a migration is safe because SQLite rolls the whole transaction back,
 * schema changes included, and `user_version` still names the last migration that completed. Two processes
 * opening a fresh database at the same moment are safe too: the immediate transaction serialises them and each
 * re-reads `user_version` inside it, so the second one finds the work done and skips it. An up-to-date database
 * is recognised by a plain read first, so opening it never waits for the write lock: a notifier must be able to
 * open the store while another process (a suspended main app, say) holds that lock.
 */
import type { Database } from 'better-sqlite3';
import { MIGRATIONS } from './migrations/registry';

export function readUserVersion(db: Database): number {
  const value = db.pragma('user_version', { simple: true });
  if (typeof value !== 'number') throw new Error(`PRAGMA user_version returned ${String(value)}`);
  return value;
}

/** Runs every migration newer than the database's `user_version`. Returns the versions it applied. */
export function migrate(db: Database): number[] {
  const applied: number[] = [];
  const current = readUserVersion(db);
  for (const migration of MIGRATIONS) {
    if (current >= migration.version) continue;
    const ran = db
      .transaction(() => {
        if (readUserVersion(db) >= migration.version) return false;
        db.exec(migration.sql);
        db.pragma(`user_version = ${migration.version}`);
        return true;
      })
      .immediate();
    if (ran) applied.push(migration.version);
  }
  return applied;
}
