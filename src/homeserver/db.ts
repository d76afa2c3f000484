/**
 * Opening the homeserver's SQLite database: pragmas, migrations, and the per-database secret.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - A new database file is mode 0600 from its first byte (it holds every user's access tokens and password hashes)
 *   and appears complete or not at all (src/sqlite/sqlite-file.ts).
 * - A file that is not a homeserver database (empty, not SQLite, another program's SQLite database) or a damaged
 *   one is refused with `HomeserverDatabaseError`, one line, and left byte-for-byte as it was. Homeserver files
 *   carry `application_id` "tdhs"; one written before that marker existed is recognised by its `server_meta` table
 *   and marked.
 * - WAL with `synchronous = FULL`: a request that returned 200 survives a power cut, so a to-device message
 *   accepted before a restart is delivered after it, and an acknowledgement is never forgotten (a forgotten
 *   acknowledgement would redeliver, a forgotten message would be a loss). The one exception is a transaction
 *   whose loss nobody can see, run with `withoutWaitingForDisk`: the bulk delete of acknowledged rows.
 * - A database written by a newer homeserver (higher `user_version`) is refused with a clear error rather than
 *   being read with the wrong schema.
 * - The server name is fixed for the life of a database, because every stored user ID contains it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { createSqliteFileAtomically, inspectSqliteFile } from '../sqlite/sqlite-file';
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

/**
 * As `immediate`, for a transaction whose loss in a power cut changes nothing anyone can see: it commits at
 * `synchronous = NORMAL`, without the fsync, and the connection goes back to FULL at once (as `openDatabase`
 * leaves every connection). Use it only for deleting rows that no read returns any more (acknowledged
 * to-device rows, above all): if the cut comes before the next fsync, the rows are back, still unread, and the
 * next such delete takes them. Order is kept: in WAL mode the next FULL commit syncs the log up to its own
 * frames, and this transaction's frames come before them.
 * Must not be called inside another transaction (its commit would be that one's), so it throws there.
 */
export function withoutWaitingForDisk<T>(db: Db, work: () => T): T {
  if (db.inTransaction) throw new Error('withoutWaitingForDisk: called inside a transaction');
  db.pragma('synchronous = NORMAL');
  try {
    return immediate(db, work);
  } finally {
    db.pragma('synchronous = FULL');
  }
}

export interface OpenedDatabase {
  db: Db;
  /** HMAC key for sync tokens, created once per database so tokens stay valid across restarts. */
  tokenSecret: string;
}

/** Waits up to this long for another connection's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/** SQLite `application_id` of a homeserver database: ASCII "tdhs". */
export const HOMESERVER_APPLICATION_ID = 0x74646873;

/** The database cannot be used as it is; the message is one line saying what the file is and what to do. */
export class HomeserverDatabaseError extends Error {
  override name = 'HomeserverDatabaseError';
}

export function openDatabase(dbPath: string, serverName: string): OpenedDatabase {
  const inMemory = dbPath === ':memory:';
  if (!inMemory) admitFile(dbPath);
  const db = new Database(dbPath, { fileMustExist: !inMemory });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    migrate(db, MIGRATIONS, dbPath);
    if (db.pragma('application_id', { simple: true }) !== HOMESERVER_APPLICATION_ID) db.pragma(`application_id = ${HOMESERVER_APPLICATION_ID}`);
    checkServerName(db, serverName, dbPath);
    return { db, tokenSecret: ensureSecret(db) };
  } catch (error) {
    db.close();
    throw asDatabaseError(error, dbPath);
  }
}

/** Creates a missing file, and refuses from the header (or a read-only look) anything that is not ours. */
function admitFile(dbPath: string): void {
  const untouched = 'The file was not modified.';
  const file = inspectSqliteFile(dbPath, HOMESERVER_APPLICATION_ID);
  switch (file.kind) {
    case 'ours':
    case 'unknown':
      return;
    case 'missing':
      createSqliteFileAtomically(dbPath, (db) => {
        migrate(db, MIGRATIONS, dbPath);
        db.pragma(`application_id = ${HOMESERVER_APPLICATION_ID}`);
      });
      return;
    case 'empty':
      throw new HomeserverDatabaseError(`${dbPath} is an empty file, not a homeserver database: move it away (a new one is created in its place). ${untouched}`);
    case 'not-sqlite':
      throw new HomeserverDatabaseError(`${dbPath} is not an SQLite database; use another --db file. ${untouched}`);
    case 'foreign':
      if (file.applicationId === 0 && isUnmarkedHomeserverDatabase(dbPath)) return;
      throw new HomeserverDatabaseError(
        `${dbPath} is another program's SQLite database (application_id ${file.applicationId}, user_version ${file.userVersion}); ` +
          `use another --db file. ${untouched}`,
      );
  }
}

/**
 * A homeserver database from before the `application_id` marker has a `server_meta` table naming its server. The
 * read-only look creates `-wal`/`-shm` beside a WAL-mode file; those that did not exist before are removed again.
 */
function isUnmarkedHomeserverDatabase(dbPath: string): boolean {
  const sidecars = [`${dbPath}-wal`, `${dbPath}-shm`].filter((sidecar) => !fs.existsSync(sidecar));
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'server_meta'").get();
      return table !== undefined && db.prepare("SELECT 1 FROM server_meta WHERE key = 'server_name'").get() !== undefined;
    } finally {
      db.close();
    }
  } catch {
    return false;
  } finally {
    for (const sidecar of sidecars) fs.rmSync(sidecar, { force: true });
  }
}

/** A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) becomes one line; other errors pass as they are. */
function asDatabaseError(error: unknown, dbPath: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')) {
    return new HomeserverDatabaseError(
      `${dbPath}: the homeserver database is damaged (${(error as Error).message}); move it away to start over, or restore a copy`,
    );
  }
  return error;
}

/** Applies every migration above the database's `user_version`, each in its own transaction. */
export function migrate(db: Db, migrations: readonly Migration[], dbPath: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new HomeserverDatabaseError(
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
    throw new HomeserverDatabaseError(
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
