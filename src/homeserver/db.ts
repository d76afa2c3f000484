/**
 * Opening the homeserver's SQLite database: pragmas, migrations, and the per-database secret.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - WAL with `synchronous = FULL`: a request that returned 200 survives a power cut, so a to-device message
 *   accepted before a restart is delivered after it, and an acknowledgement is never forgotten (a forgotten
 *   acknowledgement would redeliver, a forgotten message would be a loss).
 * - A database written by a newer homeserver (higher `user_version`) is refused with a clear error rather than
 *   being read with the wrong schema.
 * - The server name is fixed for the life of a database, because every stored user ID contains it.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations';

export type Db = Database.Database;

type ImmediateRunner = <T>(work: () => T) => T;
const immediateRunners = new WeakMap<Db, ImmediateRunner>();

/**
 * Runs `work` in a `BEGIN IMMEDIATE` transaction, or in a savepoint when the caller already has one open,
 * exactly like `db.transaction(work).immediate()`: a throw rolls back what `work` wrote, and `work` must not
 * return a promise. The difference is cost: `db.transaction` builds four wrapper functions every time it is
 * called, some 20 µs each in a server that has just woken up, and a message's live path ran four of them. The
 * wrapper here is built once per database and handed the work as an argument.
 */
export function immediate<T>(db: Db, work: () => T): T {
  let run = immediateRunners.get(db);
  if (run === undefined) {
    run = db.transaction((next: () => unknown) => next()).immediate as ImmediateRunner;
    immediateRunners.set(db, run);
  }
  return run(work);
}

export interface OpenedDatabase {
  db: Db;
  /** HMAC key for sync tokens, created once per database so tokens stay valid across restarts. */
  tokenSecret: string;
}

/** Waits up to this long for another connection's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

export function openDatabase(dbPath: string, serverName: string): OpenedDatabase {
  const db = new Database(dbPath);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    migrate(db, MIGRATIONS, dbPath);
    checkServerName(db, serverName, dbPath);
    return { db, tokenSecret: ensureSecret(db) };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Applies every migration above the database's `user_version`, each in its own transaction. */
export function migrate(db: Db, migrations: readonly Migration[], dbPath: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new Error(
      `database ${dbPath} has schema version ${current}, newer than this homeserver understands (${latest}); ` +
        'refusing to open it. Use a newer todevice, or another --db file.',
    );
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}

function readMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM server_meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

function checkServerName(db: Db, serverName: string, dbPath: string): void {
  const stored = readMeta(db, 'server_name');
  if (stored === undefined) {
    db.prepare('INSERT INTO server_meta (key, value) VALUES (?, ?)').run('server_name', serverName);
    return;
  }
  if (stored !== serverName) {
    throw new Error(
      `database ${dbPath} belongs to server name "${stored}", not "${serverName}"; ` +
        'user IDs embed the server name, so one database serves one name.',
    );
  }
}

function ensureSecret(db: Db): string {
  const stored = readMeta(db, 'token_secret');
  if (stored !== undefined) return stored;
  const secret = randomBytes(32).toString('hex');
  db.prepare('INSERT INTO server_meta (key, value) VALUES (?, ?)').run('token_secret', secret);
  return secret;
}
